//! Request handlers: parse, call a service, render. Logic lives in the domain crates.

pub mod account;
pub mod account_page;
pub mod account_password;
pub mod activity;
pub mod authorize;
pub mod consent;
pub mod console;
pub mod console_providers;
pub mod device;
pub mod discovery;
pub mod email;
pub mod federation;
pub mod link_credentials;
pub mod login;
pub mod logout;
pub mod mfa_settings;
pub mod misc;
pub mod passkeys;
pub mod recovery;
pub mod registration;
pub mod review;
pub mod risk;
pub mod scim;
pub mod signup;
pub mod ssf;
pub mod token;
pub mod userinfo;

use actix_web::http::header;
use actix_web::HttpResponse;

/// A `Location` never carries control characters (they would break the
/// header): callers validate what users send, and this is the last guard.
fn safe_location(location: &str) -> &str {
    if location.chars().any(char::is_control) {
        tracing::warn!(target: "security", event = "unsafe_location_refused");
        return "/account";
    }
    location
}

/// 303 See Other: after a form POST, the browser follows with a GET.
pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, safe_location(location))).insert_header((header::CACHE_CONTROL, "no-store")).finish()
}

/// 302 Found: the authorization endpoint's redirects (RFC 6749 §4.1.2).
pub(crate) fn found(location: &str) -> HttpResponse {
    HttpResponse::Found().insert_header((header::LOCATION, safe_location(location))).insert_header((header::CACHE_CONTROL, "no-store")).finish()
}

/// Decodes an `application/x-www-form-urlencoded` body or query into pairs,
/// keeping duplicates so callers can refuse them (RFC 6749 §3.1, §3.2).
pub(crate) fn form_pairs(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    // Counted before decoding: a body of thousands of empty fields costs
    // nothing to refuse.
    if bytes.iter().filter(|b| **b == b'&').count() >= MAX_FORM_FIELDS {
        return None;
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).ok()
}

/// Fields in one form body or query string: the largest legitimate request
/// (an authorization request with every OIDC parameter) has about 25.
pub(crate) const MAX_FORM_FIELDS: usize = 100;

/// The first value of a parameter in decoded pairs.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// An optional whole number in a JSON body: JSON Schema's `integer` admits
/// `300.0` as well as `300`, so both are read; `null` is "not given".
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::Deserialize;
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(Some(i)),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
            _ => Err(serde::de::Error::custom(format!("{n} is not a whole number"))),
        },
    }
}
