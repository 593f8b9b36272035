//! Signing keys, private halves encrypted by the token crate before they get here.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::signing_keys;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    /// Encrypted private key (opaque to the store).
    pub private_key_enc: String,
    /// The public JWK as JSON.
    pub public_jwk: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, key: &StoredKey) -> Result<(), StoreError> {
    diesel::insert_into(signing_keys::table).values(key).execute(conn)?;
    Ok(())
}

/// Keys not retired, oldest first.
pub fn list_published(conn: &mut DbConnection) -> Result<Vec<StoredKey>, StoreError> {
    Ok(signing_keys::table.filter(signing_keys::retired_at.is_null()).order((signing_keys::created_at.asc(), signing_keys::kid.asc())).select(StoredKey::as_select()).load(conn)?)
}

pub fn list_all(conn: &mut DbConnection) -> Result<Vec<StoredKey>, StoreError> {
    Ok(signing_keys::table.order((signing_keys::created_at.asc(), signing_keys::kid.asc())).select(StoredKey::as_select()).load(conn)?)
}

/// Takes a key out of the JWKS: tokens it signed no longer verify.
pub fn retire(conn: &mut DbConnection, kid: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(signing_keys::table.find(kid)).set(signing_keys::retired_at.eq(now)).execute(conn)?;
    Ok(())
}
