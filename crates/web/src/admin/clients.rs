//! Clients: register, list, show, change, delete, act on (rotate the
//! secret, disable, enable), their grants and their API scopes.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use latchkey_app::directory::clients::{new_client, ClientUpdate, LinksUpdate, TokenExchangeUpdate};
use latchkey_domain::client::{MAX_EXCHANGE_AUDIENCE_CHARS, MAX_MAY_ACT_ID_CHARS, MAX_TOKEN_EXCHANGE_ENTRIES};
use latchkey_domain::{ClientAction, ClientLinks, GrantType, TokenExchangePolicy};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::openapi::schema::Object;
use utoipa::{IntoParams, ToSchema};

use super::{created, json_schema, not_found, ok, AdminClient, Deleted, RevokeReport};
use crate::error::WebError;
use crate::state::AppState;

const TAG: &str = "clients";

/// A client in the list.
#[derive(Serialize, ToSchema)]
pub struct ClientSummary {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scope: String,
    pub admin: bool,
    /// Epoch seconds.
    pub created_at: i64,
}

#[utoipa::path(
    summary = "List clients",
    tag = TAG,
    operation_id = "listClients",
    responses((status = 200, description = "All registered clients", body = Vec<ClientSummary>))
)]
#[get("/clients")]
pub async fn list_clients(_: AdminClient, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let clients = latchkey_app::directory::clients::list(&state.stores.db).await.map_err(WebError::api)?;
    let body: Vec<_> = clients
        .iter()
        .map(|c| ClientSummary {
            client_id: c.id.0.clone(),
            name: c.name.clone(),
            public: c.secret_hash.is_none(),
            redirect_uris: c.redirect_uris.clone(),
            grant_types: c.grant_types.iter().map(|g| g.as_str().to_string()).collect(),
            scope: c.allowed_scopes.to_string(),
            admin: c.admin,
            created_at: c.created_at,
        })
        .collect();
    Ok(ok(body))
}

/// A redirect URI as registration accepts it.
const REDIRECT_URI: &str = r"^(https://[^#]+|http://(localhost|127\.0\.0\.1|\[::1\])([:/][^#]*)?|[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:/[^#]*)$";

/// A consent-page link (`logo_uri`, `policy_uri`, `tos_uri`) exactly as
/// [`latchkey_app::directory::clients::checked_https_uri`] accepts it, or empty.
pub const LINK_URI: &str = r"^(|https://(([A-Za-z0-9]+(-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*|\[::1\])(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?([/?][A-Za-z0-9._~!$&'()*+,;=:@/?%-]*)?|http://(localhost|127\.0\.0\.1|\[::1\])(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?([/?][A-Za-z0-9._~!$&'()*+,;=:@/?%-]*)?)$";

/// base64url without padding, of a whole number of bytes.
const BASE64URL: &str = "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$";

fn name_schema() -> Object {
    json_schema(json!({ "type": "string", "minLength": 1, "pattern": "\\S" }))
}

fn redirect_uris_schema() -> Object {
    json_schema(json!({
        "type": "array",
        "items": { "type": "string", "pattern": REDIRECT_URI, "description": "absolute, no fragment; http only on a loopback host (RFC 8252 §7.3); private-use schemes contain a dot" },
    }))
}

fn grant_types_schema() -> Object {
    json_schema(
        json!({ "type": "array", "items": { "type": "string", "enum": ([GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials, GrantType::DeviceCode].map(GrantType::as_str)) } }),
    )
}

fn scope_schema() -> Object {
    json_schema(json!({ "type": ["string", "null"], "pattern": "^[ !#-\\[\\]-~]*$", "description": "space-separated scope tokens; not admin (admin clients are made with the CLI)" }))
}

fn id_token_alg_schema() -> Object {
    json_schema(json!({ "type": ["string", "null"], "enum": ["RS256", "ES256", "EdDSA", null] }))
}

fn backchannel_schema() -> Object {
    json_schema(json!({ "type": ["string", "null"], "description": "https (or loopback http) URI for back-channel logout; empty or null for none" }))
}

fn link_schema(what: &str, empty: &str) -> Object {
    json_schema(json!({
        "type": ["string", "null"], "maxLength": 2048, "pattern": LINK_URI,
        "description": format!("the client's {what}: an https URL (http only on a loopback host), a DNS name, no credentials, fragment or spaces; shown on the consent page (RFC 7591 §2). {empty}"),
    }))
}

fn logo_schema() -> Object {
    link_schema("logo", "Empty or null: none")
}
fn policy_schema() -> Object {
    link_schema("privacy policy", "Empty or null: none")
}
fn tos_schema() -> Object {
    link_schema("terms of service", "Empty or null: none")
}
fn logo_update_schema() -> Object {
    link_schema("logo", "Absent: unchanged; empty or null: removed")
}
fn policy_update_schema() -> Object {
    link_schema("privacy policy", "Absent: unchanged; empty or null: removed")
}
fn tos_update_schema() -> Object {
    link_schema("terms of service", "Absent: unchanged; empty or null: removed")
}

/// One entry of a token exchange list, exactly as
/// [`latchkey_domain::client::check_exchange_entry`] accepts it.
fn exchange_list(max_chars: usize, nullable: bool, description: &str) -> Object {
    let kind = if nullable { json!(["array", "null"]) } else { json!("array") };
    json_schema(json!({
        "type": kind, "maxItems": MAX_TOKEN_EXCHANGE_ENTRIES,
        "items": { "type": "string", "minLength": 1, "maxLength": max_chars, "pattern": "^[!-~]+$" },
        "description": description,
    }))
}

const EXCHANGE_TO: &str = "token exchange (RFC 8693): the audiences of the APIs this client may exchange a user's access tokens into; empty: it may not use the grant. Confidential clients only";
const MAY_ACT: &str = "token exchange (RFC 8693 §4.4): the client ids that may act with this client's access tokens (their may_act claim); empty: no may_act claim";

fn exchange_to_schema() -> Object {
    exchange_list(MAX_EXCHANGE_AUDIENCE_CHARS, false, EXCHANGE_TO)
}
fn may_act_schema() -> Object {
    exchange_list(MAX_MAY_ACT_ID_CHARS, false, MAY_ACT)
}
fn exchange_to_update_schema() -> Object {
    exchange_list(MAX_EXCHANGE_AUDIENCE_CHARS, true, &format!("{EXCHANGE_TO}. Absent: unchanged; null or empty: cleared"))
}
fn may_act_update_schema() -> Object {
    exchange_list(MAX_MAY_ACT_ID_CHARS, true, &format!("{MAY_ACT}. Absent: unchanged; null or empty: cleared"))
}
fn impersonation_update_schema() -> Object {
    json_schema(json!({ "type": ["boolean", "null"], "description": "token exchange without an actor_token issues tokens without act (impersonation). Absent or null: unchanged" }))
}

/// A JWK Set of 1–10 public keys (RSA, EC or OKP), each with a `kid`, no private parts.
fn jwks_schema() -> Object {
    let b64 = |min: usize, max: usize| json!({ "type": "string", "pattern": BASE64URL, "minLength": min, "maxLength": max });
    let common = |mut props: serde_json::Map<String, Value>| {
        props.insert("kid".into(), json!({ "type": "string", "minLength": 1, "maxLength": 128 }));
        props.insert("use".into(), json!({ "type": "string", "enum": ["sig"] }));
        props.insert("alg".into(), json!({ "type": "string", "enum": ["RS256", "PS256", "ES256", "EdDSA"] }));
        Value::Object(props)
    };
    let props = |v: Value| match v {
        Value::Object(m) => m,
        _ => Default::default(),
    };
    let rsa = json!({ "type": "object", "required": ["kty", "kid", "n", "e"], "properties": common(props(json!({ "kty": { "const": "RSA" }, "n": b64(2, 1400), "e": b64(2, 16) }))) });
    let ec = json!({ "type": "object", "required": ["kty", "kid", "crv", "x", "y"], "properties": common(props(json!({ "kty": { "const": "EC" }, "crv": { "type": "string", "enum": ["P-256", "P-384"] }, "x": b64(2, 96), "y": b64(2, 96) }))) });
    let okp = json!({ "type": "object", "required": ["kty", "kid", "crv", "x"], "properties": common(props(json!({ "kty": { "const": "OKP" }, "crv": { "const": "Ed25519" }, "x": b64(2, 64) }))) });
    let private = ["d", "p", "q", "dp", "dq", "qi", "k"].iter().map(|m| json!({ "required": [m] })).collect::<Vec<_>>();
    json_schema(json!({
        "description": "public keys for private_key_jwt (RFC 7523): a JWK Set of 1-10 public keys, each with a kid",
        "oneOf": [
            { "type": "null" },
            { "type": "object", "required": ["keys"], "properties": { "keys": { "type": "array", "minItems": 1, "maxItems": 10, "items": { "allOf": [{ "oneOf": [rsa, ec, okp] }, { "not": { "anyOf": private } }] } } } },
        ],
    }))
}

/// `POST /clients`: a new client.
#[derive(Deserialize, ToSchema)]
pub struct NewClientRequest {
    #[schema(schema_with = name_schema)]
    name: String,
    #[serde(default)]
    #[schema(schema_with = redirect_uris_schema)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = redirect_uris_schema)]
    post_logout_redirect_uris: Vec<String>,
    /// No secret (a browser or native app).
    #[serde(default)]
    public: bool,
    #[serde(default)]
    #[schema(schema_with = grant_types_schema)]
    grant_types: Vec<String>,
    #[schema(schema_with = scope_schema)]
    scope: Option<String>,
    #[schema(schema_with = backchannel_schema)]
    backchannel_logout_uri: Option<String>,
    #[schema(schema_with = id_token_alg_schema)]
    id_token_alg: Option<String>,
    /// Accept authorization requests only when pushed to /par first (RFC 9126 §5).
    #[serde(default)]
    require_par: bool,
    #[schema(schema_with = jwks_schema)]
    jwks: Option<Value>,
    /// Authenticate only with private_key_jwt (needs jwks).
    #[serde(default)]
    require_private_key_jwt: bool,
    /// Issue only DPoP-bound tokens (RFC 9449): token requests without a DPoP proof are refused.
    #[serde(default)]
    require_dpop: bool,
    #[schema(schema_with = logo_schema)]
    logo_uri: Option<String>,
    #[schema(schema_with = policy_schema)]
    policy_uri: Option<String>,
    #[schema(schema_with = tos_schema)]
    tos_uri: Option<String>,
    #[serde(default)]
    #[schema(schema_with = exchange_to_schema)]
    token_exchange_to: Vec<String>,
    /// Token exchange (RFC 8693) without an actor_token issues tokens without act (impersonation). Confidential clients only.
    #[serde(default)]
    token_exchange_impersonation: bool,
    #[serde(default)]
    #[schema(schema_with = may_act_schema)]
    may_act: Vec<String>,
}

/// The rules between [`NewClientRequest`]'s fields, which the server enforces.
pub(super) fn schema_rules(doc: &mut utoipa::openapi::OpenApi) {
    super::add_keywords(
        doc,
        "NewClientRequest",
        json!({
            "anyOf": [
                { "required": ["redirect_uris"], "properties": { "redirect_uris": { "minItems": 1 } } },
                { "required": ["grant_types"], "properties": { "grant_types": { "minItems": 1, "items": { "not": { "const": "authorization_code" } } } } },
            ],
            "not": {
                "required": ["public", "grant_types"],
                "properties": { "public": { "const": true }, "grant_types": { "contains": { "const": "client_credentials" } } },
                "description": "public clients cannot use client_credentials",
            },
            "allOf": [
                { "if": { "required": ["require_private_key_jwt"], "properties": { "require_private_key_jwt": { "const": true } } }, "then": { "required": ["jwks"], "properties": { "jwks": { "type": "object" } } } },
                { "not": { "required": ["public", "require_private_key_jwt"], "properties": { "public": { "const": true }, "require_private_key_jwt": { "const": true } } }, "description": "a public client cannot be restricted to private_key_jwt" },
                { "not": { "required": ["public", "token_exchange_to"], "properties": { "public": { "const": true }, "token_exchange_to": { "minItems": 1 } } }, "description": "a public client cannot exchange tokens" },
                { "not": { "required": ["public", "token_exchange_impersonation"], "properties": { "public": { "const": true }, "token_exchange_impersonation": { "const": true } } }, "description": "a public client cannot impersonate" },
            ],
        }),
    );
}

/// A registered client; the secret is shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedClient {
    pub client_id: String,
    pub name: String,
    pub scope: String,
    /// Confidential clients only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

#[utoipa::path(
    summary = "Create a client; the secret is returned once",
    tag = TAG,
    operation_id = "createClient",
    request_body = NewClientRequest,
    responses((status = 201, description = "Registered", body = CreatedClient), (status = 400, description = "invalid_request"))
)]
#[post("/clients")]
pub async fn create_client(caller: AdminClient, state: web::Data<AppState>, body: web::Json<NewClientRequest>) -> Result<HttpResponse, WebError> {
    let b = body.into_inner();
    let mut new =
        new_client(b.name, b.redirect_uris, b.post_logout_redirect_uris, b.public, &b.grant_types, b.scope.as_deref(), b.backchannel_logout_uri, b.id_token_alg.as_deref()).map_err(WebError::api)?;
    new.require_par = b.require_par;
    new.jwks = b.jwks.filter(|j| !j.is_null()).map(|j| j.to_string());
    new.require_private_key_jwt = b.require_private_key_jwt;
    new.require_dpop = b.require_dpop;
    new.links = ClientLinks { logo_uri: b.logo_uri, policy_uri: b.policy_uri, tos_uri: b.tos_uri };
    // Checked before the client exists: a bad policy registers nothing.
    let exchange = TokenExchangePolicy { to: b.token_exchange_to, impersonation: b.token_exchange_impersonation, may_act: b.may_act };
    let exchange = latchkey_app::directory::clients::checked_token_exchange(exchange, new.public).map_err(WebError::api)?;
    let ops = state.admin(caller.by());
    let (client, secret) = ops.create_client(new).await.map_err(WebError::api)?;
    if exchange != TokenExchangePolicy::default() {
        let change = TokenExchangeUpdate { to: Some(exchange.to), impersonation: Some(exchange.impersonation), may_act: Some(exchange.may_act) };
        ops.update_client_token_exchange(&client.id.0, change).await.map_err(WebError::api)?;
    }
    Ok(created(CreatedClient { client_id: client.id.0, name: client.name, scope: client.allowed_scopes.to_string(), client_secret: secret.map(|s| s.expose().to_string()) }))
}

/// A client with all its settings.
#[derive(Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scope: String,
    pub admin: bool,
    pub disabled: bool,
    pub backchannel_logout_uri: Option<String>,
    pub id_token_alg: String,
    /// Epoch seconds.
    pub created_at: i64,
    pub require_par: bool,
    pub require_dpop: bool,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    /// Token exchange (RFC 8693): the API audiences this client may exchange tokens into.
    pub token_exchange_to: Vec<String>,
    /// Token exchange without an actor_token issues tokens without act.
    pub token_exchange_impersonation: bool,
    /// The clients that may act with this client's tokens (RFC 8693 §4.4).
    pub may_act: Vec<String>,
}

#[utoipa::path(
    summary = "Show a client",
    tag = TAG,
    operation_id = "getClient",
    responses((status = 200, description = "The client", body = ClientView), (status = 404, description = "no such client", body = super::Error))
)]
#[get("/clients/{client_id}")]
pub async fn get_client(_: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let c = state.oauth.client(&path).await?.ok_or_else(|| not_found("client"))?;
    Ok(ok(ClientView {
        client_id: c.id.0,
        name: c.name,
        public: c.secret_hash.is_none(),
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        grant_types: c.grant_types.iter().map(|g| g.as_str().to_string()).collect(),
        scope: c.allowed_scopes.to_string(),
        admin: c.admin,
        disabled: c.disabled_at.is_some(),
        backchannel_logout_uri: c.backchannel_logout_uri,
        id_token_alg: c.id_token_alg.as_str().to_string(),
        created_at: c.created_at,
        require_par: c.require_par,
        require_dpop: c.require_dpop,
        logo_uri: c.links.logo_uri,
        policy_uri: c.links.policy_uri,
        tos_uri: c.links.tos_uri,
        token_exchange_to: c.token_exchange.to,
        token_exchange_impersonation: c.token_exchange.impersonation,
        may_act: c.token_exchange.may_act,
    }))
}

/// What a client action did: a new secret, or the action's name.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ClientActionDone {
    /// `rotate-secret`: the new secret, shown once.
    Rotated { client_id: String, client_secret: String },
    /// `disable`, `enable`.
    Done { client_id: String, done: ClientAction },
}

#[utoipa::path(
    summary = "Rotate the secret (returned once), disable (revokes everything issued to it) or enable",
    tag = TAG,
    operation_id = "clientAction",
    params(("client_id" = String, Path), ("action" = ClientAction, Path)),
    responses((status = 200, description = "Done", body = ClientActionDone), (status = 400, description = "invalid_request"), (status = 404, description = "no such client or action", body = super::Error))
)]
#[post("/clients/{client_id}/{action}")]
pub async fn client_action(caller: AdminClient, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    let (id, action) = path.into_inner();
    let ops = state.admin(caller.by());
    match ClientAction::parse(&action).ok_or_else(|| not_found("action"))? {
        ClientAction::RotateSecret => {
            let secret = ops.rotate_client_secret(&id).await.map_err(WebError::api)?;
            Ok(ok(ClientActionDone::Rotated { client_id: id, client_secret: secret.expose().to_string() }))
        }
        action @ (ClientAction::Disable | ClientAction::Enable) => {
            ops.set_client_disabled(&id, action == ClientAction::Disable).await.map_err(WebError::api)?;
            Ok(ok(ClientActionDone::Done { client_id: id, done: action }))
        }
    }
}

/// `PATCH /clients/{client_id}`.
#[derive(Deserialize, ToSchema)]
pub struct ClientUpdateRequest {
    #[schema(schema_with = name_schema)]
    name: String,
    #[serde(default)]
    #[schema(schema_with = redirect_uris_schema)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = redirect_uris_schema)]
    post_logout_redirect_uris: Vec<String>,
    #[schema(schema_with = backchannel_schema)]
    backchannel_logout_uri: Option<String>,
    /// Absent: unchanged; "" or null: removed.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = logo_update_schema)]
    logo_uri: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = policy_update_schema)]
    policy_uri: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = tos_update_schema)]
    tos_uri: Option<Option<String>>,
    #[serde(default, deserialize_with = "present_list")]
    #[schema(schema_with = exchange_to_update_schema)]
    token_exchange_to: Option<Option<Vec<String>>>,
    #[schema(schema_with = impersonation_update_schema)]
    token_exchange_impersonation: Option<bool>,
    #[serde(default, deserialize_with = "present_list")]
    #[schema(schema_with = may_act_update_schema)]
    may_act: Option<Option<Vec<String>>>,
}

/// Tells an absent list (`None`) from a null one (`Some(None)`).
fn present_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Vec<String>>>, D::Error> {
    Option::<Vec<String>>::deserialize(d).map(Some)
}

/// Tells an absent member (`None`) from a null one (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Serialize, ToSchema)]
pub struct ClientUpdated {
    pub client_id: String,
    pub updated: bool,
}

#[utoipa::path(
    summary = "Change a client: name, URIs, consent-page links (validated as at registration) and token exchange policy",
    tag = TAG,
    operation_id = "updateClient",
    request_body = ClientUpdateRequest,
    responses((status = 200, description = "Updated", body = ClientUpdated), (status = 400, description = "invalid_request"), (status = 404, description = "no such client", body = super::Error))
)]
#[patch("/clients/{client_id}")]
pub async fn update_client(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<ClientUpdateRequest>) -> Result<HttpResponse, WebError> {
    let b = body.into_inner();
    let update = ClientUpdate {
        name: b.name,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        backchannel_logout_uri: b.backchannel_logout_uri.filter(|s| !s.is_empty()),
    };
    let cleared = |v: Option<Option<String>>| v.map(Option::unwrap_or_default);
    let links = LinksUpdate { logo_uri: cleared(b.logo_uri), policy_uri: cleared(b.policy_uri), tos_uri: cleared(b.tos_uri) };
    let exchange = TokenExchangeUpdate { to: b.token_exchange_to.map(Option::unwrap_or_default), impersonation: b.token_exchange_impersonation, may_act: b.may_act.map(Option::unwrap_or_default) };
    // Checked before anything changes: a bad URL or policy leaves the client as it was.
    links.check().map_err(WebError::api)?;
    if !exchange.is_empty() {
        latchkey_app::directory::clients::check_token_exchange_update(&state.stores.db, &path, &exchange).await.map_err(WebError::api)?;
    }
    let ops = state.admin(caller.by());
    ops.update_client(&path, update).await.map_err(WebError::api)?;
    if !links.is_empty() {
        ops.update_client_links(&path, links).await.map_err(WebError::api)?;
    }
    if !exchange.is_empty() {
        ops.update_client_token_exchange(&path, exchange).await.map_err(WebError::api)?;
    }
    Ok(ok(ClientUpdated { client_id: path.into_inner(), updated: true }))
}

#[utoipa::path(
    summary = "Delete a client (its grants and tokens are revoked first)",
    tag = TAG,
    operation_id = "deleteClient",
    responses((status = 200, description = "Deleted: the client id", body = Deleted), (status = 400, description = "invalid_request"), (status = 404, description = "no such client", body = super::Error))
)]
#[delete("/clients/{client_id}")]
pub async fn delete_client(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    state.admin(caller.by()).delete_client(&path).await.map_err(WebError::api)?;
    Ok(ok(Deleted { deleted: path.into_inner() }))
}

/// A user's grant to a client.
#[derive(Serialize, ToSchema)]
pub struct Grant {
    pub user_id: String,
    pub username: String,
    pub scope: String,
    /// Epoch seconds.
    pub created_at: i64,
    /// Last refresh-token use, epoch seconds.
    pub last_used_at: Option<i64>,
    /// Live refresh-token families.
    pub families: i64,
}

impl From<latchkey_oauth::admin::GrantSummary> for Grant {
    fn from(g: latchkey_oauth::admin::GrantSummary) -> Self {
        let latchkey_oauth::admin::GrantSummary { user_id, username, scope, created_at, last_used_at, families } = g;
        Grant { user_id, username, scope, created_at, last_used_at, families }
    }
}

#[utoipa::path(
    summary = "List a client's grants",
    tag = TAG,
    operation_id = "clientGrants",
    responses((status = 200, description = "One entry per user who granted the client access", body = Vec<Grant>), (status = 404, description = "no such client", body = super::Error))
)]
#[get("/clients/{client_id}/grants")]
pub async fn client_grants(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let grants = state.admin(caller.by()).client_grants(&path).await.map_err(WebError::api)?;
    Ok(ok(grants.into_iter().map(Grant::from).collect::<Vec<_>>()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Only this user's grant (a username).
    user: Option<String>,
}

#[utoipa::path(
    summary = "Revoke a client's grants",
    description = "Deletes the consent, revokes every refresh-token family and every access token issued so far, for all users or, with ?user=, for one.",
    tag = TAG,
    operation_id = "revokeClientGrants",
    params(UserFilter),
    responses((status = 200, description = "What was revoked", body = RevokeReport), (status = 404, description = "no such client or user", body = super::Error))
)]
#[delete("/clients/{client_id}/grants")]
pub async fn revoke_client_grants(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>, query: web::Query<UserFilter>) -> Result<HttpResponse, WebError> {
    let report = state.admin(caller.by()).revoke_client_grants(&path, query.user.as_deref().filter(|u| !u.is_empty())).await.map_err(WebError::api)?;
    Ok(ok(RevokeReport::from(report)))
}

/// `PUT /clients/{client_id}/scopes`.
#[derive(Deserialize, ToSchema)]
pub struct ClientScopesRequest {
    /// The API scopes the client may be granted (replaces the list).
    allow_scopes: Vec<String>,
}

/// The client's allowed scopes after the change.
#[derive(Serialize, ToSchema)]
pub struct ClientScopes {
    pub client_id: String,
    pub scope: String,
}

#[utoipa::path(
    summary = "Replace the API scopes a client may be granted",
    tag = TAG,
    operation_id = "setClientScopes",
    request_body = ClientScopesRequest,
    responses((status = 200, description = "The client's scopes now", body = ClientScopes), (status = 400, description = "invalid_request"), (status = 404, description = "no such client", body = super::Error))
)]
#[put("/clients/{client_id}/scopes")]
pub async fn set_client_scopes(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<ClientScopesRequest>) -> Result<HttpResponse, WebError> {
    let client = state.admin(caller.by()).set_client_api_scopes(&path, &body.allow_scopes).await.map_err(WebError::api)?;
    Ok(ok(ClientScopes { client_id: client.id.0, scope: client.allowed_scopes.to_string() }))
}
