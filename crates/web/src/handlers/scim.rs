//! `/scim/v2` (issue #30): SCIM 2.0 over HTTP. Thin: a request's bearer
//! token, body and query go to `latchkey_app::scim`; its answers and errors
//! come back as `application/scim+json`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_app::scim::clients::ScimClient;
use latchkey_app::scim::{schemas, ListQuery, Projection, Resource, ScimError};
use serde::Deserialize;
use serde_json::Value;

use crate::state::AppState;

/// SCIM's media type (RFC 7644 §8.1).
const SCIM_JSON: &str = "application/scim+json";
/// The largest request body read: a group PATCH adding members in the
/// thousands fits; anything larger is refused before it is parsed.
pub const MAX_SCIM_BODY: usize = 4 * 1024 * 1024;

fn answer(status: StatusCode, body: &Value) -> HttpResponse {
    let mut b = HttpResponse::build(status);
    b.insert_header((header::CONTENT_TYPE, SCIM_JSON)).insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(v) = body.pointer("/meta/version").and_then(Value::as_str) {
        b.insert_header((header::ETAG, v.to_string()));
    }
    if status == StatusCode::CREATED {
        if let Some(l) = body.pointer("/meta/location").and_then(Value::as_str) {
            b.insert_header((header::LOCATION, l.to_string()));
        }
    }
    b.body(body.to_string())
}

fn error(e: &ScimError) -> HttpResponse {
    let (status, _) = e.status();
    if status >= 500 {
        tracing::error!(error = %e, "a SCIM request failed");
    }
    let mut resp = answer(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), &e.body());
    if status == 401 {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer realm=\"scim\""));
    }
    resp
}

fn done(result: Result<Value, ScimError>, status: StatusCode) -> HttpResponse {
    match result {
        Ok(v) => answer(status, &v),
        Err(e) => error(&e),
    }
}

fn base(state: &AppState) -> String {
    format!("{}/scim/v2", state.issuer)
}

fn if_match(req: &HttpRequest) -> Option<&str> {
    req.headers().get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

/// The SCIM client the request's bearer token belongs to.
async fn client(req: &HttpRequest, state: &AppState) -> Result<ScimClient, ScimError> {
    let bearer = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))).map(str::trim);
    state.scim_client(bearer).await
}

fn json_body(body: &web::Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body).map_err(|e| ScimError::InvalidSyntax(format!("the body is not JSON: {e}")))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl ListParams {
    fn query(&self) -> ListQuery {
        ListQuery {
            filter: self.filter.clone(),
            sort_by: self.sort_by.clone(),
            descending: self.sort_order.as_deref().is_some_and(|o| o.eq_ignore_ascii_case("descending")),
            start_index: self.start_index,
            count: self.count,
        }
    }

    fn projection(&self) -> Projection {
        Projection::parse(self.attributes.as_deref(), self.excluded_attributes.as_deref())
    }
}

/// A SearchRequest (`POST …/.search`, RFC 7644 §3.4.3): the query in the body.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    #[serde(default)]
    attributes: Vec<String>,
    #[serde(default)]
    excluded_attributes: Vec<String>,
}

impl SearchRequest {
    fn params(self) -> ListParams {
        let join = |v: Vec<String>| (!v.is_empty()).then(|| v.join(","));
        ListParams {
            filter: self.filter,
            sort_by: self.sort_by,
            sort_order: self.sort_order,
            start_index: self.start_index,
            count: self.count,
            attributes: join(self.attributes),
            excluded_attributes: join(self.excluded_attributes),
        }
    }
}

fn search_params(body: &web::Bytes) -> Result<ListParams, ScimError> {
    serde_json::from_slice::<SearchRequest>(body).map(SearchRequest::params).map_err(|e| ScimError::InvalidSyntax(format!("not a SearchRequest: {e}")))
}

/// `result` with the projection `params` asks for.
fn projected(result: Result<Value, ScimError>, params: &ListParams) -> Result<Value, ScimError> {
    result.map(|mut v| {
        params.projection().apply_to_answer(&mut v);
        v
    })
}

/// Authenticates, then runs `f` with the client; errors become SCIM errors.
macro_rules! scim {
    ($req:expr, $state:expr, |$client:ident| $body:expr, $status:expr) => {{
        match client(&$req, &$state).await {
            Ok($client) => done($body.await, $status),
            Err(e) => error(&e),
        }
    }};
}

pub async fn service_provider_config(state: web::Data<AppState>) -> HttpResponse {
    answer(StatusCode::OK, &schemas::service_provider_config(&base(&state)))
}

pub async fn resource_types(state: web::Data<AppState>, id: Option<web::Path<String>>) -> HttpResponse {
    match schemas::resource_type(&base(&state), id.as_deref().map(String::as_str)) {
        Some(v) => answer(StatusCode::OK, &v),
        None => error(&ScimError::NotFound("ResourceType")),
    }
}

pub async fn schemas_list(state: web::Data<AppState>, id: Option<web::Path<String>>) -> HttpResponse {
    match schemas::schema(&base(&state), id.as_deref().map(String::as_str)) {
        Some(v) => answer(StatusCode::OK, &v),
        None => error(&ScimError::NotFound("Schema")),
    }
}

/// `GET /{resource}`.
pub async fn list(req: HttpRequest, state: web::Data<AppState>, resource: web::Path<String>, params: web::Query<ListParams>) -> HttpResponse {
    let b = base(&state);
    scim!(req, state, |_c| async { projected(state.scim_list(Resource::parse(&resource)?, &params.query(), &b).await, &params) }, StatusCode::OK)
}

/// `POST /{resource}/.search`.
pub async fn search(req: HttpRequest, state: web::Data<AppState>, resource: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let b = base(&state);
    scim!(
        req,
        state,
        |_c| async {
            let params = search_params(&body)?;
            projected(state.scim_list(Resource::parse(&resource)?, &params.query(), &b).await, &params)
        },
        StatusCode::OK
    )
}

/// `GET /{resource}/{id}`.
pub async fn get(req: HttpRequest, state: web::Data<AppState>, path: web::Path<(String, String)>, params: web::Query<ListParams>) -> HttpResponse {
    let (b, (resource, id)) = (base(&state), path.into_inner());
    scim!(req, state, |_c| async { projected(state.scim_get(Resource::parse(&resource)?, &id, &b).await, &params) }, StatusCode::OK)
}

/// `POST /{resource}`.
pub async fn create(req: HttpRequest, state: web::Data<AppState>, resource: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let b = base(&state);
    scim!(req, state, |c| async { state.scim_create(Resource::parse(&resource)?, &c, &json_body(&body)?, &b).await }, StatusCode::CREATED)
}

/// `PUT /{resource}/{id}`.
pub async fn replace(req: HttpRequest, state: web::Data<AppState>, path: web::Path<(String, String)>, body: web::Bytes) -> HttpResponse {
    let (b, (resource, id)) = (base(&state), path.into_inner());
    scim!(req, state, |c| async { state.scim_replace(Resource::parse(&resource)?, &c, &id, &json_body(&body)?, if_match(&req), &b).await }, StatusCode::OK)
}

/// `PATCH /{resource}/{id}`.
pub async fn patch(req: HttpRequest, state: web::Data<AppState>, path: web::Path<(String, String)>, body: web::Bytes) -> HttpResponse {
    let (b, (resource, id)) = (base(&state), path.into_inner());
    scim!(req, state, |c| async { state.scim_patch(Resource::parse(&resource)?, &c, &id, &json_body(&body)?, if_match(&req), &b).await }, StatusCode::OK)
}

/// `DELETE /{resource}/{id}`: 204.
pub async fn delete(req: HttpRequest, state: web::Data<AppState>, path: web::Path<(String, String)>) -> HttpResponse {
    let (b, (resource, id)) = (base(&state), path.into_inner());
    let deleted = async {
        let c = client(&req, &state).await?;
        state.scim_delete(Resource::parse(&resource)?, &c, &id, if_match(&req), &b).await
    };
    match deleted.await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => error(&e),
    }
}

/// `POST /.search` across resource types (RFC 7644 §3.4.3): not offered,
/// 501 as the RFC says; `/Users/.search` and `/Groups/.search` are.
pub async fn search_everything() -> HttpResponse {
    answer(StatusCode::NOT_IMPLEMENTED, &ScimError::NotImplemented("search one resource type at a time: /Users/.search or /Groups/.search").body())
}

/// A method other than GET on a discovery document.
pub async fn read_only() -> HttpResponse {
    let mut resp = answer(StatusCode::METHOD_NOT_ALLOWED, &ScimError::MethodNotAllowed.body());
    resp.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("GET"));
    resp
}

/// Any other path under `/scim/v2`.
pub async fn unknown() -> HttpResponse {
    error(&ScimError::NotFound("endpoint"))
}
