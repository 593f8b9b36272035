//! Health check and the stylesheet.

use actix_web::{get, web, HttpResponse};

use crate::state::AppState;

const STYLESHEET: &str = include_str!("../../../../static/latchkey.css");
const PASSKEYS_JS: &str = include_str!("../../../../static/passkeys.js");
const COPY_JS: &str = include_str!("../../../../static/copy.js");

/// Liveness: the process answers.
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers, Redis answers (when configured), and a
/// signing key is active. 503 with a JSON body naming what is down.
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    readiness(&state).await
}

/// The old name of readiness.
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    readiness(&state).await
}

async fn readiness(state: &AppState) -> HttpResponse {
    let mut down = Vec::new();
    let ping = state.stores.db.run(latchkey_store::db::ping);
    if let Err(e) = tokio::time::timeout(std::time::Duration::from_secs(2), ping).await.unwrap_or_else(|_| Err(latchkey_store::StoreError::Unavailable("timeout".into()))) {
        tracing::warn!(error = %e, "readiness: database down");
        down.push("database");
    }
    if state.stores.fast.is_shared() {
        let probe = state.stores.fast.get("health-probe");
        if !matches!(tokio::time::timeout(std::time::Duration::from_secs(2), probe).await, Ok(Ok(_))) {
            down.push("redis");
        }
    }
    if state.tokens.ring().active(latchkey_token::service::ACCESS_TOKEN_ALG, state.clock.now()).is_none() {
        down.push("signing_key");
    }
    let body = serde_json::json!({ "status": if down.is_empty() { "ok" } else { "unavailable" }, "down": down });
    let mut b = if down.is_empty() { HttpResponse::Ok() } else { HttpResponse::ServiceUnavailable() };
    b.insert_header(("Cache-Control", "no-store")).json(body)
}

#[get("/static/latchkey.css")]
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok().content_type("text/css; charset=utf-8").insert_header(("Cache-Control", "public, max-age=3600")).body(STYLESHEET)
}

/// The brand colour (`LATCHKEY_BRAND_COLOR`) over the stylesheet's default.
#[get("/static/brand.css")]
pub async fn brand_stylesheet(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/css; charset=utf-8").insert_header(("Cache-Control", "public, max-age=300")).body(state.brand.stylesheet())
}

#[get("/static/passkeys.js")]
pub async fn passkeys_js() -> HttpResponse {
    HttpResponse::Ok().content_type("text/javascript; charset=utf-8").insert_header(("Cache-Control", "public, max-age=300")).body(PASSKEYS_JS)
}

/// The console's copy buttons (a set-up link after an invitation).
#[get("/static/copy.js")]
pub async fn copy_js() -> HttpResponse {
    HttpResponse::Ok().content_type("text/javascript; charset=utf-8").insert_header(("Cache-Control", "public, max-age=300")).body(COPY_JS)
}

/// `/`, the issuer's own address: someone who types it sees the brand and
/// the way to sign in (or to their account), not an empty 404.
pub async fn home(req: actix_web::HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, crate::error::WebError> {
    let signed_in = crate::browser::current_session(&req, &state).await?.is_some();
    let page = crate::pages::HomePage { t: crate::lang::tr(&req), brand_name: state.brand.name.clone(), signed_in };
    Ok(crate::pages::render(actix_web::http::StatusCode::OK, &page))
}
