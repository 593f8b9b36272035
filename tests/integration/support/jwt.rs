//! Reading (not verifying) JWT parts, to assert on claims the RP library hides.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

fn part(jwt: &str, index: usize) -> Value {
    let p = jwt.split('.').nth(index).expect("JWT part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("base64url")).expect("JSON")
}

pub fn header(jwt: &str) -> Value {
    part(jwt, 0)
}

pub fn payload(jwt: &str) -> Value {
    part(jwt, 1)
}

/// The same JWT with its payload replaced (signature kept): a forgery.
pub fn with_payload(jwt: &str, payload: &Value) -> String {
    let mut parts: Vec<String> = jwt.split('.').map(str::to_string).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).expect("json"));
    parts.join(".")
}
