//! The Redis-backed fast store, shared by every node.

use std::time::Duration;

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

/// A cloneable, auto-reconnecting Redis connection with a key prefix.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
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
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(RedisStore { conn, prefix: prefix.to_string() })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    pub async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl_ms(ttl))
            .query_async::<()>(&mut c)
            .await?;
        Ok(())
    }

    pub async fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut c = self.conn.clone();
        let r: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms(ttl))
            .query_async(&mut c)
            .await?;
        Ok(r.is_some())
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(redis::cmd("GET").arg(self.key(key)).query_async(&mut c).await?)
    }

    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = self.conn.clone();
        let mut cmd = redis::cmd("MGET");
        for k in keys {
            cmd.arg(self.key(k));
        }
        Ok(cmd.query_async(&mut c).await?)
    }

    pub async fn take(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(redis::cmd("GETDEL").arg(self.key(key)).query_async(&mut c).await?)
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        redis::cmd("DEL").arg(self.key(key)).query_async::<()>(&mut c).await?;
        Ok(())
    }

    pub async fn incr_window(&self, key: &str, window: Duration) -> Result<i64, StoreError> {
        let mut c = self.conn.clone();
        let k = self.key(key);
        let (count, _): (i64, i64) = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(&k)
            .cmd("PEXPIRE")
            .arg(&k)
            .arg(ttl_ms(window))
            .arg("NX")
            .query_async(&mut c)
            .await?;
        Ok(count)
    }

    /// Runs one of the scripts above on `key` (atomic on the server).
    async fn eval<T: redis::FromRedisValue>(&self, script: &str, key: &str, args: &[&str]) -> Result<T, StoreError> {
        let mut c = self.conn.clone();
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(script).arg(1).arg(self.key(key));
        for a in args {
            cmd.arg(*a);
        }
        Ok(cmd.query_async(&mut c).await?)
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
        let mut c = self.conn.clone();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut c)
            .await?;
        if !keys.is_empty() {
            redis::cmd("DEL").arg(keys).query_async::<()>(&mut c).await?;
        }
        Ok(())
    }
}
