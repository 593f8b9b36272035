//! Consents a user gave a client (one row per user × client).

use diesel::prelude::*;
use latchkey_domain::{ClientId, ScopeSet, UserId};

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::grants;

#[derive(Debug, Clone)]
pub struct Grant {
    pub id: String,
    pub user_id: UserId,
    pub client_id: ClientId,
    pub scopes: ScopeSet,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = grants)]
struct GrantRow {
    id: String,
    user_id: String,
    client_id: String,
    scopes: String,
    created_at: i64,
    updated_at: i64,
}

impl From<GrantRow> for Grant {
    fn from(r: GrantRow) -> Self {
        Grant { id: r.id, user_id: UserId(r.user_id), client_id: ClientId(r.client_id), scopes: ScopeSet::parse_lenient(&r.scopes), created_at: r.created_at, updated_at: r.updated_at }
    }
}

pub fn find(conn: &mut DbConnection, user: &UserId, client: &ClientId) -> Result<Option<Grant>, StoreError> {
    Ok(grants::table.filter(grants::user_id.eq(&user.0)).filter(grants::client_id.eq(&client.0)).select(GrantRow::as_select()).first(conn).optional()?.map(Grant::from))
}

/// [`find`] through `db`, as `/authorize` asks it for every returning user:
/// on PostgreSQL on the request's own thread (no blocking thread; see
/// [`crate::pg_async`]), on SQLite on its database thread.
pub async fn find_in(db: &crate::Db, user: &UserId, client: &ClientId) -> Result<Option<Grant>, StoreError> {
    if let Some(pg) = db.async_pg() {
        if let Some(mut lane) = pg.checkout().await? {
            let query = grants::table.filter(grants::user_id.eq(user.0.clone())).filter(grants::client_id.eq(client.0.clone())).select(GrantRow::as_select());
            // An error drops `lane`, which closes the connection (it may be broken).
            let row = diesel_async::RunQueryDsl::first::<GrantRow>(query, lane.conn()?).await.optional()?;
            lane.give_back();
            return Ok(row.map(Grant::from));
        }
    }
    let (user, client) = (user.clone(), client.clone());
    db.run(move |c| find(c, &user, &client)).await
}

/// Records consent to `scopes`, widening an existing grant rather than replacing it.
pub fn upsert(conn: &mut DbConnection, new_id: &str, user: &UserId, client: &ClientId, scopes: &ScopeSet, now: i64) -> Result<Grant, StoreError> {
    crate::db::write_transaction(conn, |conn| match find(conn, user, client)? {
        Some(existing) => {
            let merged = existing.scopes.union(scopes);
            diesel::update(grants::table.find(&existing.id)).set((grants::scopes.eq(merged.to_string()), grants::updated_at.eq(now))).execute(conn)?;
            Ok(Grant { scopes: merged, updated_at: now, ..existing })
        }
        None => {
            let row = GrantRow { id: new_id.to_string(), user_id: user.0.clone(), client_id: client.0.clone(), scopes: scopes.to_string(), created_at: now, updated_at: now };
            diesel::insert_into(grants::table).values(&row).execute(conn)?;
            Ok(Grant::from(row))
        }
    })
}

pub fn list_for_client(conn: &mut DbConnection, client: &ClientId) -> Result<Vec<Grant>, StoreError> {
    Ok(grants::table.filter(grants::client_id.eq(&client.0)).select(GrantRow::as_select()).load(conn)?.into_iter().map(Grant::from).collect())
}

pub fn list_for_user(conn: &mut DbConnection, user: &UserId) -> Result<Vec<Grant>, StoreError> {
    Ok(grants::table.filter(grants::user_id.eq(&user.0)).select(GrantRow::as_select()).load(conn)?.into_iter().map(Grant::from).collect())
}

/// Deletes a client's grants (all users, or one). Returns how many.
pub fn delete_for_client(conn: &mut DbConnection, client: &ClientId, user: Option<&UserId>) -> Result<usize, StoreError> {
    let mut q = diesel::delete(grants::table).filter(grants::client_id.eq(&client.0)).into_boxed();
    if let Some(u) = user {
        q = q.filter(grants::user_id.eq(&u.0));
    }
    Ok(q.execute(conn)?)
}

/// Deletes every grant a user gave. Returns how many.
pub fn delete_for_user(conn: &mut DbConnection, user: &UserId) -> Result<usize, StoreError> {
    Ok(diesel::delete(grants::table.filter(grants::user_id.eq(&user.0))).execute(conn)?)
}

/// When each client last acted for a user, by client id: the latest of a
/// refresh-token family's `last_used_at` (issue and rotation; written at most
/// once a minute, see `refresh::touch_granularity`) and of a sign-in through
/// one of the user's browser sessions (`session_clients.first_at`). Read
/// from rows the token and sign-in paths write anyway: no write of its own.
pub fn last_used_by_client(conn: &mut DbConnection, user: &UserId) -> Result<Vec<(String, i64)>, StoreError> {
    use diesel::dsl::max;

    use crate::schema::{refresh_families, session_clients, sessions};
    let families: Vec<(String, Option<i64>)> = refresh_families::table
        .filter(refresh_families::user_id.eq(&user.0))
        .group_by(refresh_families::client_id)
        .select((refresh_families::client_id, max(refresh_families::last_used_at)))
        .load(conn)?;
    let sids = sessions::table.filter(sessions::user_id.eq(&user.0)).select(sessions::sid);
    let sign_ins: Vec<(String, Option<i64>)> =
        session_clients::table.filter(session_clients::sid.eq_any(sids)).group_by(session_clients::client_id).select((session_clients::client_id, max(session_clients::first_at))).load(conn)?;
    let mut out: Vec<(String, i64)> = Vec::new();
    for (client, at) in families.into_iter().chain(sign_ins).filter_map(|(c, at)| Some((c, at?))) {
        match out.iter_mut().find(|(c, _)| *c == client) {
            Some((_, last)) => *last = (*last).max(at),
            None => out.push((client, at)),
        }
    }
    Ok(out)
}

/// How each client is used: users with a grant, and when it was last used
/// (a grant given or widened, a refresh token redeemed). Two grouped
/// queries, whatever the number of clients.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientUsage {
    pub users: i64,
    pub last_used_at: Option<i64>,
}

pub fn usage_by_client(conn: &mut DbConnection) -> Result<std::collections::HashMap<String, ClientUsage>, StoreError> {
    use crate::schema::refresh_families;
    use diesel::dsl::{count_star, max};
    let granted: Vec<(String, i64, Option<i64>)> = grants::table.group_by(grants::client_id).select((grants::client_id, count_star(), max(grants::updated_at))).load(conn)?;
    let refreshed: Vec<(String, Option<i64>)> = refresh_families::table.group_by(refresh_families::client_id).select((refresh_families::client_id, max(refresh_families::last_used_at))).load(conn)?;
    let mut usage: std::collections::HashMap<String, ClientUsage> = granted.into_iter().map(|(id, users, at)| (id, ClientUsage { users, last_used_at: at })).collect();
    for (id, at) in refreshed {
        let entry = usage.entry(id).or_default();
        entry.last_used_at = entry.last_used_at.max(at);
    }
    Ok(usage)
}
