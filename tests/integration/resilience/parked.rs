//! Finding 34 of issue #24: parked requests (and everything else anyone can
//! make the server hold without signing in) are bounded by one memory budget,
//! on both fast stores; over it, the heaviest address loses its own oldest
//! entries first, so a flood from one address evicts no one else's.

use std::time::Duration;

use latchkey_store::fast::{MemoryStore, RedisStore};
use latchkey_store::FastStore;

use crate::support::services::RedisPrefix;

const ATTACKER: &str = "203.0.113.66";
const OFFICE: &str = "198.51.100.7";
const TTL: Duration = Duration::from_secs(600);

/// Budget for about 100 entries of `value`.
fn value() -> String {
    "v".repeat(2_000)
}

async fn a_flood_evicts_its_own_oldest_requests(store: FastStore) {
    let value = value();
    for i in 0..10 {
        store.put_evictable(&format!("authz:attacker:{i:05}"), &value, TTL, ATTACKER).await.expect("park");
    }
    for i in 0..30 {
        store.put_evictable(&format!("authz:office:{i:05}"), &value, TTL, OFFICE).await.expect("park");
    }
    for i in 10..1_000 {
        store.put_evictable(&format!("authz:attacker:{i:05}"), &value, TTL, ATTACKER).await.expect("park: never refused");
    }
    for i in 0..30 {
        assert!(store.get(&format!("authz:office:{i:05}")).await.expect("get").is_some(), "the office's request {i} survives the flood");
    }
    assert!(store.get("authz:attacker:00999").await.expect("get").is_some(), "the flood's newest request stays");
    assert!(store.get("authz:attacker:00000").await.expect("get").is_none(), "its oldest went first");
    let kept = {
        let mut n = 0;
        for i in 0..1_000 {
            n += usize::from(store.get(&format!("authz:attacker:{i:05}")).await.expect("get").is_some());
        }
        n
    };
    assert!((40..=80).contains(&kept), "the flood keeps what the budget leaves it: {kept}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_evicts_its_own_oldest_requests_in_process() {
    let one = latchkey_store::fast::entry_size("authz:attacker:00000", &value());
    a_flood_evicts_its_own_oldest_requests(FastStore::Memory(MemoryStore::with_budget(100 * one))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_evicts_its_own_oldest_requests_in_redis() {
    let Some(redis) = RedisPrefix::create() else {
        return;
    };
    let key = format!("{}authz:attacker:00000", redis.prefix);
    let one = 2 * key.len() + value().len() + latchkey_store::fast::REDIS_ENTRY_OVERHEAD;
    let store = RedisStore::connect(&redis.url, &redis.prefix).await.expect("redis").with_evictable_budget(100 * one);
    a_flood_evicts_its_own_oldest_requests(FastStore::Redis(store)).await;
}

/// Entries taken (a finished sign-in) or expired give their share back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_requests_leave_the_shared_budget() {
    let Some(redis) = RedisPrefix::create() else {
        return;
    };
    let key = format!("{}authz:office:00000", redis.prefix);
    let one = 2 * key.len() + value().len() + latchkey_store::fast::REDIS_ENTRY_OVERHEAD;
    let store = FastStore::Redis(RedisStore::connect(&redis.url, &redis.prefix).await.expect("redis").with_evictable_budget(10 * one));
    for i in 0..10 {
        store.put_evictable(&format!("authz:old:{i:05}"), &value(), Duration::from_millis(50), OFFICE).await.expect("park");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    for i in 0..10 {
        store.put_evictable(&format!("authz:office:{i:05}"), &value(), TTL, OFFICE).await.expect("park");
    }
    for i in 0..10 {
        assert!(store.get(&format!("authz:office:{i:05}")).await.expect("get").is_some(), "expired entries made room: {i}");
    }
}
