//! Server-side browser sessions.
//!
//! The browser holds an opaque 256-bit id in a cookie; the database holds only a
//! keyed hash of it, so a leaked database cannot be replayed as cookies.

use latchkey_domain::{Amr, Session, SessionKey, SharedClock, UserId};
use latchkey_store::repo::sessions as repo;
use latchkey_store::{Db, FastStore};
use latchkey_token::crypto::{random_token, KeyPurpose, KeyedHasher};
use latchkey_token::MasterKey;

use crate::device_name::{family, friendly_name, network};
use crate::error::AuthnError;

/// Whether a session's cookie arrives from somewhere its binding forbids.
fn moved(s: &Session, binding: Binding, ua: Option<&str>, ip: Option<&str>) -> bool {
    let ua_changed = family(s.user_agent.as_deref()) != family(ua);
    let net_changed = network(s.ip.as_deref()) != network(ip);
    match binding {
        Binding::Off => false,
        Binding::UserAgent => ua_changed,
        Binding::UserAgentAndNetwork => ua_changed || net_changed,
    }
}

/// Idle timeout: a session unused for 8 hours needs a new sign-in (a working day).
pub const DEFAULT_IDLE_TIMEOUT: i64 = 8 * 3600;
/// Absolute lifetime: no session outlives 24 hours, however busy, so a stolen
/// cookie is worth at most a day.
pub const DEFAULT_ABSOLUTE_LIFETIME: i64 = 24 * 3600;
/// Sessions are cached in the fast store (Redis, or in process) for a minute,
/// so most requests skip the database; every revocation writes a tombstone
/// there, so it takes effect on the very next request on every node.
const SESSION_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);
const REVOKED: &str = "revoked";

fn cache_key(key: &SessionKey) -> String {
    format!("session:{}", key.0)
}

/// The cached form of a live session: positional (a JSON array, no field
/// names) and without what the cache key already says (the key) or what a
/// cached session never has (a revocation time). Half the bytes of the
/// session's JSON, which matters when 100,000 sessions sit in the in-process
/// store. An entry in another shape (an older version's, on a shared Redis)
/// is not read: the lookup falls back to the database.
#[derive(serde::Serialize, serde::Deserialize)]
struct Cached(String, String, i64, i64, i64, Vec<Amr>, Option<String>, Option<String>, Option<String>, Option<String>, bool);

fn encode_cached(s: &Session) -> Result<String, AuthnError> {
    let c = Cached(
        s.sid.clone(),
        s.user_id.0.clone(),
        s.created_at,
        s.last_seen_at,
        s.auth_time,
        s.amr.clone(),
        s.ip.clone(),
        s.user_agent.clone(),
        s.device_name.clone(),
        s.device_id.clone(),
        s.restored,
    );
    serde_json::to_string(&c).map_err(|e| AuthnError::InvalidInput(e.to_string()))
}

fn decode_cached(key: &SessionKey, value: &str) -> Option<Session> {
    let Cached(sid, user_id, created_at, last_seen_at, auth_time, amr, ip, user_agent, device_name, device_id, restored) = serde_json::from_str(value).ok()?;
    Some(Session { key: key.clone(), sid, user_id: UserId(user_id), created_at, last_seen_at, auth_time, amr, ip, user_agent, revoked_at: None, device_name, device_id, restored })
}

/// A sign-in from a device none of the user's sessions of the last 30 days
/// came from is reported to the user.
const RECENT_DEVICE_WINDOW: i64 = 30 * 24 * 3600;
/// `last_seen_at` is written at most once a minute per session, so browsing does
/// not turn every page view into a database write.
const TOUCH_GRANULARITY: i64 = 60;

/// What a session is bound to besides its cookie: when the same cookie shows
/// up from elsewhere, the user must sign in again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Off,
    /// Re-authenticate when the browser/OS family changes (the default: a
    /// cookie copied to another machine is rarely used from the same browser and OS).
    UserAgent,
    /// …or when the network (/24, /48) changes too (strict; breaks roaming laptops).
    UserAgentAndNetwork,
}

impl Binding {
    pub fn parse(s: &str) -> Option<Binding> {
        match s {
            "off" => Some(Binding::Off),
            "user-agent" => Some(Binding::UserAgent),
            "both" => Some(Binding::UserAgentAndNetwork),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    pub idle: i64,
    pub absolute: i64,
    pub binding: Binding,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits { idle: DEFAULT_IDLE_TIMEOUT, absolute: DEFAULT_ABSOLUTE_LIFETIME, binding: Binding::UserAgent }
    }
}

/// What a session cookie leads to.
pub enum Resolution {
    Live(Session),
    /// The cookie came from another device or network than the session began
    /// on: the session has just been ended.
    Moved(Session),
    None,
}

/// The raw cookie value of a newly created session; shown to the browser once.
pub struct NewSession {
    pub cookie_value: String,
    pub session: Session,
}

#[derive(Clone)]
pub struct SessionService {
    db: Db,
    /// Fast path: live sessions cached by key, revocations as tombstones.
    fast: FastStore,
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
    pub fn new(db: Db, fast: FastStore, master: &MasterKey, clock: SharedClock, limits: SessionLimits) -> SessionService {
        SessionService { db, fast, hasher: master.hasher(KeyPurpose::Session), clock, limits }
    }

    /// Marks sessions revoked in the fast path (every node sees it on the next
    /// request); overwrites any cached copy.
    async fn forget_cached(&self, keys: impl IntoIterator<Item = &SessionKey>) -> Result<(), AuthnError> {
        for k in keys {
            // With Redis unreachable the database's revocation stands (lookups
            // fall back to it) and the tombstone is written when Redis is back.
            self.fast.put_or_queue(&cache_key(k), REVOKED, SESSION_CACHE_TTL).await?;
        }
        Ok(())
    }

    fn key_for(&self, cookie_value: &str) -> SessionKey {
        SessionKey(self.hasher.hash(cookie_value))
    }

    /// Starts a session after a successful sign-in. A fresh id every time
    /// (session fixation); the caller revokes the previous session, if any.
    /// `device_id` ties it to a remember-me device.
    pub async fn create(&self, user: &UserId, amr: Vec<Amr>, client: ClientInfo, device_id: Option<String>) -> Result<NewSession, AuthnError> {
        self.create_named(user, amr, client, device_id, None).await
    }

    /// [`SessionService::create`] with the session id `sid` when one was
    /// chosen in advance (a mailed sign-in code's "This wasn't me" link
    /// names it before the session exists); a fresh one otherwise.
    pub async fn create_named(&self, user: &UserId, amr: Vec<Amr>, client: ClientInfo, device_id: Option<String>, sid: Option<String>) -> Result<NewSession, AuthnError> {
        let now = self.clock.now();
        self.insert(user, amr, client, device_id, now, false, sid).await
    }

    /// Starts a session from a remember-me device token, not a sign-in: it
    /// keeps the interactive sign-in's `auth_time` and `amr` and is marked
    /// `restored`, so it never counts as a fresh or stepped-up authentication.
    pub async fn restore(&self, user: &UserId, amr: Vec<Amr>, client: ClientInfo, device_id: String, auth_time: i64) -> Result<NewSession, AuthnError> {
        self.insert(user, amr, client, Some(device_id), auth_time, true, None).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert(&self, user: &UserId, amr: Vec<Amr>, client: ClientInfo, device_id: Option<String>, auth_time: i64, restored: bool, sid: Option<String>) -> Result<NewSession, AuthnError> {
        let cookie_value = random_token("");
        let now = self.clock.now();
        let device_name = Some(friendly_name(client.user_agent.as_deref()));
        let session = Session {
            key: self.key_for(&cookie_value),
            sid: sid.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            user_id: user.clone(),
            created_at: now,
            last_seen_at: now,
            auth_time: auth_time.min(now),
            amr,
            ip: client.ip,
            user_agent: client.user_agent.map(|ua| ua.chars().take(512).collect()),
            revoked_at: None,
            device_name,
            device_id,
            restored,
        };
        let s = session.clone();
        self.db.run(move |c| repo::insert(c, &s)).await?;
        // Cached as it starts: the browser's next request (the consent page,
        // the redirect back to `/authorize`) reads no row. Only if absent, so
        // a revocation's tombstone written meanwhile wins; best effort, as a
        // cache that missed this fills itself on that request.
        if !self.fast.is_down() {
            let cached = match encode_cached(&session) {
                Ok(value) => self.fast.put_if_absent(&cache_key(&session.key), &value, SESSION_CACHE_TTL).await.map(|_| ()).map_err(AuthnError::from),
                Err(e) => Err(e),
            };
            if let Err(e) = cached {
                tracing::debug!(error = %e, "new session not cached");
            }
        }
        Ok(NewSession { cookie_value, session })
    }

    /// A new cookie id for the same session, with the same `auth_time`, `amr`
    /// and `restored` (after a change that is not an authentication, such as
    /// a password change: it must not count as signing in again).
    pub async fn rotate_id(&self, session: &Session) -> Result<NewSession, AuthnError> {
        let cookie_value = random_token("");
        let new_key = self.key_for(&cookie_value);
        let (old_key, k) = (session.key.clone(), new_key.clone());
        if !self.db.run(move |c| repo::rekey_only(c, &old_key, &k)).await? {
            return Err(AuthnError::InvalidInput("the session has ended".into()));
        }
        self.forget_cached([&session.key]).await?;
        Ok(NewSession { cookie_value, session: Session { key: new_key, ..session.clone() } })
    }

    /// Re-authentication within a live session (the same user signed in again,
    /// or added a factor): new cookie id, new `auth_time` and `amr`, same `sid`.
    pub async fn elevate(&self, session: &Session, amr: Vec<Amr>) -> Result<NewSession, AuthnError> {
        let cookie_value = random_token("");
        let (new_key, now) = (self.key_for(&cookie_value), self.clock.now());
        let (old_key, k, a) = (session.key.clone(), new_key.clone(), amr.clone());
        if !self.db.run(move |c| repo::rekey(c, &old_key, &k, now, &a)).await? {
            return Err(AuthnError::InvalidInput("the session has ended".into()));
        }
        self.forget_cached([&session.key]).await?;
        let session = Session { key: new_key, auth_time: now, last_seen_at: now, amr, restored: false, ..session.clone() };
        Ok(NewSession { cookie_value, session })
    }

    /// The live session for a cookie value, or `None` when it is unknown,
    /// revoked, expired, or shows up from another device than it began on
    /// (then it is also ended). Refreshes `last_seen_at` (idle timeout is rolling).
    pub async fn resolve(&self, cookie_value: &str, client: &ClientInfo) -> Result<Option<Session>, AuthnError> {
        Ok(match self.resolve_detailed(cookie_value, client).await? {
            Resolution::Live(s) => Some(s),
            Resolution::Moved(_) | Resolution::None => None,
        })
    }

    /// Like [`SessionService::resolve`], but says when the session was just
    /// ended for moving, so the caller can end what hangs off it too.
    pub async fn resolve_detailed(&self, cookie_value: &str, client: &ClientInfo) -> Result<Resolution, AuthnError> {
        let key = self.key_for(cookie_value);
        let now = self.clock.now();
        let limits = self.limits;
        // Redis unreachable: the database is the source of truth.
        let cached = match self.fast.get(&cache_key(&key)).await {
            Ok(cached) => cached,
            Err(_) if self.fast.is_down() => None,
            Err(e) => return Err(e.into()),
        };
        let mut session = match cached.as_deref() {
            Some(REVOKED) => return Ok(Resolution::None),
            Some(cached) => decode_cached(&key, cached),
            None => None,
        };
        if session.is_none() {
            let k = key.clone();
            session = self.db.run(move |c| repo::find(c, &k)).await?;
            if let Some(s) = session.as_ref().filter(|s| s.revoked_at.is_none()) {
                // put_if_absent: a revocation tombstone written meanwhile wins.
                if !self.fast.is_down() {
                    self.fast.put_if_absent(&cache_key(&key), &encode_cached(s)?, SESSION_CACHE_TTL).await?;
                }
            }
        }
        let Some(mut s) = session else { return Ok(Resolution::None) };
        if !s.is_live(now, limits.idle, limits.absolute) {
            return Ok(Resolution::None);
        }
        if moved(&s, limits.binding, client.user_agent.as_deref(), client.ip.as_deref()) {
            let k = s.key.clone();
            self.db.run(move |c| repo::revoke(c, &k, now)).await?;
            self.forget_cached([&s.key]).await?;
            return Ok(Resolution::Moved(s));
        }
        if now - s.last_seen_at >= TOUCH_GRANULARITY {
            let k = s.key.clone();
            self.db.run(move |c| repo::touch(c, &k, now)).await?;
            s.last_seen_at = now;
            // Refresh the cached copy unless it was revoked in between: one
            // atomic step, so a tombstone written meanwhile is never overwritten.
            if !self.fast.is_down() {
                self.fast.put_unless(&cache_key(&s.key), &encode_cached(&s)?, SESSION_CACHE_TTL, REVOKED).await?;
            }
        }
        Ok(Resolution::Live(s))
    }

    /// The user's live sessions, most recently used first.
    pub async fn list(&self, user: &UserId) -> Result<Vec<Session>, AuthnError> {
        let (uid, now, limits) = (user.clone(), self.clock.now(), self.limits);
        let all = self.db.run(move |c| repo::list_for_user(c, &uid)).await?;
        Ok(all.into_iter().filter(|s| s.is_live(now, limits.idle, limits.absolute)).collect())
    }

    pub async fn sids_for_device(&self, device_id: &str) -> Result<Vec<String>, AuthnError> {
        let id = device_id.to_string();
        Ok(self.db.run(move |c| repo::sids_for_device(c, &id)).await?)
    }

    pub async fn find_by_sid(&self, sid: &str) -> Result<Option<Session>, AuthnError> {
        let sid = sid.to_string();
        Ok(self.db.run(move |c| repo::find_by_sid(c, &sid)).await?)
    }

    /// Ends sessions by `sid`; returns the ones that were still open.
    pub async fn end(&self, sids: Vec<String>) -> Result<Vec<Session>, AuthnError> {
        let now = self.clock.now();
        let ended = self.db.run(move |c| repo::revoke_sids(c, &sids, now)).await?;
        self.forget_cached(ended.iter().map(|s| &s.key)).await?;
        Ok(ended)
    }

    /// Whether a sign-in from `client` comes from a device (browser family +
    /// network) none of the user's sessions of the last 30 days came from, and
    /// the user has signed in before (a first sign-in is not "new").
    pub async fn is_new_device(&self, user: &UserId, client: &ClientInfo) -> Result<bool, AuthnError> {
        let (uid, since) = (user.clone(), self.clock.now() - RECENT_DEVICE_WINDOW);
        let recent = self.db.run(move |c| repo::recent_devices_for_user(c, &uid, since)).await?;
        let (fam, net) = (family(client.user_agent.as_deref()), network(client.ip.as_deref()));
        Ok(!recent.is_empty() && !recent.iter().any(|(agent, ip)| network(ip.as_deref()) == net && family(agent.as_deref()) == fam))
    }

    pub async fn revoke(&self, key: &SessionKey) -> Result<(), AuthnError> {
        let k = key.clone();
        let now = self.clock.now();
        self.db.run(move |c| repo::revoke(c, &k, now)).await?;
        self.forget_cached([key]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            key: SessionKey("ab".repeat(32)),
            sid: "9c1d0f7e-0000-4000-8000-000000000001".into(),
            user_id: UserId("u-1".into()),
            created_at: 1_796_000_000,
            last_seen_at: 1_796_000_060,
            auth_time: 1_795_999_990,
            amr: vec![Amr::Pwd, Amr::Otp, Amr::Mfa],
            ip: Some("203.0.113.9".into()),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0".into()),
            revoked_at: None,
            device_name: Some("Firefox on Linux".into()),
            device_id: Some("dev-1".into()),
            restored: true,
        }
    }

    #[test]
    fn the_cached_form_round_trips_and_is_smaller_than_the_json() {
        let s = session();
        let cached = encode_cached(&s).expect("encode");
        let back = decode_cached(&s.key, &cached).expect("decode");
        assert_eq!(serde_json::to_value(&back).expect("json"), serde_json::to_value(&s).expect("json"));
        let json = serde_json::to_string(&s).expect("json");
        assert!(cached.len() * 10 < json.len() * 7, "cached {} bytes vs JSON {} bytes", cached.len(), json.len());
    }

    #[test]
    fn entries_in_another_shape_are_not_read() {
        let s = session();
        // An older version's entry (the session as JSON), a tombstone, garbage: all misses.
        for other in [serde_json::to_string(&s).expect("json"), REVOKED.to_string(), "[1,2".into(), String::new()] {
            assert!(decode_cached(&s.key, &other).is_none(), "{other:?} is not a cached session");
        }
    }
}
