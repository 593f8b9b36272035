//! Upstream identity providers users sign in with (issue #26): the same
//! audited use cases as `latchkey provider …`. The client secret goes in,
//! never comes out.

use actix_web::{delete, get, post, put, web, HttpResponse};
use latchkey_app::federation::providers::{rules, ProviderSettings};
use latchkey_domain::{LinkRule, Provider, ProviderKind};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::schema::Object;
use utoipa::ToSchema;

use super::{created, json_schema, ok, AdminClient, Removed};
use crate::error::WebError;
use crate::state::AppState;

const TAG: &str = "providers";

/// A provider as the admin API and the CLI show it (never its secret).
#[derive(Serialize, ToSchema)]
pub struct ProviderView {
    /// A slug of the name; part of the callback URL.
    pub id: String,
    pub name: String,
    /// `oidc` or `github`.
    pub kind: String,
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub domains: Vec<String>,
    /// `existing-sign-in` or `verified-email`.
    pub link: String,
    pub signup: bool,
    pub trust_upstream_mfa: bool,
    /// Signing out of latchkey also signs out of the provider.
    pub upstream_logout: bool,
    pub enabled: bool,
    /// The callback URL to register at the provider.
    pub redirect_uri: String,
    /// Epoch seconds.
    pub created_at: i64,
}

fn view(state: &AppState, p: Provider) -> ProviderView {
    ProviderView {
        redirect_uri: state.provider_redirect_uri(&p.id),
        enabled: p.enabled(),
        kind: p.kind.as_str().into(),
        link: p.link.as_str().into(),
        id: p.id,
        name: p.name,
        issuer: p.issuer,
        client_id: p.client_id,
        scopes: p.scopes,
        domains: p.domains,
        signup: p.signup,
        trust_upstream_mfa: p.trust_upstream_mfa,
        upstream_logout: p.upstream_logout,
        created_at: p.created_at,
    }
}

// The schemas say exactly what `providers::check` accepts, so that a
// request the document calls valid is not refused (Schemathesis checks).
fn name_schema() -> Object {
    json_schema(json!({ "type": "string", "minLength": 1, "maxLength": rules::NAME_MAX_CHARS, "pattern": rules::NAME }))
}

fn issuer_schema() -> Object {
    json_schema(json!({ "type": "string", "pattern": rules::ISSUER }))
}

fn client_id_schema() -> Object {
    json_schema(json!({ "type": "string", "pattern": rules::CLIENT_ID }))
}

fn secret_schema() -> Object {
    json_schema(json!({ "type": ["string", "null"], "pattern": rules::CLIENT_SECRET }))
}

fn scopes_schema() -> Object {
    json_schema(json!({ "type": "array", "maxItems": rules::MAX_SCOPES, "items": { "type": "string", "pattern": rules::SCOPE } }))
}

fn domains_schema() -> Object {
    json_schema(json!({ "type": "array", "maxItems": rules::MAX_DOMAINS, "items": { "type": "string", "maxLength": rules::DOMAIN_MAX_CHARS, "pattern": rules::DOMAIN } }))
}

fn kind_schema() -> Object {
    json_schema(json!({ "type": ["string", "null"], "enum": ["oidc", "github", null], "default": "oidc" }))
}

fn link_schema() -> Object {
    json_schema(json!({ "type": ["string", "null"], "enum": ["existing-sign-in", "verified-email", null], "default": "existing-sign-in" }))
}

/// `POST /providers` and `PUT /providers/{id}`: a provider's settings.
#[derive(Deserialize, ToSchema)]
pub struct ProviderRequest {
    /// Shown on the button ("Continue with …"); the id is a slug of it.
    #[schema(schema_with = name_schema)]
    name: String,
    /// `oidc` (discovery from the issuer; the default) or `github` (OAuth 2.0
    /// and GitHub's API; the issuer is `https://github.com` or an Enterprise
    /// host). Fixed once added.
    #[serde(default)]
    #[schema(schema_with = kind_schema)]
    kind: Option<String>,
    /// The OpenID Connect issuer (https).
    #[schema(schema_with = issuer_schema)]
    issuer: String,
    #[schema(schema_with = client_id_schema)]
    client_id: String,
    /// Required when adding; on a change, absent keeps the current one.
    #[serde(default)]
    #[schema(schema_with = secret_schema)]
    client_secret: Option<String>,
    /// Default: openid email profile.
    #[serde(default)]
    #[schema(schema_with = scopes_schema)]
    scopes: Vec<String>,
    /// Email domains that go to this provider (home-realm discovery).
    #[serde(default)]
    #[schema(schema_with = domains_schema)]
    domains: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = link_schema)]
    link: Option<String>,
    /// Whether a first sign-in without an account creates one.
    #[serde(default)]
    signup: bool,
    /// Whether the provider's own `amr` (mfa, otp, …) counts here.
    #[serde(default)]
    trust_upstream_mfa: bool,
    /// Signing out of latchkey also signs out of the provider.
    #[serde(default)]
    upstream_logout: bool,
}

fn new_secret_schema() -> Object {
    json_schema(json!({ "type": "string", "pattern": rules::CLIENT_SECRET }))
}

/// `POST /providers`: the settings, and the client secret (required).
#[derive(Deserialize, ToSchema)]
pub struct NewProviderRequest {
    #[schema(schema_with = new_secret_schema)]
    client_secret: String,
    #[serde(flatten)]
    #[schema(inline)]
    settings: ProviderRequest,
}

fn settings(b: ProviderRequest) -> Result<ProviderSettings, WebError> {
    let link = match b.link.as_deref() {
        None => LinkRule::ExistingSignIn,
        Some(l) => LinkRule::parse(l).ok_or_else(|| super::bad("link is existing-sign-in or verified-email"))?,
    };
    let kind = match b.kind.as_deref() {
        None => ProviderKind::Oidc,
        Some(k) => ProviderKind::parse(k).ok_or_else(|| super::bad("kind is oidc or github"))?,
    };
    Ok(ProviderSettings {
        name: b.name,
        kind,
        issuer: b.issuer,
        client_id: b.client_id,
        client_secret: b.client_secret,
        scopes: b.scopes,
        domains: b.domains,
        link,
        signup: b.signup,
        trust_upstream_mfa: b.trust_upstream_mfa,
        upstream_logout: b.upstream_logout,
    })
}

#[utoipa::path(summary = "List upstream identity providers", tag = TAG, operation_id = "listProviders", responses((status = 200, description = "Every provider", body = Vec<ProviderView>)))]
#[get("/providers")]
pub async fn list_providers(_: AdminClient, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let list = state.providers().await.map_err(WebError::api)?;
    Ok(ok(list.into_iter().map(|p| view(&state, p)).collect::<Vec<_>>()))
}

#[utoipa::path(
    summary = "Add an upstream identity provider",
    description = "Its id is a slug of its name; register the returned redirect_uri at the provider. The secret is sealed at rest and never returned.",
    tag = TAG,
    operation_id = "createProvider",
    request_body = NewProviderRequest,
    responses(
        (status = 201, description = "Added", body = ProviderView),
        (status = 400, description = "invalid_request", body = super::Error),
        (status = 409, description = "a provider of that name exists", body = super::Error)
    )
)]
#[post("/providers")]
pub async fn create_provider(caller: AdminClient, state: web::Data<AppState>, body: web::Json<NewProviderRequest>) -> Result<HttpResponse, WebError> {
    let NewProviderRequest { client_secret, settings: request } = body.into_inner();
    let new = ProviderSettings { client_secret: Some(client_secret), ..settings(request)? };
    let p = state.admin(caller.by()).add_provider(new).await.map_err(WebError::api)?;
    Ok(created(view(&state, p)))
}

#[utoipa::path(
    summary = "One upstream identity provider",
    tag = TAG,
    operation_id = "getProvider",
    responses((status = 200, description = "The provider", body = ProviderView), (status = 404, description = "no such provider", body = super::Error))
)]
#[get("/providers/{id}")]
pub async fn get_provider(_: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let p = state.provider(&path).await.map_err(WebError::api)?;
    Ok(ok(view(&state, p)))
}

#[utoipa::path(
    summary = "Change an upstream identity provider",
    description = "Replaces its settings; its id stays. Without client_secret the current secret stays.",
    tag = TAG,
    operation_id = "updateProvider",
    request_body = ProviderRequest,
    responses(
        (status = 200, description = "Changed", body = ProviderView),
        (status = 400, description = "invalid_request", body = super::Error),
        (status = 404, description = "no such provider", body = super::Error)
    )
)]
#[put("/providers/{id}")]
pub async fn update_provider(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<ProviderRequest>) -> Result<HttpResponse, WebError> {
    let p = state.admin(caller.by()).update_provider(&path, settings(body.into_inner())?).await.map_err(WebError::api)?;
    Ok(ok(view(&state, p)))
}

#[utoipa::path(
    summary = "Remove an upstream identity provider",
    description = "Also removes every account link to it.",
    tag = TAG,
    operation_id = "deleteProvider",
    responses((status = 200, description = "Removed: the provider's id", body = Removed), (status = 404, description = "no such provider", body = super::Error))
)]
#[delete("/providers/{id}")]
pub async fn delete_provider(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    state.admin(caller.by()).remove_provider(&path).await.map_err(WebError::api)?;
    Ok(ok(Removed { removed: path.into_inner() }))
}

/// What to do to a provider.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderAction {
    /// Stop signing people in through it (links stay).
    Disable,
    Enable,
}

#[utoipa::path(
    summary = "Disable or enable an upstream identity provider",
    tag = TAG,
    operation_id = "providerAction",
    params(("id" = String, Path, description = "The provider"), ("action" = inline(ProviderAction), Path, description = "disable or enable")),
    responses((status = 200, description = "Done", body = ProviderView), (status = 404, description = "no such provider or action", body = super::Error))
)]
#[post("/providers/{id}/{action}")]
pub async fn provider_action(caller: AdminClient, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    let (id, action) = path.into_inner();
    let disable = match action.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return Err(super::not_found("action")),
    };
    state.admin(caller.by()).set_provider_disabled(&id, disable).await.map_err(WebError::api)?;
    let p = state.provider(&id).await.map_err(WebError::api)?;
    Ok(ok(view(&state, p)))
}
