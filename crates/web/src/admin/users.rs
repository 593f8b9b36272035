//! Users: list, invite, show, change, delete, act on (disable, enable,
//! reset MFA, …), and revoke everything they granted.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use latchkey_domain::{Profile, SecurityEvent, User, UserAction};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::{bad, created, json_schema, not_found, ok, user_named, AdminClient, Deleted, RevokeReport};
use crate::error::WebError;
use crate::state::AppState;

const TAG: &str = "users";

/// A user as the admin API shows it.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub user_id: String,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub admin: bool,
    pub has_password: bool,
    pub disabled: bool,
    /// Epoch seconds.
    pub created_at: i64,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub locale: Option<String>,
    pub zoneinfo: Option<String>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            user_id: u.id.0.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            admin: u.admin,
            has_password: u.password_hash.is_some(),
            disabled: u.disabled_at.is_some(),
            created_at: u.created_at,
            name: u.profile.name.clone(),
            given_name: u.profile.given_name.clone(),
            family_name: u.profile.family_name.clone(),
            locale: u.profile.locale.clone(),
            zoneinfo: u.profile.zoneinfo.clone(),
        }
    }
}

/// A user with their factors and sessions counted.
#[derive(Serialize, ToSchema)]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: UserView,
    /// Registered passkeys.
    pub passkeys: usize,
    /// An authenticator app (TOTP) is set up.
    pub authenticator_app: bool,
    pub backup_codes_left: i64,
    /// Live sessions.
    pub sessions: usize,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Search {
    /// Part of a username or email address.
    q: Option<String>,
}

#[utoipa::path(
    summary = "List or search users (username or email contains q)",
    tag = TAG,
    operation_id = "listUsers",
    params(Search),
    responses((status = 200, description = "Up to 200 users", body = Vec<UserView>), (status = 400, description = "invalid_request"))
)]
#[get("/users")]
pub async fn list_users(_: AdminClient, state: web::Data<AppState>, query: web::Query<Search>) -> Result<HttpResponse, WebError> {
    let users = state.authn.search_users(query.q.as_deref().unwrap_or(""), 200).await?;
    Ok(ok(users.iter().map(UserView::from).collect::<Vec<_>>()))
}

fn username_schema() -> utoipa::openapi::schema::Object {
    json_schema(json!({
        "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9._-]+$",
        "not": { "pattern": "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$" },
        "description": "letters, digits and . - _, unique whatever their case; not shaped like a user id (a UUID)",
    }))
}

fn invite_schema() -> utoipa::openapi::schema::Object {
    json_schema(json!({ "type": "boolean", "const": true, "description": "must be true: users are created by invitation (no password travels through the API)" }))
}

/// `POST /users`: an invitation.
#[derive(Deserialize, ToSchema)]
pub struct InviteRequest {
    #[schema(schema_with = username_schema)]
    username: String,
    #[schema(format = Email)]
    email: String,
    /// An administrator (the admin console).
    #[serde(default)]
    #[schema(default = false)]
    admin: bool,
    /// Must be true: users are created by invitation (no password travels
    /// through the API).
    #[serde(default)]
    #[schema(schema_with = invite_schema, required = true)]
    invite: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Invited {
    pub user_id: String,
    /// The single-use set-up link (also mailed).
    #[schema(format = "uri")]
    pub invite_url: String,
}

#[utoipa::path(
    summary = "Invite a user: an account without a password, and a single-use set-up link (mailed, and returned)",
    tag = TAG,
    operation_id = "inviteUser",
    request_body = InviteRequest,
    responses(
        (status = 201, description = "Invited", body = Invited),
        (status = 400, description = "invalid_request (bad username or address, invite not true)"),
        (status = 409, description = "a user with that username already exists", body = super::Error),
    )
)]
#[post("/users")]
pub async fn invite_user(caller: AdminClient, state: web::Data<AppState>, body: web::Json<InviteRequest>) -> Result<HttpResponse, WebError> {
    if !body.invite {
        return Err(bad("users are created by invitation: set \"invite\": true"));
    }
    let by = caller.by().audited();
    let (user, url) = state.invite(&by, body.username.trim(), body.email.trim(), body.admin).await.map_err(WebError::api)?;
    state.oauth.record(&by, SecurityEvent::UserInvited { user: user.id.clone(), via: latchkey_domain::Invitation::Api { by: caller.actor() } }).await;
    Ok(created(Invited { user_id: user.id.0, invite_url: url }))
}

#[utoipa::path(
    summary = "Show a user (username or id)",
    tag = TAG,
    operation_id = "getUser",
    params(("username" = String, Path, description = "username or user id")),
    responses((status = 200, description = "The user", body = UserDetail), (status = 404, description = "no such user", body = super::Error))
)]
#[get("/users/{username}")]
pub async fn get_user(_: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let u = user_named(&state, &path).await?;
    Ok(ok(UserDetail {
        passkeys: state.passkeys.list(&u.id).await?.len(),
        authenticator_app: state.mfa.has_second_factor(&u).await?,
        backup_codes_left: state.mfa.unused_backup_codes(&u).await?,
        sessions: state.sessions.list(&u.id).await?.len(),
        user: UserView::from(&u),
    }))
}

/// `PATCH /users/{username}`: fields left out are kept.
#[derive(Deserialize, ToSchema)]
pub struct ProfileUpdate {
    #[schema(min_length = 1)]
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    locale: Option<String>,
    zoneinfo: Option<String>,
    /// true: an administrator (the admin console); false: not. Never taken
    /// from the last administrator or from the caller.
    admin: Option<bool>,
}

/// The user's profile claims after a change.
#[derive(Serialize, ToSchema)]
pub struct ProfileView {
    pub username: String,
    pub admin: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub locale: Option<String>,
    pub zoneinfo: Option<String>,
    /// Epoch seconds of the last profile change.
    pub updated_at: Option<i64>,
}

#[utoipa::path(
    summary = "Change profile claims and admin rights (fields left out are kept)",
    tag = TAG,
    operation_id = "updateUser",
    params(("username" = String, Path, description = "username or user id")),
    request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The profile as saved", body = ProfileView),
        (status = 400, description = "invalid_request"),
        (status = 404, description = "no such user", body = super::Error),
        (status = 409, description = "the last administrator, or the caller's own admin rights, cannot be taken away", body = super::Error),
    )
)]
#[patch("/users/{username}")]
pub async fn update_user(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<ProfileUpdate>) -> Result<HttpResponse, WebError> {
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
        state.admin(caller.by()).set_admin(&user, admin).await.map_err(WebError::api)?;
        user.admin = admin;
    }
    let saved = if profile_given {
        let saved = state.authn.set_profile(&user.id, profile).await.map_err(|e| bad(e.to_string()))?;
        state.oauth.record(&caller.by().audited(), SecurityEvent::ProfileChanged { user: user.id.clone(), by_admin: true }).await;
        saved
    } else {
        profile
    };
    Ok(ok(ProfileView {
        username: user.username,
        admin: user.admin,
        name: saved.name,
        given_name: saved.given_name,
        family_name: saved.family_name,
        locale: saved.locale,
        zoneinfo: saved.zoneinfo,
        updated_at: saved.updated_at,
    }))
}

#[utoipa::path(
    summary = "Delete a user: sessions end, tokens revoked, data gone (audit keeps the id)",
    tag = TAG,
    operation_id = "deleteUser",
    params(("username" = String, Path, description = "username or user id")),
    responses((status = 200, description = "Deleted: the user id", body = Deleted), (status = 404, description = "no such user", body = super::Error))
)]
#[delete("/users/{username}")]
pub async fn delete_user(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let u = user_named(&state, &path).await?;
    state.admin(caller.by()).delete_user(&u).await.map_err(WebError::api)?;
    Ok(ok(Deleted { deleted: u.id.0 }))
}

/// What a user action did.
#[derive(Serialize, ToSchema)]
pub struct UserActionDone {
    pub user_id: String,
    pub done: UserAction,
}

#[utoipa::path(
    summary = "Disable (ends every session and token), enable, reset MFA (notifies), send a recovery link, end all sessions, grant or revoke admin rights",
    tag = TAG,
    operation_id = "userAction",
    params(("username" = String, Path, description = "username or user id"), ("action" = UserAction, Path)),
    responses(
        (status = 200, description = "Done", body = UserActionDone),
        (status = 404, description = "no such user or action", body = super::Error),
        (status = 409, description = "revoke-admin of the last administrator, or disable / revoke-admin of the caller itself", body = super::Error),
    )
)]
#[post("/users/{username}/{action}")]
pub async fn user_action(caller: AdminClient, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    let (name, action) = path.into_inner();
    let u = user_named(&state, &name).await?;
    let action = UserAction::parse(&action).ok_or_else(|| not_found("action"))?;
    state.admin(caller.by()).user_action(&u, action).await.map_err(WebError::api)?;
    Ok(ok(UserActionDone { user_id: u.id.0, done: action }))
}

#[utoipa::path(
    summary = "Revoke everything a user granted, to every client",
    tag = TAG,
    operation_id = "revokeUserGrants",
    params(("username" = String, Path, description = "username or user id")),
    responses((status = 200, description = "What was revoked", body = RevokeReport), (status = 404, description = "no such user", body = super::Error))
)]
#[delete("/users/{username}/grants")]
pub async fn revoke_user_grants(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let report = state.admin(caller.by()).revoke_user_grants(&path).await.map_err(WebError::api)?;
    Ok(ok(RevokeReport::from(report)))
}
