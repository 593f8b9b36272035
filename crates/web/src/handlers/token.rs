//! The token endpoint (RFC 6749 §3.2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_oauth::{ClientCredentials, OAuthError, TokenRequest};

use super::{form_pairs, param};
use crate::error::WebError;
use crate::state::AppState;

pub async fn token(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
        return Err(WebError::Json(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded")));
    }
    let pairs = form_pairs(&body).ok_or_else(|| WebError::Json(OAuthError::invalid_request("malformed form body")))?;
    // RFC 6749 §3.2: request parameters MUST NOT be included more than once.
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(prev, _)| prev == k) {
            return Err(WebError::Json(OAuthError::invalid_request(format!("parameter {k} is repeated"))));
        }
    }
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let creds = ClientCredentials::extract(authorization, param(&pairs, "client_id"), param(&pairs, "client_secret")).map_err(WebError::Json)?;
    let get = |name: &str| param(&pairs, name).filter(|v| !v.is_empty()).map(str::to_string);
    let request = TokenRequest {
        grant_type: get("grant_type"),
        code: get("code"),
        redirect_uri: get("redirect_uri"),
        code_verifier: get("code_verifier"),
        scope: get("scope"),
        refresh_token: get("refresh_token"),
    };
    let response = state.oauth.token(&creds, request).await.map_err(WebError::Json)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}
