//! Signing keys: their state, and rotation.

use actix_web::{get, post, web, HttpResponse};
use latchkey_domain::{SecurityEvent, SigningAlg};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ok, AdminClient};
use crate::error::WebError;
use crate::state::AppState;

const TAG: &str = "keys";

/// A signing key.
#[derive(Serialize, ToSchema)]
pub struct KeyView {
    pub kid: String,
    pub alg: String,
    /// Epoch seconds.
    pub created_at: i64,
    pub retired_at: Option<i64>,
    /// `active` (signs), `next` (published, not signing yet), `published` (verifies only), `retired`.
    pub state: String,
}

impl From<latchkey_token::service::KeyInfo> for KeyView {
    fn from(k: latchkey_token::service::KeyInfo) -> Self {
        let latchkey_token::service::KeyInfo { kid, alg, created_at, retired_at, state } = k;
        KeyView { kid, alg: alg.to_string(), created_at, retired_at, state: state.to_string() }
    }
}

#[utoipa::path(summary = "Signing keys and their state", tag = TAG, operation_id = "listKeys", responses((status = 200, description = "Every key", body = Vec<KeyView>)))]
#[get("/keys")]
pub async fn list_keys(_: AdminClient, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let keys = state.tokens.key_status().await.map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(ok(keys.into_iter().map(KeyView::from).collect::<Vec<_>>()))
}

/// The ids of the keys published.
#[derive(Serialize, ToSchema)]
pub struct NewKeys {
    pub new_keys: Vec<String>,
}

#[utoipa::path(
    summary = "Publish new signing keys now (they sign after the publish lead)",
    tag = TAG,
    operation_id = "rotateKeys",
    responses((status = 200, description = "The new keys' ids", body = NewKeys))
)]
#[post("/keys/rotate")]
pub async fn rotate_keys(caller: AdminClient, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let kids = state.tokens.rotate_keys(&SigningAlg::ALL).await.map_err(|e| WebError::Internal(e.to_string()))?;
    state.oauth.record(&caller.by().audited(), SecurityEvent::KeysRotated { new_keys: kids.len() }).await;
    Ok(ok(NewKeys { new_keys: kids }))
}
