//! Regression tests for the security review (docs/SECURITY.md): one or more
//! tests per finding, each failing on the code before its fix.

mod requests;
mod sessions;
mod throttle;
mod tokens;
mod usernames;

use serde_json::Value;

use crate::support::raw::{post_form, Answer};
use crate::support::TestApp;

pub const SESSION: &str = "__Host-latchkey-session";
pub const DEVICE: &str = "__Host-latchkey-device";
pub const CSRF: &str = "__Host-latchkey-csrf";

/// The `authz` id of a `/login?authz=…` (or `/consent?authz=…`) location.
pub fn authz_of(location: &str) -> String {
    location.split("authz=").nth(1).unwrap_or_default().split('&').next().unwrap_or_default().to_string()
}

/// A token request with HTTP Basic client credentials.
pub async fn token(app: &TestApp, client: (&str, &str), form: &[(&str, &str)]) -> Answer {
    post_form(app, "/token", form, Some(client)).await
}

pub fn error_of(a: &Answer) -> &str {
    a.body.get("error").and_then(Value::as_str).unwrap_or_default()
}
