//! The in-process fallback: a mutex-guarded map with per-entry expiry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Sweep expired entries once the map has grown by this many inserts, so an
/// idle key can never keep memory forever.
const SWEEP_EVERY: u64 = 1024;

#[derive(Default)]
struct Inner {
    map: HashMap<String, (String, Instant)>,
    inserts: u64,
}

#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the map half-written
        // (every operation is one insert/remove), so a poisoned lock is safe to reuse.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn live(inner: &mut Inner, key: &str, now: Instant) -> bool {
        match inner.map.get(key) {
            Some((_, exp)) if *exp > now => true,
            Some(_) => {
                inner.map.remove(key);
                false
            }
            None => false,
        }
    }

    fn insert(inner: &mut Inner, key: &str, value: String, exp: Instant, now: Instant) {
        inner.inserts += 1;
        if inner.inserts % SWEEP_EVERY == 0 {
            inner.map.retain(|_, (_, e)| *e > now);
        }
        inner.map.insert(key.to_string(), (value, exp));
    }

    pub fn put(&self, key: &str, value: &str, ttl: Duration) {
        let now = Instant::now();
        Self::insert(&mut self.lock(), key, value.to_string(), now + ttl, now);
    }

    pub fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        let mut inner = self.lock();
        if Self::live(&mut inner, key, now) {
            return false;
        }
        Self::insert(&mut inner, key, value.to_string(), now + ttl, now);
        true
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        let mut inner = self.lock();
        if Self::live(&mut inner, key, now) {
            inner.map.get(key).map(|(v, _)| v.clone())
        } else {
            None
        }
    }

    pub fn take(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        let mut inner = self.lock();
        match inner.map.remove(key) {
            Some((v, exp)) if exp > now => Some(v),
            _ => None,
        }
    }

    pub fn incr_window(&self, key: &str, window: Duration) -> i64 {
        let now = Instant::now();
        let mut inner = self.lock();
        let (count, exp) = match inner.map.get(key) {
            Some((v, exp)) if *exp > now => (v.parse::<i64>().unwrap_or(0) + 1, *exp),
            _ => (1, now + window),
        };
        Self::insert(&mut inner, key, count.to_string(), exp, now);
        count
    }

    pub fn clear(&self) {
        self.lock().map.clear();
    }
}
