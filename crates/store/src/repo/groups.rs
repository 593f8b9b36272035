//! Groups of users.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::{group_members, user_groups, users};

pub fn create(conn: &mut DbConnection, id: &str, name: &str, now: i64) -> Result<(), StoreError> {
    diesel::insert_into(user_groups::table).values((user_groups::id.eq(id), user_groups::name.eq(name), user_groups::created_at.eq(now))).execute(conn)?;
    Ok(())
}

pub fn find_id(conn: &mut DbConnection, name: &str) -> Result<Option<String>, StoreError> {
    Ok(user_groups::table.filter(user_groups::name.eq(name)).select(user_groups::id).first(conn).optional()?)
}

pub fn remove(conn: &mut DbConnection, name: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(user_groups::table.filter(user_groups::name.eq(name))).execute(conn)? == 1)
}

/// Every group with its members' usernames.
pub fn list(conn: &mut DbConnection) -> Result<Vec<(String, Vec<String>)>, StoreError> {
    let names: Vec<(String, String)> = user_groups::table.order(user_groups::name.asc()).select((user_groups::id, user_groups::name)).load(conn)?;
    let members: Vec<(String, String)> = group_members::table.inner_join(users::table).order(users::username.asc()).select((group_members::group_id, users::username)).load(conn)?;
    Ok(names.into_iter().map(|(id, name)| (name, members.iter().filter(|(g, _)| *g == id).map(|(_, u)| u.clone()).collect())).collect())
}

pub fn add_member(conn: &mut DbConnection, group_id: &str, user_id: &str) -> Result<(), StoreError> {
    let exists: i64 = group_members::table.filter(group_members::group_id.eq(group_id)).filter(group_members::user_id.eq(user_id)).count().get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(group_members::table).values((group_members::group_id.eq(group_id), group_members::user_id.eq(user_id))).execute(conn)?;
    }
    Ok(())
}

pub fn remove_member(conn: &mut DbConnection, group_id: &str, user_id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(group_members::table.filter(group_members::group_id.eq(group_id)).filter(group_members::user_id.eq(user_id))).execute(conn)? == 1)
}

/// The names of the user's groups, sorted.
pub fn of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<String>, StoreError> {
    Ok(group_members::table.inner_join(user_groups::table).filter(group_members::user_id.eq(user_id)).order(user_groups::name.asc()).select(user_groups::name).load(conn)?)
}
