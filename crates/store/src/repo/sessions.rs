//! Browser sessions, keyed by the hash of the cookie value.

use diesel::prelude::*;
use latchkey_domain::{Amr, Session, SessionKey, UserId};

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::sessions;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
struct SessionRow {
    key_hash: String,
    sid: String,
    user_id: String,
    created_at: i64,
    last_seen_at: i64,
    auth_time: i64,
    amr: String,
    ip: Option<String>,
    user_agent: Option<String>,
    revoked_at: Option<i64>,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            key: SessionKey(r.key_hash),
            sid: r.sid,
            user_id: UserId(r.user_id),
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            auth_time: r.auth_time,
            amr: Amr::split(&r.amr),
            ip: r.ip,
            user_agent: r.user_agent,
            revoked_at: r.revoked_at,
        }
    }
}

pub fn insert(conn: &mut DbConnection, s: &Session) -> Result<(), StoreError> {
    let row = SessionRow {
        key_hash: s.key.0.clone(),
        sid: s.sid.clone(),
        user_id: s.user_id.0.clone(),
        created_at: s.created_at,
        last_seen_at: s.last_seen_at,
        auth_time: s.auth_time,
        amr: Amr::join(&s.amr),
        ip: s.ip.clone(),
        user_agent: s.user_agent.clone(),
        revoked_at: s.revoked_at,
    };
    diesel::insert_into(sessions::table).values(&row).execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, key: &SessionKey) -> Result<Option<Session>, StoreError> {
    Ok(sessions::table
        .find(&key.0)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?
        .map(Session::from))
}

pub fn touch(conn: &mut DbConnection, key: &SessionKey, now: i64) -> Result<(), StoreError> {
    diesel::update(sessions::table.find(&key.0))
        .set(sessions::last_seen_at.eq(now))
        .execute(conn)?;
    Ok(())
}

pub fn revoke(conn: &mut DbConnection, key: &SessionKey, now: i64) -> Result<(), StoreError> {
    diesel::update(sessions::table.find(&key.0).filter(sessions::revoked_at.is_null()))
        .set(sessions::revoked_at.eq(now))
        .execute(conn)?;
    Ok(())
}
