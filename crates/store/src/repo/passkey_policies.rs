//! Authenticator policies chosen on the console (issue #29): one row per
//! audience ('everyone', 'admins'); without one, the deployment's
//! configuration decides.

use diesel::prelude::*;

use crate::db::{write_transaction, DbConnection};
use crate::error::StoreError;
use crate::schema::passkey_policies;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = passkey_policies)]
pub struct PolicyRow {
    pub audience: String,
    pub allowed: String,
    pub aaguids: String,
    pub attestation: bool,
    pub updated_at: i64,
}

pub fn find(conn: &mut DbConnection, audience: &str) -> Result<Option<PolicyRow>, StoreError> {
    Ok(passkey_policies::table.find(audience).select(PolicyRow::as_select()).first(conn).optional()?)
}

/// Stores `row` as its audience's policy (replacing the one there).
pub fn put(conn: &mut DbConnection, row: &PolicyRow) -> Result<(), StoreError> {
    write_transaction(conn, |c| {
        diesel::delete(passkey_policies::table.find(&row.audience)).execute(c)?;
        diesel::insert_into(passkey_policies::table).values(row).execute(c)?;
        Ok(())
    })
}

/// Forgets the audience's policy: the configuration decides again.
pub fn clear(conn: &mut DbConnection, audience: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(passkey_policies::table.find(audience)).execute(conn)? > 0)
}
