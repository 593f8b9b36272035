//! The token (RFC 6749 §3.2), revocation (RFC 7009) and introspection
//! (RFC 7662) endpoints: form posts with client authentication, JSON answers.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_oauth::endpoint_limits::Caller;
use actix_web::ResponseError;
use latchkey_oauth::{ClientCredentials, ErrorCode, OAuthError, TokenRequest};

use super::{form_pairs, param};
use crate::error::WebError;
use crate::state::AppState;

/// A decoded client-authenticated form post.
pub(crate) struct ClientForm {
    pairs: Vec<(String, String)>,
    pub(crate) creds: ClientCredentials,
}

impl ClientForm {
    pub(crate) fn parse(req: &HttpRequest, body: &[u8]) -> Result<ClientForm, WebError> {
        let json = |e: OAuthError| WebError::Json(e);
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !content_type.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
            return Err(json(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded")));
        }
        let pairs = form_pairs(body).ok_or_else(|| json(OAuthError::invalid_request("malformed form body")))?;
        // RFC 6749 §3.2: request parameters MUST NOT be included more than once.
        for (i, (k, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(prev, _)| prev == k) {
                return Err(json(OAuthError::invalid_request(format!("parameter {k} is repeated"))));
            }
        }
        let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let creds = match param(&pairs, "client_assertion_type") {
            Some(kind) => ClientCredentials::from_assertion(authorization, param(&pairs, "client_id"), param(&pairs, "client_secret"), kind, param(&pairs, "client_assertion")),
            None => ClientCredentials::extract(authorization, param(&pairs, "client_id"), param(&pairs, "client_secret")),
        }
        .map_err(json)?;
        Ok(ClientForm { pairs, creds })
    }

    /// Counts the request against its client's rate limit for `endpoint`.
    pub(crate) async fn rate_limit(&self, req: &HttpRequest, state: &AppState, endpoint: &'static str) -> Result<(), WebError> {
        let ip = crate::browser::client_info(req).ip;
        let caller = match &self.creds.secret {
            Some(_) => Caller::Confidential { client_id: &self.creds.client_id },
            None => Caller::Public { client_id: Some(&self.creds.client_id), ip: ip.as_deref() },
        };
        state.endpoint_limits.check(endpoint, &caller).await.map_err(WebError::Json)
    }

    pub(crate) fn get(&self, name: &str) -> Option<String> {
        param(&self.pairs, name).filter(|v| !v.is_empty()).map(str::to_string)
    }
}

pub(crate) fn no_store() -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::Ok();
    b.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
    b
}

/// The request's one `DPoP` header (RFC 9449 §4.1: never two).
fn dpop_proof(req: &HttpRequest) -> Result<Option<String>, WebError> {
    let bad = |why: &str| WebError::Json(OAuthError::new(ErrorCode::InvalidDpopProof, why));
    let mut all = req.headers().get_all("dpop");
    let first = all.next().map(|v| v.to_str().map(str::to_string).map_err(|_| bad("malformed DPoP header"))).transpose()?;
    if all.next().is_some() {
        return Err(bad("more than one DPoP header"));
    }
    Ok(first)
}

pub async fn token(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let answer = token_answer(&req, &state, &body).await;
    let mut response = match answer {
        Ok(r) => r,
        Err(e) => e.error_response(),
    };
    // A DPoP client always gets the current server nonce (RFC 9449 §8), in
    // the answer that refuses its proof for lack of one, and in the others.
    if req.headers().contains_key("dpop") {
        if let Ok(v) = header::HeaderValue::from_str(&state.oauth.dpop_nonce()) {
            response.headers_mut().insert(header::HeaderName::from_static("dpop-nonce"), v);
        }
    }
    Ok(response)
}

async fn token_answer(req: &HttpRequest, state: &AppState, body: &[u8]) -> Result<HttpResponse, WebError> {
    let form = ClientForm::parse(req, body)?;
    form.rate_limit(req, state, "token").await?;
    let request = TokenRequest {
        grant_type: form.get("grant_type"),
        code: form.get("code"),
        redirect_uri: form.get("redirect_uri"),
        code_verifier: form.get("code_verifier"),
        scope: form.get("scope"),
        refresh_token: form.get("refresh_token"),
        resource: form.get("resource"),
        device_code: form.get("device_code"),
        dpop: dpop_proof(req)?,
    };
    let response = state.oauth.token(&form.creds, request).await.map_err(WebError::Json)?;
    Ok(no_store().json(response))
}

/// `POST /par` (RFC 9126): 201 with a one-time `request_uri`.
pub async fn par(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = ClientForm::parse(&req, &body)?;
    form.rate_limit(&req, &state, "par").await?;
    let pushed = state.oauth.push_authorization(&form.creds, form.pairs).await.map_err(WebError::Json)?;
    let mut b = no_store();
    b.status(actix_web::http::StatusCode::CREATED);
    Ok(b.json(pushed))
}

pub async fn revoke(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = ClientForm::parse(&req, &body)?;
    form.rate_limit(&req, &state, "revoke").await?;
    state.oauth.revoke(&form.creds, form.get("token").as_deref(), form.get("token_type_hint").as_deref()).await.map_err(WebError::Json)?;
    Ok(no_store().finish())
}

pub async fn introspect(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = ClientForm::parse(&req, &body)?;
    form.rate_limit(&req, &state, "introspect").await?;
    let answer = state.oauth.introspect(&form.creds, form.get("token").as_deref(), form.get("token_type_hint").as_deref()).await.map_err(WebError::Json)?;
    Ok(no_store().json(answer))
}
