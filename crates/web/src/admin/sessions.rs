//! A user's sign-in sessions: list and end.

use actix_web::{delete, get, web, HttpResponse};
use latchkey_domain::{SecurityEvent, Session};
use serde::Serialize;
use utoipa::ToSchema;

use super::{not_found, ok, user_named, AdminClient};
use crate::error::WebError;
use crate::state::AppState;

const TAG: &str = "sessions";

/// A live session.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub sid: String,
    pub user_id: String,
    /// The device's name, as the user sees it.
    pub device: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Epoch seconds.
    pub created_at: i64,
    pub last_seen_at: i64,
    pub auth_time: i64,
    /// Authentication methods (RFC 8176).
    pub amr: Vec<String>,
    /// Signed in from a remembered device.
    pub remembered_device: bool,
}

impl From<&Session> for SessionView {
    fn from(s: &Session) -> Self {
        SessionView {
            sid: s.sid.clone(),
            user_id: s.user_id.0.clone(),
            device: s.device_name.clone(),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            auth_time: s.auth_time,
            amr: s.amr.iter().map(|a| a.as_str().to_string()).collect(),
            remembered_device: s.device_id.is_some(),
        }
    }
}

/// How many sessions ended.
#[derive(Serialize, ToSchema)]
pub struct EndedSessions {
    pub sessions: usize,
}

#[utoipa::path(
    summary = "List a user's live sessions",
    tag = TAG,
    operation_id = "userSessions",
    params(("username" = String, Path, description = "username or user id")),
    responses((status = 200, description = "Sessions, most recently used first", body = Vec<SessionView>), (status = 404, description = "no such user", body = super::Error))
)]
#[get("/users/{username}/sessions")]
pub async fn user_sessions(_: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let user = user_named(&state, &path).await?;
    Ok(ok(state.sessions.list(&user.id).await?.iter().map(SessionView::from).collect::<Vec<_>>()))
}

#[utoipa::path(
    summary = "End all of a user's sessions",
    description = "Also ends their remembered devices, session-bound refresh families and access tokens, and notifies relying parties by back-channel logout.",
    tag = TAG,
    operation_id = "endUserSessions",
    params(("username" = String, Path, description = "username or user id")),
    responses((status = 200, description = "How many sessions ended", body = EndedSessions), (status = 404, description = "no such user", body = super::Error))
)]
#[delete("/users/{username}/sessions")]
pub async fn end_user_sessions(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let user = user_named(&state, &path).await?;
    let ended = state.end_user_sessions(&user.id, None).await?;
    let all = latchkey_domain::EndedSessions::All { by: caller.actor(), sessions: ended.len() };
    state.oauth.record(&caller.by().audited(), SecurityEvent::SessionsEnded { user: user.id.clone(), ended: all }).await;
    Ok(ok(EndedSessions { sessions: ended.len() }))
}

#[utoipa::path(
    summary = "End one session",
    tag = TAG,
    operation_id = "endSession",
    params(("sid" = String, Path, description = "the session id")),
    responses((status = 200, description = "Ended", body = EndedSessions), (status = 404, description = "no such session", body = super::Error))
)]
#[delete("/sessions/{sid}")]
pub async fn end_session(caller: AdminClient, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let ended = state.end_sessions(vec![path.into_inner()]).await?;
    let Some(s) = ended.first() else {
        return Err(not_found("session"));
    };
    let one = latchkey_domain::EndedSessions::One { by: caller.actor(), session: s.sid.clone() };
    state.oauth.record(&caller.by().audited(), SecurityEvent::SessionsEnded { user: s.user_id.clone(), ended: one }).await;
    Ok(ok(EndedSessions { sessions: 1 }))
}
