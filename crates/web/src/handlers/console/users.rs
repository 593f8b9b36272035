//! Users: the list, a user's page, invitations and the actions on a user.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use latchkey_domain::UserId;
use serde::Deserialize;

use super::audit::{event_row, EventRow};
use super::*;
use crate::browser::{check_form_post, CsrfCookie};
use crate::error::WebError;
use crate::format::format_time;
use crate::guards::{AdminSession, RecentAdminSession};
use crate::handlers::see_other;
use crate::state::AppState;
use latchkey_app::admin::UserAction;
use latchkey_app::AppError;

struct UserRow {
    id: String,
    username: String,
    email: String,
    disabled: bool,
    admin: bool,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    frame: Frame,
    q: String,
    users: Vec<UserRow>,
    csrf_token: String,
}

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
    notice: Option<String>,
}

pub async fn users(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>, query: web::Query<Search>) -> Result<HttpResponse, WebError> {
    let q = query.q.clone().unwrap_or_default();
    let found = state.authn.search_users(&q, 200).await?;
    let csrf = CsrfCookie::from_request(&req);
    let users = found.into_iter().map(|u| UserRow { id: u.id.0, username: u.username, email: u.email, disabled: u.disabled_at.is_some(), admin: u.admin }).collect();
    page(&UsersPage { frame: Frame::new(&req, Section::Users, notice_text(query.notice.as_deref())), q, users, csrf_token: csrf.form_token(&state) }, &csrf)
}

#[derive(Deserialize)]
pub struct InviteForm {
    csrf_token: String,
    username: String,
    email: String,
}

pub async fn invite(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, form: web::Form<InviteForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    match state.invite(&admin.0.actor().audited(), form.username.trim(), form.email.trim(), false).await {
        Ok((user, _)) => Ok(see_other(&format!("/admin/users/{}", user.id.0))),
        Err(AppError::Authn(e @ (latchkey_authn::AuthnError::UserExists | latchkey_authn::AuthnError::InvalidInput(_)))) => Err(WebError::bad_request(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

struct PasskeyRow {
    name: String,
    created: String,
    last_used: String,
}

struct SessionRow {
    device: String,
    ip: String,
    created: String,
    last_seen: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    frame: Frame,
    id: String,
    username: String,
    email: String,
    email_verified: bool,
    disabled: bool,
    admin: bool,
    has_password: bool,
    totp: bool,
    backup_codes: i64,
    passkeys: Vec<PasskeyRow>,
    sessions: Vec<SessionRow>,
    apps: Vec<String>,
    actions: Vec<(&'static str, &'static str)>,
    events: Vec<EventRow>,
    csrf_token: String,
}

pub async fn user(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>, path: web::Path<String>, query: web::Query<NoticeQuery>) -> Result<HttpResponse, WebError> {
    let u = state.authn.user(&UserId(path.into_inner())).await?.ok_or_else(|| WebError::Page { status: StatusCode::NOT_FOUND, title: "Not found", message: "No such user.".into() })?;
    let passkeys = state
        .passkeys
        .list(&u.id)
        .await?
        .into_iter()
        .map(|p| PasskeyRow { name: p.name, created: format_time(p.created_at), last_used: p.last_used_at.map_or_else(|| "never".into(), format_time) })
        .collect();
    let sessions = state
        .sessions
        .list(&u.id)
        .await?
        .into_iter()
        .map(|s| SessionRow { device: s.device_name.unwrap_or_default(), ip: s.ip.unwrap_or_default(), created: format_time(s.created_at), last_seen: format_time(s.last_seen_at) })
        .collect();
    let apps = state.oauth.connected_apps(&u.id).await?.into_iter().map(|a| format!("{} ({})", a.name, a.scope)).collect();
    let filter = latchkey_store::repo::audit::Filter { user_id: Some(u.id.0.clone()), ..Default::default() };
    let events = state.oauth.audit_search(filter, None, 20).await?.events.into_iter().map(event_row).collect();
    let mut actions = vec![("end-sessions", "End all sessions")];
    actions.push(if u.disabled_at.is_some() { ("enable", "Enable user") } else { ("disable", "Disable user") });
    actions.push(if u.admin { ("revoke-admin", "Remove admin rights") } else { ("grant-admin", "Make admin") });
    actions.extend([("reset-mfa", "Reset MFA"), ("recovery-link", "Send recovery link"), ("delete", "Delete user")]);
    let csrf = CsrfCookie::from_request(&req);
    let p = UserPage {
        frame: Frame::new(&req, Section::Users, notice_text(query.notice.as_deref())),
        id: u.id.0.clone(),
        has_password: u.password_hash.is_some(),
        totp: state.mfa.has_second_factor(&u).await?,
        backup_codes: state.mfa.unused_backup_codes(&u).await?,
        username: u.username,
        email: u.email,
        email_verified: u.email_verified,
        disabled: u.disabled_at.is_some(),
        admin: u.admin,
        passkeys,
        sessions,
        apps,
        actions,
        events,
        csrf_token: csrf.form_token(&state),
    };
    page(&p, &csrf)
}

pub async fn user_action(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, path: web::Path<String>, form: web::Form<ActionForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let id = path.into_inner();
    let back = format!("/admin/users/{id}");
    let u = state.authn.user(&UserId(id)).await?.ok_or_else(|| WebError::bad_request("No such user."))?;
    let ops = state.admin(admin.0.actor());
    if form.action == "delete" {
        if !confirmed(form.confirmed.as_deref()) {
            let sessions = state.sessions.list(&u.id).await?.len();
            let apps = state.oauth.connected_apps(&u.id).await?.len();
            let t = crate::lang::tr(&req);
            let p = ConfirmPage {
                question: t.arg("console-confirm-delete-user", "username", u.username.as_str()),
                consequences: vec![t.arg("console-confirm-sessions-end", "count", sessions), t.arg("console-confirm-grants-revoked", "count", apps)],
                action_url: format!("/admin/users/{}/action", u.id.0),
                fields: vec![("csrf_token".into(), form.csrf_token.clone()), ("action".into(), "delete".into())],
                confirm_label: t.get("console-delete-user"),
                back: back.clone(),
                frame: Frame::new(&req, Section::Users, None),
            };
            return confirm(&p, &CsrfCookie::from_request(&req));
        }
        ops.delete_user(&u).await?;
        return Ok(see_other(&notice_url("/admin/users", "user-deleted")));
    }
    let action = UserAction::parse(&form.action).ok_or_else(|| WebError::bad_request("Unknown action."))?;
    ops.user_action(&u, action).await?;
    let notice = match action {
        UserAction::EndSessions => "sessions-ended",
        UserAction::Disable => "user-disabled",
        UserAction::Enable => "user-enabled",
        UserAction::GrantAdmin => "admin-granted",
        UserAction::RevokeAdmin => "admin-revoked",
        UserAction::ResetMfa => "mfa-reset",
        UserAction::RecoveryLink => "recovery-link-sent",
    };
    Ok(see_other(&notice_url(&back, notice)))
}
