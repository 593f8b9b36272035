//! OIDC Discovery / RFC 8414 metadata and the JWKS.

use actix_web::{web, HttpResponse};

use crate::state::AppState;

/// Relying parties cache metadata and keys; five minutes keeps a rotated-in key
/// visible to them well before it signs anything (keys are published first).
const METADATA_CACHE: &str = "public, max-age=300";

pub async fn openid_configuration(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", METADATA_CACHE)).json(state.oauth.metadata())
}

/// How stale this node's key ring may be when it answers the JWKS: a key
/// rotated on another node shows up here within a second.
const JWKS_RELOAD_AFTER_SECS: i64 = 1;

pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = state.tokens.reload_keys_if_older_than(JWKS_RELOAD_AFTER_SECS).await {
        // Serve what we have: the published keys rarely change.
        tracing::warn!(error = %e, "could not reload signing keys");
    }
    HttpResponse::Ok().insert_header(("Cache-Control", METADATA_CACHE)).content_type("application/jwk-set+json").json(state.tokens.ring().jwks())
}

/// RFC 9728: the protected resource metadata of a registered API whose
/// operator asked latchkey to publish it (`publish_metadata`); 404 for any
/// other id, so the list of APIs is not readable from outside.
pub async fn resource_metadata(state: web::Data<AppState>, api_id: web::Path<String>) -> HttpResponse {
    let api = match state.oauth.api(&api_id).await {
        Ok(Some(api)) if api.publish_metadata && api.id == *api_id => api,
        Ok(_) => return HttpResponse::NotFound().insert_header(("Cache-Control", "no-store")).json(serde_json::json!({ "error": "not_found" })),
        Err(e) => {
            tracing::error!(error = %e, "could not read the API registry");
            return HttpResponse::ServiceUnavailable().insert_header(("Cache-Control", "no-store")).json(serde_json::json!({ "error": "temporarily_unavailable" }));
        }
    };
    HttpResponse::Ok().insert_header(("Cache-Control", METADATA_CACHE)).json(latchkey_oauth::apis::resource_metadata(&state.issuer, &api))
}

/// `GET /.well-known/webauthn` (WebAuthn related origin requests, issue
/// #29): the other origins allowed to use the passkeys of this relying
/// party, for the browser to check before it lets one of them use them;
/// 404 when none are configured.
pub async fn webauthn_related_origins(state: web::Data<AppState>) -> HttpResponse {
    match state.passkeys.related_origins() {
        Some(doc) => HttpResponse::Ok().insert_header(("Cache-Control", METADATA_CACHE)).json(doc),
        None => HttpResponse::NotFound().finish(),
    }
}
