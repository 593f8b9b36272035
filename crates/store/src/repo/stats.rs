//! Counts for the console's overview (issue #28): the audit trail grouped by
//! day in the database (never the events themselves), and today's accounts
//! and credentials counted there too.
//!
//! Every query of the trail is bounded to a window `[from, until)` and
//! filters on `kind` first, so both backends answer it from the
//! `audit_events_kind (kind, at)` index: a range per kind, whatever the size
//! of the whole trail. The grouped queries are hand-written SQL because
//! diesel's query builder cannot group by an expression (the day); their
//! text is the same on PostgreSQL and SQLite (integer division of `BIGINT`s,
//! `CASE`, `GROUP BY` positions), and the only values put into it are
//! integers and [`EventKind`] names (lowercase letters and `_`), never
//! anything a request carries.

use std::collections::{HashMap, HashSet};

use diesel::dsl::{count_star, exists, not};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use latchkey_domain::EventKind;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::{passkeys, sessions, totp_credentials, users};

/// One day, in seconds. Days are UTC days: `from` is a UTC midnight.
pub const DAY: i64 = 86_400;

/// At most this many ids in one `IN (…)` list (SQLite allows 32,766 bound
/// values, PostgreSQL 65,535).
const IDS_PER_QUERY: usize = 1000;

/// How many events of one kind (and, for some kinds, one `detail`) on one day.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct DayCount {
    /// Days after the window's start: 0 is `[from, from + DAY)`.
    #[diesel(sql_type = BigInt)]
    pub day: i64,
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// The row's detail for the kinds asked for with theirs; else empty.
    #[diesel(sql_type = Text)]
    pub detail: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Events of `kinds` in `[from, until)`, counted per day, kind and (for
/// `with_detail`, a subset of `kinds`) detail. Days without events have no
/// row. `from` must be a UTC midnight for the days to be calendar days.
pub fn events_per_day(conn: &mut DbConnection, kinds: &[EventKind], with_detail: &[EventKind], from: i64, until: i64) -> Result<Vec<DayCount>, StoreError> {
    if kinds.is_empty() || until <= from {
        return Ok(Vec::new());
    }
    let detail = if with_detail.is_empty() { "''".to_string() } else { format!("CASE WHEN kind IN ({}) THEN detail ELSE '' END", kind_list(with_detail)) };
    let sql = format!(
        "SELECT (at - {from}) / {DAY} AS day, kind, {detail} AS detail, COUNT(*) AS n \
         FROM audit_events WHERE kind IN ({kinds}) AND at >= {from} AND at < {until} \
         GROUP BY 1, 2, 3",
        kinds = kind_list(kinds)
    );
    Ok(diesel::sql_query(sql).load(conn)?)
}

/// The credential events of one user on one day, of one kind.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct UserDayCount {
    #[diesel(sql_type = Text)]
    pub user_id: String,
    /// Days after the window's start (see [`DayCount::day`]).
    #[diesel(sql_type = BigInt)]
    pub day: i64,
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// For `recent_credential_removed`: `passkey` or `app` when the row says
    /// which (the "This wasn't me" link's); else empty.
    #[diesel(sql_type = Text)]
    pub credential: String,
    /// The first and last of these events.
    #[diesel(sql_type = BigInt)]
    pub first_at: i64,
    #[diesel(sql_type = BigInt)]
    pub last_at: i64,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Events of `kinds` about a user in `[from, until)`, counted per user, day
/// and kind, with the first and last time of each group: a few rows per
/// user who changed a credential in the window, whatever else happened.
pub fn user_events_per_day(conn: &mut DbConnection, kinds: &[EventKind], from: i64, until: i64) -> Result<Vec<UserDayCount>, StoreError> {
    if kinds.is_empty() || until <= from {
        return Ok(Vec::new());
    }
    // `RecentCredentialRemoved` words a mail link's removal as "passkey
    // removed from …" or "app removed from …"; the account page's says nothing of the kind.
    let removed = EventKind::RecentCredentialRemoved.as_str();
    let sql = format!(
        "SELECT user_id, (at - {from}) / {DAY} AS day, kind, \
         CASE WHEN kind = '{removed}' AND detail LIKE 'passkey removed %' THEN 'passkey' \
              WHEN kind = '{removed}' AND detail LIKE 'app removed %' THEN 'app' ELSE '' END AS credential, \
         MIN(at) AS first_at, MAX(at) AS last_at, COUNT(*) AS n \
         FROM audit_events WHERE kind IN ({kinds}) AND at >= {from} AND at < {until} AND user_id IS NOT NULL \
         GROUP BY 1, 2, 3, 4",
        kinds = kind_list(kinds)
    );
    Ok(diesel::sql_query(sql).load(conn)?)
}

/// `'a', 'b'`: event kinds are lowercase letters and `_` (checked by the
/// domain's tests), so quoting them is enough.
fn kind_list(kinds: &[EventKind]) -> String {
    kinds.iter().map(|k| format!("'{}'", k.as_str())).collect::<Vec<_>>().join(", ")
}

/// Today's accounts and credentials, counted in the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accounts {
    pub users: i64,
    /// Users with at least one passkey.
    pub with_passkey: i64,
    /// Users with a passkey or a confirmed authenticator app.
    pub with_second_factor: i64,
    /// Users with a password and neither.
    pub password_only: i64,
}

pub fn accounts(conn: &mut DbConnection) -> Result<Accounts, StoreError> {
    let has_passkey = || exists(passkeys::table.filter(passkeys::user_id.eq(users::id)));
    let has_app = || exists(totp_credentials::table.filter(totp_credentials::user_id.eq(users::id)).filter(totp_credentials::confirmed_at.is_not_null()));
    Ok(Accounts {
        users: users::table.count().get_result(conn)?,
        with_passkey: users::table.filter(has_passkey()).count().get_result(conn)?,
        with_second_factor: users::table.filter(has_passkey().or(has_app())).count().get_result(conn)?,
        password_only: users::table.filter(users::password_hash.is_not_null()).filter(not(has_passkey())).filter(not(has_app())).count().get_result(conn)?,
    })
}

/// Sessions live at `now`: not revoked, seen within `idle` seconds, started
/// within `absolute` (as `Session::is_live` decides for one).
pub fn live_sessions(conn: &mut DbConnection, now: i64, idle: i64, absolute: i64) -> Result<i64, StoreError> {
    Ok(sessions::table
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::last_seen_at.ge(now.saturating_sub(idle)))
        .filter(sessions::created_at.ge(now.saturating_sub(absolute)))
        .count()
        .get_result(conn)?)
}

/// What one user has now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserCredentials {
    pub user_id: String,
    pub passkeys: i64,
    /// A confirmed authenticator app.
    pub app: bool,
}

/// The credentials of those of `user_ids` that exist (an id of a deleted
/// account has no entry).
pub fn user_credentials(conn: &mut DbConnection, user_ids: &[String]) -> Result<Vec<UserCredentials>, StoreError> {
    let mut out = Vec::with_capacity(user_ids.len());
    for ids in user_ids.chunks(IDS_PER_QUERY) {
        let existing: Vec<String> = users::table.filter(users::id.eq_any(ids)).select(users::id).load(conn)?;
        let counts: HashMap<String, i64> =
            passkeys::table.filter(passkeys::user_id.eq_any(ids)).group_by(passkeys::user_id).select((passkeys::user_id, count_star())).load::<(String, i64)>(conn)?.into_iter().collect();
        let apps: HashSet<String> = totp_credentials::table
            .filter(totp_credentials::user_id.eq_any(ids))
            .filter(totp_credentials::confirmed_at.is_not_null())
            .select(totp_credentials::user_id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        out.extend(existing.into_iter().map(|user_id| UserCredentials { passkeys: counts.get(&user_id).copied().unwrap_or(0), app: apps.contains(&user_id), user_id }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_quoted_names() {
        assert_eq!(kind_list(&[EventKind::SignIn, EventKind::LoginFailed]), "'sign_in', 'login_failed'");
        for k in EventKind::ALL {
            assert!(k.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{k:?} is safe to quote");
        }
    }
}
