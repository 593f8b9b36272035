//! Single-use links mailed to users (set-up, recovery, email change, revert).
//! Only a keyed hash of each token is stored.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::account_links;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = account_links)]
pub struct Link {
    pub id: String,
    pub purpose: String,
    pub user_id: String,
    pub token_hash: String,
    pub email: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub factor_at: Option<i64>,
    pub factor_browser: Option<String>,
}

impl Link {
    pub fn usable(&self, now: i64) -> bool {
        self.used_at.is_none() && self.revoked_at.is_none() && now < self.expires_at
    }
}

/// Stores a new link, superseding (revoking) the user's earlier unused links
/// of the same purpose, in one transaction.
pub fn insert_superseding(conn: &mut DbConnection, link: &Link) -> Result<(), StoreError> {
    crate::db::write_transaction(conn, |conn| {
        revoke_for_user(conn, &link.user_id, Some(&link.purpose), link.created_at)?;
        diesel::insert_into(account_links::table).values(link).execute(conn)?;
        Ok(())
    })
}

pub fn find_by_hash(conn: &mut DbConnection, hash: &str) -> Result<Option<Link>, StoreError> {
    Ok(account_links::table.filter(account_links::token_hash.eq(hash)).select(Link::as_select()).first(conn).optional()?)
}

/// Spends a link: a conditional update, so exactly one of concurrent uses wins.
pub fn consume(conn: &mut DbConnection, id: &str, now: i64) -> Result<bool, StoreError> {
    let n = diesel::update(account_links::table.find(id).filter(account_links::used_at.is_null()).filter(account_links::revoked_at.is_null()).filter(account_links::expires_at.gt(now)))
        .set(account_links::used_at.eq(now))
        .execute(conn)?;
    Ok(n == 1)
}

/// Records that the account's second factor was presented for this link.
pub fn record_factor(conn: &mut DbConnection, id: &str, browser: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(account_links::table.find(id).filter(account_links::used_at.is_null())).set((account_links::factor_at.eq(now), account_links::factor_browser.eq(browser))).execute(conn)?;
    Ok(())
}

/// Revokes a user's unused links (of one purpose, or all).
pub fn revoke_for_user(conn: &mut DbConnection, user_id: &str, purpose: Option<&str>, now: i64) -> Result<usize, StoreError> {
    let q = account_links::table.filter(account_links::user_id.eq(user_id)).filter(account_links::used_at.is_null()).filter(account_links::revoked_at.is_null());
    Ok(match purpose {
        Some(p) => diesel::update(q.filter(account_links::purpose.eq(p))).set(account_links::revoked_at.eq(now)).execute(conn)?,
        None => diesel::update(q).set(account_links::revoked_at.eq(now)).execute(conn)?,
    })
}

/// Whether the user has a link of this purpose that can still be used.
pub fn has_live(conn: &mut DbConnection, user_id: &str, purpose: &str, now: i64) -> Result<bool, StoreError> {
    let n: i64 = account_links::table
        .filter(account_links::user_id.eq(user_id))
        .filter(account_links::purpose.eq(purpose))
        .filter(account_links::used_at.is_null())
        .filter(account_links::revoked_at.is_null())
        .filter(account_links::expires_at.gt(now))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
