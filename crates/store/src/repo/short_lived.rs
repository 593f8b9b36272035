//! Single-use values kept in the database while Redis is unreachable
//! (issue #31; see [`crate::fast::SingleUse`]). Times are milliseconds since
//! the epoch. Spending is a compare-and-swap on `value`, so exactly one of
//! any number of callers on any number of nodes wins; a spent row keeps its
//! expiry and a value starting with [`SPENT_PREFIX`].

use diesel::prelude::*;

use crate::db::{write_transaction, DbConnection};
use crate::error::StoreError;
use crate::fast::SPENT_PREFIX;
use crate::schema::short_lived_values as t;

/// What a row held when it was claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// No unexpired row.
    Absent,
    /// It was live, and this call spent it.
    Fresh(String),
    /// It had been spent already (the spent value).
    Spent(String),
}

/// The owner of replay markers ([`crate::fast::SingleUse::first_use`]):
/// they are always checked in the database, so they do not make Redis
/// misses look there ([`live_until`] leaves them out).
pub const MARKER_OWNER: &str = "#replay-marker";

/// How many times a claim reads again after losing a compare-and-swap to
/// another spender before it reports what that one left (spent).
const CLAIM_ROUNDS: usize = 3;

/// Stores `value` under `key` until `expires_at`, replacing any row.
pub fn put(conn: &mut DbConnection, key: &str, value: &str, expires_at: i64, owner: Option<&str>) -> Result<(), StoreError> {
    write_transaction(conn, |c| {
        diesel::delete(t::table.filter(t::key.eq(key))).execute(c)?;
        diesel::insert_into(t::table).values((t::key.eq(key), t::value.eq(value), t::expires_at.eq(expires_at), t::owner.eq(owner))).execute(c)?;
        Ok(())
    })
}

/// Stores `value` unless an unexpired row holds `key` (spent or not).
/// Returns whether this call stored it; of two nodes racing, one does.
pub fn insert_if_absent(conn: &mut DbConnection, key: &str, value: &str, expires_at: i64, owner: Option<&str>, now: i64) -> Result<bool, StoreError> {
    let inserted = write_transaction(conn, |c| {
        diesel::delete(t::table.filter(t::key.eq(key)).filter(t::expires_at.le(now))).execute(c)?;
        diesel::insert_into(t::table).values((t::key.eq(key), t::value.eq(value), t::expires_at.eq(expires_at), t::owner.eq(owner))).execute(c)?;
        Ok::<_, StoreError>(())
    });
    match inserted {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The unexpired row of `key`, spent or not.
pub fn get(conn: &mut DbConnection, key: &str, now: i64) -> Result<Option<String>, StoreError> {
    Ok(t::table.filter(t::key.eq(key)).filter(t::expires_at.gt(now)).select(t::value).first(conn).optional()?)
}

/// Spends the row of `key`: a live value is replaced by `spent_value` (which
/// starts with [`SPENT_PREFIX`]) by a compare-and-swap, so one caller gets
/// [`Claimed::Fresh`] and every other [`Claimed::Spent`].
pub fn claim(conn: &mut DbConnection, key: &str, spent_value: &str, now: i64) -> Result<Claimed, StoreError> {
    debug_assert!(spent_value.starts_with(SPENT_PREFIX));
    for _ in 0..CLAIM_ROUNDS {
        let Some(current) = get(conn, key, now)? else { return Ok(Claimed::Absent) };
        if current.starts_with(SPENT_PREFIX) {
            return Ok(Claimed::Spent(current));
        }
        let swapped = diesel::update(t::table.filter(t::key.eq(key)).filter(t::value.eq(&current))).set(t::value.eq(spent_value)).execute(conn)?;
        if swapped == 1 {
            return Ok(Claimed::Fresh(current));
        }
    }
    // Lost every round: others spent (or replaced) it meanwhile.
    Ok(match get(conn, key, now)? {
        Some(v) if v.starts_with(SPENT_PREFIX) => Claimed::Spent(v),
        Some(_) => Claimed::Spent(SPENT_PREFIX.to_string()),
        None => Claimed::Absent,
    })
}

pub fn delete(conn: &mut DbConnection, key: &str) -> Result<(), StoreError> {
    diesel::delete(t::table.filter(t::key.eq(key))).execute(conn)?;
    Ok(())
}

/// The latest expiry of any value (spent or not; replay markers left out):
/// until then, a value may be here that Redis does not hold.
pub fn live_until(conn: &mut DbConnection) -> Result<Option<i64>, StoreError> {
    Ok(t::table.filter(t::owner.is_null().or(t::owner.ne(MARKER_OWNER))).select(diesel::dsl::max(t::expires_at)).first(conn)?)
}

/// Keeps an owner's `keep` rows that expire last and deletes the rest: the
/// database's bound on what one address can park during an outage.
pub fn trim_owner(conn: &mut DbConnection, owner: &str, keep: i64) -> Result<usize, StoreError> {
    let beyond: Vec<String> = t::table.filter(t::owner.eq(owner)).order(t::expires_at.desc()).offset(keep).limit(1000).select(t::key).load(conn)?;
    if beyond.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(t::table.filter(t::key.eq_any(beyond))).execute(conn)?)
}

/// Deletes expired rows (every node's upkeep).
pub fn sweep(conn: &mut DbConnection, now: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(t::table.filter(t::expires_at.le(now))).execute(conn)?)
}

/// How many rows there are (tests, the readiness details).
pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(t::table.count().get_result(conn)?)
}
