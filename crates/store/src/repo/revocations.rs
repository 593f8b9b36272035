//! The durable copy of access-token revocations (see the migration).

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::token_revocations as tr;

/// Records (or extends) revocations: `(key, value, expires_at)`. Several
/// nodes may record the same key at once (two losers of a refresh race both
/// revoke the family): an insert that loses to another becomes an update, so
/// the race never surfaces as an error.
pub fn record(conn: &mut DbConnection, rows: &[(String, String, i64)]) -> Result<(), StoreError> {
    use diesel::result::{DatabaseErrorKind, Error};
    for (key, value, exp) in rows {
        for _ in 0..2 {
            let updated = diesel::update(tr::table.find(key)).set((tr::value.eq(value), tr::expires_at.eq(exp))).execute(conn)?;
            if updated > 0 {
                break;
            }
            match diesel::insert_into(tr::table).values((tr::key.eq(key), tr::value.eq(value), tr::expires_at.eq(exp))).execute(conn) {
                Ok(_) => break,
                Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Every revocation still in force at `now`.
pub fn live(conn: &mut DbConnection, now: i64) -> Result<Vec<(String, String, i64)>, StoreError> {
    Ok(tr::table.filter(tr::expires_at.gt(now)).select((tr::key, tr::value, tr::expires_at)).load(conn)?)
}

/// Forgets revocations of tokens that expired anyway.
pub fn purge(conn: &mut DbConnection, now: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(tr::table.filter(tr::expires_at.le(now))).execute(conn)?)
}

/// The values of those of `keys` that are revoked at `now` (the database
/// answer when the fast store cannot be reached), in the order of `keys`.
pub fn values(conn: &mut DbConnection, keys: &[String], now: i64) -> Result<Vec<Option<String>>, StoreError> {
    let found: Vec<(String, String)> = tr::table.filter(tr::key.eq_any(keys)).filter(tr::expires_at.gt(now)).select((tr::key, tr::value)).load(conn)?;
    Ok(keys.iter().map(|k| found.iter().find(|(fk, _)| fk == k).map(|(_, v)| v.clone())).collect())
}
