//! An example API ("Orders") protected by latchkey access tokens.
//!
//! - `GET /orders` needs scope `orders:read`.
//! - `GET /orders/export` is sensitive: scope `orders:read`, a multi-factor
//!   or phishing-resistant sign-in (`acr`), no older than 5 minutes. A token
//!   that falls short gets the RFC 9470 challenge; the client re-authorizes
//!   with its `acr_values` and `max_age`, the user presents only the missing
//!   factor, and the new token passes.
//!
//! Every refusal carries the `WWW-Authenticate` header of
//! [`latchkey_resource::AuthError`].

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_resource::{AuthError, Request, Requirement, Verifier};
use serde_json::json;

/// The sensitive route wants a second factor (or a passkey) within 5 minutes.
pub const EXPORT_MAX_AGE: i64 = 5 * 60;
pub const MFA: &str = "urn:latchkey:acr:mfa";
pub const PHR: &str = "urn:latchkey:acr:phr";

fn refuse(e: &AuthError) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(e.status()).unwrap_or(actix_web::http::StatusCode::UNAUTHORIZED);
    HttpResponse::build(status).insert_header(("WWW-Authenticate", e.www_authenticate())).insert_header(("Cache-Control", "no-store")).json(json!({ "error": e.to_string() }))
}

async fn guarded(req: &HttpRequest, verifier: &Verifier, need: &Requirement) -> Result<latchkey_resource::Claims, HttpResponse> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    // The URL the client addressed (what a DPoP proof's htu names); behind a
    // proxy, configure actix's forwarded-header handling so this stays true.
    let url = {
        let info = req.connection_info();
        format!("{}://{}{}", info.scheme(), info.host(), req.path())
    };
    let request = Request { authorization: header("authorization"), dpop: header("dpop"), method: req.method().as_str(), url: &url };
    verifier.check_request(&request, need).await.map_err(|e| refuse(&e))
}

async fn orders(req: HttpRequest, verifier: web::Data<Verifier>) -> HttpResponse {
    match guarded(&req, &verifier, &Requirement::scope("orders:read")).await {
        Ok(c) => HttpResponse::Ok().json(json!({ "orders": [{ "id": 1, "owner": c.sub }], "roles": c.roles })),
        Err(r) => r,
    }
}

async fn export(req: HttpRequest, verifier: web::Data<Verifier>) -> HttpResponse {
    let need = Requirement::scope("orders:read").step_up(&[MFA, PHR], Some(EXPORT_MAX_AGE));
    match guarded(&req, &verifier, &need).await {
        Ok(c) => HttpResponse::Ok().json(json!({ "export": "all orders", "acr": c.acr })),
        Err(r) => r,
    }
}

/// The API's routes, checking tokens with `verifier`.
pub fn configure(verifier: Arc<Verifier>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::from(verifier)).route("/orders", web::get().to(orders)).route("/orders/export", web::get().to(export));
    }
}
