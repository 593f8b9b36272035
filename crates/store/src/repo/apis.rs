//! Registered APIs and their scopes and roles.

use diesel::prelude::*;
use latchkey_domain::{Api, ApiScope, SigningAlg};

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::{api_roles, api_scopes, apis, user_groups};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = apis)]
struct ApiRow {
    id: String,
    name: String,
    audience: String,
    access_token_ttl: i64,
    signing_alg: String,
    introspection_secret_hash: Option<String>,
    created_at: i64,
    self_registration: bool,
    publish_metadata: bool,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_scopes)]
struct ScopeRow {
    name: String,
    api_id: String,
    description: String,
}

/// Stores an API with its scopes (one transaction; a scope name taken by
/// another API is a conflict).
pub fn insert(conn: &mut DbConnection, api: &Api) -> Result<(), StoreError> {
    let row = ApiRow {
        id: api.id.clone(),
        name: api.name.clone(),
        audience: api.audience.clone(),
        access_token_ttl: api.access_token_ttl,
        signing_alg: api.signing_alg.as_str().to_string(),
        introspection_secret_hash: api.introspection_secret_hash.clone(),
        created_at: api.created_at,
        self_registration: api.self_registration,
        publish_metadata: api.publish_metadata,
    };
    crate::db::write_transaction(conn, |conn| {
        diesel::insert_into(apis::table).values(&row).execute(conn)?;
        for s in &api.scopes {
            diesel::insert_into(api_scopes::table).values(ScopeRow { name: s.name.clone(), api_id: api.id.clone(), description: s.description.clone() }).execute(conn)?;
        }
        Ok(())
    })
}

/// Every API, with scopes and roles (a small table: read whole, cached by callers).
pub fn list(conn: &mut DbConnection) -> Result<Vec<Api>, StoreError> {
    let rows: Vec<ApiRow> = apis::table.order(apis::name.asc()).select(ApiRow::as_select()).load(conn)?;
    let scopes: Vec<ScopeRow> = api_scopes::table.order(api_scopes::name.asc()).select(ScopeRow::as_select()).load(conn)?;
    let roles: Vec<(String, String, String)> = api_roles::table.inner_join(user_groups::table).select((api_roles::api_id, api_roles::role, user_groups::name)).load(conn)?;
    rows.into_iter()
        .map(|r| {
            Ok(Api {
                signing_alg: SigningAlg::parse(&r.signing_alg).ok_or_else(|| StoreError::Corrupt(format!("unknown signing_alg {}", r.signing_alg)))?,
                scopes: scopes.iter().filter(|s| s.api_id == r.id).map(|s| ApiScope { name: s.name.clone(), description: s.description.clone() }).collect(),
                roles: roles.iter().filter(|(a, _, _)| *a == r.id).map(|(_, role, group)| (role.clone(), group.clone())).collect(),
                id: r.id,
                name: r.name,
                audience: r.audience,
                access_token_ttl: r.access_token_ttl,
                introspection_secret_hash: r.introspection_secret_hash,
                created_at: r.created_at,
                self_registration: r.self_registration,
                publish_metadata: r.publish_metadata,
            })
        })
        .collect()
}

/// Sets what the API allows: clients that registered themselves may ask
/// for its scopes; latchkey publishes its protected resource metadata.
pub fn set_options(conn: &mut DbConnection, id: &str, self_registration: bool, publish_metadata: bool) -> Result<bool, StoreError> {
    Ok(diesel::update(apis::table.find(id)).set((apis::self_registration.eq(self_registration), apis::publish_metadata.eq(publish_metadata))).execute(conn)? == 1)
}

pub fn remove(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(apis::table.find(id)).execute(conn)? == 1)
}

pub fn add_scope(conn: &mut DbConnection, api_id: &str, scope: &ApiScope) -> Result<(), StoreError> {
    diesel::insert_into(api_scopes::table).values(ScopeRow { name: scope.name.clone(), api_id: api_id.to_string(), description: scope.description.clone() }).execute(conn)?;
    Ok(())
}

pub fn remove_scope(conn: &mut DbConnection, api_id: &str, name: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(api_scopes::table.filter(api_scopes::api_id.eq(api_id)).filter(api_scopes::name.eq(name))).execute(conn)? == 1)
}

pub fn add_role(conn: &mut DbConnection, api_id: &str, role: &str, group_id: &str) -> Result<(), StoreError> {
    diesel::insert_into(api_roles::table).values((api_roles::api_id.eq(api_id), api_roles::role.eq(role), api_roles::group_id.eq(group_id))).execute(conn)?;
    Ok(())
}
