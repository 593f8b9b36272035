//! The in-process fallback: a mutex-guarded map with per-entry expiry.
//!
//! Entries anyone can create without signing in (pending authorization
//! requests, passkey ceremonies) are stored *evictable*: they share a byte
//! budget, each counted against its *owner* (the client address that made
//! it). When the budget is exceeded, the oldest entry of the heaviest owner
//! goes first: a flood from one address evicts its own requests, not anyone
//! else's, and no address is refused while memory remains. Everything else
//! (revocation markers, codes, counters) is never evicted, so memory pressure
//! can never un-revoke a token.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Sweep expired entries once the map has grown by this many inserts, so an
/// idle key can never keep memory forever.
const SWEEP_EVERY: u64 = 1024;
/// Evictable entries may hold at most this many bytes (see [`entry_size`]) in
/// one process: about 11,000 parked authorization requests at their largest
/// (every parameter is length-capped; ~6 KiB counted), 65,000 of a usual size
/// (~1 KiB), far more than one node serves in the 10 minutes they live, and a
/// bound an unauthenticated flood cannot exceed (docs/RELIABILITY.md,
/// "Parked requests").
pub const DEFAULT_EVICTABLE_BUDGET: usize = 64 * 1024 * 1024;
/// What one evictable entry costs beyond its key and value bytes, counted in
/// the budget. Counting only key + value undercounted small entries up to
/// ~6× (issue #24, finding 17). Measured with 200,000 entries of 56-byte keys
/// and 400-byte values (RSS before/after, release build, glibc malloc): 295
/// bytes per entry beyond key + value, of which the key's second copy (56,
/// the owner's eviction queue) is counted separately in [`entry_size`]. The
/// rest (~240): the hash map's slot (key `String` + [`Entry`], 96 bytes, at
/// a load factor of 7/16 to 7/8 after growth), the eviction queue's slot
/// (`(String, u64)`, 32 bytes, up to 2× after growth), and glibc's header
/// and 16-byte rounding on each of the three heap blocks (the key twice, the
/// value). Rounded up.
pub const ENTRY_OVERHEAD: usize = 256;

/// What one owner (client address) costs while it has evictable entries,
/// counted in the budget too: a flood from many addresses, one entry each,
/// costs this per address on top of its entries. Measured (same run as
/// [`ENTRY_OVERHEAD`], one owner per entry): ~290 bytes more per entry — the
/// owner map's slot and [`Owner`] (its queue), the shared name (`Arc<str>`),
/// its node in the weights. Rounded up.
pub const OWNER_OVERHEAD: usize = 320;

/// Bytes an evictable entry is counted as: the key twice (the map and the
/// owner's eviction queue each hold a copy), the value, and [`ENTRY_OVERHEAD`].
pub fn entry_size(key: &str, value: &str) -> usize {
    2 * key.len() + value.len() + ENTRY_OVERHEAD
}

/// Where an evictable entry stands in the eviction order.
struct Tag {
    seq: u64,
    owner: Arc<str>,
    size: usize,
}

struct Entry {
    value: String,
    exp: Instant,
    /// `Some` for evictable entries.
    evictable: Option<Tag>,
}

/// The evictable entries of one owner (client address).
#[derive(Default)]
struct Owner {
    /// Bytes of its live entries ([`entry_size`]) and [`OWNER_OVERHEAD`].
    bytes: usize,
    /// How many live entries it has.
    live: usize,
    /// Its entries, oldest first (may hold stale pairs of replaced keys).
    queue: VecDeque<(String, u64)>,
}

struct Inner {
    map: HashMap<String, Entry>,
    inserts: u64,
    owners: HashMap<Arc<str>, Owner>,
    /// `(bytes, owner)` of every owner with live evictable entries: the heaviest last.
    weights: BTreeSet<(usize, Arc<str>)>,
    seq: u64,
    evictable_bytes: usize,
    budget: usize,
}

impl Inner {
    fn new(budget: usize) -> Inner {
        Inner { map: HashMap::new(), inserts: 0, owners: HashMap::new(), weights: BTreeSet::new(), seq: 0, evictable_bytes: 0, budget }
    }

    fn remove(&mut self, key: &str) -> Option<Entry> {
        let e = self.map.remove(key)?;
        if let Some(tag) = &e.evictable {
            self.evictable_bytes -= tag.size;
            self.unaccount(tag);
        }
        Some(e)
    }

    /// Takes a removed entry off its owner's account.
    fn unaccount(&mut self, tag: &Tag) {
        let Some(o) = self.owners.get_mut(&tag.owner) else {
            return;
        };
        self.weights.remove(&(o.bytes, tag.owner.clone()));
        o.bytes = o.bytes.saturating_sub(tag.size);
        o.live = o.live.saturating_sub(1);
        if o.live == 0 {
            self.evictable_bytes = self.evictable_bytes.saturating_sub(o.bytes);
            self.owners.remove(&tag.owner);
            return;
        }
        self.weights.insert((o.bytes, tag.owner.clone()));
        // Stale pairs (entries taken or replaced) must not pile up either.
        if o.queue.len() > 2 * o.live + 16 {
            let map = &self.map;
            o.queue.retain(|(k, seq)| map.get(k).and_then(|e| e.evictable.as_ref()).is_some_and(|t| t.seq == *seq));
        }
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

    /// Stores `value`; `owner` is `Some` for an evictable entry.
    fn insert(&mut self, key: &str, value: String, exp: Instant, now: Instant, owner: Option<&str>) {
        self.inserts += 1;
        if self.inserts.is_multiple_of(SWEEP_EVERY) {
            let expired: Vec<String> = self.map.iter().filter(|(_, e)| e.exp <= now).map(|(k, _)| k.clone()).collect();
            for k in expired {
                self.remove(&k);
            }
        }
        self.remove(key);
        let tag = owner.map(|owner| {
            self.seq += 1;
            let size = entry_size(key, &value);
            self.evictable_bytes += size;
            let owner: Arc<str> = match self.owners.get_key_value(owner) {
                Some((name, _)) => name.clone(),
                None => Arc::from(owner),
            };
            let o = self.owners.entry(owner.clone()).or_default();
            if o.live == 0 {
                // A new owner: it costs memory of its own.
                o.bytes = OWNER_OVERHEAD;
                self.evictable_bytes += OWNER_OVERHEAD;
            }
            self.weights.remove(&(o.bytes, owner.clone()));
            o.bytes += size;
            o.live += 1;
            o.queue.push_back((key.to_string(), self.seq));
            self.weights.insert((o.bytes, owner.clone()));
            Tag { seq: self.seq, owner, size }
        });
        let evictable = tag.is_some();
        self.map.insert(key.to_string(), Entry { value, exp, evictable: tag });
        if evictable {
            self.evict();
        }
    }

    /// Drops the oldest entry of the heaviest owner until the budget holds.
    fn evict(&mut self) {
        while self.evictable_bytes > self.budget {
            let Some((_, heaviest)) = self.weights.last().cloned() else {
                break;
            };
            let Some(o) = self.owners.get_mut(&heaviest) else {
                self.weights.retain(|(_, name)| *name != heaviest);
                continue;
            };
            let map = &self.map;
            let mut victim = None;
            while let Some((k, seq)) = o.queue.pop_front() {
                if map.get(&k).and_then(|e| e.evictable.as_ref()).is_some_and(|t| t.seq == seq) {
                    victim = Some(k);
                    break;
                }
            }
            match victim {
                Some(k) => {
                    self.remove(&k);
                }
                // Cannot happen (every live entry is in its owner's queue);
                // never loop on it.
                None => break,
            }
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
        self.lock().insert(key, value.to_string(), now + ttl, now, None);
    }

    /// Stores an evictable entry, counted against `owner` (a client address).
    pub fn put_evictable(&self, key: &str, value: &str, ttl: Duration, owner: &str) {
        let now = Instant::now();
        self.lock().insert(key, value.to_string(), now + ttl, now, Some(owner));
    }

    pub fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> bool {
        self.insert_if_absent(key, value, ttl, None)
    }

    pub fn put_evictable_if_absent(&self, key: &str, value: &str, ttl: Duration, owner: &str) -> bool {
        self.insert_if_absent(key, value, ttl, Some(owner))
    }

    fn insert_if_absent(&self, key: &str, value: &str, ttl: Duration, owner: Option<&str>) -> bool {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.live(key, now) {
            return false;
        }
        inner.insert(key, value.to_string(), now + ttl, now, owner);
        true
    }

    pub fn put_unless(&self, key: &str, value: &str, ttl: Duration, unless: &str) -> bool {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.live(key, now) && inner.map.get(key).is_some_and(|e| e.value == unless) {
            return false;
        }
        inner.insert(key, value.to_string(), now + ttl, now, None);
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
            inner.insert(key, spent_value.to_string(), now + ttl, now, None);
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
        inner.insert(key, count.to_string(), exp, now, None);
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

    /// Bytes held by `owner`'s evictable entries.
    pub fn evictable_bytes_of(&self, owner: &str) -> usize {
        self.lock().owners.get(owner).map_or(0, |o| o.bytes)
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
            m.put_evictable(&format!("authz:{i}"), &big, ttl, "198.51.100.1");
            assert!(m.evictable_bytes() <= 10_000);
        }
        assert_eq!(m.get("revoked:jti").as_deref(), Some("1"), "non-evictable entries survive any flood");
        assert!(m.get("authz:999").is_some(), "the newest stay");
        assert!(m.get("authz:0").is_none(), "the oldest went first");
        let queued: usize = m.lock().owners.values().map(|o| o.queue.len()).sum();
        assert!(queued < 100, "the eviction queues are bounded too: {queued}");
    }

    /// Finding 17 of issue #24: the budget counted only key and value bytes,
    /// so small entries held several times the budget in real memory.
    #[test]
    fn the_budget_counts_each_entrys_overhead() {
        // The map's and the queue's slots alone are within the overhead.
        assert!(ENTRY_OVERHEAD >= std::mem::size_of::<(String, Entry)>() + std::mem::size_of::<(String, u64)>());
        let budget = 100_000;
        let one = entry_size("pk:00000", "{}");
        let m = MemoryStore::with_budget(budget);
        let ttl = Duration::from_secs(60);
        for i in 0..10_000 {
            m.put_evictable(&format!("pk:{i:05}"), "{}", ttl, "198.51.100.1");
        }
        let live = (0..10_000).filter(|i| m.get(&format!("pk:{i:05}")).is_some()).count();
        // Key (8) + value (2) alone would let 10,000 fit.
        assert_eq!(live, (budget - OWNER_OVERHEAD) / one, "as many as the budget holds with their overhead");
        assert!(live <= budget / ENTRY_OVERHEAD);
        assert_eq!(m.evictable_bytes(), live * one + OWNER_OVERHEAD, "the count is exact");
        for i in 0..10_000 {
            m.take(&format!("pk:{i:05}"));
        }
        assert_eq!(m.evictable_bytes(), 0, "taking an entry gives its bytes back");
        {
            let inner = m.lock();
            assert!(inner.owners.is_empty() && inner.weights.is_empty(), "and forgets its owner");
        }
        // One entry per address: each address counts too.
        let spread = MemoryStore::with_budget(budget);
        for i in 0..1_000 {
            spread.put_evictable(&format!("pk:{i:05}"), "{}", ttl, &format!("2001:db8::{i:x}"));
        }
        assert_eq!(spread.lock().owners.len(), budget / (one + OWNER_OVERHEAD));
    }

    /// Finding 34 of issue #24: a flood from one address evicts that
    /// address's own oldest entries, never another's.
    #[test]
    fn a_flood_evicts_the_heaviest_owners_oldest_entries_first() {
        let value = "v".repeat(500);
        let one = entry_size("authz:attacker:00000", &value);
        let m = MemoryStore::with_budget(100 * one);
        let ttl = Duration::from_secs(60);
        for i in 0..10 {
            m.put_evictable(&format!("authz:attacker:{i:05}"), &value, ttl, "203.0.113.66");
        }
        for i in 0..30 {
            m.put_evictable(&format!("authz:office__:{i:05}"), &value, ttl, "198.51.100.7");
        }
        for i in 10..20_000 {
            m.put_evictable(&format!("authz:attacker:{i:05}"), &value, ttl, "203.0.113.66");
            assert!(m.evictable_bytes() <= 100 * one);
        }
        for i in 0..30 {
            assert!(m.get(&format!("authz:office__:{i:05}")).is_some(), "the office's request {i} survives the flood");
        }
        assert!(m.get("authz:attacker:19999").is_some(), "the flood's newest stay");
        assert!(m.get("authz:attacker:00000").is_none(), "its oldest went first");
        assert_eq!(m.evictable_bytes_of("198.51.100.7"), 30 * one + OWNER_OVERHEAD, "all the office's, and the office itself");
        let kept = (100 * one - 2 * OWNER_OVERHEAD) / one - 30;
        assert_eq!(m.evictable_bytes_of("203.0.113.66"), kept * one + OWNER_OVERHEAD, "the flood keeps what is left");
    }

    /// Many requests from one address are all kept while the budget holds:
    /// no address is refused or evicted for being busy.
    #[test]
    fn a_busy_owner_keeps_everything_while_the_budget_holds() {
        let m = MemoryStore::with_budget(DEFAULT_EVICTABLE_BUDGET);
        let ttl = Duration::from_secs(60);
        let value = "v".repeat(1_000);
        for i in 0..20_000 {
            m.put_evictable(&format!("authz:{i}"), &value, ttl, "198.51.100.7");
        }
        assert!((0..20_000).all(|i| m.get(&format!("authz:{i}")).is_some()));
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
