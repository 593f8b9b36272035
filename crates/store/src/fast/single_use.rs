//! Single-use values that must outlive a Redis outage (issue #31).
//!
//! Pending authorization requests, codes, second-factor steps, passkey
//! ceremonies, PAR request URIs, device codes and replay markers live in
//! Redis; a sign-in needs every one of them. While the circuit breaker says
//! Redis is unreachable, [`SingleUse`] writes and spends them in the
//! database instead (`short_lived_values`, a compare-and-swap that wins once
//! across nodes), so people can still sign in. After Redis returns, values
//! are written there again, and for as long as the table may hold live rows
//! ([`DbFallback::maybe_live`]) a miss in Redis is looked up in the
//! database and a hit there is checked against it, so a value created during
//! the outage is still usable once, and one spent during it is not usable
//! again. A value created in Redis before the outage and needed during it is
//! simply not found: the caller's "expired, start again" answer.
//!
//! Replay markers (DPoP proof and client assertion `jti`s) are different:
//! one used before the outage must be refused during it, and Redis cannot be
//! asked then. [`SingleUse::first_use`] therefore writes them to both stores
//! whenever a database fallback is configured.
//!
//! On the embedded default (no Redis) everything stays in process.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{FastStore, SPENT_PREFIX};
use crate::db::Db;
use crate::error::StoreError;
use crate::repo::short_lived::{self, Claimed};

/// How stale this node's idea of "the table may hold live rows" may be
/// before it asks the database again. Rows another node wrote during an
/// outage this node never saw are found within this long of being written.
const LIVE_RECHECK: Duration = Duration::from_millis(250);

/// Most rows one owner (a client address, a client) may park in the
/// database during an outage; beyond it its oldest go first, as in Redis's
/// shared budget. Generous for a busy office behind one address (a
/// sign-in a second for the ten minutes a pending request lives is 600).
pub const MAX_PARKED_PER_OWNER: i64 = 5_000;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn expiry(ttl: Duration) -> i64 {
    now_ms().saturating_add(ttl.as_millis().max(1) as i64)
}

fn fell_back(op: &'static str) {
    metrics::counter!("latchkey_fast_store_fallback_total", "to" => "database", "op" => op).increment(1);
}

/// The database side of the fallback, shared by a node's clones of the store.
pub struct DbFallback {
    db: Db,
    /// The latest expiry (ms) of a row this node knows of.
    live_until: AtomicI64,
    /// When (ms) `live_until` was last read from the database.
    checked_at: AtomicI64,
    /// The breaker's outage count at that read: after an outage, read again.
    outages_seen: AtomicU64,
    refresh: tokio::sync::Mutex<()>,
}

impl DbFallback {
    pub fn new(db: Db) -> DbFallback {
        DbFallback { db, live_until: AtomicI64::new(0), checked_at: AtomicI64::new(i64::MIN / 2), outages_seen: AtomicU64::new(0), refresh: tokio::sync::Mutex::new(()) }
    }

    fn wrote(&self, expires_at: i64) {
        self.live_until.fetch_max(expires_at, Ordering::Relaxed);
    }

    /// Whether the table may hold a live row: cheap while known either way,
    /// one `max(expires_at)` per [`LIVE_RECHECK`] (and after each outage).
    async fn maybe_live(&self, outages: u64) -> Result<bool, StoreError> {
        let now = now_ms();
        if self.live_until.load(Ordering::Relaxed) > now {
            return Ok(true);
        }
        let fresh = |s: &DbFallback| now - s.checked_at.load(Ordering::Relaxed) < LIVE_RECHECK.as_millis() as i64 && s.outages_seen.load(Ordering::Relaxed) == outages;
        if fresh(self) {
            return Ok(false);
        }
        let _one_reader = self.refresh.lock().await;
        if !fresh(self) {
            let until = self.db.run(short_lived::live_until).await?.unwrap_or(0);
            self.live_until.fetch_max(until, Ordering::Relaxed);
            self.checked_at.store(now_ms(), Ordering::Relaxed);
            self.outages_seen.store(outages, Ordering::Relaxed);
        }
        Ok(self.live_until.load(Ordering::Relaxed) > now)
    }

    async fn put(&self, key: &str, value: &str, ttl: Duration, owner: Option<&str>) -> Result<(), StoreError> {
        let (key, value, at, owner) = (key.to_string(), value.to_string(), expiry(ttl), owner.map(str::to_string));
        self.wrote(at);
        self.db
            .run(move |c| {
                short_lived::put(c, &key, &value, at, owner.as_deref())?;
                if let Some(owner) = owner {
                    short_lived::trim_owner(c, &owner, MAX_PARKED_PER_OWNER)?;
                }
                Ok(())
            })
            .await
    }

    async fn insert_if_absent(&self, key: &str, value: &str, ttl: Duration, owner: Option<&str>) -> Result<bool, StoreError> {
        let (key, value, at, owner) = (key.to_string(), value.to_string(), expiry(ttl), owner.map(str::to_string));
        self.wrote(at);
        self.db.run(move |c| short_lived::insert_if_absent(c, &key, &value, at, owner.as_deref(), now_ms())).await
    }

    /// A replay marker: always checked here, so it does not count as live.
    async fn insert_marker(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (key, at) = (key.to_string(), expiry(ttl));
        self.db.run(move |c| short_lived::insert_if_absent(c, &key, "1", at, Some(short_lived::MARKER_OWNER), now_ms())).await
    }

    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_string();
        self.db.run(move |c| short_lived::get(c, &key, now_ms())).await
    }

    async fn claim(&self, key: &str, spent_value: &str) -> Result<Claimed, StoreError> {
        let (key, spent) = (key.to_string(), spent_value.to_string());
        self.db.run(move |c| short_lived::claim(c, &key, &spent, now_ms())).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        self.db.run(move |c| short_lived::delete(c, &key)).await
    }

    /// Deletes expired rows; how many went.
    pub async fn sweep(&self) -> Result<usize, StoreError> {
        self.db.run(|c| short_lived::sweep(c, now_ms())).await
    }
}

/// Single-use values in the fast store, kept in the database while Redis
/// is unreachable (see the module's documentation). From [`FastStore::single_use`].
pub struct SingleUse<'a> {
    fast: &'a FastStore,
}

/// What to do after Redis answered (or did not).
enum Route<T> {
    /// Redis answered and the database holds nothing live: its answer stands.
    Redis(T),
    /// Redis answered; the database may hold the key too.
    Both(T),
    /// Redis is unreachable: the database alone.
    Database,
}

impl FastStore {
    /// The single-use values' view of this store (see [`SingleUse`]).
    pub fn single_use(&self) -> SingleUse<'_> {
        SingleUse { fast: self }
    }

    /// Keeps single-use values in `db` while Redis is unreachable (no effect
    /// on the in-process store).
    pub fn with_database_fallback(self, db: Db) -> FastStore {
        match self {
            FastStore::Redis(r) => FastStore::Redis(r.with_fallback(Arc::new(DbFallback::new(db)))),
            other => other,
        }
    }

    /// Deletes the fallback's expired rows (every node's upkeep); 0 without one.
    pub async fn sweep_fallback(&self) -> Result<usize, StoreError> {
        match self {
            FastStore::Redis(r) => match r.fallback() {
                Some(f) => f.sweep().await,
                None => Ok(0),
            },
            FastStore::Memory(_) => Ok(0),
        }
    }
}

impl SingleUse<'_> {
    /// Where an answer from Redis leads, given the fallback.
    async fn route<T>(&self, redis: &super::RedisStore, f: &DbFallback, answer: Result<T, StoreError>) -> Result<Route<T>, StoreError> {
        match answer {
            Ok(v) if f.maybe_live(redis.outages()).await? => Ok(Route::Both(v)),
            Ok(v) => Ok(Route::Redis(v)),
            Err(StoreError::Cache(_)) if redis.is_down() => Ok(Route::Database),
            Err(e) => Err(e),
        }
    }

    /// Stores `value` under `key` for `ttl`, replacing any previous value.
    pub async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        self.store(key, value, ttl, None).await
    }

    /// [`FastStore::put_evictable`] for a single-use value.
    pub async fn put_evictable(&self, key: &str, value: &str, ttl: Duration, owner: &str) -> Result<(), StoreError> {
        self.store(key, value, ttl, Some(owner)).await
    }

    async fn store(&self, key: &str, value: &str, ttl: Duration, owner: Option<&str>) -> Result<(), StoreError> {
        let (FastStore::Redis(r), Some(f)) = (self.fast, self.fallback()) else {
            return match owner {
                Some(o) => self.fast.put_evictable(key, value, ttl, o).await,
                None => self.fast.put(key, value, ttl).await,
            };
        };
        let answer = match owner {
            Some(o) => r.put_evictable(key, value, ttl, o, false).await.map(|_| ()),
            None => r.put(key, value, ttl).await,
        };
        match answer {
            Ok(()) => Ok(()),
            Err(StoreError::Cache(_)) if r.is_down() => {
                fell_back("put");
                f.put(key, value, ttl, owner).await
            }
            Err(e) => Err(e),
        }
    }

    /// Stores only if the key is absent (the first one wins); whether this
    /// call stored it.
    pub async fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.store_if_absent(key, value, ttl, None).await
    }

    /// [`FastStore::put_evictable_if_absent`] for a single-use value.
    pub async fn put_evictable_if_absent(&self, key: &str, value: &str, ttl: Duration, owner: &str) -> Result<bool, StoreError> {
        self.store_if_absent(key, value, ttl, Some(owner)).await
    }

    async fn store_if_absent(&self, key: &str, value: &str, ttl: Duration, owner: Option<&str>) -> Result<bool, StoreError> {
        let (FastStore::Redis(r), Some(f)) = (self.fast, self.fallback()) else {
            return match owner {
                Some(o) => self.fast.put_evictable_if_absent(key, value, ttl, o).await,
                None => self.fast.put_if_absent(key, value, ttl).await,
            };
        };
        let answer = match owner {
            Some(o) => r.put_evictable(key, value, ttl, o, true).await,
            None => r.put_if_absent(key, value, ttl).await,
        };
        match self.route(r, f, answer).await? {
            Route::Redis(stored) => Ok(stored),
            Route::Both(false) => Ok(false),
            Route::Both(true) => {
                if f.get(key).await?.is_some() {
                    // The database had it first (from the outage): it wins.
                    r.delete(key).await?;
                    return Ok(false);
                }
                Ok(true)
            }
            Route::Database => {
                fell_back("put_if_absent");
                f.insert_if_absent(key, value, ttl, owner).await
            }
        }
    }

    /// A replay marker: `true` the first time `key` is seen within `ttl`,
    /// on any node, before, during or after an outage (written to Redis and,
    /// with a fallback, always to the database too).
    pub async fn first_use(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (FastStore::Redis(r), Some(f)) = (self.fast, self.fallback()) else { return self.fast.put_if_absent(key, "1", ttl).await };
        let in_redis = match r.put_if_absent(key, "1", ttl).await {
            Ok(new) => new,
            Err(StoreError::Cache(_)) if r.is_down() => {
                fell_back("first_use");
                true
            }
            Err(e) => return Err(e),
        };
        if !in_redis {
            return Ok(false);
        }
        f.insert_marker(key, ttl).await
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let (FastStore::Redis(r), Some(f)) = (self.fast, self.fallback()) else { return self.fast.get(key).await };
        let answer = r.get(key).await;
        match self.route(r, f, answer).await? {
            Route::Redis(v) | Route::Both(v @ Some(_)) => Ok(v),
            Route::Both(None) => Ok(f.get(key).await?.filter(|v| !v.starts_with(SPENT_PREFIX))),
            Route::Database => {
                fell_back("get");
                Ok(f.get(key).await?.filter(|v| !v.starts_with(SPENT_PREFIX)))
            }
        }
    }

    /// Gets and deletes at once: at most one caller, on any node, sees the value.
    pub async fn take(&self, key: &str) -> Result<Option<String>, StoreError> {
        let (FastStore::Redis(r), Some(f)) = (self.fast, self.fallback()) else { return self.fast.take(key).await };
        let answer = r.take(key).await;
        match self.route(r, f, answer).await? {
            Route::Redis(v) => Ok(v),
            Route::Both(v) => Ok(match (v, f.claim(key, SPENT_PREFIX).await?) {
                // Spent during the outage: the copy Redis kept is stale.
                (Some(_), Claimed::Spent(_)) => None,
                (Some(v), _) => Some(v),
                (None, Claimed::Fresh(v)) => Some(v),
                (None, _) => None,
            }),
            Route::Database => {
                fell_back("take");
                Ok(match f.claim(key, SPENT_PREFIX).await? {
                    Claimed::Fresh(v) => Some(v),
                    Claimed::Spent(_) | Claimed::Absent => None,
                })
            }
        }
    }

    /// [`FastStore::spend`]: what the key held (a spent value if it had been
    /// spent), and it is spent now.
    pub async fn spend(&self, key: &str, spent_value: &str, ttl: Duration) -> Result<Option<String>, StoreError> {
        let (FastStore::Redis(r), Some(f)) = (self.fast, self.fallback()) else { return self.fast.spend(key, spent_value, ttl).await };
        let answer = r.spend(key, spent_value, ttl, SPENT_PREFIX).await;
        match self.route(r, f, answer).await? {
            Route::Redis(v) => Ok(v),
            Route::Both(v) => Ok(match (v, f.claim(key, spent_value).await?) {
                (_, Claimed::Spent(earlier)) => Some(earlier),
                (Some(v), _) => Some(v),
                (None, Claimed::Fresh(v)) => Some(v),
                (None, Claimed::Absent) => None,
            }),
            Route::Database => {
                fell_back("spend");
                Ok(match f.claim(key, spent_value).await? {
                    Claimed::Fresh(v) | Claimed::Spent(v) => Some(v),
                    Claimed::Absent => None,
                })
            }
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let (FastStore::Redis(r), Some(f)) = (self.fast, self.fallback()) else { return self.fast.delete(key).await };
        let answer = r.delete(key).await;
        match self.route(r, f, answer).await? {
            Route::Redis(()) => Ok(()),
            Route::Both(()) => f.delete(key).await,
            Route::Database => {
                fell_back("delete");
                f.delete(key).await
            }
        }
    }

    fn fallback(&self) -> Option<&DbFallback> {
        match self.fast {
            FastStore::Redis(r) => r.fallback(),
            FastStore::Memory(_) => None,
        }
    }
}
