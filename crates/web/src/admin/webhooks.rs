//! Webhook subscriptions (issue #30): list, add (the signing secret shown
//! once), remove, turn on again, and each one's last 50 attempts.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{created, ok, AdminClient, Removed};
use crate::error::WebError;
use crate::state::AppState;

const TAG: &str = "webhooks";

/// A subscription (never its secret).
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    /// Event kinds (the audit trail's); empty: every kind.
    pub events: Vec<String>,
    pub allow_private: bool,
    /// Epoch seconds.
    pub created_at: i64,
    /// Turned off after a day of failed deliveries (epoch seconds).
    pub disabled_at: Option<i64>,
    /// Every attempt since then failed (epoch seconds).
    pub failing_since: Option<i64>,
}

impl From<latchkey_app::webhooks::Subscription> for WebhookView {
    fn from(s: latchkey_app::webhooks::Subscription) -> Self {
        WebhookView { id: s.id, url: s.url, events: s.events, allow_private: s.allow_private, created_at: s.created_at, disabled_at: s.disabled_at, failing_since: s.failing_since }
    }
}

#[utoipa::path(summary = "List webhook subscriptions", tag = TAG, operation_id = "listWebhooks", responses((status = 200, description = "Every subscription", body = Vec<WebhookView>)))]
#[get("/webhooks")]
pub async fn list_webhooks(_: AdminClient, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    Ok(ok(state.webhooks().await.map_err(WebError::api)?.into_iter().map(WebhookView::from).collect::<Vec<_>>()))
}

fn url_schema() -> utoipa::openapi::schema::Object {
    super::json_schema(serde_json::json!({ "type": "string", "maxLength": latchkey_app::webhooks::MAX_URL_CHARS, "pattern": latchkey_app::webhooks::rules::PUBLIC_URL }))
}

fn events_schema() -> utoipa::openapi::schema::Object {
    let kinds: Vec<&str> = std::iter::once("*").chain(latchkey_domain::EventKind::ALL.iter().map(|k| k.as_str())).collect();
    super::json_schema(serde_json::json!({ "type": "array", "items": { "type": "string", "enum": kinds } }))
}

/// A new subscription. Receivers on loopback or private networks are the
/// command line's (`latchkey webhook add --allow-private`).
#[derive(Deserialize, ToSchema)]
pub struct NewWebhook {
    /// The receiver: https, a domain name, an optional port, a plain path.
    #[schema(schema_with = url_schema)]
    pub url: String,
    /// Event kinds of the audit trail (`sign_in`, `user_disabled`, …); empty or `*`: every kind.
    #[serde(default)]
    #[schema(schema_with = events_schema)]
    pub events: Vec<String>,
}

/// The subscription made, and its signing secret (shown once).
#[derive(Serialize, ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks).
    pub secret: String,
}

#[utoipa::path(
    summary = "Subscribe a URL to events",
    tag = TAG,
    operation_id = "createWebhook",
    request_body = NewWebhook,
    responses((status = 201, description = "Subscribed; the secret is shown once", body = WebhookCreated), (status = 400, description = "invalid_request", body = super::Error))
)]
#[post("/webhooks")]
pub async fn create_webhook(caller: AdminClient, state: web::Data<AppState>, body: web::Json<NewWebhook>) -> Result<HttpResponse, WebError> {
    let (sub, secret) = state.add_webhook(&caller.by(), &body.url, &body.events, None, false).await.map_err(WebError::api)?;
    Ok(created(WebhookCreated { webhook: sub.into(), secret }))
}

#[utoipa::path(
    summary = "Remove a subscription (its queue and log go with it)",
    tag = TAG,
    operation_id = "deleteWebhook",
    responses((status = 200, description = "Removed: its id", body = Removed), (status = 404, description = "no such webhook", body = super::Error))
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    state.remove_webhook(&caller.by(), &path).await.map_err(WebError::api)?;
    Ok(ok(Removed { removed: path.into_inner() }))
}

#[utoipa::path(
    summary = "Turn a subscription that was turned off on again",
    tag = TAG,
    operation_id = "enableWebhook",
    responses((status = 200, description = "On again: its id", body = Removed), (status = 404, description = "no such webhook", body = super::Error))
)]
#[post("/webhooks/{id}/enable")]
pub async fn enable_webhook(_: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    state.enable_webhook(&path).await.map_err(WebError::api)?;
    Ok(ok(Removed { removed: path.into_inner() }))
}

/// One delivery attempt.
#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    pub event_id: String,
    /// Epoch seconds.
    pub at: i64,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<i32>,
    pub error: Option<String>,
    pub millis: i64,
}

/// What waits, and the last 50 attempts, newest first.
#[derive(Serialize, ToSchema)]
pub struct WebhookLog {
    pub pending: i64,
    pub attempts: Vec<AttemptView>,
}

#[utoipa::path(
    summary = "A subscription's delivery log",
    tag = TAG,
    operation_id = "webhookLog",
    responses((status = 200, description = "The last 50 attempts", body = WebhookLog), (status = 404, description = "no such webhook", body = super::Error))
)]
#[get("/webhooks/{id}/attempts")]
pub async fn webhook_log(_: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    if !state.webhooks().await.map_err(WebError::api)?.iter().any(|w| w.id == *path) {
        return Err(super::not_found("webhook"));
    }
    let (attempts, pending) = state.webhook_log(&path).await.map_err(WebError::api)?;
    let attempts = attempts.into_iter().map(|a| AttemptView { event_id: a.event_id, at: a.at, status: a.status, error: a.error, millis: a.millis }).collect();
    Ok(ok(WebhookLog { pending, attempts }))
}
