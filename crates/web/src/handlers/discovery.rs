//! OIDC Discovery / RFC 8414 metadata and the JWKS.

use actix_web::{web, HttpResponse};

use crate::state::AppState;

/// Relying parties cache metadata and keys; five minutes keeps a rotated-in key
/// visible to them well before it signs anything (keys are published first).
const METADATA_CACHE: &str = "public, max-age=300";

pub async fn openid_configuration(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", METADATA_CACHE)).json(state.oauth.metadata())
}

pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", METADATA_CACHE))
        .content_type("application/jwk-set+json")
        .json(state.tokens.ring().jwks())
}
