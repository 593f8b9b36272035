//! The userinfo endpoint (OIDC Core §5.3), a bearer-protected resource (RFC 6750).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_oauth::dpop::Presented;
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

/// How the request presents its access token: `Bearer`, or `DPoP` with the
/// `DPoP` proof header (RFC 9449 §7.1).
pub(crate) fn presented(req: &HttpRequest) -> Result<Presented<'_>, WebError> {
    let dpop_scheme = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("dpop") && !token.trim().is_empty())
        .map(|(_, token)| token.trim());
    let Some(token) = dpop_scheme else { return bearer(req).map(Presented::Bearer) };
    let mut proofs = req.headers().get_all("dpop");
    let proof = proofs.next().map(|v| v.to_str().map_err(|_| WebError::Dpop(OAuthError::new(ErrorCode::InvalidDpopProof, "malformed DPoP header"))));
    if proofs.next().is_some() {
        return Err(WebError::Dpop(OAuthError::new(ErrorCode::InvalidDpopProof, "more than one DPoP header")));
    }
    Ok(Presented::Dpop { token, proof: proof.transpose()?, method: req.method().as_str() })
}

pub async fn userinfo(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let presented = presented(&req)?;
    let scheme = |e| if matches!(presented, Presented::Dpop { .. }) { WebError::Dpop(e) } else { WebError::Bearer(e) };
    let claims = state.oauth.userinfo(presented).await.map_err(scheme)?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(claims))
}
