//! The one recorder of security events: [`record`] writes the audit row, one
//! log line at target `security` and the `latchkey_audit_events_total`
//! metric from one typed [`SecurityEvent`] and an explicit [`Actor`].
//!
//! **Who** is an argument. The caller that knows who acts says so: a handler
//! acting for the signed-in user passes `Actor::User`, the sign-in and link
//! pages `Actor::Anonymous` (or the user once proven), the token endpoint the
//! client, background deliveries `Actor::System`. Nothing guesses it from a
//! string any more, and the actor is never filled in behind the caller's
//! back. The operations shared by three doors (the console, the admin API
//! and the CLI: `admin_ops`, groups, APIs) do not know which door called
//! them; they pass [`caller`], the typed actor the door's guard established
//! for this request ([`set_caller`]: the console's admin session, the admin
//! API's client, the CLI). We chose that over threading an actor argument
//! through those operations now because the application layer (#25 step 1)
//! is moving them and will give them an explicit `by`; `grep caller()` then
//! lists exactly what to change.
//!
//! **How and from where** (client address, user agent, request id, a hash
//! of the session) stays request context: the web layer runs each request
//! inside an [`AuditContext`] scope and the guard that resolved the session
//! sets its hash. Events recorded outside a request (the CLI, background
//! jobs) carry none.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use latchkey_domain::{Actor, EventKind, SecurityEvent, SharedClock};
use latchkey_store::repo::audit as repo;
use latchkey_store::repo::audit::{AuditEvent, Filter};
use latchkey_store::{Db, StoreError};

use crate::service::OAuthService;

/// Audit events are kept 400 days by default (`LATCHKEY_AUDIT_RETENTION_DAYS`):
/// long enough to answer "what happened to this account over the last year".
pub const DEFAULT_AUDIT_RETENTION_DAYS: i64 = 400;
/// One page of the trail.
pub const MAX_PAGE: i64 = 200;
/// Audit retention deletes this many rows a step: a few milliseconds of
/// SQLite's database thread, which answers sign-ins between steps.
pub const RETENTION_STEP: i64 = 2_000;

#[derive(Debug, Default)]
pub struct AuditContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    who: Mutex<(Option<Actor>, Option<String>)>,
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

/// Set by the guard that authenticated the request: who the caller is, and
/// a hash of its session id (the row's `session_hash`).
pub fn set_caller(actor: Actor, session_hash: Option<String>) {
    let _ = CONTEXT.try_with(|c| *c.who.lock().unwrap_or_else(|p| p.into_inner()) = (Some(actor), session_hash));
}

/// Who the guard of this request authenticated ([`set_caller`]); nobody
/// (`Anonymous`) in a request no guard claimed, latchkey itself (`System`)
/// outside any request. For the operations shared by the console, the admin
/// API and the CLI (see the module notes).
pub fn caller() -> Actor {
    CONTEXT.try_with(|c| c.who.lock().unwrap_or_else(|p| p.into_inner()).0.clone().unwrap_or(Actor::Anonymous)).unwrap_or(Actor::System)
}

/// The request's context: session hash, address, user agent, request id.
#[allow(clippy::type_complexity)] // the request context's four optional fields, read once
fn current() -> (Option<String>, Option<String>, Option<String>, Option<String>) {
    CONTEXT
        .try_with(|c| {
            let session = c.who.lock().unwrap_or_else(|p| p.into_inner()).1.clone();
            (session, c.ip.clone(), c.user_agent.clone(), c.request_id.clone())
        })
        .unwrap_or_default()
}

/// A page of the trail and where the next one starts.
#[derive(Debug, serde::Serialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

/// The names of the users and clients a page of events mentions (those
/// still there: a removed one is absent).
#[derive(Debug, Default, Clone)]
pub struct AuditNames {
    /// User id → username.
    pub users: std::collections::HashMap<String, String>,
    /// Client id → name.
    pub clients: std::collections::HashMap<String, String>,
}

/// Records `event`, done by `by`: the audit row (with the request's
/// context), one log line at target `security` and the metric. Failing to
/// record does not fail the request: the protective action already happened.
pub async fn record(db: &Db, clock: &SharedClock, by: &Actor, event: &SecurityEvent) {
    let (session_hash, ip, user_agent, request_id) = current();
    let (kind, outcome) = (event.kind(), event.outcome().as_str());
    let row = AuditEvent {
        id: uuid::Uuid::new_v4().to_string(),
        at: clock.now(),
        kind: kind.to_string(),
        user_id: event.user().map(str::to_string),
        client_id: event.client().map(str::to_string),
        detail: event.detail().chars().take(1000).collect(),
        outcome: outcome.to_string(),
        actor: by.stored(),
        ip,
        user_agent,
        request_id,
        session_hash,
    };
    metrics::counter!("latchkey_audit_events_total", "kind" => kind, "outcome" => outcome).increment(1);
    tracing::info!(target: "security", event = kind, outcome, user_id = ?row.user_id, client_id = ?row.client_id,
        actor = ?row.actor, ip = ?row.ip, request_id = ?row.request_id, detail = %row.detail.escape_debug());
    let webhook = webhook_payload(&row);
    if let Err(e) = db.run(move |c| repo::record(c, &row, &webhook)).await {
        tracing::error!(error = %e, kind, "could not record audit event");
    }
}

/// The version of the webhook payload's schema (`data.schema`); a change
/// that is not an addition makes a new version.
pub const WEBHOOK_SCHEMA: &str = "latchkey.event.v1";

/// The body a webhook delivers for an audit row (Standard Webhooks'
/// `{type, timestamp, data}`): documented in the README, versioned.
pub fn webhook_payload(row: &AuditEvent) -> String {
    serde_json::json!({
        "type": format!("latchkey.{}", row.kind),
        "timestamp": latchkey_domain::clock::rfc3339(row.at),
        "data": {
            "schema": WEBHOOK_SCHEMA,
            "id": row.id,
            "kind": row.kind,
            "outcome": row.outcome,
            "user_id": row.user_id,
            "client_id": row.client_id,
            "actor": row.actor,
            "ip": row.ip,
            "detail": row.detail,
        },
    })
    .to_string()
}

/// Where an event was recorded from: the client address of the request
/// (none outside one) and the app clock's now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub at: i64,
    pub ip: Option<String>,
}

/// Sees every event [`OAuthService::record`] (and the token endpoint's
/// grants) recorded, right after its row is written and inside the same
/// request: what anomaly detection (`latchkey_app::anomalies`) hangs on.
/// An event a watcher records itself goes through the plain [`record`],
/// which no watcher sees.
pub trait Watcher: Send + Sync {
    fn observe<'a>(&'a self, event: &'a SecurityEvent, seen: Seen) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// The watcher of a service, set once when the application is wired.
#[derive(Default)]
pub(crate) struct Watchers(OnceLock<Arc<dyn Watcher>>);

impl Watchers {
    /// Tells the watcher, if any, that `event` was recorded at `at`.
    pub(crate) async fn observe(&self, event: &SecurityEvent, at: i64) {
        if let Some(w) = self.0.get() {
            let ip = CONTEXT.try_with(|c| c.ip.clone()).ok().flatten();
            w.observe(event, Seen { at, ip }).await;
        }
    }
}

impl OAuthService {
    /// [`record`]s `event`, done by `by`, and shows it to the watcher.
    pub async fn record(&self, by: &Actor, event: SecurityEvent) {
        record(&self.db, &self.clock, by, &event).await;
        self.watchers.observe(&event, self.clock.now()).await;
    }

    /// Sets the watcher every recorded event is shown to (once; a second
    /// call is ignored and says so).
    pub fn watch(&self, watcher: Arc<dyn Watcher>) {
        if self.watchers.0.set(watcher).is_err() {
            tracing::warn!("an event watcher was already set");
        }
    }

    /// The trail, newest first, filtered; `cursor` continues a previous page.
    pub async fn audit_search(&self, mut filter: Filter, cursor: Option<&str>, limit: i64) -> Result<AuditPage, StoreError> {
        if let Some((at, id)) = cursor.and_then(|c| c.split_once(':')) {
            filter.after = at.parse().ok().map(|at| (at, id.to_string()));
        }
        let limit = limit.clamp(1, MAX_PAGE);
        let events = self.db.scan(move |c| repo::search(c, &filter, limit)).await?;
        let next_cursor = (events.len() as i64 == limit).then(|| events.last().map(|e| format!("{}:{}", e.at, e.id))).flatten();
        Ok(AuditPage { events, next_cursor })
    }

    /// How many events match `filter` (every page of them).
    pub async fn audit_count(&self, filter: Filter) -> Result<i64, StoreError> {
        self.db.scan(move |c| repo::count(c, &filter)).await
    }

    /// The names of the users and clients of these ids that still exist, in
    /// one round trip: `(user id → username, client id → name)`.
    pub async fn audit_names(&self, user_ids: Vec<String>, client_ids: Vec<String>) -> Result<AuditNames, StoreError> {
        let (users, clients) = self.db.run(move |c| repo::names(c, &user_ids, &client_ids)).await?;
        Ok(AuditNames { users: users.into_iter().collect(), clients: clients.into_iter().collect() })
    }

    /// What the audit filter offers: at most `max_users` usernames, and
    /// every client's `(id, name)`, by name.
    pub async fn audit_choices(&self, max_users: i64) -> Result<(Vec<String>, Vec<(String, String)>), StoreError> {
        self.db.run(move |c| Ok((repo::usernames(c, max_users)?, repo::client_names(c)?))).await
    }

    pub async fn audit_count_since(&self, kind: EventKind, since: i64) -> Result<i64, StoreError> {
        let k = kind.as_str().to_string();
        self.db.scan(move |c| repo::count_since(c, &k, since)).await
    }

    /// Deletes whole days of events older than `days`, in steps of
    /// [`RETENTION_STEP`] rows (other work runs between them).
    pub async fn enforce_audit_retention(&self, days: i64) -> Result<usize, StoreError> {
        let today = self.clock.now().div_euclid(86_400) * 86_400;
        let cutoff = today - days.max(1) * 86_400;
        let mut deleted = 0;
        loop {
            let step = self.db.run(move |c| repo::delete_some_before(c, cutoff, RETENTION_STEP)).await?;
            deleted += step;
            if (step as i64) < RETENTION_STEP {
                return Ok(deleted);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_context_reaches_the_event_and_not_beyond() {
        let ctx = AuditContext::new(Some("203.0.113.1".into()), Some("ua".into()), Some("req-1".into()));
        let admin = Actor::Admin(latchkey_domain::UserId("a1".into()));
        let seen = ctx
            .scope(async {
                let before = caller();
                set_caller(admin.clone(), Some("h".into()));
                (before, caller(), current())
            })
            .await;
        assert_eq!(seen, (Actor::Anonymous, admin, (Some("h".into()), Some("203.0.113.1".into()), Some("ua".into()), Some("req-1".into()))));
        assert_eq!((caller(), current()), (Actor::System, Default::default()), "outside a request: latchkey itself, no context");
    }
}
