//! The Redis-backed fast store, shared by every node.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use crate::error::StoreError;

const PUT_UNLESS: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1"#;

const SPEND: &str = r#"
local v = redis.call('GET', KEYS[1])
if not v then return false end
if string.sub(v, 1, string.len(ARGV[3])) ~= ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return v"#;

const DECREMENT: &str = r#"
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v and v > 0 then redis.call('DECR', KEYS[1]) end
return 0"#;

/// GCRA (generic cell rate algorithm) in one atomic step on the server's
/// clock, so every node shares one bucket per key. KEYS[1] holds the
/// "theoretical arrival time" in microseconds; ARGV: emission interval and
/// burst tolerance (µs). Returns 0 when allowed, else the µs to wait.
const GCRA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
if tat - now > tolerance then return math.floor(tat - now - tolerance) end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 1000)
return 0"#;

/// Stores an evictable entry (see [`super::FastStore::put_evictable`]) and
/// keeps every evictable entry within a budget shared by all nodes, evicting
/// the oldest entry of the heaviest owner (client address) first.
/// KEYS[1] the entry, KEYS[2] the owners' weights (a sorted set: owner →
/// bytes), KEYS[3] this owner's entries (a sorted set: `size|key` → expiry
/// ms), KEYS[4] the total of the weights. ARGV: value, TTL ms, owner, size,
/// budget, the prefix of owners' entry sets, `1` to store only if absent.
/// An entry counts until it expires (taken early, it is still counted: an
/// overestimate bounded by its TTL); expired ones are dropped from an owner's
/// account when it stores again or is the heaviest (an owner's set expires
/// with its last entry, and its weight is dropped then). Returns 1 if stored.
const PARK: &str = r#"
if ARGV[7] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local function prune(q, owner)
  local dead = redis.call('ZRANGEBYSCORE', q, '-inf', now)
  if #dead == 0 then return end
  local freed = 0
  for _, m in ipairs(dead) do freed = freed + tonumber(string.match(m, '^(%d+)|')) end
  redis.call('ZREMRANGEBYSCORE', q, '-inf', now)
  local left = tonumber(redis.call('ZINCRBY', KEYS[2], -freed, owner))
  redis.call('DECRBY', KEYS[4], freed)
  if left <= 0 then redis.call('ZREM', KEYS[2], owner) end
end
-- An owner's set expires with its last entry: whatever weight it still
-- had was of expired entries.
if redis.call('EXISTS', KEYS[3]) == 0 then
  local stale = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[3]) or '0')
  if stale > 0 then
    redis.call('ZREM', KEYS[2], ARGV[3])
    redis.call('DECRBY', KEYS[4], stale)
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
prune(KEYS[3], ARGV[3])
if redis.call('ZADD', KEYS[3], now + ttl, ARGV[4] .. '|' .. KEYS[1]) == 1 then
  redis.call('ZINCRBY', KEYS[2], ARGV[4], ARGV[3])
  redis.call('INCRBY', KEYS[4], ARGV[4])
end
if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
local budget = tonumber(ARGV[5])
for _ = 1, 1000 do
  if tonumber(redis.call('GET', KEYS[4]) or '0') <= budget then break end
  local top = redis.call('ZREVRANGE', KEYS[2], 0, 0)
  if #top == 0 then redis.call('SET', KEYS[4], 0) break end
  local owner = top[1]
  local q = ARGV[6] .. owner
  prune(q, owner)
  local oldest = redis.call('ZRANGE', q, 0, 0)
  if #oldest == 0 then
    local w = tonumber(redis.call('ZSCORE', KEYS[2], owner) or '0')
    redis.call('ZREM', KEYS[2], owner)
    redis.call('DECRBY', KEYS[4], w)
  else
    local size, key = string.match(oldest[1], '^(%d+)|(.*)$')
    redis.call('ZREM', q, oldest[1])
    redis.call('DEL', key)
    local left = tonumber(redis.call('ZINCRBY', KEYS[2], -tonumber(size), owner))
    redis.call('DECRBY', KEYS[4], size)
    if left <= 0 then redis.call('ZREM', KEYS[2], owner) end
  end
end
return 1"#;

/// What one evictable entry costs Redis beyond its key and value bytes,
/// counted in the shared budget: the key's object and expiry (~70 bytes), its
/// member in the owner's sorted set (the key again, the size, ~60 bytes of
/// skip-list and hash entry). Rounded up.
pub const REDIS_ENTRY_OVERHEAD: usize = 192;

/// Evictable entries may hold at most this many bytes in Redis, across every
/// node: four times the in-process budget.
pub const SHARED_EVICTABLE_BUDGET: usize = 256 * 1024 * 1024;

/// A cloneable, auto-reconnecting Redis connection with a key prefix.
#[derive(Clone)]
pub struct RedisStore {
    /// Made at start-up, on the main runtime; serves a thread until it has
    /// a connection of its own, and whenever Redis is down.
    conn: ConnectionManager,
    lanes: Arc<Lanes>,
    prefix: String,
    breaker: Arc<Breaker>,
    /// Bytes evictable entries may hold ([`SHARED_EVICTABLE_BUDGET`]).
    evictable_budget: usize,
    /// Where single-use values go while Redis is unreachable (issue #31).
    fallback: Option<Arc<super::single_use::DbFallback>>,
    /// Where counters (rate limits, throttles) count while Redis is
    /// unreachable: on this node, as one node would.
    local: super::MemoryStore,
}

/// A connection per thread, driven by that thread's runtime. The shared
/// connection is driven by the main runtime's threads, so every call from an
/// actix worker crossed threads twice (a wake-up there, a wake-up back): one
/// rate-limit check per token request (issue #17).
struct Lanes {
    client: redis::Client,
    config: redis::aio::ConnectionManagerConfig,
    by_thread: Mutex<HashMap<ThreadId, ConnectionManager>>,
}

/// Threads with a connection of their own, at most: a node's runtimes have a
/// few threads each; any further thread uses the shared connection.
const MAX_LANES: usize = 64;

/// After Redis fails to answer (refused, dropped, timed out), calls fail at
/// once for this long instead of each spending up to a timeout and retries on
/// a server that is down: callers fall back to the database at full speed,
/// and one call per second finds out whether Redis is back.
const DOWN_BACKOFF: Duration = Duration::from_secs(1);

/// How long the one probe after a back-off waits for Redis (a new
/// connection and a `PING`): refused at once when Redis is stopped, this
/// long when its network is cut. Far below [`REDIS_CALL_TIMEOUT`] because
/// the probe is paid by a request.
const PROBE_TIMEOUT: Duration = Duration::from_millis(100);

/// Writes that could not reach Redis and must land when it is back
/// (revocation tombstones); beyond this many the oldest are dropped, and the
/// database copy (reloaded when the fast store lost its marker) remains.
const MAX_QUEUED_WRITES: usize = 100_000;

/// The circuit breaker and the writes queued while Redis was unreachable.
///
/// Closed: every call goes to Redis. A call that finds Redis unreachable
/// trips it: for [`DOWN_BACKOFF`] every call fails at once (its caller falls
/// back). Then one call, and only one, probes ([`PROBE_TIMEOUT`], on a
/// connection of its own) while the others keep failing at once; a probe
/// that is answered closes the breaker, one that is not trips it again. So an
/// outage costs one bounded probe per node per back-off, not one timeout per
/// request (issue #31: p99 during the outage).
#[derive(Default)]
struct Breaker {
    /// Milliseconds since `since` until which Redis counts as down.
    down_until_ms: AtomicU64,
    since: OnceLock<Instant>,
    /// Tripped and not yet probed back.
    tripped: AtomicBool,
    /// A call is probing now.
    probing: AtomicBool,
    /// How many times Redis was found unreachable (after being reachable).
    outages: AtomicU64,
    /// `(key, value, expires at)`, written in order once Redis answers.
    queued: Mutex<VecDeque<(String, String, Instant)>>,
}

impl Breaker {
    fn now_ms(&self) -> u64 {
        self.since.get_or_init(Instant::now).elapsed().as_millis() as u64
    }

    fn is_open(&self) -> bool {
        self.tripped.load(Ordering::Acquire)
    }

    fn trip(&self) {
        let until = self.now_ms() + DOWN_BACKOFF.as_millis() as u64;
        if self.down_until_ms.swap(until, Ordering::Relaxed) <= self.now_ms() {
            self.outages.fetch_add(1, Ordering::Relaxed);
        }
        if !self.tripped.swap(true, Ordering::AcqRel) {
            metrics::gauge!("latchkey_redis_up").set(0.0);
            tracing::warn!(backoff_ms = DOWN_BACKOFF.as_millis() as u64, "redis unreachable; serving from the database, retrying shortly");
        }
    }

    /// Whether this call is the one to probe (the back-off is over and
    /// nobody else is probing).
    fn claim_probe(&self) -> bool {
        self.now_ms() >= self.down_until_ms.load(Ordering::Relaxed) && self.probing.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// The probe's outcome.
    fn probed(&self, answered: bool) {
        if answered {
            self.tripped.store(false, Ordering::Release);
            metrics::gauge!("latchkey_redis_up").set(1.0);
            tracing::info!("redis answers again");
        } else {
            self.trip();
        }
        self.probing.store(false, Ordering::Release);
    }

    fn queue(&self, key: String, value: String, ttl: Duration) {
        let mut q = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= MAX_QUEUED_WRITES {
            q.pop_front();
        }
        q.push_back((key, value, Instant::now() + ttl));
    }

    fn has_queued(&self) -> bool {
        !self.queued.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }
}

/// Whether an error says Redis could not be reached (as opposed to an answer
/// it gave, such as a script error).
fn unreachable(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal()
}

/// How long any one Redis command may take (a healthy one answers in well
/// under a millisecond here).
const REDIS_CALL_TIMEOUT: Duration = Duration::from_millis(500);

fn ttl_ms(ttl: Duration) -> u64 {
    (ttl.as_millis() as u64).max(1)
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url)?;
        // Every call is bounded: a Redis that stops answering costs a request
        // half a second, not the OS's TCP timeout; reconnects are retried a
        // few times, quickly, then the call fails (503) instead of hanging.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(REDIS_CALL_TIMEOUT))
            .set_connection_timeout(Some(REDIS_CALL_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(std::time::Duration::from_millis(200));
        let conn = ConnectionManager::new_with_config(client.clone(), config.clone()).await?;
        let lanes = Arc::new(Lanes { client, config, by_thread: Mutex::new(HashMap::new()) });
        metrics::gauge!("latchkey_redis_up").set(1.0);
        Ok(RedisStore { conn, lanes, prefix: prefix.to_string(), breaker: Arc::default(), evictable_budget: SHARED_EVICTABLE_BUDGET, fallback: None, local: super::MemoryStore::default() })
    }

    pub(super) fn with_fallback(mut self, fallback: Arc<super::single_use::DbFallback>) -> RedisStore {
        self.fallback = Some(fallback);
        self
    }

    pub(super) fn fallback(&self) -> Option<&super::single_use::DbFallback> {
        self.fallback.as_deref()
    }

    /// The counters of this node, used while Redis is unreachable.
    pub(super) fn local(&self) -> &super::MemoryStore {
        &self.local
    }

    /// The same store with another budget for evictable entries (tests).
    pub fn with_evictable_budget(mut self, budget: usize) -> RedisStore {
        self.evictable_budget = budget;
        self
    }

    /// This thread's connection, opened on first use; the shared one while
    /// Redis is down or if this thread's cannot be opened.
    ///
    /// After a back-off, the one call that claims it probes Redis first (see
    /// [`Breaker`]), so it uses a fresh connection when Redis is back.
    async fn conn(&self) -> ConnectionManager {
        if self.breaker.is_open() && self.breaker.claim_probe() {
            let answered = self.probe().await;
            self.breaker.probed(answered);
        }
        if self.breaker.is_open() {
            return self.conn.clone();
        }
        let thread = std::thread::current().id();
        {
            let lanes = self.lanes.by_thread.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = lanes.get(&thread) {
                return c.clone();
            }
            if lanes.len() >= MAX_LANES {
                return self.conn.clone();
            }
        }
        let opened = tokio::time::timeout(REDIS_CALL_TIMEOUT, ConnectionManager::new_with_config(self.lanes.client.clone(), self.lanes.config.clone())).await;
        match opened {
            Ok(Ok(c)) => {
                self.lanes.by_thread.lock().unwrap_or_else(|e| e.into_inner()).insert(thread, c.clone());
                c
            }
            _ => self.conn.clone(),
        }
    }

    /// Runs one Redis call behind the breaker: fails at once while Redis is
    /// known down; trips the breaker when it cannot be reached; writes what
    /// was queued meanwhile before the first call that finds it back.
    ///
    /// Each call is a trace span (issue #31) named by its command `op`; keys
    /// and values are never recorded (they hold hashes of tokens, and some
    /// values are tokens' state).
    async fn guard<T>(&self, op: &'static str, call: impl Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
        if self.breaker.is_open() {
            return Err(StoreError::Cache("redis unreachable (backing off)".into()));
        }
        if self.breaker.has_queued() {
            self.flush_queued().await?;
        }
        let span = tracing::debug_span!(target: "latchkey_trace", "redis", otel.name = op, otel.kind = "client", db.system.name = "redis", db.operation.name = op);
        match tracing::Instrument::instrument(call, span).await {
            Ok(v) => Ok(v),
            Err(e) => {
                if unreachable(&e) {
                    self.breaker.trip();
                    // Reopened after the back-off (one may belong to a
                    // runtime that has ended).
                    self.lanes.by_thread.lock().unwrap_or_else(|e| e.into_inner()).clear();
                }
                Err(e.into())
            }
        }
    }

    /// Whether Redis answers a `PING` on a new connection within [`PROBE_TIMEOUT`].
    async fn probe(&self) -> bool {
        let ping = async {
            let mut c = self.lanes.client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut c).await
        };
        matches!(tokio::time::timeout(PROBE_TIMEOUT, ping).await, Ok(Ok(_)))
    }

    /// Writes the queued entries (still unexpired), oldest first; on failure
    /// the rest stay queued.
    async fn flush_queued(&self) -> Result<(), StoreError> {
        let pending: Vec<_> = self.breaker.queued.lock().unwrap_or_else(|e| e.into_inner()).drain(..).collect();
        let n = pending.len();
        for (i, (key, value, until)) in pending.iter().enumerate() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                continue;
            }
            let mut c = self.conn().await;
            let written = redis::cmd("SET").arg(self.key(key)).arg(value).arg("PX").arg(ttl_ms(left)).query_async::<()>(&mut c).await;
            if let Err(e) = written {
                let mut q = self.breaker.queued.lock().unwrap_or_else(|e| e.into_inner());
                for (k, v, u) in pending.into_iter().skip(i).rev() {
                    q.push_front((k, v, u));
                }
                if unreachable(&e) {
                    self.breaker.trip();
                }
                return Err(e.into());
            }
        }
        tracing::info!(count = n, "redis is back; wrote the entries queued while it was unreachable");
        Ok(())
    }

    /// Like [`RedisStore::put`], but when Redis cannot be reached the entry is
    /// kept and written (before anything else) once it answers again.
    /// Returns whether it was written now.
    pub async fn put_or_queue(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        match self.put(key, value, ttl).await {
            Ok(()) => Ok(true),
            Err(StoreError::Cache(_)) if self.breaker.is_open() => {
                self.breaker.queue(key.to_string(), value.to_string(), ttl);
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// How many outages this node has seen: a caller that trusts what it
    /// read from Redis can re-check after one (see the token service).
    pub fn outages(&self) -> u64 {
        self.breaker.outages.load(Ordering::Relaxed)
    }

    /// Whether Redis is known to be unreachable right now.
    pub fn is_down(&self) -> bool {
        self.breaker.is_open()
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    pub async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        let mut c = self.conn().await;
        self.guard("SET", redis::cmd("SET").arg(self.key(key)).arg(value).arg("PX").arg(ttl_ms(ttl)).query_async::<()>(&mut c)).await?;
        Ok(())
    }

    pub async fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut c = self.conn().await;
        let r: Option<String> = self.guard("SET", redis::cmd("SET").arg(self.key(key)).arg(value).arg("NX").arg("PX").arg(ttl_ms(ttl)).query_async(&mut c)).await?;
        Ok(r.is_some())
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn().await;
        self.guard("GET", redis::cmd("GET").arg(self.key(key)).query_async(&mut c)).await
    }

    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = self.conn().await;
        let mut cmd = redis::cmd("MGET");
        for k in keys {
            cmd.arg(self.key(k));
        }
        self.guard("MGET", cmd.query_async(&mut c)).await
    }

    pub async fn take(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn().await;
        self.guard("GETDEL", redis::cmd("GETDEL").arg(self.key(key)).query_async(&mut c)).await
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let mut c = self.conn().await;
        self.guard("DEL", redis::cmd("DEL").arg(self.key(key)).query_async::<()>(&mut c)).await?;
        Ok(())
    }

    pub async fn incr_window(&self, key: &str, window: Duration) -> Result<i64, StoreError> {
        let mut c = self.conn().await;
        let k = self.key(key);
        let (count, _): (i64, i64) = self.guard("MULTI", redis::pipe().atomic().cmd("INCR").arg(&k).cmd("PEXPIRE").arg(&k).arg(ttl_ms(window)).arg("NX").query_async(&mut c)).await?;
        Ok(count)
    }

    /// Stores an evictable entry counted against `owner` (see [`PARK`]);
    /// `only_if_absent` as `SET NX`. Returns whether it was stored.
    pub async fn put_evictable(&self, key: &str, value: &str, ttl: Duration, owner: &str, only_if_absent: bool) -> Result<bool, StoreError> {
        let full = self.key(key);
        let size = 2 * full.len() + value.len() + REDIS_ENTRY_OVERHEAD;
        let owner: String = owner.chars().filter(|c| !c.is_control()).take(64).collect();
        let queues = self.key("park:q:");
        let mut c = self.conn().await;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(PARK).arg(4).arg(&full).arg(self.key("park:owners")).arg(format!("{queues}{owner}")).arg(self.key("park:total"));
        cmd.arg(value).arg(ttl_ms(ttl)).arg(&owner).arg(size).arg(self.evictable_budget).arg(&queues).arg(if only_if_absent { "1" } else { "0" });
        let stored: i64 = self.guard("EVAL", cmd.query_async(&mut c)).await?;
        Ok(stored == 1)
    }

    /// Runs one of the scripts above on `key` (atomic on the server).
    async fn eval<T: redis::FromRedisValue>(&self, script: &str, key: &str, args: &[&str]) -> Result<T, StoreError> {
        let mut c = self.conn().await;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(script).arg(1).arg(self.key(key));
        for a in args {
            cmd.arg(*a);
        }
        self.guard("EVAL", cmd.query_async(&mut c)).await
    }

    /// `SET` unless the current value is `unless` (one atomic script).
    pub async fn put_unless(&self, key: &str, value: &str, ttl: Duration, unless: &str) -> Result<bool, StoreError> {
        let set: i64 = self.eval(PUT_UNLESS, key, &[value, &ttl_ms(ttl).to_string(), unless]).await?;
        Ok(set == 1)
    }

    /// Returns the current value and, unless it starts with `spent_prefix`,
    /// replaces it with `spent_value` (one atomic script).
    pub async fn spend(&self, key: &str, spent_value: &str, ttl: Duration, spent_prefix: &str) -> Result<Option<String>, StoreError> {
        self.eval(SPEND, key, &[spent_value, &ttl_ms(ttl).to_string(), spent_prefix]).await
    }

    /// One GCRA step for `key`: 0 when allowed, else the microseconds until
    /// the next request would be.
    pub async fn gcra(&self, key: &str, interval_us: u64, tolerance_us: u64) -> Result<u64, StoreError> {
        let wait: i64 = self.eval(GCRA, key, &[&interval_us.to_string(), &tolerance_us.to_string()]).await?;
        Ok(wait.max(0) as u64)
    }

    /// Decrements an existing counter, never below zero, never creating one.
    pub async fn decrement(&self, key: &str) -> Result<(), StoreError> {
        self.eval::<()>(DECREMENT, key, &[]).await
    }

    pub async fn clear(&self) -> Result<(), StoreError> {
        let mut c = self.conn().await;
        let keys: Vec<String> = self.guard("KEYS", redis::cmd("KEYS").arg(format!("{}*", self.prefix)).query_async(&mut c)).await?;
        if !keys.is_empty() {
            self.guard("DEL", redis::cmd("DEL").arg(keys).query_async::<()>(&mut c)).await?;
        }
        Ok(())
    }
}
