//! Second factors: the TOTP credential and backup codes of a user.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::{backup_codes, totp_credentials};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = totp_credentials)]
pub struct TotpCredential {
    pub user_id: String,
    /// Sealed base32 secret.
    pub secret_enc: String,
    /// `None` until the user proved the app works by entering a code.
    pub confirmed_at: Option<i64>,
    /// The newest time step accepted: codes of this step or older are refused.
    pub last_step: i64,
    pub created_at: i64,
}

/// Starts (or restarts) enrolment: an unconfirmed credential replaces any unconfirmed one.
pub fn put_pending(conn: &mut DbConnection, cred: &TotpCredential) -> Result<(), StoreError> {
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(totp_credentials::table.find(&cred.user_id).filter(totp_credentials::confirmed_at.is_null())).execute(conn)?;
        diesel::insert_into(totp_credentials::table).values(cred).execute(conn)?;
        Ok(())
    })
}

pub fn find(conn: &mut DbConnection, user_id: &str) -> Result<Option<TotpCredential>, StoreError> {
    Ok(totp_credentials::table.find(user_id).select(TotpCredential::as_select()).first(conn).optional()?)
}

/// Accepts time step `step` for the user if it is newer than every accepted
/// one (one conditional update: a code is never accepted twice, even by two
/// nodes at once). Confirms a pending credential on its first code.
pub fn accept_step(conn: &mut DbConnection, user_id: &str, step: i64, now: i64) -> Result<bool, StoreError> {
    let n = diesel::update(totp_credentials::table.find(user_id).filter(totp_credentials::last_step.lt(step))).set(totp_credentials::last_step.eq(step)).execute(conn)?;
    if n == 1 {
        diesel::update(totp_credentials::table.find(user_id).filter(totp_credentials::confirmed_at.is_null())).set(totp_credentials::confirmed_at.eq(now)).execute(conn)?;
    }
    Ok(n == 1)
}

pub fn remove(conn: &mut DbConnection, user_id: &str) -> Result<(), StoreError> {
    diesel::delete(totp_credentials::table.find(user_id)).execute(conn)?;
    diesel::delete(backup_codes::table.filter(backup_codes::user_id.eq(user_id))).execute(conn)?;
    Ok(())
}

/// Replaces all of a user's backup codes.
pub fn replace_backup_codes(conn: &mut DbConnection, user_id: &str, hashes: &[String]) -> Result<(), StoreError> {
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(backup_codes::table.filter(backup_codes::user_id.eq(user_id))).execute(conn)?;
        for h in hashes {
            diesel::insert_into(backup_codes::table).values((backup_codes::id.eq(uuid_like(h)), backup_codes::user_id.eq(user_id), backup_codes::code_hash.eq(h))).execute(conn)?;
        }
        Ok(())
    })
}

fn uuid_like(hash: &str) -> String {
    hash.chars().take(32).collect()
}

/// Spends a backup code: true exactly once per code.
pub fn use_backup_code(conn: &mut DbConnection, user_id: &str, hash: &str, now: i64) -> Result<bool, StoreError> {
    let n = diesel::update(backup_codes::table.filter(backup_codes::user_id.eq(user_id)).filter(backup_codes::code_hash.eq(hash)).filter(backup_codes::used_at.is_null()))
        .set(backup_codes::used_at.eq(now))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn unused_backup_codes(conn: &mut DbConnection, user_id: &str) -> Result<i64, StoreError> {
    Ok(backup_codes::table.filter(backup_codes::user_id.eq(user_id)).filter(backup_codes::used_at.is_null()).count().get_result(conn)?)
}
