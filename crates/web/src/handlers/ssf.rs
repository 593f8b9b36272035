//! Shared signals (OpenID SSF 1.0, issue #30): the transmitter's
//! configuration, and the stream management a relying party calls as its
//! client (HTTP Basic with its secret). Thin: `latchkey_app::ssf` decides.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_app::ssf::StreamRequest;
use latchkey_app::AppError;
use latchkey_oauth::client_auth::{ClientAuth, ClientCredentials};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::state::AppState;

fn answer(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::CACHE_CONTROL, "no-store")).json(body)
}

fn refused(e: &AppError) -> HttpResponse {
    let (status, code) = match e {
        AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
        AppError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
        _ => {
            tracing::error!(error = %e, "an SSF request failed");
            return answer(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "error": "server_error" }));
        }
    };
    answer(status, &json!({ "error": code, "error_description": e.to_string() }))
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"ssf\""))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": "invalid_client", "error_description": "authenticate as your client (HTTP Basic with its secret)" }))
}

/// The client the request authenticates as (a confidential client, by HTTP Basic).
async fn client(req: &HttpRequest, state: &AppState) -> Option<String> {
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let creds: ClientCredentials = ClientCredentials::extract(authorization, None, None).ok()?;
    if !matches!(creds.method, ClientAuth::SecretBasic(_)) {
        return None;
    }
    state.oauth.authenticate_client(&creds).await.ok().map(|c| c.id.0)
}

fn stream_request(body: &web::Bytes) -> Result<StreamRequest, AppError> {
    if body.is_empty() {
        return Ok(StreamRequest::default());
    }
    serde_json::from_slice(body).map_err(|e| AppError::Invalid(format!("not a stream configuration: {e}")))
}

/// `GET /.well-known/ssf-configuration`.
pub async fn configuration(state: web::Data<AppState>) -> HttpResponse {
    answer(StatusCode::OK, &state.ssf_configuration())
}

/// `GET|POST|PATCH|PUT|DELETE /ssf/stream`.
pub async fn stream(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let Some(client) = client(&req, &state).await else { return unauthorized() };
    let result = match *req.method() {
        actix_web::http::Method::GET => match state.ssf_stream(&client).await {
            Ok(Some(config)) => Ok((StatusCode::OK, config)),
            Ok(None) => Err(AppError::NotFound("stream")),
            Err(e) => Err(e),
        },
        actix_web::http::Method::POST => match stream_request(&body) {
            Ok(r) => state.create_ssf_stream(&client, &r).await.map(|c| (StatusCode::CREATED, c)),
            Err(e) => Err(e),
        },
        actix_web::http::Method::PATCH | actix_web::http::Method::PUT => match stream_request(&body) {
            Ok(r) => state.update_ssf_stream(&client, &r).await.map(|c| (StatusCode::OK, c)),
            Err(e) => Err(e),
        },
        actix_web::http::Method::DELETE => match state.delete_ssf_stream(&client).await {
            Ok(()) => return HttpResponse::NoContent().finish(),
            Err(e) => Err(e),
        },
        _ => return HttpResponse::MethodNotAllowed().finish(),
    };
    match result {
        Ok((status, config)) => answer(status, &config),
        Err(e) => refused(&e),
    }
}

#[derive(Deserialize, Default)]
pub struct VerifyRequest {
    #[serde(default)]
    state: Option<String>,
}

/// `POST /ssf/verify`: a verification event on the client's stream; 204.
pub async fn verify(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let Some(client) = client(&req, &state).await else { return unauthorized() };
    let asked: VerifyRequest = if body.is_empty() { VerifyRequest::default() } else { serde_json::from_slice(&body).unwrap_or_default() };
    if asked.state.as_ref().is_some_and(|s| s.len() > 256) {
        return refused(&AppError::Invalid("state is at most 256 characters".into()));
    }
    match state.verify_ssf_stream(&client, asked.state).await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => refused(&e),
    }
}
