//! The in-process fallback: a mutex-guarded map with per-entry expiry.
//!
//! Entries anyone can create without signing in (pending authorization
//! requests, passkey ceremonies) are stored *evictable*: they share a byte
//! budget, and the oldest go first when it is exceeded. Everything else
//! (revocation markers, codes, counters) is never evicted, so memory pressure
//! can never un-revoke a token.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Sweep expired entries once the map has grown by this many inserts, so an
/// idle key can never keep memory forever.
const SWEEP_EVERY: u64 = 1024;
/// Evictable entries may hold at most this many bytes (keys + values) in one
/// process: about 16,000 parked authorization requests at their largest
/// (every parameter is length-capped), far more than one node serves in the
/// 10 minutes they live, and a bound an unauthenticated flood cannot exceed.
pub const DEFAULT_EVICTABLE_BUDGET: usize = 64 * 1024 * 1024;

struct Entry {
    value: String,
    exp: Instant,
    /// `Some(seq)` for evictable entries: their place in the eviction order.
    evictable: Option<u64>,
}

fn size(key: &str, value: &str) -> usize {
    key.len() + value.len()
}

struct Inner {
    map: HashMap<String, Entry>,
    inserts: u64,
    /// Evictable entries, oldest first (may hold stale pairs of replaced keys).
    order: VecDeque<(String, u64)>,
    seq: u64,
    evictable_bytes: usize,
    budget: usize,
}

impl Inner {
    fn new(budget: usize) -> Inner {
        Inner { map: HashMap::new(), inserts: 0, order: VecDeque::new(), seq: 0, evictable_bytes: 0, budget }
    }

    fn remove(&mut self, key: &str) -> Option<Entry> {
        let e = self.map.remove(key)?;
        if e.evictable.is_some() {
            self.evictable_bytes -= size(key, &e.value);
        }
        Some(e)
    }

    fn live(&mut self, key: &str, now: Instant) -> bool {
        match self.map.get(key) {
            Some(e) if e.exp > now => true,
            Some(_) => {
                self.remove(key);
                false
            }
            None => false,
        }
    }

    fn insert(&mut self, key: &str, value: String, exp: Instant, now: Instant, evictable: bool) {
        self.inserts += 1;
        if self.inserts % SWEEP_EVERY == 0 {
            let expired: Vec<String> = self.map.iter().filter(|(_, e)| e.exp <= now).map(|(k, _)| k.clone()).collect();
            for k in expired {
                self.remove(&k);
            }
        }
        self.remove(key);
        let tag = evictable.then(|| {
            self.seq += 1;
            self.evictable_bytes += size(key, &value);
            self.order.push_back((key.to_string(), self.seq));
            self.seq
        });
        self.map.insert(key.to_string(), Entry { value, exp, evictable: tag });
        if evictable {
            self.evict();
        }
    }

    /// Drops the oldest evictable entries until the budget holds.
    fn evict(&mut self) {
        while self.evictable_bytes > self.budget {
            let Some((k, seq)) = self.order.pop_front() else { break };
            if self.map.get(&k).is_some_and(|e| e.evictable == Some(seq)) {
                self.remove(&k);
            }
        }
        // Stale pairs (entries taken or replaced) must not pile up either.
        let live = self.map.values().filter(|e| e.evictable.is_some()).count();
        if self.order.len() > 2 * live + 1024 {
            let map = &self.map;
            self.order.retain(|(k, seq)| map.get(k).is_some_and(|e| e.evictable == Some(*seq)));
        }
    }
}

#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_budget(DEFAULT_EVICTABLE_BUDGET)
    }
}

impl MemoryStore {
    /// A store whose evictable entries hold at most `budget` bytes.
    pub fn with_budget(budget: usize) -> MemoryStore {
        MemoryStore { inner: Arc::new(Mutex::new(Inner::new(budget))) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the map half-written
        // (every operation is one insert/remove), so a poisoned lock is safe to reuse.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn put(&self, key: &str, value: &str, ttl: Duration) {
        let now = Instant::now();
        self.lock().insert(key, value.to_string(), now + ttl, now, false);
    }

    pub fn put_evictable(&self, key: &str, value: &str, ttl: Duration) {
        let now = Instant::now();
        self.lock().insert(key, value.to_string(), now + ttl, now, true);
    }

    pub fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> bool {
        self.insert_if_absent(key, value, ttl, false)
    }

    pub fn put_evictable_if_absent(&self, key: &str, value: &str, ttl: Duration) -> bool {
        self.insert_if_absent(key, value, ttl, true)
    }

    fn insert_if_absent(&self, key: &str, value: &str, ttl: Duration, evictable: bool) -> bool {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.live(key, now) {
            return false;
        }
        inner.insert(key, value.to_string(), now + ttl, now, evictable);
        true
    }

    pub fn put_unless(&self, key: &str, value: &str, ttl: Duration, unless: &str) -> bool {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.live(key, now) && inner.map.get(key).is_some_and(|e| e.value == unless) {
            return false;
        }
        inner.insert(key, value.to_string(), now + ttl, now, false);
        true
    }

    pub fn spend(&self, key: &str, spent_value: &str, ttl: Duration, spent_prefix: &str) -> Option<String> {
        let now = Instant::now();
        let mut inner = self.lock();
        if !inner.live(key, now) {
            return None;
        }
        let current = inner.map.get(key).map(|e| e.value.clone())?;
        if !current.starts_with(spent_prefix) {
            inner.insert(key, spent_value.to_string(), now + ttl, now, false);
        }
        Some(current)
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.live(key, now) {
            inner.map.get(key).map(|e| e.value.clone())
        } else {
            None
        }
    }

    pub fn take(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        match self.lock().remove(key) {
            Some(e) if e.exp > now => Some(e.value),
            _ => None,
        }
    }

    pub fn incr_window(&self, key: &str, window: Duration) -> i64 {
        let now = Instant::now();
        let mut inner = self.lock();
        let (count, exp) = match inner.map.get(key) {
            Some(e) if e.exp > now => (e.value.parse::<i64>().unwrap_or(0) + 1, e.exp),
            _ => (1, now + window),
        };
        inner.insert(key, count.to_string(), exp, now, false);
        count
    }

    pub fn decrement(&self, key: &str) {
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some(e) = inner.map.get_mut(key).filter(|e| e.exp > now && e.evictable.is_none()) {
            let n = e.value.parse::<i64>().unwrap_or(0);
            e.value = (n - 1).max(0).to_string();
        }
    }

    pub fn clear(&self) {
        let mut inner = self.lock();
        let budget = inner.budget;
        *inner = Inner::new(budget);
    }

    /// Bytes held by evictable entries (for tests and metrics).
    pub fn evictable_bytes(&self) -> usize {
        self.lock().evictable_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evictable_entries_stay_within_budget_and_others_are_never_evicted() {
        let m = MemoryStore::with_budget(10_000);
        let ttl = Duration::from_secs(60);
        m.put("revoked:jti", "1", ttl);
        let big = "x".repeat(1_000);
        for i in 0..1_000 {
            m.put_evictable(&format!("authz:{i}"), &big, ttl);
            assert!(m.evictable_bytes() <= 10_000);
        }
        assert_eq!(m.get("revoked:jti").as_deref(), Some("1"), "non-evictable entries survive any flood");
        assert!(m.get("authz:999").is_some(), "the newest stay");
        assert!(m.get("authz:0").is_none(), "the oldest went first");
        assert!(m.lock().order.len() < 2_100, "the eviction queue is bounded too");
    }

    #[test]
    fn spend_replaces_once_and_put_unless_respects_the_tombstone() {
        let m = MemoryStore::default();
        let ttl = Duration::from_secs(60);
        m.put("code", "grant", ttl);
        assert_eq!(m.spend("code", "spent:1", ttl, "spent:").as_deref(), Some("grant"));
        assert_eq!(m.spend("code", "spent:2", ttl, "spent:").as_deref(), Some("spent:1"), "the first spend stays");
        assert_eq!(m.get("code").as_deref(), Some("spent:1"));
        assert_eq!(m.spend("missing", "spent:", ttl, "spent:"), None);
        m.put("s", "revoked", ttl);
        assert!(!m.put_unless("s", "live", ttl, "revoked"));
        assert_eq!(m.get("s").as_deref(), Some("revoked"));
        assert!(m.put_unless("t", "live", ttl, "revoked"));
    }

    #[test]
    fn decrement_floors_at_zero_and_ignores_missing_keys() {
        let m = MemoryStore::default();
        let w = Duration::from_secs(60);
        m.decrement("n");
        assert_eq!(m.get("n"), None);
        m.incr_window("n", w);
        m.decrement("n");
        m.decrement("n");
        assert_eq!(m.get("n").as_deref(), Some("0"));
    }
}
