//! Upstream identity providers and the upstream accounts linked to users
//! (issue #26).

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::{federated_identities, upstream_providers, upstream_sessions};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = upstream_providers)]
pub struct ProviderRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub issuer: String,
    pub client_id: String,
    /// Sealed with the master key; context: the provider id.
    pub client_secret_enc: String,
    pub scopes: String,
    pub domains: String,
    pub link_rule: String,
    pub signup: bool,
    pub trust_upstream_mfa: bool,
    pub upstream_logout: bool,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

pub fn insert(conn: &mut DbConnection, row: &ProviderRow) -> Result<(), StoreError> {
    diesel::insert_into(upstream_providers::table).values(row).execute(conn)?;
    Ok(())
}

/// Replaces what an admin may change (not the id, kind, creation time or
/// the disabled state); `false` when there is no such provider.
pub fn update(conn: &mut DbConnection, row: &ProviderRow) -> Result<bool, StoreError> {
    use upstream_providers as p;
    let changed = diesel::update(p::table.find(&row.id))
        .set((
            p::name.eq(&row.name),
            p::issuer.eq(&row.issuer),
            p::client_id.eq(&row.client_id),
            p::client_secret_enc.eq(&row.client_secret_enc),
            p::scopes.eq(&row.scopes),
            p::domains.eq(&row.domains),
            p::link_rule.eq(&row.link_rule),
            p::signup.eq(row.signup),
            p::trust_upstream_mfa.eq(row.trust_upstream_mfa),
            p::upstream_logout.eq(row.upstream_logout),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<ProviderRow>, StoreError> {
    Ok(upstream_providers::table.find(id).select(ProviderRow::as_select()).first(conn).optional()?)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<ProviderRow>, StoreError> {
    Ok(upstream_providers::table.order(upstream_providers::created_at.asc()).select(ProviderRow::as_select()).load(conn)?)
}

pub fn set_disabled(conn: &mut DbConnection, id: &str, at: Option<i64>) -> Result<bool, StoreError> {
    Ok(diesel::update(upstream_providers::table.find(id)).set(upstream_providers::disabled_at.eq(at)).execute(conn)? == 1)
}

/// Removes a provider and, with it, every link to it.
pub fn remove(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(federated_identities::table.filter(federated_identities::provider_id.eq(id))).execute(conn)?;
        Ok(diesel::delete(upstream_providers::table.find(id)).execute(conn)? == 1)
    })
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = federated_identities)]
pub struct IdentityRow {
    pub provider_id: String,
    pub subject: String,
    pub user_id: String,
    pub display: String,
    pub linked_at: i64,
    pub last_used_at: Option<i64>,
}

/// The link of an upstream account (provider + subject), if any.
pub fn identity(conn: &mut DbConnection, provider_id: &str, subject: &str) -> Result<Option<IdentityRow>, StoreError> {
    Ok(federated_identities::table.find((provider_id, subject)).select(IdentityRow::as_select()).first(conn).optional()?)
}

/// Links an upstream account. [`StoreError::Conflict`] when that upstream
/// account is linked already (to anyone), or the user has another account
/// of that provider linked.
pub fn link(conn: &mut DbConnection, row: &IdentityRow) -> Result<(), StoreError> {
    diesel::insert_into(federated_identities::table).values(row).execute(conn)?;
    Ok(())
}

pub fn touch(conn: &mut DbConnection, provider_id: &str, subject: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(federated_identities::table.find((provider_id, subject))).set(federated_identities::last_used_at.eq(Some(now))).execute(conn)?;
    Ok(())
}

pub fn for_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<IdentityRow>, StoreError> {
    Ok(federated_identities::table.filter(federated_identities::user_id.eq(user_id)).order(federated_identities::linked_at.asc()).select(IdentityRow::as_select()).load(conn)?)
}

/// Unlinks the user's account at a provider; `false` when there was none.
pub fn unlink(conn: &mut DbConnection, user_id: &str, provider_id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(federated_identities::table.filter(federated_identities::user_id.eq(user_id)).filter(federated_identities::provider_id.eq(provider_id))).execute(conn)? > 0)
}

/// Records that the latchkey session `sid` was signed in by `provider_id`
/// for the upstream account `subject` (and its session `upstream_sid`).
pub fn record_session(conn: &mut DbConnection, sid: &str, provider_id: &str, subject: &str, upstream_sid: Option<&str>, now: i64) -> Result<(), StoreError> {
    use upstream_sessions as u;
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(u::table.find(sid)).execute(conn)?;
        diesel::insert_into(u::table).values((u::sid.eq(sid), u::provider_id.eq(provider_id), u::subject.eq(subject), u::upstream_sid.eq(upstream_sid), u::created_at.eq(now))).execute(conn)?;
        Ok(())
    })
}

/// The provider that signed the latchkey session `sid` in, if one did.
pub fn provider_of_session(conn: &mut DbConnection, sid: &str) -> Result<Option<String>, StoreError> {
    Ok(upstream_sessions::table.find(sid).select(upstream_sessions::provider_id).first(conn).optional()?)
}

/// The latchkey sessions a provider's logout names: those of its session
/// `upstream_sid` when given, else every one of its account `subject`.
pub fn sessions_signed_in_by(conn: &mut DbConnection, provider_id: &str, subject: Option<&str>, upstream_sid: Option<&str>) -> Result<Vec<String>, StoreError> {
    use upstream_sessions as u;
    let mut q = u::table.filter(u::provider_id.eq(provider_id)).select(u::sid).into_boxed();
    if let Some(s) = upstream_sid {
        q = q.filter(u::upstream_sid.eq(s));
    }
    if let Some(s) = subject {
        q = q.filter(u::subject.eq(s));
    }
    if upstream_sid.is_none() && subject.is_none() {
        return Ok(Vec::new());
    }
    Ok(q.load(conn)?)
}
