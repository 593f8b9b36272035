//! Browser sessions, keyed by the hash of the cookie value.

use diesel::prelude::*;
use latchkey_domain::{Amr, Session, SessionKey, UserId};

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::{session_clients, sessions};

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
    device_name: Option<String>,
    device_id: Option<String>,
    restored: bool,
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
            device_name: r.device_name,
            device_id: r.device_id,
            restored: r.restored,
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
        device_name: s.device_name.clone(),
        device_id: s.device_id.clone(),
        restored: s.restored,
    };
    diesel::insert_into(sessions::table).values(&row).execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, key: &SessionKey) -> Result<Option<Session>, StoreError> {
    Ok(sessions::table.find(&key.0).select(SessionRow::as_select()).first(conn).optional()?.map(Session::from))
}

pub fn touch(conn: &mut DbConnection, key: &SessionKey, now: i64) -> Result<(), StoreError> {
    diesel::update(sessions::table.find(&key.0)).set(sessions::last_seen_at.eq(now)).execute(conn)?;
    Ok(())
}

pub fn revoke(conn: &mut DbConnection, key: &SessionKey, now: i64) -> Result<(), StoreError> {
    diesel::update(sessions::table.find(&key.0).filter(sessions::revoked_at.is_null())).set(sessions::revoked_at.eq(now)).execute(conn)?;
    Ok(())
}

pub fn find_by_sid(conn: &mut DbConnection, sid: &str) -> Result<Option<Session>, StoreError> {
    Ok(sessions::table.filter(sessions::sid.eq(sid)).select(SessionRow::as_select()).first(conn).optional()?.map(Session::from))
}

/// The session `sid` and the user `user`, read together as the token
/// endpoint redeems every code: on PostgreSQL on the request's own thread
/// (two statements on one connection, no blocking thread; see
/// [`crate::pg_async`]), on SQLite on its database thread.
pub async fn find_by_sid_with_user_in(db: &crate::Db, sid: &str, user: &UserId) -> Result<(Option<Session>, Option<latchkey_domain::User>), StoreError> {
    if let Some(pg) = db.async_pg() {
        if let Some(mut lane) = pg.checkout().await? {
            let conn = lane.conn()?;
            // An error drops `lane`, which closes the connection (it may be broken).
            let session = diesel_async::RunQueryDsl::first::<SessionRow>(sessions::table.filter(sessions::sid.eq(sid.to_string())).select(SessionRow::as_select()), conn).await.optional()?;
            let user = crate::repo::users::find_by_id_async(conn, user).await?;
            lane.give_back();
            return Ok((session.map(Session::from), user));
        }
    }
    let (sid, user) = (sid.to_string(), user.clone());
    db.run(move |c| Ok((find_by_sid(c, &sid)?, crate::repo::users::find_by_id(c, &user)?))).await
}

/// A user's unrevoked sessions, newest first (liveness is the caller's rule).
pub fn list_for_user(conn: &mut DbConnection, user: &UserId) -> Result<Vec<Session>, StoreError> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(&user.0))
        .filter(sessions::revoked_at.is_null())
        .order(sessions::last_seen_at.desc())
        .select(SessionRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Session::from)
        .collect())
}

/// A session's user agent and address, as recorded.
pub type DeviceSeen = (Option<String>, Option<String>);

/// The distinct (user agent, address) pairs of the user's sessions created
/// since `since`: what the new-device check compares with. A user who signs
/// in daily from one browser has one pair, not a row per session to read and
/// a user agent per session to parse (issue #31).
pub fn recent_devices_for_user(conn: &mut DbConnection, user: &UserId, since: i64) -> Result<Vec<DeviceSeen>, StoreError> {
    Ok(sessions::table.filter(sessions::user_id.eq(&user.0)).filter(sessions::created_at.ge(since)).select((sessions::user_agent, sessions::ip)).distinct().load(conn)?)
}

/// Revokes the listed sessions (by sid); returns those that were live.
pub fn revoke_sids(conn: &mut DbConnection, sids: &[String], now: i64) -> Result<Vec<Session>, StoreError> {
    crate::db::write_transaction(conn, |conn| {
        let live: Vec<Session> =
            sessions::table.filter(sessions::sid.eq_any(sids)).filter(sessions::revoked_at.is_null()).select(SessionRow::as_select()).load(conn)?.into_iter().map(Session::from).collect();
        diesel::update(sessions::table.filter(sessions::sid.eq_any(sids)).filter(sessions::revoked_at.is_null())).set(sessions::revoked_at.eq(now)).execute(conn)?;
        Ok(live)
    })
}

/// Sessions restored from (or created with) a remember-me device.
pub fn sids_for_device(conn: &mut DbConnection, device_id: &str) -> Result<Vec<String>, StoreError> {
    Ok(sessions::table.filter(sessions::device_id.eq(device_id)).filter(sessions::revoked_at.is_null()).select(sessions::sid).load(conn)?)
}

/// Records that a session signed in to a relying party (for back-channel logout).
pub fn add_client(conn: &mut DbConnection, sid: &str, client_id: &str, now: i64) -> Result<(), StoreError> {
    let exists: i64 = session_clients::table.filter(session_clients::sid.eq(sid)).filter(session_clients::client_id.eq(client_id)).count().get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(session_clients::table).values((session_clients::sid.eq(sid), session_clients::client_id.eq(client_id), session_clients::first_at.eq(now))).execute(conn)?;
    }
    Ok(())
}

pub fn clients_of(conn: &mut DbConnection, sid: &str) -> Result<Vec<String>, StoreError> {
    Ok(session_clients::table.filter(session_clients::sid.eq(sid)).select(session_clients::client_id).load(conn)?)
}

/// Gives a session a new cookie (key) after the user proved themselves again:
/// the old cookie stops working at once; the public `sid` stays, so the
/// relying parties' view of the session (and its refresh families) continues.
pub fn rekey(conn: &mut DbConnection, old: &SessionKey, new: &SessionKey, auth_time: i64, amr: &[Amr]) -> Result<bool, StoreError> {
    let n = diesel::update(sessions::table.find(&old.0).filter(sessions::revoked_at.is_null()))
        .set((sessions::key_hash.eq(&new.0), sessions::auth_time.eq(auth_time), sessions::last_seen_at.eq(auth_time), sessions::amr.eq(Amr::join(amr)), sessions::restored.eq(false)))
        .execute(conn)?;
    Ok(n == 1)
}

/// A new key for a live session, nothing else changed.
pub fn rekey_only(conn: &mut DbConnection, old: &SessionKey, new: &SessionKey) -> Result<bool, StoreError> {
    let n = diesel::update(sessions::table.find(&old.0).filter(sessions::revoked_at.is_null())).set(sessions::key_hash.eq(&new.0)).execute(conn)?;
    Ok(n == 1)
}

/// Sessions not revoked, seen within `idle` and younger than `absolute`.
pub fn count_live(conn: &mut DbConnection, now: i64, idle: i64, absolute: i64) -> Result<i64, StoreError> {
    Ok(sessions::table.filter(sessions::revoked_at.is_null()).filter(sessions::last_seen_at.ge(now - idle)).filter(sessions::created_at.ge(now - absolute)).count().get_result(conn)?)
}
