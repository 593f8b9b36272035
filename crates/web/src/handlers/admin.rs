//! The admin API (`/admin/api/v1/`): bearer access tokens with the `admin`
//! scope, obtained with `client_credentials` by an admin client. Described by
//! the OpenAPI document at `/admin/api/v1/openapi.json`.

use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_domain::{Actor, ClientId, EndedSessions, Invitation, SecurityEvent};
use latchkey_domain::{Scope, ScopeSet};
use latchkey_oauth::{ErrorCode, OAuthError};
use latchkey_token::AccessTokenClaims;
use serde::Deserialize;
use serde_json::json;

use super::userinfo::bearer;
use crate::error::WebError;
use crate::state::AppState;

const OPENAPI: &str = include_str!("../../openapi.json");

/// The caller: a valid access token with scope `admin`, issued to an admin client.
pub(crate) async fn admin(req: &HttpRequest, state: &AppState) -> Result<AccessTokenClaims, WebError> {
    let token = bearer(req)?;
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
            latchkey_oauth::audit::set_caller(Actor::Client(ClientId(claims.client_id.clone())), None);
            Ok(claims)
        }
        _ => Err(insufficient()),
    }
}

fn actor(claims: &AccessTokenClaims) -> String {
    format!("admin client {}", claims.client_id)
}

/// The admin API's caller, as an audit actor.
fn by(claims: &AccessTokenClaims) -> Actor {
    Actor::Client(ClientId(claims.client_id.clone()))
}

pub async fn list_clients(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let clients = latchkey_oauth::clients::list(&state.stores.db).await.map_err(WebError::Json)?;
    let body: Vec<_> = clients
        .iter()
        .map(|c| {
            json!({
                "client_id": c.id.0, "name": c.name, "public": c.secret_hash.is_none(), "redirect_uris": c.redirect_uris,
                "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(), "scope": c.allowed_scopes.to_string(),
                "admin": c.admin, "created_at": c.created_at,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body))
}

pub async fn client_grants(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let grants = state.oauth.client_grants(&path).await.map_err(WebError::Json)?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(grants))
}

#[derive(Deserialize)]
pub struct UserFilter {
    user: Option<String>,
}

pub async fn revoke_client_grants(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, query: web::Query<UserFilter>) -> Result<HttpResponse, WebError> {
    let claims = admin(&req, &state).await?;
    let report = state.oauth.revoke_client_grants(&path, query.user.as_deref().filter(|u| !u.is_empty()), &actor(&claims)).await.map_err(WebError::Json)?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(report))
}

pub async fn revoke_user_grants(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let claims = admin(&req, &state).await?;
    let report = state.oauth.revoke_user_grants(&path, &actor(&claims)).await.map_err(WebError::Json)?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(report))
}

fn session_json(s: &latchkey_domain::Session) -> serde_json::Value {
    json!({
        "sid": s.sid, "user_id": s.user_id.0, "device": s.device_name, "ip": s.ip, "user_agent": s.user_agent,
        "created_at": s.created_at, "last_seen_at": s.last_seen_at, "auth_time": s.auth_time,
        "amr": s.amr.iter().map(|a| a.as_str()).collect::<Vec<_>>(), "remembered_device": s.device_id.is_some(),
    })
}

/// The user a path or body names: by id when it is shaped like one, else by
/// username ([`crate::admin_ops::find_user`]).
pub(crate) async fn user_named(state: &AppState, username: &str) -> Result<latchkey_domain::User, WebError> {
    crate::admin_ops::find_user(state, username).await?.ok_or(WebError::Json(OAuthError::NotFound("user")))
}

pub async fn user_sessions(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let user = user_named(&state, &path).await?;
    let sessions: Vec<_> = state.sessions.list(&user.id).await?.iter().map(session_json).collect();
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(sessions))
}

pub async fn end_user_sessions(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let claims = admin(&req, &state).await?;
    let user = user_named(&state, &path).await?;
    let ended = crate::session_ops::end_user_sessions(&state, &user.id, None).await?;
    let all = EndedSessions::All { by: actor(&claims), sessions: ended.len() };
    state.oauth.record(&by(&claims), SecurityEvent::SessionsEnded { user: user.id.clone(), ended: all }).await;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({ "sessions": ended.len() })))
}

pub async fn end_one_session(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let claims = admin(&req, &state).await?;
    let ended = crate::session_ops::end_sessions(&state, vec![path.into_inner()]).await?;
    let Some(s) = ended.first() else {
        return Err(WebError::Json(OAuthError::NotFound("session")));
    };
    let ended = EndedSessions::One { by: actor(&claims), session: s.sid.clone() };
    state.oauth.record(&by(&claims), SecurityEvent::SessionsEnded { user: s.user_id.clone(), ended }).await;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({ "sessions": 1 })))
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

#[derive(Deserialize)]
pub struct NewUserBody {
    username: String,
    email: String,
    #[serde(default)]
    admin: bool,
    /// Must be true: users are created by invitation (no password travels
    /// through the API).
    #[serde(default)]
    invite: bool,
}

/// `POST /admin/api/v1/users` with `"invite": true`: a user without a
/// password and a mailed set-up link, returned as `invite_url`.
pub async fn create_user(req: HttpRequest, state: web::Data<AppState>, body: web::Json<NewUserBody>) -> Result<HttpResponse, WebError> {
    let claims = admin(&req, &state).await?;
    if !body.invite {
        return Err(WebError::Json(OAuthError::invalid_request("users are created by invitation: set \"invite\": true")));
    }
    match crate::account_links::invite(&state, body.username.trim(), body.email.trim(), body.admin).await {
        Ok((user, url)) => {
            state.oauth.record(&by(&claims), SecurityEvent::UserInvited { user: user.id.clone(), via: Invitation::Api { by: actor(&claims) } }).await;
            Ok(HttpResponse::Created().insert_header(("Cache-Control", "no-store")).json(json!({ "user_id": user.id.0, "invite_url": url })))
        }
        Err(latchkey_authn::AuthnError::UserExists) => Err(WebError::Json(OAuthError::Conflict("a user with that username already exists".into()))),
        Err(latchkey_authn::AuthnError::InvalidInput(m)) => Err(WebError::Json(OAuthError::invalid_request(m))),
        Err(e) => Err(e.into()),
    }
}
