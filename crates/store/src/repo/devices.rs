//! Remember-me devices: a long-lived token per device, stored hashed, rotated
//! on every use.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::devices;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = devices)]
pub struct Device {
    pub id: String,
    pub user_id: String,
    pub token_hash: String,
    pub previous_hash: Option<String>,
    pub name: String,
    /// Methods of the sign-in that created the device (space-separated `amr`).
    pub amr: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, d: &Device) -> Result<(), StoreError> {
    diesel::insert_into(devices::table).values(d).execute(conn)?;
    Ok(())
}

#[derive(Debug)]
pub enum Use {
    /// The current token: rotated to the new hash.
    Rotated(Device),
    /// The token before the current one: a copy is in someone else's hands.
    Replayed(Device),
    /// Unknown, expired or revoked.
    Unusable,
}

/// Spends a device token: a conditional update makes exactly one use win.
pub fn use_token(conn: &mut DbConnection, hash: &str, new_hash: &str, now: i64) -> Result<Use, StoreError> {
    conn.transaction(|conn| {
        let won = diesel::update(
            devices::table.filter(devices::token_hash.eq(hash)).filter(devices::revoked_at.is_null()).filter(devices::expires_at.gt(now)),
        )
        .set((devices::token_hash.eq(new_hash), devices::previous_hash.eq(hash), devices::last_used_at.eq(now)))
        .execute(conn)?;
        if won == 1 {
            let d = devices::table.filter(devices::token_hash.eq(new_hash)).select(Device::as_select()).first(conn)?;
            return Ok(Use::Rotated(d));
        }
        let replayed = devices::table.filter(devices::previous_hash.eq(hash)).select(Device::as_select()).first(conn).optional()?;
        Ok(replayed.map_or(Use::Unusable, Use::Replayed))
    })
}

pub fn revoke(conn: &mut DbConnection, id: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(devices::table.find(id).filter(devices::revoked_at.is_null())).set(devices::revoked_at.eq(now)).execute(conn)?;
    Ok(())
}

pub fn revoke_for_user(conn: &mut DbConnection, user_id: &str, now: i64) -> Result<usize, StoreError> {
    Ok(diesel::update(devices::table.filter(devices::user_id.eq(user_id)).filter(devices::revoked_at.is_null())).set(devices::revoked_at.eq(now)).execute(conn)?)
}
