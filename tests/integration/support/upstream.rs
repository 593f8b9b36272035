//! A real upstream OpenID provider for the federation tests: node-oidc-provider
//! (`tests/upstream/provider.mjs`, pinned by its lock file) as a child process
//! on a free port of 127.0.0.1, with a browser of its own for its sign-in pages.
//!
//! `.ci/run` installs it (`npm ci` in `tests/upstream`). Elsewhere a missing
//! Node or `node_modules` is reported loudly (a failure under `CI=true`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use openidconnect::reqwest;
use serde_json::json;

use super::node::NodeProcess;

/// How long the provider may take to say `READY` (key generation included).
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Requests in one sign-in: login and consent take seven; more is a loop.
const MAX_STEPS: usize = 20;

/// An account of the upstream: `login` is what is typed in its login form
/// (any password works), `sub` what the upstream asserts.
#[derive(Clone, Debug, Default)]
pub struct UpstreamAccount {
    pub login: String,
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// A client registered at the upstream (latchkey, as its relying party).
#[derive(Clone, Debug, Default)]
pub struct UpstreamClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
}

/// The running provider, killed on drop.
pub struct Upstream {
    pub issuer: String,
    /// Its stdin stays piped: the provider exits when that closes, so it does
    /// not outlive a test process that dies without dropping this.
    _node: NodeProcess,
}

impl Upstream {
    /// None after `missing(..)` when Node or `tests/upstream/node_modules` is
    /// absent (so `CI=true` fails loudly).
    pub async fn start(clients: Vec<UpstreamClient>, accounts: Vec<UpstreamAccount>) -> Option<Upstream> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("upstream");
        let clients: Vec<_> = clients
            .iter()
            .map(|c| {
                let mut client = json!({
                    "client_id": c.client_id,
                    "client_secret": c.client_secret,
                    "redirect_uris": c.redirect_uris,
                    "post_logout_redirect_uris": c.post_logout_redirect_uris,
                });
                if let Some(uri) = &c.backchannel_logout_uri {
                    client["backchannel_logout_uri"] = json!(uri);
                }
                client
            })
            .collect();
        let accounts: serde_json::Map<String, serde_json::Value> =
            accounts.iter().map(|a| (a.login.clone(), json!({ "sub": a.sub, "email": a.email, "email_verified": a.email_verified, "name": a.name }))).collect();
        let config = json!({ "port": 0, "clients": clients, "accounts": accounts });
        let mut node = NodeProcess::spawn(&dir, "oidc-provider", "provider.mjs", &[&config.to_string()], "the upstream OpenID provider (node-oidc-provider)", "upstream")?;
        let ready = tokio::time::timeout(READY_TIMEOUT, async {
            while let Some(line) = node.lines.recv().await {
                if let Some(issuer) = line.strip_prefix("READY ") {
                    return Some(issuer.trim().to_string());
                }
            }
            None
        })
        .await;
        match ready {
            Ok(Some(issuer)) => Some(Upstream { issuer, _node: node }),
            other => panic!("the upstream OpenID provider never said READY ({other:?}): {}", node.stderr()),
        }
    }

    /// Drives the upstream's own sign-in pages for `login`, starting from the
    /// authorization URL latchkey redirected the browser to, and returns the
    /// URL the upstream finally redirects to (latchkey's callback, with code,
    /// state and iss) WITHOUT requesting it. Each call is a fresh upstream
    /// browser (its own cookie jar), so the upstream asks to sign in again.
    pub async fn sign_in(&self, authorization_url: &str, login: &str) -> String {
        self.sign_in_keeping(authorization_url, login).await.0
    }

    /// [`Upstream::sign_in`], also returning the upstream browser's cookies
    /// (its session there), for [`Upstream::sign_out`].
    pub async fn sign_in_keeping(&self, authorization_url: &str, login: &str) -> (String, BTreeMap<String, String>) {
        let mut cookies: BTreeMap<String, String> = BTreeMap::new();
        let next = self.drive(authorization_url, login, &mut cookies).await;
        (next, cookies)
    }

    /// Signs the upstream browser of `cookies` out at the provider (its
    /// end-session page, confirmed): the provider then sends a back-channel
    /// logout token to every client of that session that registered a
    /// `backchannel_logout_uri`. Returns the provider's last answer.
    pub async fn sign_out(&self, cookies: &BTreeMap<String, String>) -> u16 {
        self.sign_out_at(&format!("{}/session/end", self.issuer), cookies).await.0
    }

    /// Confirms the sign-out at the provider's end-session page `url` (as a
    /// relying party sent the browser there); returns the provider's answer
    /// and where it sends the browser next.
    pub async fn sign_out_at(&self, url: &str, cookies: &BTreeMap<String, String>) -> (u16, Option<String>) {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().expect("http client");
        let jar = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let page = http.get(url).header("cookie", &jar).send().await.expect("end session page");
        let body = page.text().await.unwrap_or_default();
        let action = between(&body, "<form", "action=\"").unwrap_or_else(|| panic!("no logout form: {body}"));
        let xsrf = between(&body, "", "name=\"xsrf\" value=\"").unwrap_or_default();
        let url = url::Url::parse(&self.issuer).and_then(|b| b.join(&action.replace("&amp;", "&"))).expect("form action").to_string();
        let fields = [("xsrf", xsrf.as_str()), ("logout", "yes")];
        let done = http
            .post(url)
            .header("cookie", &jar)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).expect("form"))
            .send()
            .await
            .expect("confirm logout");
        let status = done.status().as_u16();
        let mut next = done.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        // The provider may pass through a page of its own before leaving.
        for _ in 0..3 {
            match &next {
                Some(n) if n.starts_with(&self.issuer) || n.starts_with('/') => {
                    let full = url::Url::parse(&self.issuer).and_then(|b| b.join(n)).expect("location").to_string();
                    let r = http.get(full).header("cookie", &jar).send().await.expect("after logout");
                    next = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
                }
                _ => break,
            }
        }
        (status, next)
    }

    async fn drive(&self, authorization_url: &str, login: &str, cookies: &mut BTreeMap<String, String>) -> String {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().expect("http client");
        let mut url = authorization_url.to_string();
        let mut form: Option<Vec<(&str, String)>> = None;
        for _ in 0..MAX_STEPS {
            let mut req = match &form {
                Some(fields) => http.post(&url).header("content-type", "application/x-www-form-urlencoded").body(serde_urlencoded::to_string(fields).expect("form")),
                None => http.get(&url),
            };
            if !cookies.is_empty() {
                req = req.header("cookie", cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "));
            }
            let resp = req.send().await.unwrap_or_else(|e| panic!("upstream {url}: {e}"));
            let status = resp.status().as_u16();
            // One jar for the whole upstream: cookie paths are ignored, as
            // the provider's cookies never share a name across paths at once.
            for cookie in resp.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
                let Some((name, value)) = cookie.split(';').next().and_then(|pair| pair.split_once('=')) else { continue };
                if value.trim().is_empty() || cookie.to_ascii_lowercase().contains("max-age=0") {
                    cookies.remove(name.trim());
                } else {
                    cookies.insert(name.trim().to_string(), value.trim().to_string());
                }
            }
            let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
            let body = resp.text().await.unwrap_or_default();
            if let Some(location) = location {
                let next = url::Url::parse(&url).and_then(|base| base.join(&location)).unwrap_or_else(|e| panic!("upstream Location {location}: {e}")).to_string();
                if !next.starts_with(&format!("{}/", self.issuer)) {
                    return next;
                }
                url = next;
                form = None;
                continue;
            }
            assert_eq!(status, 200, "upstream {url}: {body}");
            // The development pages: a login form, then a consent form.
            let action = between(&body, "<form", "action=\"").unwrap_or_else(|| panic!("no form at {url}: {body}"));
            let prompt = between(&body, "", "name=\"prompt\" value=\"").unwrap_or_else(|| panic!("no prompt at {url}: {body}"));
            url = url::Url::parse(&url).and_then(|base| base.join(&action.replace("&amp;", "&"))).expect("form action").to_string();
            form = Some(if prompt == "login" { vec![("prompt", prompt), ("login", login.to_string()), ("password", "any".to_string())] } else { vec![("prompt", prompt)] });
        }
        panic!("the upstream sign-in did not leave the upstream in {MAX_STEPS} requests (last {url})");
    }
}

/// The quoted value that follows `marker`, after the first `after`.
fn between(body: &str, after: &str, marker: &str) -> Option<String> {
    let rest = &body[body.find(after)?..];
    let start = rest.find(marker)? + marker.len();
    let end = rest[start..].find('"')? + start;
    Some(rest[start..end].to_string())
}
