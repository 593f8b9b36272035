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
//! [`latchkey_resource::AuthError`], pointing at the API's protected
//! resource metadata (RFC 9728, `GET /.well-known/oauth-protected-resource`),
//! where a client finds the authorization server.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_resource::{AuthError, Request, Requirement, Verifier};
use serde_json::json;

/// The sensitive route wants a second factor (or a passkey) within 5 minutes.
pub const EXPORT_MAX_AGE: i64 = 5 * 60;
pub const MFA: &str = "urn:latchkey:acr:mfa";
pub const PHR: &str = "urn:latchkey:acr:phr";

/// The scopes this API knows.
pub const SCOPES: [&str; 1] = ["orders:read"];

/// This API's base URL as the client addressed it.
fn base_of(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

fn refuse(req: &HttpRequest, e: &AuthError) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(e.status()).unwrap_or(actix_web::http::StatusCode::UNAUTHORIZED);
    let challenge = e.www_authenticate_with_metadata(&latchkey_resource::metadata_url(&base_of(req)));
    HttpResponse::build(status).insert_header(("WWW-Authenticate", challenge)).insert_header(("Cache-Control", "no-store")).json(json!({ "error": e.to_string() }))
}

/// RFC 9728: what a client needs to get a token for this API.
async fn resource_metadata(verifier: web::Data<Verifier>) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "max-age=300")).json(verifier.resource_metadata(&SCOPES))
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
    verifier.check_request(&request, need).await.map_err(|e| refuse(req, &e))
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
        cfg.app_data(web::Data::from(verifier))
            .route("/.well-known/oauth-protected-resource", web::get().to(resource_metadata))
            .route("/orders", web::get().to(orders))
            .route("/orders/export", web::get().to(export));
    }
}
