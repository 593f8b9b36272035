//! Initial access tokens for dynamic client registration (RFC 7591 §3),
//! stored as keyed hashes.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::registration_tokens as t;

pub fn insert(conn: &mut DbConnection, token_hash: &str, expires_at: i64, uses: Option<i64>, now: i64) -> Result<(), StoreError> {
    diesel::insert_into(t::table).values((t::token_hash.eq(token_hash), t::expires_at.eq(expires_at), t::uses_left.eq(uses), t::created_at.eq(now))).execute(conn)?;
    Ok(())
}

/// Spends one use of the token, if it is unexpired and has one left: a
/// conditional update, so of two registrations racing for its last use one wins.
pub fn spend(conn: &mut DbConnection, token_hash: &str, now: i64) -> Result<bool, StoreError> {
    crate::db::write_transaction(conn, |conn| {
        let unlimited = diesel::update(t::table.find(token_hash).filter(t::expires_at.gt(now)).filter(t::uses_left.is_null())).set(t::created_at.eq(t::created_at)).execute(conn)?;
        if unlimited == 1 {
            return Ok(true);
        }
        let counted = diesel::update(t::table.find(token_hash).filter(t::expires_at.gt(now)).filter(t::uses_left.gt(0))).set(t::uses_left.eq(t::uses_left - 1)).execute(conn)?;
        Ok(counted == 1)
    })
}
