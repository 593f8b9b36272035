//! Endpoint calls by hand, for exact assertions on status, headers and body.

use openidconnect::reqwest::header::HeaderMap;
use serde_json::Value;

use super::app::TestApp;

pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

/// POSTs a form to `path`, with HTTP Basic client credentials if given.
pub async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Answer {
    let mut req = app.http().post(app.url(path)).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    Answer { status, headers, body }
}

/// Calls `method path` with a bearer token.
pub async fn bearer(app: &TestApp, method: &str, path: &str, token: &str) -> Answer {
    let method = openidconnect::reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let r = app.http().request(method, app.url(path)).bearer_auth(token).send().await.expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    Answer { status, headers, body }
}
