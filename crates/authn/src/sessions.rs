//! Server-side browser sessions.
//!
//! The browser holds an opaque 256-bit id in a cookie; the database holds only a
//! keyed hash of it, so a leaked database cannot be replayed as cookies.

use latchkey_domain::{Amr, Session, SessionKey, SharedClock, UserId};
use latchkey_store::repo::sessions as repo;
use latchkey_store::Db;
use latchkey_token::crypto::{random_token, KeyPurpose, KeyedHasher};
use latchkey_token::MasterKey;

use crate::error::AuthnError;

/// Idle timeout: a session unused for 8 hours needs a new sign-in (a working day).
pub const DEFAULT_IDLE_TIMEOUT: i64 = 8 * 3600;
/// Absolute lifetime: no session outlives 24 hours, however busy, so a stolen
/// cookie is worth at most a day.
pub const DEFAULT_ABSOLUTE_LIFETIME: i64 = 24 * 3600;
/// `last_seen_at` is written at most once a minute per session, so browsing does
/// not turn every page view into a database write.
const TOUCH_GRANULARITY: i64 = 60;

#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    pub idle: i64,
    pub absolute: i64,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits { idle: DEFAULT_IDLE_TIMEOUT, absolute: DEFAULT_ABSOLUTE_LIFETIME }
    }
}

/// The raw cookie value of a newly created session; shown to the browser once.
pub struct NewSession {
    pub cookie_value: String,
    pub session: Session,
}

#[derive(Clone)]
pub struct SessionService {
    db: Db,
    hasher: KeyedHasher,
    clock: SharedClock,
    pub limits: SessionLimits,
}

/// Client details recorded with a session.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl SessionService {
    pub fn new(db: Db, master: &MasterKey, clock: SharedClock, limits: SessionLimits) -> SessionService {
        SessionService { db, hasher: master.hasher(KeyPurpose::Session), clock, limits }
    }

    fn key_for(&self, cookie_value: &str) -> SessionKey {
        SessionKey(self.hasher.hash(cookie_value))
    }

    /// Starts a session after a successful sign-in. A fresh id every time
    /// (session fixation); the caller revokes the previous session, if any.
    pub async fn create(&self, user: &UserId, amr: Vec<Amr>, client: ClientInfo) -> Result<NewSession, AuthnError> {
        let cookie_value = random_token("");
        let now = self.clock.now();
        let session = Session {
            key: self.key_for(&cookie_value),
            sid: uuid::Uuid::new_v4().to_string(),
            user_id: user.clone(),
            created_at: now,
            last_seen_at: now,
            auth_time: now,
            amr,
            ip: client.ip,
            user_agent: client.user_agent.map(|ua| ua.chars().take(512).collect()),
            revoked_at: None,
        };
        let s = session.clone();
        self.db.run(move |c| repo::insert(c, &s)).await?;
        Ok(NewSession { cookie_value, session })
    }

    /// The live session for a cookie value, or `None` when it is unknown, revoked
    /// or expired. Refreshes `last_seen_at` (idle timeout is rolling).
    pub async fn resolve(&self, cookie_value: &str) -> Result<Option<Session>, AuthnError> {
        let key = self.key_for(cookie_value);
        let now = self.clock.now();
        let limits = self.limits;
        let found = self
            .db
            .run(move |c| {
                let Some(mut s) = repo::find(c, &key)? else { return Ok(None) };
                if !s.is_live(now, limits.idle, limits.absolute) {
                    return Ok(None);
                }
                if now - s.last_seen_at >= TOUCH_GRANULARITY {
                    repo::touch(c, &s.key, now)?;
                    s.last_seen_at = now;
                }
                Ok(Some(s))
            })
            .await?;
        Ok(found)
    }

    pub async fn revoke(&self, key: &SessionKey) -> Result<(), AuthnError> {
        let key = key.clone();
        let now = self.clock.now();
        self.db.run(move |c| repo::revoke(c, &key, now)).await?;
        Ok(())
    }
}
