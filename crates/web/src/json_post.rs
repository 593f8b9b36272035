//! The JSON endpoints the passkey scripts call: the same checks as a form
//! post (same origin, the form token, in a header), errors as JSON, and a
//! sign-in's redirect handed to the script.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use crate::browser::{CsrfCookie, CSRF_COOKIE};
use crate::state::AppState;

/// A JSON error the page's script shows.
pub fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::CACHE_CONTROL, "no-store")).json(json!({ "error": message }))
}

/// The JSON twin of the form checks: same-origin `Origin`, and the form token in a header.
#[allow(clippy::result_large_err)] // the refusal is the response itself, built once per refused request
pub fn check_json_post(req: &HttpRequest, state: &AppState) -> Result<CsrfCookie, HttpResponse> {
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin != Some(state.issuer_origin.as_str()) {
        return Err(json_error(StatusCode::FORBIDDEN, "cross-origin request refused"));
    }
    let token = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    let cookie = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    let csrf = CsrfCookie { value: cookie, new: None };
    if csrf.value.is_empty() || !state.csrf.verify_b64(&format!("form:{}", csrf.value), token) {
        return Err(json_error(StatusCode::FORBIDDEN, "the page has expired; reload it"));
    }
    Ok(csrf)
}

/// A sign-in's redirect, as JSON for the script (cookies kept).
pub fn redirect_as_json(resp: &HttpResponse) -> HttpResponse {
    let location = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("/account").to_string();
    let mut out = HttpResponse::Ok();
    out.insert_header((header::CACHE_CONTROL, "no-store"));
    for c in resp.cookies() {
        out.cookie(c.into_owned());
    }
    out.json(json!({ "redirect": location }))
}
