//! Back-channel logout deliveries not yet acknowledged (see the migration).

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::backchannel_deliveries as bd;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bd)]
pub struct Delivery {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub sid: String,
    pub next_at: i64,
    pub rounds: i32,
    pub created_at: i64,
}

pub fn insert(conn: &mut DbConnection, d: &Delivery) -> Result<(), StoreError> {
    diesel::insert_into(bd::table).values(d).execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    diesel::delete(bd::table.find(id)).execute(conn)?;
    Ok(())
}

/// Claims up to `limit` due deliveries until `lease_until` (a conditional
/// update per row: of two nodes, one claims each).
pub fn claim_due(conn: &mut DbConnection, now: i64, lease_until: i64, limit: i64) -> Result<Vec<Delivery>, StoreError> {
    let due: Vec<Delivery> = bd::table.filter(bd::next_at.le(now)).order(bd::next_at.asc()).limit(limit).select(Delivery::as_select()).load(conn)?;
    let mut claimed = Vec::new();
    for d in due {
        let n = diesel::update(bd::table.find(&d.id).filter(bd::next_at.eq(d.next_at))).set((bd::next_at.eq(lease_until), bd::rounds.eq(d.rounds + 1))).execute(conn)?;
        if n == 1 {
            claimed.push(Delivery { next_at: lease_until, rounds: d.rounds + 1, ..d });
        }
    }
    Ok(claimed)
}

pub fn pending(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(bd::table.count().get_result(conn)?)
}
