//! `/register`: dynamic client registration (RFC 7591) and its management
//! (RFC 7592), JSON in and out. The rules are `latchkey_app::registration`'s;
//! this module reads the bearer token, limits anonymous registrations per
//! address, and words each refusal as the RFCs say.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_app::registration::{ClientMetadata, RegistrationError, RegistrationPolicy};
use latchkey_authn::rate_limit::REGISTRATION_PER_IP;
use serde_json::json;

use crate::browser::client_info;
use crate::error::WebError;
use crate::limits::rate;
use crate::state::AppState;

/// The bearer token of the request, if it sent one.
fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string()).filter(|t| !t.is_empty() && t.len() <= 512)
}

fn refusal(e: RegistrationError) -> Result<HttpResponse, WebError> {
    let description = e.to_string();
    let (status, code) = match e {
        RegistrationError::Closed => (StatusCode::FORBIDDEN, "access_denied"),
        RegistrationError::InvalidToken => {
            return Ok(HttpResponse::Unauthorized()
                .insert_header(("www-authenticate", "Bearer error=\"invalid_token\""))
                .insert_header(("cache-control", "no-store"))
                .json(json!({ "error": "invalid_token", "error_description": description })));
        }
        RegistrationError::InvalidRedirectUri(_) => (StatusCode::BAD_REQUEST, "invalid_redirect_uri"),
        RegistrationError::InvalidClientMetadata(_) | RegistrationError::App(latchkey_app::AppError::Invalid(_)) => (StatusCode::BAD_REQUEST, "invalid_client_metadata"),
        RegistrationError::App(other) => return Err(WebError::api(other)),
    };
    Ok(HttpResponse::build(status).insert_header(("cache-control", "no-store")).json(json!({ "error": code, "error_description": description })))
}

/// `POST /register`.
pub async fn register(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, WebError> {
    if state.client_registration == RegistrationPolicy::Closed {
        return refusal(RegistrationError::Closed);
    }
    rate(&state, REGISTRATION_PER_IP, &client_info(&req).ip.unwrap_or_default(), true).await?;
    let meta: ClientMetadata = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => return refusal(RegistrationError::InvalidClientMetadata(format!("the body is not client metadata JSON: {e}"))),
    };
    match state.register_client(state.client_registration, bearer(&req).as_deref(), meta).await {
        Ok(registered) => Ok(HttpResponse::Created().insert_header(("cache-control", "no-store")).json(registered)),
        Err(e) => refusal(e),
    }
}

/// `GET /register/{client_id}` (RFC 7592 §2.1).
pub async fn read(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    match state.read_registration(&path, bearer(&req).as_deref()).await {
        Ok(registered) => Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(registered)),
        Err(e) => refusal(e),
    }
}

/// `PUT /register/{client_id}` (RFC 7592 §2.2): the whole metadata, with
/// the client's own `client_id`.
pub async fn update(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let parsed: Result<(ClientMetadata, serde_json::Value), _> = serde_json::from_slice::<serde_json::Value>(&body).and_then(|v| Ok((serde_json::from_value(v.clone())?, v)));
    let (meta, raw) = match parsed {
        Ok(m) => m,
        Err(e) => return refusal(RegistrationError::InvalidClientMetadata(format!("the body is not client metadata JSON: {e}"))),
    };
    let body_id = raw.get("client_id").and_then(|v| v.as_str());
    match state.update_registration(state.client_registration, &path, bearer(&req).as_deref(), meta, body_id).await {
        Ok(registered) => Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(registered)),
        Err(e) => refusal(e),
    }
}

/// `DELETE /register/{client_id}` (RFC 7592 §2.3).
pub async fn delete(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    match state.delete_registration(&path, bearer(&req).as_deref()).await {
        Ok(()) => Ok(HttpResponse::NoContent().insert_header(("cache-control", "no-store")).finish()),
        Err(e) => refusal(e),
    }
}
