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
