//! SCIM provisioning (issue #30): SCIM clients and their tokens, what a
//! provisioner knows a user or group by, and groups by id with members.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::{group_members, scim_clients, user_groups, users};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>);

#[derive(Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = scim_clients)]
pub struct ScimClientRow {
    pub id: String,
    pub name: String,
    pub token_hash: String,
    pub onboarding: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// The token's hash stays out of log lines.
impl std::fmt::Debug for ScimClientRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClientRow").field("id", &self.id).field("name", &self.name).field("revoked_at", &self.revoked_at).finish_non_exhaustive()
    }
}

pub fn insert_client(conn: &mut DbConnection, row: &ScimClientRow) -> Result<(), StoreError> {
    diesel::insert_into(scim_clients::table).values(row).execute(conn)?;
    Ok(())
}

pub fn clients(conn: &mut DbConnection) -> Result<Vec<ScimClientRow>, StoreError> {
    Ok(scim_clients::table.order(scim_clients::created_at.asc()).select(ScimClientRow::as_select()).load(conn)?)
}

/// The client whose token hashes to `token_hash`, if it is neither revoked
/// nor expired at `now`; its last use is recorded (at most once a minute).
pub fn authenticate(conn: &mut DbConnection, token_hash: &str, now: i64) -> Result<Option<ScimClientRow>, StoreError> {
    let found = scim_clients::table
        .filter(scim_clients::token_hash.eq(token_hash))
        .filter(scim_clients::revoked_at.is_null())
        .filter(scim_clients::expires_at.is_null().or(scim_clients::expires_at.gt(now)))
        .select(ScimClientRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(c) = &found {
        if c.last_used_at.is_none_or(|t| now - t >= 60) {
            diesel::update(scim_clients::table.find(&c.id)).set(scim_clients::last_used_at.eq(Some(now))).execute(conn)?;
        }
    }
    Ok(found)
}

/// Revokes a client's token; `false` when there was no such live client.
pub fn revoke_client(conn: &mut DbConnection, id: &str, now: i64) -> Result<bool, StoreError> {
    Ok(diesel::update(scim_clients::table.find(id).filter(scim_clients::revoked_at.is_null())).set(scim_clients::revoked_at.eq(Some(now))).execute(conn)? == 1)
}

/// What a provisioner knows a user by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Queryable)]
pub struct ScimUserData {
    pub external_id: Option<String>,
    pub user_name: Option<String>,
    pub client_id: Option<String>,
    /// JSON: the attributes latchkey keeps without using.
    pub attributes: Option<String>,
}

pub fn user_data(conn: &mut DbConnection, user_id: &str) -> Result<Option<ScimUserData>, StoreError> {
    Ok(users::table.find(user_id).select((users::external_id, users::scim_user_name, users::scim_client_id, users::scim_attributes)).first::<ScimUserData>(conn).optional()?)
}

/// Every user's SCIM data, by user id.
pub fn all_user_data(conn: &mut DbConnection) -> Result<Vec<(String, ScimUserData)>, StoreError> {
    type Row = (String, Option<String>, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Row> = users::table.select((users::id, users::external_id, users::scim_user_name, users::scim_client_id, users::scim_attributes)).load(conn)?;
    Ok(rows.into_iter().map(|(id, external_id, user_name, client_id, attributes)| (id, ScimUserData { external_id, user_name, client_id, attributes })).collect())
}

pub fn set_user_data(conn: &mut DbConnection, user_id: &str, data: &ScimUserData, now: i64) -> Result<(), StoreError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::external_id.eq(&data.external_id),
            users::scim_user_name.eq(&data.user_name),
            users::scim_client_id.eq(&data.client_id),
            users::scim_attributes.eq(&data.attributes),
            users::updated_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The user whose SCIM userName is `name`, whatever its case.
pub fn user_by_scim_name(conn: &mut DbConnection, name: &str) -> Result<Option<String>, StoreError> {
    Ok(users::table.filter(lower(users::scim_user_name).eq(Some(name.to_lowercase()))).select(users::id).first(conn).optional()?)
}

/// A group as SCIM shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub external_id: Option<String>,
    pub updated_at: Option<i64>,
    /// Members: user id and username.
    pub members: Vec<(String, String)>,
}

type GroupColumns = (String, String, i64, Option<String>, Option<i64>);

fn with_members(conn: &mut DbConnection, groups: Vec<GroupColumns>) -> Result<Vec<GroupRow>, StoreError> {
    let ids: Vec<&String> = groups.iter().map(|g| &g.0).collect();
    let members: Vec<(String, String, String)> = group_members::table
        .inner_join(users::table)
        .filter(group_members::group_id.eq_any(ids))
        .order(users::username.asc())
        .select((group_members::group_id, users::id, users::username))
        .load(conn)?;
    Ok(groups
        .into_iter()
        .map(|(id, name, created_at, external_id, updated_at)| {
            let members = members.iter().filter(|(g, _, _)| *g == id).map(|(_, u, n)| (u.clone(), n.clone())).collect();
            GroupRow { id, name, created_at, external_id, updated_at, members }
        })
        .collect())
}

pub fn groups(conn: &mut DbConnection) -> Result<Vec<GroupRow>, StoreError> {
    let rows: Vec<GroupColumns> =
        user_groups::table.order(user_groups::name.asc()).select((user_groups::id, user_groups::name, user_groups::created_at, user_groups::external_id, user_groups::updated_at)).load(conn)?;
    with_members(conn, rows)
}

pub fn group(conn: &mut DbConnection, id: &str) -> Result<Option<GroupRow>, StoreError> {
    let rows: Vec<GroupColumns> =
        user_groups::table.filter(user_groups::id.eq(id)).select((user_groups::id, user_groups::name, user_groups::created_at, user_groups::external_id, user_groups::updated_at)).load(conn)?;
    Ok(with_members(conn, rows)?.into_iter().next())
}

/// Renames a group and sets its external id (touching its `updated_at`).
pub fn update_group(conn: &mut DbConnection, id: &str, name: &str, external_id: Option<&str>, now: i64) -> Result<bool, StoreError> {
    Ok(diesel::update(user_groups::table.find(id)).set((user_groups::name.eq(name), user_groups::external_id.eq(external_id), user_groups::updated_at.eq(Some(now)))).execute(conn)? == 1)
}

/// Replaces a group's members with `user_ids` (those that exist), in one transaction.
pub fn set_members(conn: &mut DbConnection, group_id: &str, user_ids: &[String], now: i64) -> Result<(), StoreError> {
    crate::db::write_transaction(conn, |c| {
        diesel::delete(group_members::table.filter(group_members::group_id.eq(group_id))).execute(c)?;
        let known: Vec<String> = users::table.filter(users::id.eq_any(user_ids)).select(users::id).load(c)?;
        for uid in known {
            diesel::insert_into(group_members::table).values((group_members::group_id.eq(group_id), group_members::user_id.eq(&uid))).execute(c)?;
        }
        diesel::update(user_groups::table.find(group_id)).set(user_groups::updated_at.eq(Some(now))).execute(c)?;
        Ok(())
    })
}

/// Touches a group's `updated_at` (members added or removed one by one).
pub fn touch_group(conn: &mut DbConnection, group_id: &str, now: i64) -> Result<(), StoreError> {
    diesel::update(user_groups::table.find(group_id)).set(user_groups::updated_at.eq(Some(now))).execute(conn)?;
    Ok(())
}
