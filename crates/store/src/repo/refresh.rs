//! Refresh-token families and their rotating tokens.
//!
//! Rotation is one transaction whose first statement is a conditional
//! `UPDATE … WHERE used_at IS NULL`: the row lock (PostgreSQL) or the write lock
//! (SQLite) lets exactly one of any number of concurrent uses win.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::prepared::{Param, Prepared};
use crate::schema::{refresh_families, refresh_tokens, sessions, users};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = refresh_families)]
pub struct Family {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    /// The session that created it; `None` for `offline_access` grants.
    pub sid: Option<String>,
    pub scope: String,
    pub auth_time: i64,
    pub acr: String,
    pub amr: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub absolute_expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    /// RFC 9449: the DPoP key (JWK thumbprint) every rotation must prove; `None` for bearer families.
    pub dpop_jkt: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct TokenRow {
    pub hash: String,
    pub family_id: String,
    pub generation: i32,
    pub created_at: i64,
    pub used_at: Option<i64>,
    pub successor_hash: Option<String>,
    pub access_jti: String,
    pub access_exp: i64,
}

/// The token that replaces the presented one, and the access token issued with it.
#[derive(Debug, Clone)]
pub struct Successor {
    pub hash: String,
    pub access_jti: String,
    pub access_exp: i64,
}

/// What the rules of a family are at rotation time.
#[derive(Debug, Clone, Copy)]
pub struct RotationRules {
    pub now: i64,
    /// A family unused for longer than this is dead.
    pub idle: i64,
    /// A session-bound family dies with its session; sessions older than this are over.
    pub session_absolute: i64,
    /// …and so are sessions unused for longer than this.
    pub session_idle: i64,
}

#[derive(Debug)]
pub enum Rotation {
    /// The presented token was current: it is now used, and the successor stored.
    Rotated { family: Family, generation: i32 },
    /// The presented token was already used (a replay, or a race lost).
    Reused { token: TokenRow, family: Family },
    /// Not a token we know.
    Unknown,
    /// Known, but not usable now; nothing was changed.
    Refused { family: Family, reason: &'static str },
}

#[allow(clippy::large_enum_variant)] // lives only inside one transaction's closure
enum Abort {
    Store(StoreError),
    Refused(Family, &'static str),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Store(e.into())
    }
}

pub fn create_family(conn: &mut DbConnection, family: &Family, first: &Successor, now: i64) -> Result<(), StoreError> {
    crate::db::write_transaction(conn, |conn| {
        diesel::insert_into(refresh_families::table).values(family).execute(conn)?;
        insert_token(conn, &family.id, 0, first, now)?;
        Ok(())
    })
}

fn insert_token(conn: &mut DbConnection, family_id: &str, generation: i32, t: &Successor, now: i64) -> Result<(), diesel::result::Error> {
    let row = TokenRow {
        hash: t.hash.clone(),
        family_id: family_id.to_string(),
        generation,
        created_at: now,
        used_at: None,
        successor_hash: None,
        access_jti: t.access_jti.clone(),
        access_exp: t.access_exp,
    };
    diesel::insert_into(refresh_tokens::table).values(&row).execute(conn)?;
    Ok(())
}

fn session_alive(conn: &mut DbConnection, sid: &str, rules: &RotationRules) -> Result<bool, diesel::result::Error> {
    let row: Option<(Option<i64>, i64, i64)> = sessions::table.filter(sessions::sid.eq(sid)).select((sessions::revoked_at, sessions::created_at, sessions::last_seen_at)).first(conn).optional()?;
    Ok(matches!(row, Some((None, created, seen)) if rules.now - created < rules.session_absolute && rules.now - seen <= rules.session_idle))
}

fn family_problem(conn: &mut DbConnection, family: &Family, client_id: &str, dpop_jkt: Option<&str>, rules: &RotationRules) -> Result<Option<&'static str>, diesel::result::Error> {
    if family.client_id != client_id {
        return Ok(Some("the refresh token was issued to another client"));
    }
    if family.dpop_jkt.as_deref().is_some_and(|bound| dpop_jkt != Some(bound)) {
        return Ok(Some("the refresh token is bound to a DPoP key: send a proof of that key"));
    }
    if family.revoked_at.is_some() {
        return Ok(Some("the refresh token has been revoked"));
    }
    if rules.now >= family.absolute_expires_at {
        return Ok(Some("the refresh token has expired"));
    }
    if rules.now - family.last_used_at > rules.idle {
        return Ok(Some("the refresh token expired after a period of inactivity"));
    }
    if let Some(sid) = family.sid.as_deref() {
        if !session_alive(conn, sid, rules)? {
            return Ok(Some("the session that issued the refresh token has ended"));
        }
    }
    Ok(None)
}

/// `last_used_at` only feeds the idle limit (days): it is written at most once
/// per 1% of that limit (capped at a minute), which saves a statement on busy
/// families without moving the limit noticeably.
fn touch_granularity(idle: i64) -> i64 {
    (idle / 100).clamp(0, 60)
}

#[derive(QueryableByName)]
struct RotatedRow {
    #[diesel(embed)]
    family: Family,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    generation: i32,
}

/// PostgreSQL's happy path in ONE statement (one round trip instead of five):
/// spend the token only if its family is usable for this client, insert the
/// successor, touch the family. No row: the careful path below says why.
pub const PG_ROTATE: &str = "
WITH spent AS (
    UPDATE refresh_tokens t SET used_at = $1, successor_hash = $2
      FROM refresh_families f
     WHERE t.hash = $3 AND t.used_at IS NULL AND f.id = t.family_id
       AND f.client_id = $4 AND f.revoked_at IS NULL AND (f.dpop_jkt IS NULL OR f.dpop_jkt = $11)
       AND f.absolute_expires_at > $1 AND $1 - f.last_used_at <= $5
       AND (f.sid IS NULL OR EXISTS (
            SELECT 1 FROM sessions s WHERE s.sid = f.sid AND s.revoked_at IS NULL AND $1 - s.created_at < $6 AND $1 - s.last_seen_at <= $10))
    RETURNING t.family_id, t.generation
), added AS (
    INSERT INTO refresh_tokens (hash, family_id, generation, created_at, used_at, successor_hash, access_jti, access_exp)
    SELECT $2, family_id, generation + 1, $1, NULL, NULL, $7, $8 FROM spent
    RETURNING family_id
), touched AS (
    UPDATE refresh_families SET last_used_at = $1
     WHERE id IN (SELECT family_id FROM added) AND $1 - last_used_at >= $9
    RETURNING id
)
SELECT f.*, s.generation + 1 AS generation FROM refresh_families f JOIN spent s ON f.id = s.family_id";

/// [`PG_ROTATE`] with its parameters, as a statement each connection
/// prepares once (see [`crate::prepared`]).
pub fn pg_rotate_statement<'a>(hash: &'a str, client_id: &'a str, dpop_jkt: Option<&'a str>, next: &'a Successor, rules: &RotationRules) -> Prepared<'a> {
    Prepared::new(
        PG_ROTATE,
        vec![
            Param::BigInt(rules.now),
            Param::Text(&next.hash),
            Param::Text(hash),
            Param::Text(client_id),
            Param::BigInt(rules.idle),
            Param::BigInt(rules.session_absolute),
            Param::Text(&next.access_jti),
            Param::BigInt(next.access_exp),
            Param::BigInt(touch_granularity(rules.idle)),
            Param::BigInt(rules.session_idle),
            Param::NullableText(dpop_jkt),
        ],
    )
}

fn rotate_pg_fast(conn: &mut diesel::PgConnection, hash: &str, client_id: &str, dpop_jkt: Option<&str>, next: &Successor, rules: &RotationRules) -> Result<Option<Rotation>, StoreError> {
    let rows: Vec<RotatedRow> = pg_rotate_statement(hash, client_id, dpop_jkt, next, rules).load(conn)?;
    Ok(rotated(rows, rules))
}

/// The happy path's answer from the rows of [`PG_ROTATE`] (none: not rotated).
fn rotated(rows: Vec<RotatedRow>, rules: &RotationRules) -> Option<Rotation> {
    rows.into_iter().next().map(|r| {
        let last_used_at = if rules.now - r.family.last_used_at >= touch_granularity(rules.idle) { rules.now } else { r.family.last_used_at };
        Rotation::Rotated { family: Family { last_used_at, ..r.family }, generation: r.generation }
    })
}

/// [`rotate`] through `db`: on PostgreSQL the happy path runs on the
/// request's own thread (no blocking thread; see [`crate::pg_async`]), and
/// only a token that did not rotate goes to the careful path on the pool.
pub async fn rotate_in(db: &crate::Db, hash: String, client_id: String, dpop_jkt: Option<String>, next: Successor, rules: RotationRules) -> Result<Rotation, StoreError> {
    if let Some(pg) = db.async_pg() {
        if let Some(mut lane) = pg.checkout().await? {
            let statement = pg_rotate_statement(&hash, &client_id, dpop_jkt.as_deref(), &next, &rules);
            let rows: Result<Vec<RotatedRow>, _> = diesel_async::RunQueryDsl::load(statement, lane.conn()?).await;
            match rows {
                Ok(rows) => {
                    lane.give_back();
                    if let Some(done) = rotated(rows, &rules) {
                        return Ok(done);
                    }
                    return db.run(move |c| rotate_careful(c, &hash, &client_id, dpop_jkt.as_deref(), &next, rules)).await;
                }
                // The connection is closed with `lane` (it may be broken).
                Err(e) => return Err(e.into()),
            }
        }
    }
    db.run(move |c| rotate(c, &hash, &client_id, dpop_jkt.as_deref(), &next, rules)).await
}

/// Rotates `hash` to `next` for `client_id`, whose request proved
/// possession of the DPoP key `dpop_jkt` (if any). Everything or nothing: a
/// refused token is left as it was (so another client, or a thief without
/// the family's key, cannot burn it).
pub fn rotate(conn: &mut DbConnection, hash: &str, client_id: &str, dpop_jkt: Option<&str>, next: &Successor, rules: RotationRules) -> Result<Rotation, StoreError> {
    if let DbConnection::Pg(pg) = conn {
        if let Some(done) = rotate_pg_fast(pg, hash, client_id, dpop_jkt, next, &rules)? {
            return Ok(done);
        }
    }
    rotate_careful(conn, hash, client_id, dpop_jkt, next, rules)
}

/// The general path: says why a token did not rotate (reused, unknown,
/// refused), and rotates on SQLite.
#[allow(clippy::result_large_err)] // see `Abort`
fn rotate_careful(conn: &mut DbConnection, hash: &str, client_id: &str, dpop_jkt: Option<&str>, next: &Successor, rules: RotationRules) -> Result<Rotation, StoreError> {
    let result = conn.transaction::<Rotation, Abort, _>(|conn| {
        let won = diesel::update(refresh_tokens::table.filter(refresh_tokens::hash.eq(hash)).filter(refresh_tokens::used_at.is_null()))
            .set((refresh_tokens::used_at.eq(rules.now), refresh_tokens::successor_hash.eq(&next.hash)))
            .execute(conn)?;
        let Some((token, family)) = find_with_family(conn, hash)? else {
            return Ok(Rotation::Unknown);
        };
        if won == 0 {
            if family.client_id != client_id {
                return Err(Abort::Refused(family, "the refresh token was issued to another client"));
            }
            return Ok(Rotation::Reused { token, family });
        }
        if let Some(reason) = family_problem(conn, &family, client_id, dpop_jkt, &rules)? {
            return Err(Abort::Refused(family, reason));
        }
        insert_token(conn, &family.id, token.generation + 1, next, rules.now)?;
        let last_used_at = if rules.now - family.last_used_at >= touch_granularity(rules.idle) {
            diesel::update(refresh_families::table.find(&family.id)).set(refresh_families::last_used_at.eq(rules.now)).execute(conn)?;
            rules.now
        } else {
            family.last_used_at
        };
        Ok(Rotation::Rotated { family: Family { last_used_at, ..family }, generation: token.generation + 1 })
    });
    match result {
        Ok(r) => Ok(r),
        Err(Abort::Refused(family, reason)) => Ok(Rotation::Refused { family, reason }),
        Err(Abort::Store(e)) => Err(e),
    }
}

fn find_with_family(conn: &mut DbConnection, hash: &str) -> Result<Option<(TokenRow, Family)>, diesel::result::Error> {
    refresh_tokens::table.inner_join(refresh_families::table).filter(refresh_tokens::hash.eq(hash)).select((TokenRow::as_select(), Family::as_select())).first(conn).optional()
}

/// A token and its family, for introspection and revocation.
pub fn find(conn: &mut DbConnection, hash: &str) -> Result<Option<(TokenRow, Family)>, StoreError> {
    Ok(find_with_family(conn, hash)?)
}

/// Whether a family is usable right now (introspection's view of it).
pub fn is_active(conn: &mut DbConnection, token: &TokenRow, family: &Family, rules: RotationRules) -> Result<bool, StoreError> {
    Ok(token.used_at.is_none() && family_problem(conn, family, &family.client_id, family.dpop_jkt.as_deref(), &rules)?.is_none())
}

/// Access tokens (jti, exp) of the given families that have not expired yet.
fn live_access_tokens(conn: &mut DbConnection, family_ids: &[String], now: i64) -> Result<Vec<(String, i64)>, diesel::result::Error> {
    if family_ids.is_empty() {
        return Ok(Vec::new());
    }
    refresh_tokens::table.filter(refresh_tokens::family_id.eq_any(family_ids)).filter(refresh_tokens::access_exp.gt(now)).select((refresh_tokens::access_jti, refresh_tokens::access_exp)).load(conn)
}

fn revoke_ids(conn: &mut DbConnection, ids: Vec<String>, now: i64, reason: &str) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(crate::db::write_transaction(conn, |conn| {
        diesel::update(refresh_families::table.filter(refresh_families::id.eq_any(&ids)).filter(refresh_families::revoked_at.is_null()))
            .set((refresh_families::revoked_at.eq(now), refresh_families::revoked_reason.eq(reason)))
            .execute(conn)?;
        live_access_tokens(conn, &ids, now)
    })?)
}

/// Revokes one family. Returns the access tokens (jti, exp) still to be revoked.
pub fn revoke_family(conn: &mut DbConnection, family_id: &str, now: i64, reason: &str) -> Result<Vec<(String, i64)>, StoreError> {
    revoke_ids(conn, vec![family_id.to_string()], now, reason)
}

/// Revokes every live family of a client, optionally only one user's.
pub fn revoke_for_client(conn: &mut DbConnection, client_id: &str, user_id: Option<&str>, now: i64, reason: &str) -> Result<Vec<(String, i64)>, StoreError> {
    let mut q = refresh_families::table.filter(refresh_families::client_id.eq(client_id)).filter(refresh_families::revoked_at.is_null()).into_boxed();
    if let Some(u) = user_id {
        q = q.filter(refresh_families::user_id.eq(u));
    }
    let ids: Vec<String> = q.select(refresh_families::id).load(conn)?;
    revoke_ids(conn, ids, now, reason)
}

/// Revokes every live family of a user, for all clients.
pub fn revoke_for_user(conn: &mut DbConnection, user_id: &str, now: i64, reason: &str) -> Result<Vec<(String, i64)>, StoreError> {
    let ids: Vec<String> = refresh_families::table.filter(refresh_families::user_id.eq(user_id)).filter(refresh_families::revoked_at.is_null()).select(refresh_families::id).load(conn)?;
    revoke_ids(conn, ids, now, reason)
}

/// Revokes the session-bound families of a session (not `offline_access` ones).
pub fn revoke_for_session(conn: &mut DbConnection, sid: &str, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
    let ids: Vec<String> = refresh_families::table.filter(refresh_families::sid.eq(sid)).filter(refresh_families::revoked_at.is_null()).select(refresh_families::id).load(conn)?;
    revoke_ids(conn, ids, now, "session ended")
}

/// Per user of a client: live family count and last use.
#[derive(Debug, Clone)]
pub struct FamilyStats {
    pub user_id: String,
    pub username: String,
    pub families: i64,
    pub last_used_at: Option<i64>,
}

pub fn stats_for_client(conn: &mut DbConnection, client_id: &str, now: i64) -> Result<Vec<FamilyStats>, StoreError> {
    let rows: Vec<(String, String, i64)> = refresh_families::table
        .inner_join(users::table)
        .filter(refresh_families::client_id.eq(client_id))
        .filter(refresh_families::revoked_at.is_null())
        .filter(refresh_families::absolute_expires_at.gt(now))
        .select((refresh_families::user_id, users::username, refresh_families::last_used_at))
        .load(conn)?;
    let mut out: Vec<FamilyStats> = Vec::new();
    for (user_id, username, last) in rows {
        match out.iter_mut().find(|s| s.user_id == user_id) {
            Some(s) => {
                s.families += 1;
                s.last_used_at = s.last_used_at.max(Some(last));
            }
            None => out.push(FamilyStats { user_id, username, families: 1, last_used_at: Some(last) }),
        }
    }
    Ok(out)
}

/// Unrevoked families of a client, optionally one user's.
pub fn live_family_count(conn: &mut DbConnection, client_id: &str, user_id: Option<&str>) -> Result<usize, StoreError> {
    let mut q = refresh_families::table.filter(refresh_families::client_id.eq(client_id)).filter(refresh_families::revoked_at.is_null()).into_boxed();
    if let Some(u) = user_id {
        q = q.filter(refresh_families::user_id.eq(u));
    }
    let n: i64 = q.count().get_result(conn)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

pub fn live_family_count_for_user(conn: &mut DbConnection, user_id: &str) -> Result<usize, StoreError> {
    let n: i64 = refresh_families::table.filter(refresh_families::user_id.eq(user_id)).filter(refresh_families::revoked_at.is_null()).count().get_result(conn)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Clients a user has (or had) refresh families with.
pub fn client_ids_for_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<String>, StoreError> {
    Ok(refresh_families::table.filter(refresh_families::user_id.eq(user_id)).select(refresh_families::client_id).distinct().load(conn)?)
}
