//! Admin API: registered APIs (resource servers), their scopes and roles,
//! groups and their members, a client's allowed API scopes, user profiles.

use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_domain::SecurityEvent;
use latchkey_domain::{Api, Profile, SigningAlg};
use latchkey_oauth::apis::{parse_scope_arg, NewApi};
use latchkey_oauth::OAuthError;
use serde::Deserialize;
use serde_json::json;

use super::admin::{admin, user_named};
use crate::error::WebError;
use crate::state::AppState;

fn ok(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body)
}

fn bad(m: impl Into<String>) -> WebError {
    WebError::Json(OAuthError::invalid_request(m))
}

pub fn api_json(a: &Api) -> serde_json::Value {
    json!({
        "id": a.id, "name": a.name, "audience": a.audience, "access_token_ttl": a.access_token_ttl,
        "signing_alg": a.signing_alg.as_str(), "introspection": a.introspection_secret_hash.is_some(),
        "scopes": a.scopes.iter().map(|s| json!({ "name": s.name, "description": s.description })).collect::<Vec<_>>(),
        "roles": a.roles.iter().map(|(r, g)| json!({ "role": r, "group": g })).collect::<Vec<_>>(),
        "created_at": a.created_at,
    })
}

#[derive(Deserialize)]
pub struct NewApiBody {
    name: String,
    audience: String,
    /// `name=description` strings, or objects.
    #[serde(default)]
    scopes: Vec<ScopeBody>,
    #[serde(default, deserialize_with = "super::whole_number")]
    access_token_ttl: Option<i64>,
    signing_alg: Option<String>,
    #[serde(default)]
    introspection_secret: bool,
}

#[derive(Deserialize)]
pub struct ScopeBody {
    name: String,
    #[serde(default)]
    description: String,
}

fn scope_of(b: &ScopeBody) -> Result<latchkey_domain::ApiScope, WebError> {
    parse_scope_arg(&format!("{}={}", b.name, b.description)).map_err(bad)
}

pub async fn list_apis(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    state.oauth.forget_cached_apis();
    Ok(ok(json!(state.oauth.apis().await?.iter().map(api_json).collect::<Vec<_>>())))
}

pub async fn create_api(req: HttpRequest, state: web::Data<AppState>, body: web::Json<NewApiBody>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let body = body.into_inner();
    let signing_alg = match body.signing_alg.as_deref() {
        None => SigningAlg::EdDSA,
        Some(a) => SigningAlg::parse(a).ok_or_else(|| bad("signing_alg must be EdDSA, ES256 or RS256"))?,
    };
    let scopes = body.scopes.iter().map(scope_of).collect::<Result<Vec<_>, _>>()?;
    let new = NewApi { name: body.name, audience: body.audience, scopes, access_token_ttl: body.access_token_ttl, signing_alg, introspection_secret: body.introspection_secret };
    let (api, secret) = state.oauth.register_api(new).await.map_err(WebError::Json)?;
    let mut out = api_json(&api);
    if let Some(s) = secret {
        out["introspection_secret"] = json!(s.expose());
    }
    Ok(HttpResponse::Created().insert_header(("Cache-Control", "no-store")).json(out))
}

pub async fn get_api(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let api = state.oauth.api(&path).await?.ok_or(WebError::Json(OAuthError::NotFound("API")))?;
    Ok(ok(api_json(&api)))
}

pub async fn delete_api(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    if !state.oauth.remove_api(&path).await.map_err(WebError::Json)? {
        return Err(WebError::Json(OAuthError::NotFound("API")));
    }
    Ok(ok(json!({ "removed": true })))
}

pub async fn add_scope(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<ScopeBody>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    state.oauth.add_api_scope(&path, scope_of(&body)?).await.map_err(WebError::Json)?;
    Ok(ok(json!({ "added": body.name })))
}

pub async fn remove_scope(req: HttpRequest, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let (api, name) = path.into_inner();
    if !state.oauth.remove_api_scope(&api, &name).await.map_err(WebError::Json)? {
        return Err(WebError::Json(OAuthError::NotFound("scope")));
    }
    Ok(ok(json!({ "removed": name })))
}

#[derive(Deserialize)]
pub struct RoleBody {
    role: String,
    group: String,
}

pub async fn add_role(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<RoleBody>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    state.oauth.add_api_role(&path, &body.role, &body.group).await.map_err(WebError::Json)?;
    Ok(ok(json!({ "role": body.role, "group": body.group })))
}

#[derive(Deserialize)]
pub struct ClientScopesBody {
    allow_scopes: Vec<String>,
}

pub async fn set_client_scopes(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<ClientScopesBody>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let client = latchkey_oauth::clients::set_api_scopes(&state.stores.db, &path, &body.allow_scopes).await.map_err(WebError::Json)?;
    state.oauth.forget_cached_clients();
    state.oauth.record(&latchkey_oauth::audit::caller(), SecurityEvent::ClientScopesChanged { client: client.id.clone(), scope: client.allowed_scopes.to_string() }).await;
    Ok(ok(json!({ "client_id": client.id.0, "scope": client.allowed_scopes.to_string() })))
}

#[derive(Deserialize)]
pub struct GroupBody {
    name: String,
}

pub async fn list_groups(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let groups = state.oauth.list_groups().await.map_err(WebError::Json)?;
    Ok(ok(json!(groups.iter().map(|(name, members)| json!({ "name": name, "members": members })).collect::<Vec<_>>())))
}

pub async fn create_group(req: HttpRequest, state: web::Data<AppState>, body: web::Json<GroupBody>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    state.oauth.create_group(&body.name).await.map_err(WebError::Json)?;
    Ok(HttpResponse::Created().insert_header(("Cache-Control", "no-store")).json(json!({ "name": body.name })))
}

pub async fn delete_group(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    if !state.oauth.remove_group(&path).await.map_err(WebError::Json)? {
        return Err(WebError::Json(OAuthError::NotFound("group")));
    }
    Ok(ok(json!({ "removed": path.into_inner() })))
}

#[derive(Deserialize)]
pub struct MemberBody {
    username: String,
}

pub async fn add_member(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<MemberBody>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let user = user_named(&state, &body.username).await?;
    state.oauth.add_group_member(&path, &user.id).await.map_err(WebError::Json)?;
    Ok(ok(json!({ "group": path.into_inner(), "username": user.username })))
}

pub async fn remove_member(req: HttpRequest, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let (group, username) = path.into_inner();
    let user = user_named(&state, &username).await?;
    if !state.oauth.remove_group_member(&group, &user.id).await.map_err(WebError::Json)? {
        return Err(WebError::Json(OAuthError::NotFound("member")));
    }
    Ok(ok(json!({ "removed": username })))
}

#[derive(Deserialize)]
pub struct ProfileBody {
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    locale: Option<String>,
    zoneinfo: Option<String>,
    /// true: make the user an administrator; false: take it away (never
    /// the last administrator's, never the caller's own).
    admin: Option<bool>,
}

/// `PATCH /users/{username}`: the profile claims and `admin` (fields left
/// out are kept).
pub async fn update_user(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<ProfileBody>) -> Result<HttpResponse, WebError> {
    let claims = admin(&req, &state).await?;
    let mut user = user_named(&state, &path).await?;
    let b = body.into_inner();
    let p = user.profile.clone();
    let profile_given = [&b.name, &b.given_name, &b.family_name, &b.locale, &b.zoneinfo].iter().any(|v| v.is_some());
    let profile = Profile {
        name: b.name.or(p.name),
        given_name: b.given_name.or(p.given_name),
        family_name: b.family_name.or(p.family_name),
        locale: b.locale.or(p.locale),
        zoneinfo: b.zoneinfo.or(p.zoneinfo),
        updated_at: p.updated_at,
    };
    if profile_given {
        // Checked before the admin change, so a bad profile changes nothing.
        latchkey_authn::service::check_profile(&profile).map_err(|e| bad(e.to_string()))?;
    }
    if let Some(admin) = b.admin.filter(|a| *a != user.admin) {
        super::admin_users::set_admin(&state, &claims, &user, admin).await?;
        user.admin = admin;
    }
    let saved = if profile_given {
        let saved = state.authn.set_profile(&user.id, profile).await.map_err(|e| bad(e.to_string()))?;
        state.oauth.record(&latchkey_oauth::audit::caller(), SecurityEvent::ProfileChanged { user: user.id.clone(), by_admin: true }).await;
        saved
    } else {
        profile
    };
    Ok(ok(
        json!({ "username": user.username, "admin": user.admin, "name": saved.name, "given_name": saved.given_name, "family_name": saved.family_name, "locale": saved.locale, "zoneinfo": saved.zoneinfo, "updated_at": saved.updated_at }),
    ))
}
