//! The durable copy of access-token revocations (see the migration).

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::token_revocations as tr;

/// Records (or extends) revocations: `(key, value, expires_at)`.
pub fn record(conn: &mut DbConnection, rows: &[(String, String, i64)]) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        for (key, value, exp) in rows {
            let updated = diesel::update(tr::table.find(key)).set((tr::value.eq(value), tr::expires_at.eq(exp))).execute(conn)?;
            if updated == 0 {
                diesel::insert_into(tr::table).values((tr::key.eq(key), tr::value.eq(value), tr::expires_at.eq(exp))).execute(conn)?;
            }
        }
        Ok(())
    })
}

/// Every revocation still in force at `now`.
pub fn live(conn: &mut DbConnection, now: i64) -> Result<Vec<(String, String, i64)>, StoreError> {
    Ok(tr::table.filter(tr::expires_at.gt(now)).select((tr::key, tr::value, tr::expires_at)).load(conn)?)
}

/// Forgets revocations of tokens that expired anyway.
pub fn purge(conn: &mut DbConnection, now: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(tr::table.filter(tr::expires_at.le(now))).execute(conn)?)
}
