//! Registered WebAuthn credentials.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::passkeys;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = passkeys)]
pub struct StoredPasskey {
    /// Credential id, base64url.
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// The serialised credential (JSON).
    pub passkey: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// The authenticator model from the registration (lower-case,
    /// hyphenated), `None` when it said none (all zeros) or before it was kept.
    pub aaguid: Option<String>,
}

pub fn insert(conn: &mut DbConnection, p: &StoredPasskey) -> Result<(), StoreError> {
    diesel::insert_into(passkeys::table).values(p).execute(conn)?;
    Ok(())
}

pub fn list_for_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<StoredPasskey>, StoreError> {
    Ok(passkeys::table.filter(passkeys::user_id.eq(user_id)).order(passkeys::created_at.asc()).select(StoredPasskey::as_select()).load(conn)?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<StoredPasskey>, StoreError> {
    Ok(passkeys::table.find(id).select(StoredPasskey::as_select()).first(conn).optional()?)
}

/// After a use: the new signature counter / flags, and the time.
pub fn record_use(conn: &mut DbConnection, id: &str, passkey: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(passkeys::table.find(id)).set((passkeys::passkey.eq(passkey), passkeys::last_used_at.eq(now))).execute(conn)?;
    Ok(())
}

pub fn rename(conn: &mut DbConnection, user_id: &str, id: &str, name: &str) -> Result<bool, StoreError> {
    Ok(diesel::update(passkeys::table.find(id).filter(passkeys::user_id.eq(user_id))).set(passkeys::name.eq(name)).execute(conn)? == 1)
}

pub fn remove(conn: &mut DbConnection, user_id: &str, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(passkeys::table.find(id).filter(passkeys::user_id.eq(user_id))).execute(conn)? == 1)
}
