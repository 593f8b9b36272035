//! The audit log: filters, paging, export; the rows a user's page shows too.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use latchkey_domain::SecurityEvent;
use serde::Deserialize;

use super::*;
use crate::admin::audit::audit_filter;
use crate::browser::CsrfCookie;
use crate::error::WebError;
use crate::format::format_time;
use crate::guards::AdminSession;
use crate::state::AppState;

pub(crate) struct EventRow {
    pub(crate) time: String,
    pub(crate) kind: String,
    pub(crate) outcome: String,
    pub(crate) actor: String,
    pub(crate) user: String,
    pub(crate) client: String,
    pub(crate) ip: String,
    pub(crate) detail: String,
}

pub(crate) fn event_row(e: latchkey_store::repo::audit::AuditEvent) -> EventRow {
    EventRow {
        time: format_time(e.at),
        kind: e.kind,
        outcome: e.outcome,
        actor: e.actor.unwrap_or_else(|| "system".into()),
        user: e.user_id.map(|u| short_id(&u)).unwrap_or_default(),
        client: e.client_id.map(|c| short_id(&c)).unwrap_or_default(),
        ip: e.ip.unwrap_or_default(),
        detail: e.detail,
    }
}

#[derive(Deserialize)]
pub struct AuditQuery {
    user: Option<String>,
    client: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
}

impl AuditQuery {
    fn time(v: &Option<String>) -> Option<i64> {
        v.as_deref().and_then(|s| s.trim().parse().ok())
    }

    fn query_string(&self) -> String {
        let pairs = [("user", &self.user), ("client", &self.client), ("kind", &self.kind), ("since", &self.since), ("until", &self.until)];
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter().filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (*k, v)))).finish()
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    frame: Frame,
    user: String,
    client: String,
    kind: String,
    since: String,
    until: String,
    query: String,
    events: Vec<EventRow>,
    next_cursor: Option<String>,
}

pub async fn audit(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>, query: web::Query<AuditQuery>) -> Result<HttpResponse, WebError> {
    let q = query.into_inner();
    let filter = audit_filter(&state, q.user.as_deref(), q.client.as_deref(), q.kind.as_deref(), AuditQuery::time(&q.since), AuditQuery::time(&q.until)).await?;
    let found = state.oauth.audit_search(filter, q.cursor.as_deref(), 50).await?;
    let csrf = CsrfCookie::from_request(&req);
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let p = AuditPage {
        frame: Frame::new(&req, Section::Audit, None),
        user: v(&q.user),
        client: v(&q.client),
        kind: v(&q.kind),
        since: v(&q.since),
        until: v(&q.until),
        query: q.query_string(),
        events: found.events.into_iter().map(event_row).collect(),
        next_cursor: found.next_cursor.map(|c| url::form_urlencoded::byte_serialize(c.as_bytes()).collect()),
    };
    page(&p, &csrf)
}

/// The filtered trail as JSON lines (every page of it, up to 100,000 events).
pub async fn audit_export(_req: HttpRequest, admin: AdminSession, state: web::Data<AppState>, query: web::Query<AuditQuery>) -> Result<HttpResponse, WebError> {
    let q = query.into_inner();
    let filter = audit_filter(&state, q.user.as_deref(), q.client.as_deref(), q.kind.as_deref(), AuditQuery::time(&q.since), AuditQuery::time(&q.until)).await?;
    let mut out = String::new();
    let mut cursor: Option<String> = None;
    for _ in 0..500 {
        let found = state.oauth.audit_search(filter.clone(), cursor.as_deref(), latchkey_oauth::audit::MAX_PAGE).await?;
        for e in &found.events {
            out.push_str(&serde_json::to_string(e).map_err(|e| WebError::Internal(e.to_string()))?);
            out.push('\n');
        }
        match found.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    state.oauth.record(&admin.actor().audited(), SecurityEvent::AuditExported { filter: q.query_string() }).await;
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Content-Disposition", "attachment; filename=\"latchkey-audit.jsonl\""))
        .body(out))
}
