//! The audit trail of security-relevant events. Append-only: nothing updates
//! an event; only the retention job deletes, and only whole days.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::audit_events;

#[derive(Debug, Clone, Default, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: String,
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

pub fn record(conn: &mut DbConnection, event: &AuditEvent) -> Result<(), StoreError> {
    diesel::insert_into(audit_events::table).values(event).execute(conn)?;
    Ok(())
}

pub fn recent(conn: &mut DbConnection, kind: Option<&str>, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
    let mut q = audit_events::table.order(audit_events::at.desc()).limit(limit).into_boxed();
    if let Some(k) = kind {
        q = q.filter(audit_events::kind.eq(k));
    }
    Ok(q.select(AuditEvent::as_select()).load(conn)?)
}

/// What to look for in the trail.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub kind: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Continue after this event: `(at, id)` of the last one seen.
    pub after: Option<(i64, String)>,
}

/// Events matching `f`, newest first, at most `limit`.
pub fn search(conn: &mut DbConnection, f: &Filter, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
    let mut q = audit_events::table.order((audit_events::at.desc(), audit_events::id.desc())).limit(limit).into_boxed();
    if let Some(u) = &f.user_id {
        q = q.filter(audit_events::user_id.eq(u.clone()));
    }
    if let Some(c) = &f.client_id {
        q = q.filter(audit_events::client_id.eq(c.clone()));
    }
    if let Some(k) = &f.kind {
        q = q.filter(audit_events::kind.eq(k.clone()));
    }
    if let Some(s) = f.since {
        q = q.filter(audit_events::at.ge(s));
    }
    if let Some(u) = f.until {
        q = q.filter(audit_events::at.lt(u));
    }
    if let Some((at, id)) = &f.after {
        q = q.filter(audit_events::at.lt(*at).or(audit_events::at.eq(*at).and(audit_events::id.lt(id.clone()))));
    }
    Ok(q.select(AuditEvent::as_select()).load(conn)?)
}

/// How many events of `kind` since `since`.
pub fn count_since(conn: &mut DbConnection, kind: &str, since: i64) -> Result<i64, StoreError> {
    Ok(audit_events::table.filter(audit_events::kind.eq(kind)).filter(audit_events::at.ge(since)).count().get_result(conn)?)
}

/// Retention: deletes every event of the whole days before `day_start`.
pub fn delete_before(conn: &mut DbConnection, day_start: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(audit_events::table.filter(audit_events::at.lt(day_start))).execute(conn)?)
}
