//! Who, how and from where an audit event happened. The web layer runs each
//! request inside an [`AuditContext`] scope (client address, user agent,
//! request id); whoever authenticates the caller sets the actor and session.
//! Events recorded outside a request (the CLI, background jobs) carry none.

use std::sync::Mutex;

use latchkey_domain::{SecurityEvent, SharedClock};
use latchkey_store::repo::audit as repo;
use latchkey_store::repo::audit::{AuditEvent, Filter};
use latchkey_store::{Db, StoreError};

use crate::service::OAuthService;

/// Audit events are kept 400 days by default (`LATCHKEY_AUDIT_RETENTION_DAYS`):
/// long enough to answer "what happened to this account over the last year".
pub const DEFAULT_AUDIT_RETENTION_DAYS: i64 = 400;
/// One page of the trail.
pub const MAX_PAGE: i64 = 200;

#[derive(Debug, Default)]
pub struct AuditContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    who: Mutex<(Option<String>, Option<String>)>,
}

tokio::task_local! {
    static CONTEXT: AuditContext;
}

impl AuditContext {
    pub fn new(ip: Option<String>, user_agent: Option<String>, request_id: Option<String>) -> AuditContext {
        AuditContext { ip, user_agent: user_agent.map(|u| u.chars().take(256).collect()), request_id, who: Mutex::new((None, None)) }
    }

    /// Runs `fut` with this context.
    pub async fn scope<F: std::future::Future>(self, fut: F) -> F::Output {
        CONTEXT.scope(self, fut).await
    }
}

/// The current request's caller (`user:<id>`, `admin:<id>`, `client:<id>`)
/// and a hash of its session id.
pub fn set_actor(actor: String, session_hash: Option<String>) {
    let _ = CONTEXT.try_with(|c| *c.who.lock().unwrap_or_else(|p| p.into_inner()) = (Some(actor), session_hash));
}

#[allow(clippy::type_complexity)] // the request context's five optional fields, read once
fn current() -> (Option<String>, Option<String>, Option<String>, Option<String>, Option<String>) {
    CONTEXT
        .try_with(|c| {
            let (actor, session) = c.who.lock().unwrap_or_else(|p| p.into_inner()).clone();
            (actor, session, c.ip.clone(), c.user_agent.clone(), c.request_id.clone())
        })
        .unwrap_or_default()
}

/// A page of the trail and where the next one starts.
#[derive(Debug, serde::Serialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

/// Records an event with the current request's context; also one
/// structured log line. Failing to record does not fail the request.
pub(crate) async fn record(db: &Db, clock: &SharedClock, kind: SecurityEvent, user_id: Option<&str>, client_id: Option<&str>, detail: &str) {
    let (actor, session_hash, ip, user_agent, request_id) = current();
    let event = AuditEvent {
        id: uuid::Uuid::new_v4().to_string(),
        at: clock.now(),
        kind: kind.kind().to_string(),
        user_id: user_id.map(str::to_string),
        client_id: client_id.map(str::to_string),
        detail: detail.chars().take(1000).collect(),
        outcome: kind.outcome().as_str().to_string(),
        actor,
        ip,
        user_agent,
        request_id,
        session_hash,
    };
    metrics::counter!("latchkey_audit_events_total", "kind" => event.kind.clone(), "outcome" => event.outcome.clone()).increment(1);
    tracing::info!(target: "audit", kind = %event.kind, outcome = %event.outcome, user_id = ?event.user_id, client_id = ?event.client_id,
        actor = ?event.actor, ip = ?event.ip, request_id = ?event.request_id, detail = %event.detail.escape_debug());
    if let Err(e) = db.run(move |c| repo::record(c, &event)).await {
        tracing::error!(error = %e, kind = kind.kind(), "could not record audit event");
    }
}

impl OAuthService {
    /// Records a security event in the audit trail. Failing to record does not
    /// fail the request (it is logged instead): the protective action already happened.
    /// Records a security event from outside the protocol code (sign-in, sessions).
    pub async fn audit_event(&self, kind: latchkey_domain::SecurityEvent, user_id: Option<&str>, client_id: Option<&str>, detail: &str) {
        self.audit(kind, user_id, client_id, detail).await
    }

    pub(crate) async fn audit(&self, kind: latchkey_domain::SecurityEvent, user_id: Option<&str>, client_id: Option<&str>, detail: &str) {
        self.record_event(kind, user_id, client_id, detail).await
    }

    /// Records an event with the current request's context; also one
    /// structured log line. Failing to record does not fail the request.
    pub(crate) async fn record_event(&self, kind: SecurityEvent, user_id: Option<&str>, client_id: Option<&str>, detail: &str) {
        record(&self.db, &self.clock, kind, user_id, client_id, detail).await
    }

    /// The trail, newest first, filtered; `cursor` continues a previous page.
    pub async fn audit_search(&self, mut filter: Filter, cursor: Option<&str>, limit: i64) -> Result<AuditPage, StoreError> {
        if let Some((at, id)) = cursor.and_then(|c| c.split_once(':')) {
            filter.after = at.parse().ok().map(|at| (at, id.to_string()));
        }
        let limit = limit.clamp(1, MAX_PAGE);
        let events = self.db.run(move |c| repo::search(c, &filter, limit)).await?;
        let next_cursor = (events.len() as i64 == limit).then(|| events.last().map(|e| format!("{}:{}", e.at, e.id))).flatten();
        Ok(AuditPage { events, next_cursor })
    }

    pub async fn audit_count_since(&self, kind: SecurityEvent, since: i64) -> Result<i64, StoreError> {
        let k = kind.kind().to_string();
        self.db.run(move |c| repo::count_since(c, &k, since)).await
    }

    /// Deletes whole days of events older than `days`.
    pub async fn enforce_audit_retention(&self, days: i64) -> Result<usize, StoreError> {
        let today = self.clock.now().div_euclid(86_400) * 86_400;
        let cutoff = today - days.max(1) * 86_400;
        self.db.run(move |c| repo::delete_before(c, cutoff)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_context_reaches_the_event_and_not_beyond() {
        let ctx = AuditContext::new(Some("203.0.113.1".into()), Some("ua".into()), Some("req-1".into()));
        let seen = ctx
            .scope(async {
                set_actor("admin:a1".into(), Some("h".into()));
                current()
            })
            .await;
        assert_eq!(seen, (Some("admin:a1".into()), Some("h".into()), Some("203.0.113.1".into()), Some("ua".into()), Some("req-1".into())));
        assert_eq!(current(), Default::default(), "outside a request: nothing");
    }
}
