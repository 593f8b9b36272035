//! The real PostgreSQL and Redis of this machine (and CI), one fresh database
//! and one key prefix per test, cleaned up on drop. Each database is a copy
//! of one template migrated once per run of the test binary, not migrated
//! per test.
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

/// The slow tier: real browsers, independent relying parties, Schemathesis
/// and fault injection (killed processes, a restarted PostgreSQL or Redis).
/// A developer skips them with `LATCHKEY_FAST=1`; `.ci/run` always runs
/// them, and under `CI=true` the variable is refused rather than obeyed.
/// Returns whether the calling test must return at once (it was told so loudly).
pub fn skip_slow(what: &str) -> bool {
    let fast = std::env::var("LATCHKEY_FAST").is_ok_and(|v| !v.is_empty() && v != "0");
    if !fast {
        return false;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("CI=true and LATCHKEY_FAST are set together: CI runs the slow tier ({what}), unset LATCHKEY_FAST");
    }
    // Straight to the terminal: the harness captures `eprintln!` of passing tests.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "!!! SKIPPED (LATCHKEY_FAST): {what}");
    true
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

    /// A fresh database, cloned from this run's migrated template (see
    /// [`template`]): a file copy on the server, not a migration per test.
    pub fn create() -> Option<PgDatabase> {
        let admin = pg_admin_url();
        let template = match template() {
            Ok(t) => t,
            Err(e) => {
                missing("PostgreSQL", &e);
                return None;
            }
        };
        let mut conn = match diesel::PgConnection::establish(&admin) {
            Ok(c) => c,
            Err(e) => {
                missing("PostgreSQL", &e.to_string());
                return None;
            }
        };
        let name = unique("latchkey_test_");
        let create = format!("CREATE DATABASE {name} TEMPLATE {template}");
        let mut created = diesel::sql_query(&create).execute(&mut conn);
        // A pooled connection of the template's migration may still be on its
        // way out; PostgreSQL refuses to copy a database in use.
        for _ in 0..TEMPLATE_BUSY_RETRIES {
            match &created {
                Err(e) if e.to_string().contains("being accessed by other users") => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    created = diesel::sql_query(&create).execute(&mut conn);
                }
                _ => break,
            }
        }
        if let Err(e) = created {
            missing("PostgreSQL", &e.to_string());
            return None;
        }
        Some(PgDatabase { url: database_url(&admin, &name), name })
    }
}

fn database_url(admin: &str, name: &str) -> String {
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or_else(|| admin.to_string());
    format!("{base}/{name}")
}

/// How often a clone is retried while the template is still in use (100 ms apart).
const TEMPLATE_BUSY_RETRIES: usize = 20;

/// Templates are named `latchkey_tpl_<unix seconds>_<process id>`, one per run
/// of a test binary (so parallel runs never share one).
const TEMPLATE_PREFIX: &str = "latchkey_tpl_";
/// A template is in use while its run holds a session on the server named
/// after it (`application_name`), opened before the template is created and
/// kept until the process exits. The next run drops every template without
/// such a session (a run cannot drop its own at exit: the test harness has no
/// hook for that), once it is older than this (its holder may be connecting).
const TEMPLATE_GRACE_SECS: u64 = 60;

/// This run's template database: created and migrated once (the first
/// PostgreSQL test pays for it, the others wait for it), then closed to
/// connections so that `CREATE DATABASE … TEMPLATE` never finds it in use.
fn template() -> Result<String, String> {
    static TEMPLATE: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(make_template).clone()
}

fn make_template() -> Result<String, String> {
    let admin = pg_admin_url();
    let mut conn = diesel::PgConnection::establish(&admin).map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    drop_stale_templates(&mut conn, now);
    let name = format!("{TEMPLATE_PREFIX}{now}_{}", std::process::id());
    let holder = format!("{admin}{}application_name={name}", if admin.contains('?') { '&' } else { '?' });
    let holder = diesel::PgConnection::establish(&holder).map_err(|e| e.to_string())?;
    // Lives as long as this process: the server closes it when the run ends.
    Box::leak(Box::new(holder));
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).map_err(|e| e.to_string())?;
    // Migrated the way the server migrates at boot; the pool is gone when
    // `connect`'s value is dropped.
    let migrated = latchkey_store::Db::connect(&latchkey_store::DbConfig { url: database_url(&admin, &name) }).map(drop).map_err(|e| format!("migrating the template {name}: {e}"));
    let closed = diesel::sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut conn)
        .and_then(|_| diesel::sql_query(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")).execute(&mut conn))
        .map_err(|e| e.to_string());
    if let Err(e) = migrated.and(closed) {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn);
        return Err(e);
    }
    Ok(name)
}

#[derive(diesel::QueryableByName)]
struct DatabaseName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    datname: String,
}

/// Drops the templates of runs that have ended: no session holds them.
fn drop_stale_templates(conn: &mut diesel::PgConnection, now: u64) {
    let unheld = format!(
        "SELECT datname FROM pg_database WHERE starts_with(datname, '{TEMPLATE_PREFIX}') \
         AND datname NOT IN (SELECT application_name FROM pg_stat_activity WHERE starts_with(application_name, '{TEMPLATE_PREFIX}'))"
    );
    let Ok(names) = diesel::sql_query(unheld).load::<DatabaseName>(conn) else { return };
    for DatabaseName { datname } in names {
        let created = datname.strip_prefix(TEMPLATE_PREFIX).and_then(|rest| rest.split('_').next()).and_then(|t| t.parse::<u64>().ok());
        if created.is_some_and(|t| now.saturating_sub(t) > TEMPLATE_GRACE_SECS) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)")).execute(conn);
        }
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

    /// This run's keys whose name (after the prefix) matches `pattern`.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let Ok(mut c) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection()) else { return Vec::new() };
        redis::cmd("KEYS").arg(format!("{}{pattern}", self.prefix)).query::<Vec<String>>(&mut c).unwrap_or_default()
    }

    /// Entries ever parked under this run's prefix and not yet expired
    /// (the members of the per-owner `park:q:` sets: a parked value's entry
    /// stays there until its expiry, also once the value was taken).
    pub fn parked_entries(&self) -> usize {
        let Ok(mut c) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection()) else { return 0 };
        self.keys("park:q:*").iter().map(|q| redis::cmd("ZCARD").arg(q).query::<usize>(&mut c).unwrap_or(0)).sum()
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
