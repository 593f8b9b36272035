//! Security alerts (issue #32): one row per anomaly per window, raised by
//! `latchkey_app::anomalies`, listed and acknowledged on the console's
//! "Security alerts" page. A repeat within the window is folded into the
//! open row ([`fold`]): its count grows and its `last_seen` moves.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::security_alerts as a;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = a)]
pub struct AlertRow {
    pub id: String,
    /// `latchkey_domain::AnomalyKind::as_str`.
    pub kind: String,
    pub user_id: Option<String>,
    pub ip: Option<String>,
    /// The evidence in English words.
    pub evidence: String,
    /// The anomaly as JSON (`latchkey_domain::Anomaly`).
    pub facts: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: i64,
    /// The id of the administrator who acknowledged it.
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<i64>,
}

/// Inserts `row`; `false` when an alert with its id is already there (two
/// nodes raising the same claimed alert at once: the other one folds).
pub fn insert(conn: &mut DbConnection, row: &AlertRow) -> Result<bool, StoreError> {
    match diesel::insert_into(a::table).values(row).execute(conn).map_err(StoreError::from) {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// What [`fold`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folded {
    /// The open alert took the sightings.
    Open,
    /// It was acknowledged: the sightings are a new alert's.
    Acknowledged,
    /// There is no such alert (yet: the node that claimed it is writing it).
    Missing,
}

/// Adds `seen` sightings at `now` to the alert `id` while it is open.
pub fn fold(conn: &mut DbConnection, id: &str, seen: i64, now: i64) -> Result<Folded, StoreError> {
    let n = diesel::update(a::table.find(id).filter(a::acknowledged_at.is_null())).set((a::count.eq(a::count + seen), a::last_seen.eq(now))).execute(conn)?;
    if n == 1 {
        return Ok(Folded::Open);
    }
    let exists = a::table.find(id).select(a::id).first::<String>(conn).optional()?.is_some();
    Ok(if exists { Folded::Acknowledged } else { Folded::Missing })
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<AlertRow>, StoreError> {
    Ok(a::table.find(id).select(AlertRow::as_select()).first(conn).optional()?)
}

/// Open alerts, the most recently seen first, at most `limit`.
pub fn open(conn: &mut DbConnection, limit: i64) -> Result<Vec<AlertRow>, StoreError> {
    Ok(a::table.filter(a::acknowledged_at.is_null()).order((a::last_seen.desc(), a::id.desc())).limit(limit).select(AlertRow::as_select()).load(conn)?)
}

/// Acknowledged alerts, the most recently seen first, at most `limit`.
pub fn acknowledged(conn: &mut DbConnection, limit: i64) -> Result<Vec<AlertRow>, StoreError> {
    Ok(a::table.filter(a::acknowledged_at.is_not_null()).order((a::last_seen.desc(), a::id.desc())).limit(limit).select(AlertRow::as_select()).load(conn)?)
}

pub fn count_open(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(a::table.filter(a::acknowledged_at.is_null()).count().get_result(conn)?)
}

/// Marks the alert `id` acknowledged by `by` at `now`, if it is open;
/// whether this call did (of two admins acknowledging at once, one does).
pub fn acknowledge(conn: &mut DbConnection, id: &str, by: &str, now: i64) -> Result<bool, StoreError> {
    let n = diesel::update(a::table.find(id).filter(a::acknowledged_at.is_null())).set((a::acknowledged_by.eq(by), a::acknowledged_at.eq(now))).execute(conn)?;
    Ok(n == 1)
}

/// Deletes acknowledged alerts last seen before `cutoff` (the audit
/// retention: the trail keeps their events as long).
pub fn delete_acknowledged_before(conn: &mut DbConnection, cutoff: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(a::table.filter(a::acknowledged_at.is_not_null()).filter(a::last_seen.lt(cutoff))).execute(conn)?)
}

/// The latest audit event of one of `kinds` about `user` at or after
/// `since`: its kind and time (the detector's "was this account just
/// recovered?"; the `audit_events_user_kind (user_id, kind, at)` index
/// answers it, one probe per kind).
pub fn latest_event_of(conn: &mut DbConnection, user: &str, kinds: &[&str], since: i64) -> Result<Option<(String, i64)>, StoreError> {
    use crate::schema::audit_events as e;
    // One index probe per kind (`audit_events (user_id, kind, at)`): with
    // `kind IN (…) ORDER BY at DESC` PostgreSQL walked the user's events by
    // time and read every one of the window when none matched (~200 rows a
    // sign-in for a user who signs in often; issue #31).
    let mut latest: Option<(String, i64)> = None;
    for kind in kinds {
        let at: Option<i64> = e::table.filter(e::user_id.eq(user)).filter(e::kind.eq(*kind)).filter(e::at.ge(since)).order(e::at.desc()).select(e::at).first(conn).optional()?;
        if let Some(at) = at.filter(|at| latest.as_ref().is_none_or(|(_, best)| at > best)) {
            latest = Some((kind.to_string(), at));
        }
    }
    Ok(latest)
}
