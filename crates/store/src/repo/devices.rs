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
    /// The token before the current one, presented within the grace window
    /// of its rotation: another tab of the same browser restoring at once.
    JustRotated(Device),
    /// The token before the current one: a copy is in someone else's hands.
    Replayed(Device),
    /// Unknown, expired or revoked.
    Unusable,
}

/// Spends a device token: a conditional update makes exactly one use win.
/// `grace`: seconds after a rotation during which the previous token still
/// restores (without rotating again).
pub fn use_token(conn: &mut DbConnection, hash: &str, new_hash: &str, now: i64, grace: i64) -> Result<Use, StoreError> {
    crate::db::write_transaction(conn, |conn| {
        let won = diesel::update(devices::table.filter(devices::token_hash.eq(hash)).filter(devices::revoked_at.is_null()).filter(devices::expires_at.gt(now)))
            .set((devices::token_hash.eq(new_hash), devices::previous_hash.eq(hash), devices::last_used_at.eq(now)))
            .execute(conn)?;
        if won == 1 {
            let d = devices::table.filter(devices::token_hash.eq(new_hash)).select(Device::as_select()).first(conn)?;
            return Ok(Use::Rotated(d));
        }
        let replayed: Option<Device> = devices::table.filter(devices::previous_hash.eq(hash)).select(Device::as_select()).first(conn).optional()?;
        Ok(match replayed {
            Some(d) if d.revoked_at.is_none() && d.expires_at > now && now - d.last_used_at <= grace => Use::JustRotated(d),
            Some(d) => Use::Replayed(d),
            None => Use::Unusable,
        })
    })
}

pub fn revoke(conn: &mut DbConnection, id: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(devices::table.find(id).filter(devices::revoked_at.is_null())).set(devices::revoked_at.eq(now)).execute(conn)?;
    Ok(())
}

pub fn revoke_for_user(conn: &mut DbConnection, user_id: &str, now: i64) -> Result<usize, StoreError> {
    Ok(diesel::update(devices::table.filter(devices::user_id.eq(user_id)).filter(devices::revoked_at.is_null())).set(devices::revoked_at.eq(now)).execute(conn)?)
}

/// A user's remembered devices that can still restore a session.
pub fn live_for_user(conn: &mut DbConnection, user_id: &str, now: i64) -> Result<Vec<Device>, StoreError> {
    Ok(devices::table
        .filter(devices::user_id.eq(user_id))
        .filter(devices::revoked_at.is_null())
        .filter(devices::expires_at.gt(now))
        .order(devices::last_used_at.desc())
        .select(Device::as_select())
        .load(conn)?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Device>, StoreError> {
    Ok(devices::table.find(id).select(Device::as_select()).first(conn).optional()?)
}
