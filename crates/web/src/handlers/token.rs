//! The token (RFC 6749 §3.2), revocation (RFC 7009) and introspection
//! (RFC 7662) endpoints: form posts with client authentication, JSON answers.

use actix_web::http::header;
use actix_web::ResponseError;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_oauth::endpoint_limits::Gate;
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
        // RFC 6749 §3.2: request parameters MUST NOT be included more than
        // once; RFC 8707 §2 lets `resource` repeat (each endpoint says how
        // many it takes: `/par` several, the token endpoint one).
        for (i, (k, _)) in pairs.iter().enumerate() {
            if k != "resource" && pairs[..i].iter().any(|(prev, _)| prev == k) {
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

    /// Puts the request under `endpoint`'s rate limit. It is applied where
    /// the client is authenticated: only a request that authenticates as a
    /// client spends that client's budget; failures are counted per claimed
    /// id and address (see `latchkey_oauth::endpoint_limits`).
    pub(crate) fn rate_limited(mut self, req: &HttpRequest, state: &AppState, endpoint: &'static str) -> ClientForm {
        let ip = crate::browser::client_info(req).ip;
        self.creds.gate = Some(Gate::new(&state.endpoint_limits, endpoint, ip));
        self
    }

    pub(crate) fn get(&self, name: &str) -> Option<String> {
        param(&self.pairs, name).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// The one `resource` of a request that issues one access token: an
    /// access token has one audience, so several are refused with what to
    /// do instead (RFC 8707 §2.2).
    pub(crate) fn one_resource(&self) -> Result<Option<String>, WebError> {
        let mut all = self.pairs.iter().filter(|(k, v)| k == "resource" && !v.is_empty()).map(|(_, v)| v.clone());
        let first = all.next();
        if all.next().is_some() {
            let why = "one resource per token request: an access token has one audience. Name the resources at /authorize (or /par), then redeem the code with one resource and ask for each other resource with the refresh token, one request each (RFC 8707 §2.2)";
            return Err(WebError::Json(OAuthError::new(ErrorCode::InvalidTarget, why)));
        }
        Ok(first)
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
    with_dpop_nonce(&req, &state, &mut response);
    Ok(response)
}

/// A DPoP client always gets the current server nonce (RFC 9449 §8), in the
/// answer that refuses its proof for lack of one, and in the others.
fn with_dpop_nonce(req: &HttpRequest, state: &AppState, response: &mut HttpResponse) {
    if req.headers().contains_key("dpop") {
        if let Ok(v) = header::HeaderValue::from_str(&state.oauth.dpop_nonce()) {
            response.headers_mut().insert(header::HeaderName::from_static("dpop-nonce"), v);
        }
    }
}

async fn token_answer(req: &HttpRequest, state: &AppState, body: &[u8]) -> Result<HttpResponse, WebError> {
    let form = ClientForm::parse(req, body)?.rate_limited(req, state, "token");
    let request = TokenRequest {
        grant_type: form.get("grant_type"),
        code: form.get("code"),
        redirect_uri: form.get("redirect_uri"),
        code_verifier: form.get("code_verifier"),
        scope: form.get("scope"),
        refresh_token: form.get("refresh_token"),
        resource: form.one_resource()?,
        device_code: form.get("device_code"),
        dpop: dpop_proof(req)?,
        subject_token: form.get("subject_token"),
        subject_token_type: form.get("subject_token_type"),
        actor_token: form.get("actor_token"),
        actor_token_type: form.get("actor_token_type"),
        audience: form.get("audience"),
        requested_token_type: form.get("requested_token_type"),
    };
    let response = state.oauth.token(&form.creds, request).await.map_err(WebError::Json)?;
    Ok(no_store().json(response))
}

/// `POST /par` (RFC 9126): 201 with a one-time `request_uri`. A DPoP proof
/// sent along binds the code to its key (RFC 9449 §10.1).
pub async fn par(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let answer = par_answer(&req, &state, &body).await;
    let mut response = match answer {
        Ok(r) => r,
        Err(e) => e.error_response(),
    };
    with_dpop_nonce(&req, &state, &mut response);
    Ok(response)
}

async fn par_answer(req: &HttpRequest, state: &AppState, body: &[u8]) -> Result<HttpResponse, WebError> {
    let form = ClientForm::parse(req, body)?.rate_limited(req, state, "par");
    let proof = dpop_proof(req)?;
    let ip = crate::browser::client_info(req).ip.unwrap_or_default();
    state.resolve_client_id_metadata(&form.creds.client_id, &ip).await.map_err(|e| WebError::metadata(e, true))?;
    let pushed = state.oauth.push_authorization(&form.creds, form.pairs, proof.as_deref()).await.map_err(WebError::Json)?;
    let mut b = no_store();
    b.status(actix_web::http::StatusCode::CREATED);
    Ok(b.json(pushed))
}

pub async fn revoke(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = ClientForm::parse(&req, &body)?.rate_limited(&req, &state, "revoke");
    state.oauth.revoke(&form.creds, form.get("token").as_deref(), form.get("token_type_hint").as_deref()).await.map_err(WebError::Json)?;
    Ok(no_store().finish())
}

pub async fn introspect(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = ClientForm::parse(&req, &body)?.rate_limited(&req, &state, "introspect");
    let answer = state.oauth.introspect(&form.creds, form.get("token").as_deref(), form.get("token_type_hint").as_deref()).await.map_err(WebError::Json)?;
    Ok(no_store().json(answer))
}
