//! Health check and the stylesheet.

use actix_web::{get, web, HttpResponse};

use crate::state::AppState;

const STYLESHEET: &str = include_str!("../../../../static/latchkey.css");
const PASSKEYS_JS: &str = include_str!("../../../../static/passkeys.js");

/// Liveness and readiness: answers 200 only when the database answers.
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match state.stores.db.run(|c| latchkey_store::db::ping(c)).await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ok"),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unavailable")
        }
    }
}

#[get("/static/latchkey.css")]
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok().content_type("text/css; charset=utf-8").insert_header(("Cache-Control", "public, max-age=3600")).body(STYLESHEET)
}

#[get("/static/passkeys.js")]
pub async fn passkeys_js() -> HttpResponse {
    HttpResponse::Ok().content_type("text/javascript; charset=utf-8").insert_header(("Cache-Control", "public, max-age=300")).body(PASSKEYS_JS)
}
