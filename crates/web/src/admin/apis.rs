//! Registered APIs (resource servers), their scopes and roles.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use latchkey_app::directory::apis::{parse_scope_arg, NewApi};
use latchkey_domain::{Api, SigningAlg};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::schema::Object;
use utoipa::ToSchema;

use super::{bad, created, json_schema, not_found, ok, AdminClient, Removed};
use crate::error::WebError;
use crate::state::AppState;

const TAG: &str = "apis";

/// A scope of an API.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ScopeView {
    pub name: String,
    pub description: String,
}

/// A role of an API and the group whose members hold it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RoleView {
    #[schema(pattern = "^[!-~]+$")]
    pub role: String,
    #[schema(pattern = "^[!-~]+$")]
    pub group: String,
}

/// An API as the admin API and the CLI show it.
#[derive(Serialize, ToSchema)]
pub struct ApiView {
    pub id: String,
    pub name: String,
    /// The `resource` value (RFC 8707) and the tokens' `aud`.
    pub audience: String,
    /// Seconds.
    pub access_token_ttl: i64,
    pub signing_alg: String,
    /// The API can introspect its tokens.
    pub introspection: bool,
    pub scopes: Vec<ScopeView>,
    pub roles: Vec<RoleView>,
    /// Epoch seconds.
    pub created_at: i64,
    /// Clients that registered themselves may ask for its scopes.
    pub self_registration: bool,
    /// latchkey serves its protected resource metadata (RFC 9728) at `metadata_url`.
    pub publish_metadata: bool,
    /// Where latchkey serves its protected resource metadata, when published:
    /// the API's 401s point `resource_metadata` here.
    pub metadata_url: Option<String>,
}

impl ApiView {
    /// `a` as the admin API shows it, at the server with issuer `issuer`.
    pub fn of(a: &Api, issuer: &str) -> ApiView {
        ApiView { metadata_url: a.publish_metadata.then(|| latchkey_oauth::apis::metadata_url(issuer, a)), ..ApiView::from(a) }
    }
}

impl From<&Api> for ApiView {
    fn from(a: &Api) -> Self {
        ApiView {
            id: a.id.clone(),
            name: a.name.clone(),
            audience: a.audience.clone(),
            access_token_ttl: a.access_token_ttl,
            signing_alg: a.signing_alg.as_str().to_string(),
            introspection: a.introspection_secret_hash.is_some(),
            scopes: a.scopes.iter().map(|s| ScopeView { name: s.name.clone(), description: s.description.clone() }).collect(),
            roles: a.roles.iter().map(|(r, g)| RoleView { role: r.clone(), group: g.clone() }).collect(),
            created_at: a.created_at,
            self_registration: a.self_registration,
            publish_metadata: a.publish_metadata,
            metadata_url: None,
        }
    }
}

/// An API as JSON (the CLI prints the same), at the server with issuer `issuer`.
pub fn api_json(api: &Api, issuer: &str) -> serde_json::Value {
    serde_json::to_value(ApiView::of(api, issuer)).unwrap_or_default()
}

#[utoipa::path(summary = "List registered APIs", tag = TAG, operation_id = "listApis", responses((status = 200, description = "Every API", body = Vec<ApiView>)))]
#[get("/apis")]
pub async fn list_apis(_: AdminClient, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    state.oauth.forget_cached_apis();
    Ok(ok(state.oauth.apis().await?.iter().map(|a| ApiView::of(a, &state.issuer)).collect::<Vec<_>>()))
}

fn api_name_schema() -> Object {
    json_schema(json!({ "type": "string", "minLength": 1, "pattern": "\\S" }))
}

fn ttl_schema() -> Object {
    json_schema(json!({ "type": ["integer", "null"], "minimum": 60, "maximum": 86400, "default": 300 }))
}

fn signing_alg_schema() -> Object {
    json_schema(json!({ "type": ["string", "null"], "enum": ["EdDSA", "ES256", "RS256", null], "default": "EdDSA" }))
}

/// `POST /apis`: a new API.
#[derive(Deserialize, ToSchema)]
pub struct NewApiRequest {
    #[schema(schema_with = api_name_schema)]
    name: String,
    /// The resource value (RFC 8707) and the tokens' aud.
    #[schema(format = "uri", min_length = 1)]
    audience: String,
    #[serde(default)]
    scopes: Vec<ScopeRequest>,
    #[serde(default, deserialize_with = "crate::handlers::whole_number")]
    #[schema(schema_with = ttl_schema)]
    access_token_ttl: Option<i64>,
    #[schema(schema_with = signing_alg_schema)]
    signing_alg: Option<String>,
    /// Return (once) a secret the API introspects its tokens with, as client id = API id.
    #[serde(default)]
    introspection_secret: bool,
    /// Clients that registered themselves (RFC 7591, client ID metadata documents) may ask for its scopes.
    #[serde(default)]
    self_registration: bool,
    /// latchkey serves the API's protected resource metadata (RFC 9728).
    #[serde(default)]
    publish_metadata: bool,
}

/// A scope to add.
#[derive(Deserialize, ToSchema)]
pub struct ScopeRequest {
    #[schema(pattern = "^[!#-\\[\\]-~]+$")]
    name: String,
    #[serde(default)]
    description: String,
}

fn scope_of(b: &ScopeRequest) -> Result<latchkey_domain::ApiScope, WebError> {
    parse_scope_arg(&format!("{}={}", b.name, b.description)).map_err(bad)
}

/// A registered API; the introspection secret is shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedApi {
    #[serde(flatten)]
    pub api: ApiView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_secret: Option<String>,
}

#[utoipa::path(
    summary = "Register an API (resource server)",
    tag = TAG,
    operation_id = "createApi",
    request_body = NewApiRequest,
    responses(
        (status = 201, description = "Registered; introspection_secret shown once", body = CreatedApi),
        (status = 400, description = "invalid_request"),
        (status = 409, description = "it already exists", body = super::Error),
    )
)]
#[post("/apis")]
pub async fn create_api(caller: AdminClient, state: web::Data<AppState>, body: web::Json<NewApiRequest>) -> Result<HttpResponse, WebError> {
    let body = body.into_inner();
    let signing_alg = match body.signing_alg.as_deref() {
        None => SigningAlg::EdDSA,
        Some(a) => SigningAlg::parse(a).ok_or_else(|| bad("signing_alg must be EdDSA, ES256 or RS256"))?,
    };
    let scopes = body.scopes.iter().map(scope_of).collect::<Result<Vec<_>, _>>()?;
    let new = NewApi {
        name: body.name,
        audience: body.audience,
        scopes,
        access_token_ttl: body.access_token_ttl,
        signing_alg,
        introspection_secret: body.introspection_secret,
        self_registration: body.self_registration,
        publish_metadata: body.publish_metadata,
    };
    let (api, secret) = state.admin(caller.by()).register_api(new).await.map_err(WebError::api)?;
    Ok(created(CreatedApi { api: ApiView::of(&api, &state.issuer), introspection_secret: secret.map(|s| s.expose().to_string()) }))
}

#[utoipa::path(
    summary = "Show an API",
    tag = TAG,
    operation_id = "getApi",
    params(("api" = String, Path, description = "API id")),
    responses((status = 200, description = "The API", body = ApiView), (status = 404, description = "no such API", body = super::Error))
)]
#[get("/apis/{api}")]
pub async fn get_api(_: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let api = state.oauth.api(&path).await?.ok_or_else(|| not_found("API"))?;
    Ok(ok(ApiView::of(&api, &state.issuer)))
}

/// `PATCH /apis/{api}`: what the API allows (members left out stay as they are).
#[derive(Deserialize, ToSchema)]
pub struct ApiOptionsRequest {
    /// Clients that registered themselves may ask for its scopes (null: unchanged).
    self_registration: Option<bool>,
    /// latchkey serves the API's protected resource metadata (RFC 9728) (null: unchanged).
    publish_metadata: Option<bool>,
}

#[utoipa::path(
    summary = "Change what an API allows: self-registered clients, published metadata",
    tag = TAG,
    operation_id = "updateApi",
    params(("api" = String, Path, description = "API id")),
    request_body = ApiOptionsRequest,
    responses((status = 200, description = "The API as it now stands", body = ApiView), (status = 400, description = "invalid_request"), (status = 404, description = "no such API", body = super::Error))
)]
#[patch("/apis/{api}")]
pub async fn update_api(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<ApiOptionsRequest>) -> Result<HttpResponse, WebError> {
    let api = state.admin(caller.by()).set_api_options(&path, body.self_registration, body.publish_metadata).await.map_err(WebError::api)?;
    Ok(ok(ApiView::of(&api, &state.issuer)))
}

/// `{"removed": true}`.
#[derive(Serialize, ToSchema)]
pub struct ApiRemoved {
    pub removed: bool,
}

#[utoipa::path(
    summary = "Remove an API",
    tag = TAG,
    operation_id = "deleteApi",
    params(("api" = String, Path, description = "API id")),
    responses((status = 200, description = "Removed", body = ApiRemoved), (status = 404, description = "no such API", body = super::Error))
)]
#[delete("/apis/{api}")]
pub async fn delete_api(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    if !state.admin(caller.by()).remove_api(&path).await.map_err(WebError::api)? {
        return Err(not_found("API"));
    }
    Ok(ok(ApiRemoved { removed: true }))
}

/// `{"added": …}`: the scope's name.
#[derive(Serialize, ToSchema)]
pub struct ScopeAdded {
    pub added: String,
}

#[utoipa::path(
    summary = "Add a scope",
    tag = TAG,
    operation_id = "addApiScope",
    params(("api" = String, Path, description = "API id")),
    request_body = ScopeRequest,
    responses(
        (status = 200, description = "Added", body = ScopeAdded),
        (status = 400, description = "invalid_request"),
        (status = 404, description = "no such API", body = super::Error),
        (status = 409, description = "it already exists", body = super::Error),
    )
)]
#[post("/apis/{api}/scopes")]
pub async fn add_scope(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<ScopeRequest>) -> Result<HttpResponse, WebError> {
    state.admin(caller.by()).add_api_scope(&path, scope_of(&body)?).await.map_err(WebError::api)?;
    Ok(ok(ScopeAdded { added: body.into_inner().name }))
}

#[utoipa::path(
    summary = "Remove a scope",
    tag = TAG,
    operation_id = "removeApiScope",
    params(("api" = String, Path, description = "API id"), ("name" = String, Path, description = "the scope")),
    responses((status = 200, description = "Removed: the scope's name", body = Removed), (status = 404, description = "no such API or scope", body = super::Error))
)]
#[delete("/apis/{api}/scopes/{name}")]
pub async fn remove_scope(caller: AdminClient, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    let (api, name) = path.into_inner();
    if !state.admin(caller.by()).remove_api_scope(&api, &name).await.map_err(WebError::api)? {
        return Err(not_found("scope"));
    }
    Ok(ok(Removed { removed: name }))
}

#[utoipa::path(
    summary = "Map a group to a role of the API (its members' tokens carry the role)",
    tag = TAG,
    operation_id = "addApiRole",
    params(("api" = String, Path, description = "API id")),
    request_body = RoleView,
    responses((status = 200, description = "Mapped", body = RoleView), (status = 400, description = "invalid_request"), (status = 404, description = "no such API or group", body = super::Error))
)]
#[post("/apis/{api}/roles")]
pub async fn add_role(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<RoleView>) -> Result<HttpResponse, WebError> {
    state.admin(caller.by()).add_api_role(&path, &body.role, &body.group).await.map_err(WebError::api)?;
    Ok(ok(body.into_inner()))
}
