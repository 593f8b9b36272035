//! The audit trail of security-relevant events. Append-only: nothing updates
//! an event; only the retention job deletes, and only whole days.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::{audit_events, clients, users};

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

/// Records `event` and, in the same transaction, queues `webhook` (its
/// webhook payload) for every subscription to its kind (issue #30).
pub fn record(conn: &mut DbConnection, event: &AuditEvent, webhook: &str) -> Result<(), StoreError> {
    if let DbConnection::Pg(pg) = conn {
        return record_pg(pg, event, webhook);
    }
    crate::db::write_transaction(conn, |c| {
        diesel::insert_into(audit_events::table).values(event).execute(c)?;
        crate::repo::webhooks::enqueue(c, &event.id, &event.kind, webhook, event.at)?;
        Ok(())
    })
}

/// [`record`] on PostgreSQL in one statement, one round trip instead of
/// four (`BEGIN`, the row, the subscriptions, `COMMIT`): the row and its
/// webhook deliveries are inserted together or not at all, and the
/// subscriptions are those committed when the statement starts, as in the
/// transaction (issue #31: a sign-in records three events).
const PG_RECORD: &str = "WITH ev AS (INSERT INTO audit_events \
     (id, at, kind, user_id, client_id, detail, outcome, actor, ip, user_agent, request_id, session_hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id) \
     INSERT INTO webhook_deliveries (subscription_id, event_id, payload, created_at, next_at, attempts) \
     SELECT s.id, ev.id, $13, $2, $2, 0 FROM webhook_subscriptions s, ev \
     WHERE s.kind = $14 AND s.disabled_at IS NULL AND (s.events = '*' OR s.events LIKE $15)";

fn record_pg(conn: &mut diesel::PgConnection, e: &AuditEvent, webhook: &str) -> Result<(), StoreError> {
    use diesel::sql_types::{BigInt, Nullable, Text};
    diesel::sql_query(PG_RECORD)
        .bind::<Text, _>(&e.id)
        .bind::<BigInt, _>(e.at)
        .bind::<Text, _>(&e.kind)
        .bind::<Nullable<Text>, _>(&e.user_id)
        .bind::<Nullable<Text>, _>(&e.client_id)
        .bind::<Text, _>(&e.detail)
        .bind::<Text, _>(&e.outcome)
        .bind::<Nullable<Text>, _>(&e.actor)
        .bind::<Nullable<Text>, _>(&e.ip)
        .bind::<Nullable<Text>, _>(&e.user_agent)
        .bind::<Nullable<Text>, _>(&e.request_id)
        .bind::<Nullable<Text>, _>(&e.session_hash)
        .bind::<Text, _>(webhook)
        .bind::<Text, _>(crate::repo::webhooks::WEBHOOK)
        .bind::<Text, _>(format!("%,{},%", e.kind))
        .execute(conn)?;
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
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// Continue after this event: `(at, id)` of the last one seen.
    pub after: Option<(i64, String)>,
}

/// The events matching `f` (its `after` included), as a boxed query.
fn matching(f: &Filter) -> audit_events::BoxedQuery<'static, <DbConnection as Connection>::Backend> {
    let mut q = audit_events::table.into_boxed();
    if let Some(u) = &f.user_id {
        q = q.filter(audit_events::user_id.eq(u.clone()));
    }
    if let Some(c) = &f.client_id {
        q = q.filter(audit_events::client_id.eq(c.clone()));
    }
    if let Some(k) = &f.kind {
        q = q.filter(audit_events::kind.eq(k.clone()));
    }
    if let Some(o) = &f.outcome {
        q = q.filter(audit_events::outcome.eq(o.clone()));
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
    q
}

/// Events matching `f`, newest first, at most `limit`.
pub fn search(conn: &mut DbConnection, f: &Filter, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
    Ok(matching(f).order((audit_events::at.desc(), audit_events::id.desc())).limit(limit).select(AuditEvent::as_select()).load(conn)?)
}

/// How many events match `f` (all of them: its `after` is ignored).
pub fn count(conn: &mut DbConnection, f: &Filter) -> Result<i64, StoreError> {
    let f = Filter { after: None, ..f.clone() };
    Ok(matching(&f).count().get_result(conn)?)
}

/// The names of the users and clients with these ids that still exist
/// (`(user id, username)`, `(client id, name)`): what a page of events
/// shows instead of ids, read at once for the whole page.
#[allow(clippy::type_complexity)] // two lists of (id, name), read together
pub fn names(conn: &mut DbConnection, user_ids: &[String], client_ids: &[String]) -> Result<(Vec<(String, String)>, Vec<(String, String)>), StoreError> {
    let users = if user_ids.is_empty() { Vec::new() } else { users::table.filter(users::id.eq_any(user_ids)).select((users::id, users::username)).load(conn)? };
    let clients = if client_ids.is_empty() { Vec::new() } else { clients::table.filter(clients::id.eq_any(client_ids)).select((clients::id, clients::name)).load(conn)? };
    Ok((users, clients))
}

/// Usernames in order, at most `limit` (the audit filter's suggestions).
pub fn usernames(conn: &mut DbConnection, limit: i64) -> Result<Vec<String>, StoreError> {
    Ok(users::table.order(users::username.asc()).limit(limit).select(users::username).load(conn)?)
}

/// Every client's `(id, name)`, by name (the audit filter's choices).
pub fn client_names(conn: &mut DbConnection) -> Result<Vec<(String, String)>, StoreError> {
    Ok(clients::table.order((clients::name.asc(), clients::id.asc())).select((clients::id, clients::name)).load(conn)?)
}

/// How many events of `kind` since `since`.
pub fn count_since(conn: &mut DbConnection, kind: &str, since: i64) -> Result<i64, StoreError> {
    Ok(audit_events::table.filter(audit_events::kind.eq(kind)).filter(audit_events::at.ge(since)).count().get_result(conn)?)
}

/// Retention: deletes every event of the whole days before `day_start`.
/// At most `limit` of the events older than `day_start`, deleted: retention
/// in steps short enough that SQLite's database thread answers sign-ins
/// between them (a busy day can be a million rows).
pub fn delete_some_before(conn: &mut DbConnection, day_start: i64, limit: i64) -> Result<usize, StoreError> {
    crate::db::write_transaction(conn, |c| {
        let oldest: Vec<String> = audit_events::table.filter(audit_events::at.lt(day_start)).select(audit_events::id).limit(limit).load(c)?;
        Ok(diesel::delete(audit_events::table.filter(audit_events::id.eq_any(oldest))).execute(c)?)
    })
}
