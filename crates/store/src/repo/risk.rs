//! What a user's recent sign-ins looked like (issue #32): the networks,
//! browser families and countries they came from, each with when it was
//! last seen, and where and when the last one happened. The risk signals of
//! the next sign-in compare against it (`latchkey_authn::risk`).
//!
//! Bounded per user: [`remember`] keeps at most `keep` rows per kind (the
//! least recently seen go) and forgets rows not seen since `forget_before`.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::{audit_events, risk_history, risk_last_place, users};

/// One remembered value of a user's sign-ins.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = risk_history)]
pub struct Seen {
    pub user_id: String,
    /// `network`, `browser` or `country`.
    pub kind: String,
    pub value: String,
    pub last_seen_at: i64,
}

/// Where and when the user last signed in (from the location database).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = risk_last_place)]
pub struct LastPlace {
    pub user_id: String,
    pub at: i64,
    pub latitude: f64,
    pub longitude: f64,
}

/// The user's remembered values seen since `since`, most recent first, and
/// their last place.
pub fn history(conn: &mut DbConnection, user_id: &str, since: i64) -> Result<(Vec<Seen>, Option<LastPlace>), StoreError> {
    let seen =
        risk_history::table.filter(risk_history::user_id.eq(user_id)).filter(risk_history::last_seen_at.ge(since)).order(risk_history::last_seen_at.desc()).select(Seen::as_select()).load(conn)?;
    let last = risk_last_place::table.find(user_id).select(LastPlace::as_select()).first(conn).optional()?;
    Ok((seen, last))
}

/// Remembers one sign-in: each `(kind, value)` seen at `now`, and its place
/// when known. Then forgets what was not seen since `forget_before` and, per
/// kind, all but the `keep` most recently seen values.
pub fn remember(conn: &mut DbConnection, user_id: &str, seen: &[(&str, String)], place: Option<(f64, f64)>, now: i64, keep: usize, forget_before: i64) -> Result<(), StoreError> {
    crate::db::write_transaction(conn, |conn| {
        for (kind, value) in seen {
            let row = risk_history::table.filter(risk_history::user_id.eq(user_id)).filter(risk_history::kind.eq(*kind)).filter(risk_history::value.eq(value));
            if diesel::update(row).set(risk_history::last_seen_at.eq(now)).execute(conn)? == 0 {
                let new = Seen { user_id: user_id.to_string(), kind: kind.to_string(), value: value.clone(), last_seen_at: now };
                diesel::insert_into(risk_history::table).values(&new).execute(conn)?;
            }
        }
        diesel::delete(risk_history::table.filter(risk_history::user_id.eq(user_id)).filter(risk_history::last_seen_at.lt(forget_before))).execute(conn)?;
        let kinds: Vec<&str> = seen.iter().map(|(k, _)| *k).collect();
        for kind in kinds {
            let values: Vec<String> = risk_history::table
                .filter(risk_history::user_id.eq(user_id))
                .filter(risk_history::kind.eq(kind))
                .order((risk_history::last_seen_at.desc(), risk_history::value.asc()))
                .select(risk_history::value)
                .load(conn)?;
            let beyond: Vec<String> = values.into_iter().skip(keep).collect();
            if !beyond.is_empty() {
                diesel::delete(risk_history::table.filter(risk_history::user_id.eq(user_id)).filter(risk_history::kind.eq(kind)).filter(risk_history::value.eq_any(beyond))).execute(conn)?;
            }
        }
        if let Some((latitude, longitude)) = place {
            let last = LastPlace { user_id: user_id.to_string(), at: now, latitude, longitude };
            let updated = diesel::update(risk_last_place::table.find(user_id))
                .set((risk_last_place::at.eq(now), risk_last_place::latitude.eq(latitude), risk_last_place::longitude.eq(longitude)))
                .execute(conn)?;
            if updated == 0 {
                diesel::insert_into(risk_last_place::table).values(&last).execute(conn)?;
            }
        }
        Ok(())
    })
}

/// How many audit events of these `kinds` name the user since `since` (the
/// failed password attempts of the last hour).
///
/// One count per kind, each a range of `audit_events (user_id, kind, at)`:
/// with `kind IN (…)` PostgreSQL walked the user's events of the hour by
/// time and read every one (~200 rows a sign-in for a user who signs in
/// often, none of them a failure; issue #31).
pub fn events_since(conn: &mut DbConnection, user_id: &str, kinds: &[&str], since: i64) -> Result<i64, StoreError> {
    let mut n = 0;
    for kind in kinds {
        n += audit_events::table.filter(audit_events::user_id.eq(user_id)).filter(audit_events::kind.eq(*kind)).filter(audit_events::at.ge(since)).count().get_result::<i64>(conn)?;
    }
    Ok(n)
}

/// Whether the user is an administrator, and their own risk policy (`None`:
/// the deployment's); `None` altogether for no such user.
pub fn user_policy(conn: &mut DbConnection, user_id: &str) -> Result<Option<(bool, Option<String>)>, StoreError> {
    Ok(users::table.find(user_id).select((users::admin, users::risk_policy)).first(conn).optional()?)
}

/// Sets the user's own risk policy (`None`: the deployment's); whether the user exists.
pub fn set_user_policy(conn: &mut DbConnection, user_id: &str, policy: Option<&str>) -> Result<bool, StoreError> {
    Ok(diesel::update(users::table.find(user_id)).set(users::risk_policy.eq(policy)).execute(conn)? == 1)
}
