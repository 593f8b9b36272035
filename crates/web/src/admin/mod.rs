//! The admin API (`/admin/api/v1/`): bearer access tokens with the `admin`
//! scope, obtained with `client_credentials` by an admin client.
//!
//! One file per resource (`users`, `clients`, `apis`, `groups`, `sessions`,
//! `keys`, `audit`, `providers`, `webhooks`); each handler is an actix service (`#[get("/users")]`…)
//! with its OpenAPI description beside it (`#[utoipa::path]`), taking typed
//! requests and answering typed responses. [`operations`] is the one list of
//! them: [`configure`] registers it and [`openapi`] generates the document
//! served at `/admin/api/v1/openapi.json` from the same list, so a route
//! cannot exist without its description. The callers are checked by the
//! [`AdminClient`] extractor; the work is done by the same use cases as the
//! console's (`latchkey_app::admin`).
//!
//! A new admin endpoint: a handler in its resource's file with
//! `#[utoipa::path]` and an actix method attribute, then one line in
//! [`operations`].

pub mod apis;
pub mod audit;
pub mod clients;
pub mod groups;
pub mod keys;
pub mod providers;
pub mod sessions;
pub mod users;
pub mod webhooks;

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use actix_web::dev::Payload;
use actix_web::{get, web, FromRequest, HttpRequest, HttpResponse};
use latchkey_domain::{Scope, ScopeSet};
use latchkey_oauth::{ErrorCode, OAuthError};
use latchkey_token::AccessTokenClaims;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{HttpMethod, Operation as OpenApiOperation};
use utoipa::openapi::schema::{Object, Schema, SchemaType};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Components, OpenApi as Document, RefOr, Response};
use utoipa::{OpenApi, ToSchema};
use utoipa_actix_web::OpenApiFactory;

use crate::error::WebError;
use crate::handlers::userinfo::bearer;
use crate::state::AppState;

/// Where the admin API lives; the document's paths are relative to it.
pub const BASE: &str = "/admin/api/v1";

/// The caller of an admin API operation: a valid access token with scope
/// `admin`, issued to an enabled admin client. A handler that takes one
/// cannot run for anyone else; without a token at all it answers 401 before
/// anything else is read.
pub struct AdminClient(pub AccessTokenClaims);

impl AdminClient {
    /// The actor of audit details (`admin client {id}`).
    pub fn actor(&self) -> String {
        format!("admin client {}", self.0.client_id)
    }

    /// Who acts, for the application's admin use cases (the rules "not
    /// yourself" and "never the last administrator" live there).
    pub fn by(&self) -> latchkey_app::admin::Actor {
        latchkey_app::admin::Actor::Token { client: self.0.client_id.clone(), subject: self.0.sub.clone() }
    }

    /// The user the token was issued for, when an admin got it for themself.
    pub fn sub(&self) -> &str {
        &self.0.sub
    }

    async fn check(req: HttpRequest) -> Result<Self, WebError> {
        let token = bearer(&req)?;
        let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| WebError::Internal("no application state".into()))?;
        let claims = state.tokens.verify_access_token(token).await.map_err(|e| match e {
            latchkey_token::TokenError::Store(s) => WebError::Store(s),
            other => WebError::Bearer(OAuthError::new(ErrorCode::InvalidToken, other.to_string())),
        })?;
        let insufficient = || WebError::Bearer(OAuthError::new(ErrorCode::InsufficientScope, "the admin scope is required"));
        if !ScopeSet::parse_lenient(&claims.scope).contains(Scope::Admin) {
            return Err(insufficient());
        }
        match state.oauth.client(&claims.client_id).await? {
            Some(c) if c.admin && c.disabled_at.is_none() => {
                latchkey_oauth::audit::set_caller(latchkey_domain::Actor::Client(latchkey_domain::ClientId(claims.client_id.clone())), None);
                Ok(AdminClient(claims))
            }
            _ => Err(insufficient()),
        }
    }
}

impl FromRequest for AdminClient {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, WebError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(Self::check(req.clone()))
    }
}

/// A 200 answer that no cache keeps.
pub(crate) fn ok<T: Serialize>(body: T) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body)
}

/// A 201 answer that no cache keeps.
pub(crate) fn created<T: Serialize>(body: T) -> HttpResponse {
    HttpResponse::Created().insert_header(("Cache-Control", "no-store")).json(body)
}

pub(crate) fn not_found(what: &'static str) -> WebError {
    WebError::api(latchkey_app::AppError::NotFound(what))
}

pub(crate) fn bad(m: impl Into<String>) -> WebError {
    WebError::Json(OAuthError::invalid_request(m))
}

/// The user a path or body names: by id when it is shaped like one, else by
/// username ([`latchkey_app::admin::Admin::find_user`]).
pub(crate) async fn user_named(state: &AppState, username: &str) -> Result<latchkey_domain::User, WebError> {
    state.admin(latchkey_app::admin::Actor::Cli).user(username).await.map_err(WebError::api)
}

/// An error body (RFC 6749 §5.2's shape).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Error {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// `{"removed": …}`: what a DELETE removed (a name).
#[derive(Serialize, ToSchema)]
pub struct Removed {
    pub removed: String,
}

/// `{"deleted": …}`: the id of what a DELETE deleted.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    pub deleted: String,
}

/// What a revocation removed.
#[derive(Serialize, ToSchema)]
pub struct RevokeReport {
    pub grants: usize,
    pub families: usize,
    /// Tracked access tokens revoked by id (all others are revoked by issue time).
    pub access_tokens: usize,
}

impl From<latchkey_oauth::admin::RevokeReport> for RevokeReport {
    fn from(r: latchkey_oauth::admin::RevokeReport) -> Self {
        let latchkey_oauth::admin::RevokeReport { grants, families, access_tokens } = r;
        RevokeReport { grants, families, access_tokens }
    }
}

/// A JSON Schema written out where utoipa's model has no field for a keyword
/// (`not`, `const`, `if`/`then`, `contains`, `oneOf` inside array items):
/// every member of `keywords` is emitted as is.
pub(crate) fn json_schema(keywords: serde_json::Value) -> Object {
    let mut o = Object::with_type(SchemaType::AnyValue);
    if let serde_json::Value::Object(map) = keywords {
        o.extensions = Some(map.into_iter().collect());
    }
    o
}

/// Adds JSON Schema keywords to a component schema (rules between its
/// properties, which field attributes cannot state).
fn add_keywords(doc: &mut Document, schema: &str, keywords: serde_json::Value) {
    let Some(RefOr::T(Schema::Object(o))) = doc.components.as_mut().and_then(|c| c.schemas.get_mut(schema)) else {
        panic!("no object schema {schema} to add rules to");
    };
    let serde_json::Value::Object(map) = keywords else { return };
    o.extensions.get_or_insert_with(Default::default).extend(map);
}

/// Named component schemas, as utoipa collects them.
type Schemas = Vec<(String, RefOr<Schema>)>;

/// One operation of the admin API: the actix service and its description.
pub struct Operation {
    pub path: String,
    pub methods: Vec<HttpMethod>,
    /// Needs no token (the document itself).
    pub public: bool,
    register: fn(&mut web::ServiceConfig),
    describe: fn() -> (utoipa::openapi::path::Paths, Schemas),
}

/// Makes an [`Operation`] of a handler that `#[utoipa::path]` describes.
macro_rules! op {
    ($handler:path) => {
        op!($handler, false)
    };
    ($handler:path, $public:expr) => {
        Operation {
            path: <$handler as utoipa::Path>::path(),
            methods: <$handler as utoipa::Path>::methods(),
            public: $public,
            register: |cfg| {
                cfg.service($handler);
            },
            describe: || {
                let mut schemas = Vec::new();
                OpenApiFactory::schemas(&$handler, &mut schemas);
                (OpenApiFactory::paths(&$handler), schemas)
            },
        }
    };
}

/// Every admin API operation, in the order actix tries them: a path's fixed
/// segments before the generic action paths, so `POST /users/x/grants` is a
/// 405 rather than the action `grants`.
pub fn operations() -> Vec<Operation> {
    vec![
        op!(openapi_json, true),
        op!(clients::list_clients),
        op!(clients::create_client),
        op!(clients::get_client),
        op!(clients::update_client),
        op!(clients::delete_client),
        op!(clients::client_grants),
        op!(clients::revoke_client_grants),
        op!(clients::set_client_scopes),
        op!(users::list_users),
        op!(users::invite_user),
        op!(users::get_user),
        op!(users::update_user),
        op!(users::delete_user),
        op!(users::revoke_user_grants),
        op!(sessions::user_sessions),
        op!(sessions::end_user_sessions),
        op!(sessions::end_session),
        op!(apis::list_apis),
        op!(apis::create_api),
        op!(apis::get_api),
        op!(apis::update_api),
        op!(apis::delete_api),
        op!(apis::add_scope),
        op!(apis::remove_scope),
        op!(apis::add_role),
        op!(groups::list_groups),
        op!(groups::create_group),
        op!(groups::delete_group),
        op!(groups::add_member),
        op!(groups::remove_member),
        op!(audit::audit),
        op!(keys::list_keys),
        op!(keys::rotate_keys),
        op!(providers::list_providers),
        op!(providers::create_provider),
        op!(providers::get_provider),
        op!(providers::update_provider),
        op!(providers::delete_provider),
        op!(webhooks::list_webhooks),
        op!(webhooks::create_webhook),
        op!(webhooks::delete_webhook),
        op!(webhooks::enable_webhook),
        op!(webhooks::webhook_log),
        // Generic action paths last.
        op!(users::user_action),
        op!(clients::client_action),
        op!(providers::provider_action),
    ]
}

fn method_name(m: &HttpMethod) -> &'static str {
    match m {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Head => "HEAD",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Trace => "TRACE",
    }
}

/// Registers the admin API under [`BASE`]: each path's operations, then a
/// resource answering 405 with `Allow` (RFC 9110 §15.5.6) for its other
/// methods, so another method never falls through to a later path.
///
/// Not `utoipa_actix_web::scope`: it registers the same services and
/// collects the same descriptions, but has nowhere to put these 405
/// resources between one path's handlers and the next path's, and without
/// them `POST /users/x/grants` would reach the `{action}` route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let ops = operations();
    let mut paths: Vec<&str> = Vec::new();
    for op in &ops {
        if !paths.contains(&op.path.as_str()) {
            paths.push(&op.path);
        }
    }
    let mut scope = web::scope(BASE);
    for path in paths {
        let here: Vec<&Operation> = ops.iter().filter(|o| o.path == path).collect();
        let allow = here.iter().flat_map(|o| o.methods.iter().map(method_name)).collect::<Vec<_>>().join(", ");
        let register: Vec<fn(&mut web::ServiceConfig)> = here.iter().map(|o| o.register).collect();
        scope = scope.configure(move |cfg| register.iter().for_each(|r| r(cfg))).service(web::resource(path).default_service(web::to(move || {
            let allow = allow.clone();
            async move { HttpResponse::MethodNotAllowed().insert_header((actix_web::http::header::ALLOW, allow)).json(serde_json::json!({ "error": "method_not_allowed" })) }
        })));
    }
    cfg.service(scope);
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "latchkey admin API",
        version = "1",
        description = "Administration of users, clients, APIs, groups, sessions, signing keys and the audit trail. Authenticate with a bearer access token that has the `admin` scope, obtained with the client_credentials grant by a client created with `latchkey client add --admin`."
    ),
    servers((url = "/admin/api/v1")),
    security(("bearer" = ["admin"])),
    components(schemas(Error))
)]
struct Base;

/// The admin API's OpenAPI 3.1 document, generated from [`operations`].
pub fn openapi() -> Document {
    let mut doc = Base::openapi();
    // utoipa licenses as MIT by default when the crate says nothing; ours is Apache-2.0.
    doc.info.license = Some(utoipa::openapi::License::new("Apache-2.0"));
    let components = doc.components.get_or_insert_with(Components::new);
    components.security_schemes.insert("bearer".into(), RefOr::T(SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT (RFC 9068) with scope admin").build())));
    components.responses.insert(
        "Unauthorized".into(),
        RefOr::T(Response::new("Missing or invalid bearer token: `WWW-Authenticate: Bearer` (RFC 6750); an invalid token also gets a JSON error body, a request without credentials an empty one")),
    );
    components.responses.insert("Forbidden".into(), RefOr::T(error_response("The token lacks the admin scope or was not issued to an admin client")));
    for op in operations() {
        let (mut paths, schemas) = (op.describe)();
        for item in paths.paths.values_mut() {
            for operation in operations_of(item) {
                if op.public {
                    operation.security = Some(Vec::new());
                } else {
                    operation.responses.responses.entry("401".into()).or_insert_with(|| RefOr::Ref(utoipa::openapi::Ref::from_response_name("Unauthorized")));
                    operation.responses.responses.entry("403".into()).or_insert_with(|| RefOr::Ref(utoipa::openapi::Ref::from_response_name("Forbidden")));
                }
            }
        }
        doc.paths.merge(paths);
        doc.components.get_or_insert_with(Components::new).schemas.extend(schemas);
    }
    clients::schema_rules(&mut doc);
    doc
}

fn error_response(description: &str) -> Response {
    utoipa::openapi::ResponseBuilder::new()
        .description(description)
        .content("application/json", utoipa::openapi::content::Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Error")))))
        .build()
}

fn operations_of(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut OpenApiOperation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.options, &mut item.head, &mut item.patch, &mut item.trace].into_iter().filter_map(Option::as_mut)
}

/// This document, as JSON (generated once).
#[utoipa::path(
    summary = "This document",
    description = "The OpenAPI 3.1 description of the admin API, generated from the handlers it describes.",
    tag = "meta",
    operation_id = "openapi",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json"))
)]
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    static DOC: OnceLock<String> = OnceLock::new();
    let body = DOC.get_or_init(|| openapi().to_json().unwrap_or_default());
    HttpResponse::Ok().content_type("application/json").body(body.as_str())
}

#[cfg(test)]
mod tests;
