//! Short-lived hot state: Redis when configured, otherwise an in-process map.
//!
//! Everything here has a TTL and may be lost on restart without breaking an
//! invariant: durable state (users, clients, sessions, keys) lives in the database.
//! Keys are namespaced by a prefix so several deployments (or test runs) can
//! share one Redis.

mod memory;
mod redis_store;
mod single_use;

use std::time::Duration;

use crate::error::StoreError;
pub use memory::{entry_size, MemoryStore, DEFAULT_EVICTABLE_BUDGET, ENTRY_OVERHEAD, OWNER_OVERHEAD};
pub use redis_store::{RedisStore, REDIS_ENTRY_OVERHEAD, SHARED_EVICTABLE_BUDGET};
pub use single_use::{DbFallback, SingleUse, MAX_PARKED_PER_OWNER};

/// Counts a counter that was kept on this node because Redis was
/// unreachable: rate limits and throttles then count per node.
fn counted_on_node(op: &'static str) {
    metrics::counter!("latchkey_fast_store_fallback_total", "to" => "node", "op" => op).increment(1);
    metrics::counter!("latchkey_rate_limit_fallback_total").increment(1);
}

/// What a spent single-use value starts with (see [`FastStore::spend`]).
pub const SPENT_PREFIX: &str = "spent:";

#[derive(Clone)]
pub enum FastStore {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl FastStore {
    pub fn memory() -> FastStore {
        FastStore::Memory(MemoryStore::default())
    }

    pub async fn redis(url: &str, prefix: &str) -> Result<FastStore, StoreError> {
        Ok(FastStore::Redis(RedisStore::connect(url, prefix).await?))
    }

    /// One GCRA rate-limit step in the shared store: `Some(0)` allowed,
    /// `Some(µs)` refused for that long; `None` for the in-process store,
    /// whose callers count in process (one node).
    pub async fn gcra(&self, key: &str, interval_us: u64, tolerance_us: u64) -> Result<Option<u64>, StoreError> {
        match self {
            FastStore::Memory(_) => Ok(None),
            FastStore::Redis(r) => r.gcra(key, interval_us, tolerance_us).await.map(Some),
        }
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, FastStore::Redis(_))
    }

    /// Stores `value` under `key` for `ttl`, replacing any previous value.
    pub async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        match self {
            FastStore::Memory(m) => {
                m.put(key, value, ttl);
                Ok(())
            }
            FastStore::Redis(r) => r.put(key, value, ttl).await,
        }
    }

    /// Like [`FastStore::put`], for entries that must reach the shared store
    /// even if Redis is unreachable now (revocation tombstones whose durable
    /// copy is already written): they are queued on this node and written
    /// before anything else once Redis answers. Returns whether it was written now.
    pub async fn put_or_queue(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        match self {
            FastStore::Memory(m) => {
                m.put(key, value, ttl);
                Ok(true)
            }
            FastStore::Redis(r) => r.put_or_queue(key, value, ttl).await,
        }
    }

    /// How many times this node found the shared store unreachable.
    pub fn outages(&self) -> u64 {
        match self {
            FastStore::Memory(_) => 0,
            FastStore::Redis(r) => r.outages(),
        }
    }

    /// Whether the shared store is known to be unreachable right now (its
    /// callers then serve from the database).
    pub fn is_down(&self) -> bool {
        match self {
            FastStore::Memory(_) => false,
            FastStore::Redis(r) => r.is_down(),
        }
    }

    /// Like [`FastStore::put`], for entries anyone can create without signing
    /// in (pending requests, ceremonies): they share a byte budget (per
    /// process in memory, shared in Redis), each counted against its `owner`
    /// (the client address that made it); over the budget, the oldest entry
    /// of the heaviest owner is evicted first, so a flood from one address
    /// evicts its own entries and no address is refused for being busy.
    pub async fn put_evictable(&self, key: &str, value: &str, ttl: Duration, owner: &str) -> Result<(), StoreError> {
        match self {
            FastStore::Memory(m) => {
                m.put_evictable(key, value, ttl, owner);
                Ok(())
            }
            FastStore::Redis(r) => r.put_evictable(key, value, ttl, owner, false).await.map(|_| ()),
        }
    }

    /// Stores `value` unless the key currently holds `unless` (atomically):
    /// refreshing a cached copy never overwrites a revocation tombstone.
    pub async fn put_unless(&self, key: &str, value: &str, ttl: Duration, unless: &str) -> Result<bool, StoreError> {
        match self {
            FastStore::Memory(m) => Ok(m.put_unless(key, value, ttl, unless)),
            FastStore::Redis(r) => r.put_unless(key, value, ttl, unless).await,
        }
    }

    /// Spends a single-use value in one atomic step: returns what the key
    /// held and, unless that was already spent (starts with [`SPENT_PREFIX`]),
    /// replaces it with `spent_value` (which must start with it).
    pub async fn spend(&self, key: &str, spent_value: &str, ttl: Duration) -> Result<Option<String>, StoreError> {
        debug_assert!(spent_value.starts_with(SPENT_PREFIX));
        match self {
            FastStore::Memory(m) => Ok(m.spend(key, spent_value, ttl, SPENT_PREFIX)),
            FastStore::Redis(r) => r.spend(key, spent_value, ttl, SPENT_PREFIX).await,
        }
    }

    /// Gives back one reservation of a window counter (never below zero).
    pub async fn decrement(&self, key: &str) -> Result<(), StoreError> {
        match self {
            FastStore::Memory(m) => {
                m.decrement(key);
                Ok(())
            }
            FastStore::Redis(r) => match r.decrement(key).await {
                Err(StoreError::Cache(_)) if r.is_down() => {
                    counted_on_node("decrement");
                    r.local().decrement(key);
                    Ok(())
                }
                other => other,
            },
        }
    }

    /// Stores only if the key is absent. Returns whether this call stored it
    /// (the atomic "first one wins" primitive).
    pub async fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        match self {
            FastStore::Memory(m) => Ok(m.put_if_absent(key, value, ttl)),
            FastStore::Redis(r) => r.put_if_absent(key, value, ttl).await,
        }
    }

    /// [`FastStore::put_if_absent`] for entries anyone can create without
    /// signing in (see [`FastStore::put_evictable`]).
    pub async fn put_evictable_if_absent(&self, key: &str, value: &str, ttl: Duration, owner: &str) -> Result<bool, StoreError> {
        match self {
            FastStore::Memory(m) => Ok(m.put_evictable_if_absent(key, value, ttl, owner)),
            FastStore::Redis(r) => r.put_evictable(key, value, ttl, owner, true).await,
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self {
            FastStore::Memory(m) => Ok(m.get(key)),
            FastStore::Redis(r) => r.get(key).await,
        }
    }

    /// Gets and deletes atomically: at most one caller ever sees the value.
    /// Several keys in one round trip (`MGET`), in order.
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        match self {
            FastStore::Memory(m) => Ok(keys.iter().map(|k| m.get(k)).collect()),
            FastStore::Redis(r) => r.get_many(keys).await,
        }
    }

    pub async fn take(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self {
            FastStore::Memory(m) => Ok(m.take(key)),
            FastStore::Redis(r) => r.take(key).await,
        }
    }

    /// Deletes `key` (a counter: while Redis is unreachable, this node's
    /// count; single-use values go through [`FastStore::single_use`]).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self {
            FastStore::Memory(m) => {
                m.take(key);
                Ok(())
            }
            FastStore::Redis(r) => match r.delete(key).await {
                Err(StoreError::Cache(_)) if r.is_down() => {
                    counted_on_node("delete");
                    r.local().take(key);
                    Ok(())
                }
                other => other,
            },
        }
    }

    /// Increments a counter that expires `window` after its first increment
    /// (fixed-window rate limiting). Returns the new count. While Redis is
    /// unreachable the count is this node's (from zero), as on one node.
    pub async fn incr_window(&self, key: &str, window: Duration) -> Result<i64, StoreError> {
        match self {
            FastStore::Memory(m) => Ok(m.incr_window(key, window)),
            FastStore::Redis(r) => match r.incr_window(key, window).await {
                Err(StoreError::Cache(_)) if r.is_down() => {
                    counted_on_node("incr_window");
                    Ok(r.local().incr_window(key, window))
                }
                other => other,
            },
        }
    }

    /// Deletes every key under this store's prefix (test clean-up).
    pub async fn clear(&self) -> Result<(), StoreError> {
        match self {
            FastStore::Memory(m) => {
                m.clear();
                Ok(())
            }
            FastStore::Redis(r) => r.clear().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_semantics() -> Result<(), StoreError> {
        let s = FastStore::memory();
        let ttl = Duration::from_secs(60);
        assert!(s.put_if_absent("a", "1", ttl).await?);
        assert!(!s.put_if_absent("a", "2", ttl).await?);
        assert!(s.put_evictable_if_absent("b", "1", ttl, "198.51.100.1").await?);
        assert!(!s.put_evictable_if_absent("b", "2", ttl, "198.51.100.1").await?);
        assert_eq!(s.get("b").await?.as_deref(), Some("1"));
        assert_eq!(s.get("a").await?.as_deref(), Some("1"));
        assert_eq!(s.take("a").await?.as_deref(), Some("1"));
        assert_eq!(s.take("a").await?, None);
        assert_eq!(s.incr_window("n", ttl).await?, 1);
        assert_eq!(s.incr_window("n", ttl).await?, 2);
        s.put("e", "x", Duration::from_millis(1)).await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(s.get("e").await?, None, "expired entries are gone");
        Ok(())
    }
}
