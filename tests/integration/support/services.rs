//! The real PostgreSQL and Redis of this machine (and CI), one fresh database
//! and one key prefix per test, cleaned up on drop.
//!
//! When a service is missing the test says so loudly; under `CI=true` that is a
//! failure, not a skip.

use diesel::{Connection, RunQueryDsl};

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

fn pg_admin_url() -> String {
    std::env::var("LATCHKEY_TEST_PG_URL").unwrap_or_else(|_| PG_ADMIN_URL.to_string())
}

pub fn redis_url() -> String {
    std::env::var("LATCHKEY_TEST_REDIS_URL").unwrap_or_else(|_| REDIS_URL.to_string())
}

/// Reports a missing service: panics under CI, otherwise prints a loud notice
/// and tells the caller to skip.
pub fn missing(service: &str, error: &str) {
    let message = format!("{service} is not reachable ({error}); the {service} path is NOT tested");
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("CI=true: {message}");
    }
    eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n!!! SKIPPED: {message}\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// A database of its own on the shared PostgreSQL, dropped with this value.
pub struct PgDatabase {
    pub url: String,
    name: String,
}

impl PgDatabase {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a statement on the server's `postgres` database (to break and
    /// mend this test database for real).
    pub fn admin_exec(sql: &str) -> Result<(), String> {
        let mut conn = diesel::PgConnection::establish(&pg_admin_url()).map_err(|e| e.to_string())?;
        diesel::sql_query(sql).execute(&mut conn).map(|_| ()).map_err(|e| e.to_string())
    }

    pub fn create() -> Option<PgDatabase> {
        let admin = pg_admin_url();
        let mut conn = match diesel::PgConnection::establish(&admin) {
            Ok(c) => c,
            Err(e) => {
                missing("PostgreSQL", &e.to_string());
                return None;
            }
        };
        let name = unique("latchkey_test_");
        if let Err(e) = diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn) {
            missing("PostgreSQL", &e.to_string());
            return None;
        }
        let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin);
        Some(PgDatabase { url: format!("{base}/{name}"), name })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&pg_admin_url()) {
            // FORCE ends the server's pooled connections (PostgreSQL 13+).
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut conn);
        }
    }
}

/// A key prefix of its own on the shared Redis, its keys deleted with this value.
pub struct RedisPrefix {
    pub url: String,
    pub prefix: String,
}

impl RedisPrefix {
    pub fn create() -> Option<RedisPrefix> {
        let url = redis_url();
        let ping = redis::Client::open(url.as_str()).and_then(|c| c.get_connection()).and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
        match ping {
            Ok(_) => Some(RedisPrefix { url, prefix: unique("latchkey-test-") + ":" }),
            Err(e) => {
                missing("Redis", &e.to_string());
                None
            }
        }
    }

    pub fn key_count(&self) -> usize {
        let Ok(mut c) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection()) else { return 0 };
        redis::cmd("KEYS").arg(format!("{}*", self.prefix)).query::<Vec<String>>(&mut c).map(|k| k.len()).unwrap_or(0)
    }
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        if let Ok(mut c) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection()) {
            if let Ok(keys) = redis::cmd("KEYS").arg(format!("{}*", self.prefix)).query::<Vec<String>>(&mut c) {
                if !keys.is_empty() {
                    let _ = redis::cmd("DEL").arg(keys).query::<()>(&mut c);
                }
            }
        }
    }
}
