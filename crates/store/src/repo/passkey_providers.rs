//! The operator's list of passkey providers by AAGUID (`latchkey passkeys
//! aaguids --file`): while it has rows it replaces the list shipped in the
//! binary, on every node at once.

use diesel::prelude::*;

use crate::db::{write_transaction, DbConnection};
use crate::error::StoreError;
use crate::schema::passkey_providers;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = passkey_providers)]
pub struct ProviderRow {
    /// Lower-case, hyphenated.
    pub aaguid: String,
    pub name: String,
    /// `data:` URIs (SVG or PNG, checked when the list was loaded).
    pub icon_light: Option<String>,
    pub icon_dark: Option<String>,
}

/// How many providers the operator's list names (0: the shipped list is used).
pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(passkey_providers::table.count().get_result(conn)?)
}

/// The rows for these AAGUIDs (those the list has).
pub fn find_many(conn: &mut DbConnection, aaguids: &[String]) -> Result<Vec<ProviderRow>, StoreError> {
    if aaguids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(passkey_providers::table.filter(passkey_providers::aaguid.eq_any(aaguids)).select(ProviderRow::as_select()).load(conn)?)
}

pub fn find(conn: &mut DbConnection, aaguid: &str) -> Result<Option<ProviderRow>, StoreError> {
    Ok(passkey_providers::table.find(aaguid).select(ProviderRow::as_select()).first(conn).optional()?)
}

/// Replaces the whole list in one transaction (empty: back to the shipped list).
pub fn replace_all(conn: &mut DbConnection, rows: &[ProviderRow]) -> Result<usize, StoreError> {
    write_transaction(conn, |c| {
        diesel::delete(passkey_providers::table).execute(c)?;
        // One row at a time: a list with large icons stays under every
        // backend's limit on a statement's size and bound parameters.
        for row in rows {
            diesel::insert_into(passkey_providers::table).values(row).execute(c)?;
        }
        Ok(rows.len())
    })
}
