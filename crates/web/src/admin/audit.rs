//! The audit trail: search, newest first, a page at a time.

use actix_web::{get, web, HttpResponse};
use latchkey_store::repo::audit::Filter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{bad, ok, AdminClient};
use crate::error::WebError;
use crate::state::AppState;

const TAG: &str = "audit";

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// A username or user id.
    user: Option<String>,
    /// A client id.
    client: Option<String>,
    /// An event kind, e.g. `login_failed`.
    kind: Option<String>,
    /// Epoch seconds (an integer).
    since: Option<String>,
    /// Epoch seconds (an integer).
    until: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Events per page (an integer; 50 when absent).
    limit: Option<String>,
}

/// An optional integer query parameter: absent or empty is `None`; anything
/// else must be an integer (a JSON 400 otherwise).
fn int_param(name: &str, v: &Option<String>) -> Result<Option<i64>, WebError> {
    match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| bad(format!("{name} must be an integer"))),
    }
}

/// The filter of an audit query (`user` takes a username or a user id).
pub async fn audit_filter(state: &AppState, user: Option<&str>, client: Option<&str>, kind: Option<&str>, since: Option<i64>, until: Option<i64>) -> Result<Filter, WebError> {
    let user_id = match user.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => Some(state.admin(latchkey_app::admin::Actor::Cli).find_user(u).await?.map(|u| u.id.0).unwrap_or_else(|| u.to_string())),
        None => None,
    };
    let nonempty = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    Ok(Filter { user_id, client_id: nonempty(client), kind: nonempty(kind), since, until, outcome: None, after: None })
}

/// A recorded event.
#[derive(Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: String,
    /// Epoch seconds.
    pub at: i64,
    pub kind: String,
    /// The subject user.
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub detail: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// Who did it: `user:<id>`, `admin:<id>`, `client:<id>`, `cli`, or none (the system).
    pub actor: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// A hash of the session id (never the session itself).
    pub session_hash: Option<String>,
}

impl From<latchkey_store::repo::audit::AuditEvent> for AuditEvent {
    fn from(e: latchkey_store::repo::audit::AuditEvent) -> Self {
        let latchkey_store::repo::audit::AuditEvent { id, at, kind, user_id, client_id, detail, outcome, actor, ip, user_agent, request_id, session_hash } = e;
        AuditEvent { id, at, kind, user_id, client_id, detail, outcome, actor, ip, user_agent, request_id, session_hash }
    }
}

/// A page of the trail and where the next one starts.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

#[utoipa::path(
    summary = "The audit trail, newest first: filter by user (username or id), client, kind, since/until (epoch seconds); cursor pagination",
    tag = TAG,
    operation_id = "audit",
    params(AuditQuery),
    responses((status = 200, description = "A page of events", body = AuditPage), (status = 400, description = "invalid_request (a malformed integer or cursor)"))
)]
#[get("/audit")]
pub async fn audit(_: AdminClient, state: web::Data<AppState>, query: web::Query<AuditQuery>) -> Result<HttpResponse, WebError> {
    let q = query.into_inner();
    let (since, until, limit) = (int_param("since", &q.since)?, int_param("until", &q.until)?, int_param("limit", &q.limit)?);
    let filter = audit_filter(&state, q.user.as_deref(), q.client.as_deref(), q.kind.as_deref(), since, until).await?;
    let cursor = q.cursor.as_deref().filter(|c| !c.is_empty());
    let page = state.oauth.audit_search(filter, cursor, limit.unwrap_or(50)).await?;
    let latchkey_oauth::audit::AuditPage { events, next_cursor } = page;
    Ok(ok(AuditPage { events: events.into_iter().map(AuditEvent::from).collect(), next_cursor }))
}
