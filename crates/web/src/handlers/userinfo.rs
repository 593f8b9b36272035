//! The userinfo endpoint (OIDC Core §5.3), a bearer-protected resource (RFC 6750).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_oauth::{ErrorCode, OAuthError};

use crate::error::WebError;
use crate::state::AppState;

pub(crate) fn bearer(req: &HttpRequest) -> Result<&str, WebError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        // No credentials: a bare challenge without an error code (RFC 6750 §3.1).
        return Err(WebError::Bearer(OAuthError::invalid_request("")));
    };
    let value = value.to_str().map_err(|_| WebError::Bearer(OAuthError::invalid_request("malformed Authorization header")))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(WebError::Bearer(OAuthError::new(ErrorCode::InvalidRequest, "use the Bearer scheme"))),
    }
}

pub async fn userinfo(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let token = bearer(&req)?;
    let claims = state.oauth.userinfo(token).await.map_err(WebError::Bearer)?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(claims))
}
