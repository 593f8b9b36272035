//! A minimal browser: follows nothing by itself, keeps cookies (including
//! `Secure` ones over plain-HTTP localhost, as real browsers do), sends `Origin`
//! on form posts.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use openidconnect::reqwest;

/// A desktop Chrome on Linux; tests that need "another device" use [`PHONE_UA`].
pub const DESKTOP_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
pub const PHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

pub struct Browser {
    http: reqwest::Client,
    base: String,
    pub cookies: BTreeMap<String, String>,
    /// Send an `Origin` header on POSTs (browsers do); tests override it.
    pub origin: Option<String>,
    /// Sent with every request (e.g. `X-Forwarded-For` from a proxy).
    pub headers: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Page {
    /// The `value` of the first `<input name="…">`.
    pub fn field(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_string())
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    pub fn set_cookie(&self, name: &str) -> Option<&String> {
        self.set_cookies.iter().find(|c| c.starts_with(&format!("{name}=")))
    }
}

impl Browser {
    pub fn new(base: &str, addr: SocketAddr) -> Browser {
        Self::with_user_agent(base, addr, DESKTOP_UA)
    }

    pub fn with_user_agent(base: &str, addr: SocketAddr, user_agent: &str) -> Browser {
        Self::build(base, addr, user_agent, None)
    }

    /// A browser on another machine: its connections come from `local`
    /// (any 127.x.y.z works on Linux's loopback).
    pub fn from_address(base: &str, addr: SocketAddr, local: std::net::IpAddr) -> Browser {
        Self::build(base, addr, DESKTOP_UA, Some(local))
    }

    fn build(base: &str, addr: SocketAddr, user_agent: &str, local: Option<std::net::IpAddr>) -> Browser {
        let http = reqwest::Client::builder()
            .local_address(local)
            .redirect(reqwest::redirect::Policy::none())
            // Every request goes to this node whatever the URL's port (a second
            // node serves under the first node's issuer): as a proxy, in
            // absolute form. (`resolve` alone keeps the URL's port.)
            .proxy(reqwest::Proxy::http(format!("http://{addr}")).expect("node address"))
            .user_agent(user_agent.to_string())
            .build()
            .expect("http client");
        Browser { http, base: base.to_string(), cookies: BTreeMap::new(), origin: Some(base.to_string()), headers: Vec::new() }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http://") || url.starts_with("https://") {
            url.to_string()
        } else {
            format!("{}{}", self.base, url)
        }
    }

    fn with_headers(&self, mut req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn finish(&mut self, resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let set_cookies: Vec<String> = headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect();
        for c in &set_cookies {
            let first = c.split(';').next().unwrap_or("");
            if let Some((name, value)) = first.split_once('=') {
                let removed = value.is_empty() || c.to_ascii_lowercase().contains("max-age=0");
                if removed {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies.insert(name.trim().to_string(), value.trim().to_string());
                }
            }
        }
        let location = headers.get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = resp.text().await.unwrap_or_default();
        Page { status, location, headers, set_cookies, body }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let mut req = self.with_headers(self.http.get(self.absolute(url)));
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        let resp = req.send().await.expect("GET");
        self.finish(resp).await
    }

    /// A `fetch`-style JSON POST with the page's CSRF token in `X-CSRF-Token`.
    pub async fn post_json(&mut self, url: &str, csrf: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let mut req = self.with_headers(self.http.post(self.absolute(url))).header("content-type", "application/json").header("x-csrf-token", csrf).body(body.to_string());
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        if let Some(o) = &self.origin {
            req = req.header("origin", o.clone());
        }
        let resp = req.send().await.expect("POST");
        let page = self.finish(resp).await;
        (page.status, serde_json::from_str(&page.body).unwrap_or(serde_json::Value::Null))
    }

    pub async fn post_form(&mut self, url: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(fields).expect("form");
        let mut req = self.with_headers(self.http.post(self.absolute(url))).header("content-type", "application/x-www-form-urlencoded").body(body);
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        if let Some(o) = &self.origin {
            req = req.header("origin", o.clone());
        }
        let resp = req.send().await.expect("POST");
        self.finish(resp).await
    }
}
