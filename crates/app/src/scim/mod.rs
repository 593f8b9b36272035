//! SCIM 2.0 provisioning (RFC 7643 / RFC 7644, issue #30): directories
//! (Entra ID, Okta, HR systems) create, change, deactivate and delete
//! users and groups. Below HTTP: the web crate's handlers only carry
//! requests here and answers back.
//!
//! - [`clients`]: SCIM clients and their bearer tokens;
//! - [`filter`], [`patch`]: the protocol's filters and PATCH operations;
//! - [`users`], [`groups`]: the resources, as latchkey's users and groups;
//! - [`schemas`]: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`.
//!
//! Every change is audited with the SCIM client as the actor. A SCIM
//! client never touches an administrator's account (it could otherwise
//! change its address and recover it) and never grants admin rights.

pub mod clients;
pub mod filter;
pub mod groups;
pub mod patch;
pub mod schemas;
pub mod users;

use serde_json::{json, Value};

use crate::AppError;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The most resources one page lists (`count` above it is lowered).
pub const MAX_PAGE: usize = 200;

/// What a SCIM request can fail with (RFC 7644 §3.12): a status and a
/// `scimType`, said in the error body.
#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    #[error("{0}")]
    InvalidFilter(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    InvalidSyntax(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    NoTarget(String),
    #[error("{0}")]
    TooMany(String),
    #[error("{0}")]
    Uniqueness(String),
    #[error("{0}")]
    Mutability(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the resource changed since it was read (If-Match)")]
    PreconditionFailed,
    #[error("a SCIM client's bearer token is required")]
    Unauthorized,
    #[error("this endpoint is read-only")]
    MethodNotAllowed,
    #[error("{0}")]
    NotImplemented(&'static str),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<latchkey_store::StoreError> for ScimError {
    fn from(e: latchkey_store::StoreError) -> Self {
        ScimError::App(e.into())
    }
}

impl From<latchkey_authn::AuthnError> for ScimError {
    fn from(e: latchkey_authn::AuthnError) -> Self {
        ScimError::App(e.into())
    }
}

impl ScimError {
    /// The HTTP status and `scimType` of the error.
    pub fn status(&self) -> (u16, Option<&'static str>) {
        match self {
            ScimError::InvalidFilter(_) => (400, Some("invalidFilter")),
            ScimError::InvalidPath(_) => (400, Some("invalidPath")),
            ScimError::InvalidSyntax(_) => (400, Some("invalidSyntax")),
            ScimError::InvalidValue(_) => (400, Some("invalidValue")),
            ScimError::NoTarget(_) => (400, Some("noTarget")),
            ScimError::TooMany(_) => (400, Some("tooMany")),
            ScimError::Uniqueness(_) => (409, Some("uniqueness")),
            ScimError::Mutability(_) => (400, Some("mutability")),
            ScimError::NotFound(_) => (404, None),
            ScimError::PreconditionFailed => (412, None),
            ScimError::Unauthorized => (401, None),
            ScimError::MethodNotAllowed => (405, None),
            ScimError::NotImplemented(_) => (501, None),
            ScimError::App(AppError::NotFound(_)) => (404, None),
            ScimError::App(AppError::Conflict(_)) => (409, Some("uniqueness")),
            ScimError::App(AppError::Invalid(_)) => (400, Some("invalidValue")),
            ScimError::App(AppError::Refused(_)) => (403, None),
            ScimError::App(AppError::Authn(latchkey_authn::AuthnError::UserExists)) => (409, Some("uniqueness")),
            ScimError::App(AppError::Authn(latchkey_authn::AuthnError::InvalidInput(_))) => (400, Some("invalidValue")),
            ScimError::App(AppError::Store(latchkey_store::StoreError::Conflict(_))) => (409, Some("uniqueness")),
            ScimError::App(_) => (500, None),
        }
    }

    /// The error body (`urn:ietf:params:scim:api:messages:2.0:Error`); a
    /// 500's detail says nothing of the inside.
    pub fn body(&self) -> Value {
        let (status, scim_type) = self.status();
        let detail = if status >= 500 && status != 501 { "the server could not do this; see its log".to_string() } else { self.to_string() };
        let mut body = json!({ "schemas": [ERROR_SCHEMA], "status": status.to_string(), "detail": detail });
        if let Some(t) = scim_type {
            body["scimType"] = json!(t);
        }
        body
    }
}

/// The resource types served: a path's first segment (`/Users`, `/Groups`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Users,
    Groups,
}

impl Resource {
    pub fn parse(segment: &str) -> Result<Resource, ScimError> {
        match segment {
            "Users" => Ok(Resource::Users),
            "Groups" => Ok(Resource::Groups),
            _ => Err(ScimError::NotFound("endpoint")),
        }
    }
}

/// The same operations on either resource type, for the HTTP layer.
impl crate::App {
    pub async fn scim_list(&self, r: Resource, query: &ListQuery, base: &str) -> Result<Value, ScimError> {
        match r {
            Resource::Users => self.scim_list_users(query, base).await,
            Resource::Groups => self.scim_list_groups(query, base).await,
        }
    }

    pub async fn scim_get(&self, r: Resource, id: &str, base: &str) -> Result<Value, ScimError> {
        match r {
            Resource::Users => self.scim_get_user(id, base).await,
            Resource::Groups => self.scim_get_group(id, base).await,
        }
    }

    pub async fn scim_create(&self, r: Resource, client: &clients::ScimClient, body: &Value, base: &str) -> Result<Value, ScimError> {
        match r {
            Resource::Users => self.scim_create_user(client, body, base).await,
            Resource::Groups => self.scim_create_group(client, body, base).await,
        }
    }

    pub async fn scim_replace(&self, r: Resource, client: &clients::ScimClient, id: &str, body: &Value, if_match: Option<&str>, base: &str) -> Result<Value, ScimError> {
        match r {
            Resource::Users => self.scim_replace_user(client, id, body, if_match, base).await,
            Resource::Groups => self.scim_replace_group(client, id, body, if_match, base).await,
        }
    }

    pub async fn scim_patch(&self, r: Resource, client: &clients::ScimClient, id: &str, body: &Value, if_match: Option<&str>, base: &str) -> Result<Value, ScimError> {
        match r {
            Resource::Users => self.scim_patch_user(client, id, body, if_match, base).await,
            Resource::Groups => self.scim_patch_group(client, id, body, if_match, base).await,
        }
    }

    pub async fn scim_delete(&self, r: Resource, client: &clients::ScimClient, id: &str, if_match: Option<&str>, base: &str) -> Result<(), ScimError> {
        match r {
            Resource::Users => self.scim_delete_user(client, id, if_match, base).await,
            Resource::Groups => self.scim_delete_group(client, id, if_match, base).await,
        }
    }
}

/// Epoch seconds as SCIM's `dateTime` (RFC 3339, UTC, whole seconds).
pub fn datetime(epoch: i64) -> String {
    latchkey_domain::clock::rfc3339(epoch)
}

/// A weak ETag of a resource's representation (`W/"…"`): it changes
/// whenever anything SCIM shows of the resource changes.
pub fn version_of(resource: &Value) -> String {
    let mut shown = resource.clone();
    if let Some(meta) = shown.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("version");
    }
    let digest = latchkey_token::crypto::sha256_b64url(shown.to_string().as_bytes());
    format!("W/\"{}\"", &digest[..16])
}

/// `If-Match`: the request goes ahead when absent, `*`, or naming the current version.
pub fn check_if_match(if_match: Option<&str>, current: &str) -> Result<(), ScimError> {
    match if_match.map(str::trim) {
        None | Some("*") => Ok(()),
        Some(list) if list.split(',').any(|v| v.trim() == current) => Ok(()),
        Some(_) => Err(ScimError::PreconditionFailed),
    }
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5): which
/// attributes an answer shows. `id` and `schemas` are always shown; a
/// request naming neither shows everything.
#[derive(Debug, Default, Clone)]
pub struct Projection {
    pub attributes: Vec<filter::AttrPath>,
    pub excluded: Vec<filter::AttrPath>,
}

impl Projection {
    /// Reads comma-separated attribute lists (unreadable names are ignored, as RFC 7644 allows).
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Projection {
        let paths = |list: Option<&str>| list.unwrap_or_default().split(',').map(str::trim).filter(|a| !a.is_empty()).filter_map(|a| filter::parse_attr_path(a).ok()).collect();
        Projection { attributes: paths(attributes), excluded: paths(excluded) }
    }

    fn names(path: &filter::AttrPath) -> (Option<&str>, &str, Option<&str>) {
        let ext = path.schema.as_deref().filter(|s| !filter::is_core(s));
        (ext, path.attr.as_str(), path.sub.as_deref())
    }

    /// Applies the projection to one resource.
    pub fn apply(&self, resource: &mut Value) {
        let Some(obj) = resource.as_object_mut() else { return };
        if !self.attributes.is_empty() {
            let original = Value::Object(obj.clone());
            let mut kept = serde_json::Map::new();
            for (k, v) in obj.iter().filter(|(k, _)| *k == "id" || *k == "schemas") {
                kept.insert(k.clone(), v.clone());
            }
            for path in &self.attributes {
                let (ext, attr, sub) = Self::names(path);
                // Where the attribute is (the resource, or its extension) and where it goes.
                let (source, target) = match ext {
                    Some(urn) => {
                        let Some((key, source)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(urn)) else { continue };
                        let entry = kept.entry(key.clone()).or_insert_with(|| Value::Object(serde_json::Map::new()));
                        let Some(target) = entry.as_object_mut() else { continue };
                        (source, target)
                    }
                    None => (&original, &mut kept),
                };
                let Some((key, value)) = source.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(attr))) else { continue };
                match (sub, value) {
                    (Some(sub), Value::Object(inner)) => {
                        if let Some((sk, sv)) = inner.iter().find(|(k, _)| k.eq_ignore_ascii_case(sub)) {
                            if let Some(o) = target.entry(key.clone()).or_insert_with(|| Value::Object(serde_json::Map::new())).as_object_mut() {
                                o.insert(sk.clone(), sv.clone());
                            }
                        }
                    }
                    _ => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
            *obj = kept;
        }
        for path in &self.excluded {
            let (ext, attr, sub) = Self::names(path);
            if attr == "id" || attr == "schemas" {
                continue;
            }
            let holder = match ext {
                Some(urn) => obj.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(urn)).and_then(|(_, v)| v.as_object_mut()),
                None => Some(&mut *obj),
            };
            let Some(holder) = holder else { continue };
            let Some(key) = holder.keys().find(|k| k.eq_ignore_ascii_case(attr)).cloned() else { continue };
            match sub {
                None => {
                    holder.remove(&key);
                }
                Some(sub) => {
                    if let Some(inner) = holder.get_mut(&key).and_then(Value::as_object_mut) {
                        if let Some(sk) = inner.keys().find(|k| k.eq_ignore_ascii_case(sub)).cloned() {
                            inner.remove(&sk);
                        }
                    }
                }
            }
        }
    }

    /// Applies the projection to an answer: one resource, or each of a ListResponse's.
    pub fn apply_to_answer(&self, answer: &mut Value) {
        if self.attributes.is_empty() && self.excluded.is_empty() {
            return;
        }
        match answer.get_mut("Resources").and_then(Value::as_array_mut) {
            Some(list) => list.iter_mut().for_each(|r| self.apply(r)),
            None => self.apply(answer),
        }
    }
}

/// Query parameters of a list (`filter`, `sortBy`, `sortOrder`, `startIndex`, `count`).
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub descending: bool,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
}

/// Filters, sorts and pages `resources` as `query` asks; the ListResponse.
pub fn list_response(mut resources: Vec<Value>, query: &ListQuery) -> Result<Value, ScimError> {
    if let Some(text) = query.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        let f = filter::parse(text)?;
        resources.retain(|r| filter::matches(r, &f));
    }
    if let Some(by) = query.sort_by.as_deref().filter(|s| !s.is_empty()) {
        let path = filter::parse_attr_path(by).map_err(|_| ScimError::InvalidValue(format!("cannot sort by {by:?}")))?;
        let key = |r: &Value| -> String {
            let base = match &path.schema {
                Some(urn) if !filter::is_core(urn) => filter::member(r, urn),
                _ => Some(r),
            };
            let top = base.and_then(|b| filter::member(b, &path.attr));
            let v = match (&path.sub, top) {
                (Some(sub), Some(t)) => filter::member(t, sub),
                (None, t) => t,
                _ => None,
            };
            match v {
                Some(Value::String(s)) => s.to_lowercase(),
                Some(other) => other.to_string(),
                None => String::new(),
            }
        };
        resources.sort_by_key(|r| key(r));
        if query.descending {
            resources.reverse();
        }
    }
    let total = resources.len();
    let start = usize::try_from(query.start_index.unwrap_or(1).max(1)).unwrap_or(1);
    let count = usize::try_from(query.count.unwrap_or(MAX_PAGE as i64).max(0)).unwrap_or(0).min(MAX_PAGE);
    let page: Vec<Value> = resources.into_iter().skip(start - 1).take(count).collect();
    Ok(json!({ "schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start, "itemsPerPage": page.len(), "Resources": page }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_versions_and_pages() {
        assert_eq!(datetime(0), "1970-01-01T00:00:00Z");
        assert_eq!(datetime(1_796_601_600 + 3_723), "2026-12-07T01:02:03Z");
        let a = json!({ "id": "1", "meta": { "version": "x" } });
        assert_eq!(version_of(&a), version_of(&json!({ "id": "1", "meta": {} })), "the version is not part of itself");
        assert_ne!(version_of(&a), version_of(&json!({ "id": "2" })));
        assert!(check_if_match(Some("W/\"abc\""), "W/\"abc\"").is_ok() && check_if_match(Some("*"), "W/\"abc\"").is_ok());
        assert!(matches!(check_if_match(Some("W/\"old\""), "W/\"abc\""), Err(ScimError::PreconditionFailed)));
        let many: Vec<Value> = (0..5).map(|i| json!({ "userName": format!("u{i}") })).collect();
        let page = list_response(many.clone(), &ListQuery { start_index: Some(2), count: Some(2), sort_by: Some("userName".into()), descending: true, ..Default::default() }).expect("list");
        assert_eq!(page["totalResults"], 5);
        assert_eq!(page["Resources"], json!([{ "userName": "u3" }, { "userName": "u2" }]));
        let none = list_response(many, &ListQuery { count: Some(0), ..Default::default() }).expect("list");
        assert_eq!((none["totalResults"].as_u64(), none["itemsPerPage"].as_u64()), (Some(5), Some(0)));
    }

    #[test]
    fn projections_show_what_was_asked() {
        let user =
            json!({ "schemas": [USER_SCHEMA], "id": "1", "userName": "b", "name": { "givenName": "B", "familyName": "J" }, "title": "T", ENTERPRISE_SCHEMA: { "department": "D", "costCenter": "C" } });
        let mut only = user.clone();
        Projection::parse(Some("userName,name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), None).apply(&mut only);
        assert_eq!(only, json!({ "schemas": [USER_SCHEMA], "id": "1", "userName": "b", "name": { "givenName": "B" }, ENTERPRISE_SCHEMA: { "department": "D" } }));
        let mut without = user.clone();
        Projection::parse(None, Some("name,title,id,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter")).apply(&mut without);
        assert_eq!(without, json!({ "schemas": [USER_SCHEMA], "id": "1", "userName": "b", ENTERPRISE_SCHEMA: { "department": "D" } }), "id is always shown");
    }
}
