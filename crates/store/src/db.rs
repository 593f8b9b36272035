//! The relational database: PostgreSQL in production, SQLite as the embedded default.
//!
//! Sync diesel over a `MultiConnection`, pooled with r2d2 and called from async code
//! ([`Db::run`]): on PostgreSQL through `spawn_blocking`, on SQLite on its one
//! database thread ([`crate::sqlite_thread`]); the combination that serves both
//! backends from one codebase (see shared/STACK.md).

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::StoreError;
use crate::sqlite_thread::{SqliteThread, THREAD_CACHE_KIB};
use crate::statement_spans::StatementSpans;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Connections per node for PostgreSQL. 16 beat 4 in the first rotation
/// benchmark (shared/STACK.md); once each rotation was one prepared round
/// trip, 8 beat 16 on 2 cores (refresh 3,722 vs 3,263 req/s, p99 41 vs
/// 53 ms, back to back; docs/BENCHMARKS.md).
const PG_POOL_SIZE: u32 = 8;
/// SQLite serialises writers anyway; a few readers in WAL mode are enough.
const SQLITE_POOL_SIZE: u32 = 8;
/// How long start-up and the admin commands wait for the database (a node
/// may start while PostgreSQL is still coming up).
const POOL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request waits for a pooled connection before the store reports
/// itself unavailable (503 with `Retry-After`) instead of queueing: with the
/// database down, every request answers within a second rather than hanging.
/// A healthy pool hands out a connection in microseconds; under the
/// benchmarks' heaviest load the p99 of a whole request stays under 100 ms.
const REQUEST_POOL_TIMEOUT: Duration = Duration::from_millis(800);
/// Advisory lock id that serialises migrations when several nodes start at once.
const MIGRATION_LOCK_ID: i64 = 0x6c61_7463_686b_6579; // "latchkey"

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// A transaction that reads and then writes. On SQLite it starts with
/// `BEGIN IMMEDIATE`: a deferred transaction that reads first and then tries
/// to write gets `SQLITE_BUSY` at once when another writer is active (the busy
/// timeout does not apply to that lock upgrade), which under concurrent
/// sign-outs surfaced as "database is locked" 500s; taking the write lock up
/// front makes it wait its turn instead. PostgreSQL: an ordinary transaction.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConnection::Sqlite(sqlite) = conn else { return conn.transaction(f) };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    match f(conn) {
        Ok(value) => {
            <DbConnection as diesel::Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = <DbConnection as diesel::Connection>::TransactionManager::rollback_transaction(conn) {
                tracing::warn!(error = %rollback, "rollback after a failed write transaction failed");
            }
            Err(e)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Where the database is.
#[derive(Debug, Clone)]
pub struct DbConfig {
    pub url: String,
}

impl DbConfig {
    pub fn backend(&self) -> Backend {
        if self.url.starts_with("postgres://") || self.url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// One connection that can only read, for `latchkey doctor`: no file,
    /// directory or table is created, no migration runs. SQLite: the file
    /// must exist and is opened `mode=ro`; PostgreSQL: the session is
    /// `default_transaction_read_only`.
    pub fn open_read_only(&self) -> Result<DbConnection, StoreError> {
        match self.backend() {
            Backend::Postgres => {
                crate::tls::check_url(&self.url)?;
                let mut conn = PgConnection::establish(&self.url).map_err(|e| StoreError::Unavailable(e.to_string()))?;
                conn.batch_execute("SET default_transaction_read_only = on")?;
                Ok(DbConnection::Pg(conn))
            }
            Backend::Sqlite => {
                let path = self.sqlite_path();
                if !Path::new(path).is_file() {
                    return Err(StoreError::Unavailable(format!("{path} does not exist")));
                }
                // An SQLite URI (the path's `%`, `?` and `#` escaped): read-only.
                let escaped = path.replace('%', "%25").replace('?', "%3f").replace('#', "%23");
                let conn = SqliteConnection::establish(&format!("file:{escaped}?mode=ro")).map_err(|e| StoreError::Unavailable(e.to_string()))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    /// The SQLite file path for a `sqlite://path` or plain-path URL.
    fn sqlite_path(&self) -> &str {
        self.url.strip_prefix("sqlite://").or_else(|| self.url.strip_prefix("sqlite:")).unwrap_or(&self.url)
    }
}

pub(crate) struct Manager {
    url: String,
    backend: Backend,
}

/// A pooled connection, and whether its server went away while it was used.
///
/// The pool does not test connections on checkout (a `SELECT 1` round trip
/// before every query: a third of the round trips of a refresh rotation).
/// A connection that failed because its server is gone is marked here and
/// dropped by the pool when it comes back; the request that met it gets a
/// 503, as during any outage.
pub struct Pooled {
    conn: DbConnection,
    lost: bool,
}

impl Pooled {
    /// Whether its server went away while it was used.
    pub(crate) fn is_lost(&self) -> bool {
        self.lost
    }

    /// Runs `f` on the connection, remembering a lost server.
    pub(crate) fn with<T>(&mut self, f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let result = f(&mut self.conn);
        if matches!(result, Err(StoreError::ConnectionLost(_))) {
            self.lost = true;
        }
        result
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Pooled;
    type Error = ConnectionError;

    fn connect(&self) -> Result<Pooled, ConnectionError> {
        self.open().map(|conn| Pooled { conn, lost: false })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), ConnectionError> {
        conn.conn.batch_execute("SELECT 1").map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.lost
    }
}

impl Manager {
    /// The SQLite database thread's own connection, with a larger page
    /// cache than a pooled one ([`THREAD_CACHE_KIB`]).
    pub(crate) fn open_for_thread(&self) -> Result<Pooled, StoreError> {
        let mut conn = self.open().map_err(|e| StoreError::Unavailable(format!("cannot open the database: {e}")))?;
        if let DbConnection::Sqlite(c) = &mut conn {
            c.batch_execute(&format!("PRAGMA cache_size = -{THREAD_CACHE_KIB};"))?;
        }
        Ok(Pooled { conn, lost: false })
    }

    fn open(&self) -> Result<DbConnection, ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.url)?;
                conn.set_instrumentation(StatementSpans::new("postgresql"));
                Ok(DbConnection::Pg(conn))
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url)?;
                conn.set_instrumentation(StatementSpans::new("sqlite"));
                // WAL lets readers run beside the writer; busy_timeout makes writers wait
                // instead of failing with SQLITE_BUSY; SQLite needs foreign keys turned on.
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                         PRAGMA wal_autocheckpoint = {SQLITE_AUTOCHECKPOINT_PAGES}; PRAGMA cache_size = -{SQLITE_CACHE_KIB};"
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// A pool of database connections.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    /// SQLite: the one thread, and its one connection, that runs every
    /// statement but long reads ([`crate::sqlite_thread`]; `None` on PostgreSQL).
    sqlite: Option<std::sync::Arc<SqliteThread>>,
    /// The SQLite checkpoint thread runs while a clone of this lives.
    _sqlite_alive: Option<std::sync::Arc<()>>,
    /// Until when (ms since the epoch) the database counts as down: requests
    /// then take an idle connection if one exists, or fail at once.
    down_until: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// PostgreSQL: connections driven by the request's own runtime thread,
    /// for the refresh rotation (see [`crate::pg_async`]).
    async_pg: Option<std::sync::Arc<crate::pg_async::AsyncPg>>,
}

/// SQLite checkpoints (copying the write-ahead log into the database file)
/// run on a thread of their own this often, beside the writer, instead of
/// inside whichever write crosses SQLite's 1,000-page threshold: that write
/// (and every write queued behind it) waited for the copy, 106 ms at the p99
/// of 64 concurrent refreshes. Passive checkpoints never block writers; ten
/// a second keep each one small (p99 58 ms at 500 ms, 39 ms at 100 ms).
const SQLITE_CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// SQLite's page cache per connection, in KiB (its default is 2,000): the
/// operating system caches the file anyway, and eight connections' worth of
/// default caches was 16 MiB of a node's memory.
const SQLITE_CACHE_KIB: u32 = 256;
/// A write still checkpoints itself once the log reaches this many pages
/// (40 MiB), should the checkpointer fall behind.
const SQLITE_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// Runs passive checkpoints until the last handle of the database is gone.
fn start_checkpointer(pool: r2d2::Pool<Manager>, alive: std::sync::Weak<()>) -> Result<(), StoreError> {
    std::thread::Builder::new()
        .name("latchkey-sqlite-checkpoint".into())
        .spawn(move || loop {
            std::thread::sleep(SQLITE_CHECKPOINT_EVERY);
            if alive.upgrade().is_none() {
                return;
            }
            if let Some(mut conn) = pool.try_get() {
                if let Err(e) = conn.conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "SQLite checkpoint failed");
                }
            }
        })
        .map(|_| ())
        .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite checkpoint thread: {e}")))
}

/// After the pool found no connection at all (the database unreachable),
/// requests fail at once for this long instead of each waiting for
/// [`REQUEST_POOL_TIMEOUT`]; the pool reconnects in the background meanwhile.
const DOWN_BACKOFF: Duration = Duration::from_secs(1);

/// Creates a directory (and missing parents) readable by this user only
/// (0700): it holds the database, the master key and the mail outbox.
/// An existing directory is left as the operator made it.
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// The SQLite file exists, mode 0600, before SQLite opens it: SQLite gives
/// its `-wal` and `-shm` files the database file's mode. Files an earlier
/// version left readable by others are narrowed to 0600.
fn private_database_files(db: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(db)?;
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm", "-journal"] {
        use std::os::unix::fs::PermissionsExt;
        let file = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        if let Ok(meta) = std::fs::metadata(&file) {
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// The migration that makes usernames unique whatever their case.
const USERNAMES_CI_MIGRATION: &str = "2026-12-06-000016_usernames_ci";

/// Before the case-insensitive username index is built: usernames that
/// differ only in case would make it fail with an index name and nothing
/// else. Stop with the names instead, so the operator can rename all but one
/// of each; accounts are never merged or renamed behind anyone's back.
fn check_username_clashes(pending: Vec<String>, usernames: impl FnOnce() -> Result<Vec<String>, StoreError>) -> Result<(), StoreError> {
    // Without the users table (a new database) there is nothing to check.
    if !pending.iter().any(|m| m == USERNAMES_CI_MIGRATION) || pending.iter().any(|m| m.ends_with("_initial")) {
        return Ok(());
    }
    match username_clashes(usernames()?) {
        None => Ok(()),
        Some(clashes) => Err(StoreError::Unavailable(format!(
            "migration {USERNAMES_CI_MIGRATION} cannot run: usernames must be unique whatever their case, and these differ only in case: {clashes}. Rename all but one of each (UPDATE users SET username = ... WHERE id = ...) and start again"
        ))),
    }
}

/// The names of the migrations not yet run.
fn pending_names<DB: diesel::backend::Backend>(pending: diesel::migration::Result<Vec<Box<dyn diesel::migration::Migration<DB>>>>) -> Result<Vec<String>, StoreError> {
    Ok(pending.map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?.iter().map(|m| m.name().to_string()).collect())
}

const USERNAMES_SQL: &str = "SELECT username FROM users";

#[derive(diesel::QueryableByName)]
struct UsernameRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    username: String,
}

/// Groups of usernames that are equal ignoring ASCII case (usernames are
/// ASCII), e.g. `[ALICE, alice]; [Bob, bob]`, or `None`.
fn username_clashes(names: Vec<String>) -> Option<String> {
    let mut groups: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for n in names {
        groups.entry(n.to_ascii_lowercase()).or_default().push(n);
    }
    let clashes: Vec<String> = groups
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|mut g| {
            g.sort();
            format!("[{}]", g.join(", "))
        })
        .collect();
    (!clashes.is_empty()).then(|| clashes.join("; "))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Db {
    /// Pooled connections: (in use, idle).
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections - s.idle_connections, s.idle_connections)
    }

    /// Connects, and runs pending migrations.
    pub fn connect(config: &DbConfig) -> Result<Db, StoreError> {
        let backend = config.backend();
        let url = match backend {
            Backend::Postgres => {
                crate::tls::check_url(&config.url)?;
                config.url.clone()
            }
            Backend::Sqlite => {
                let path = config.sqlite_path();
                if let Some(parent) = Path::new(path).parent() {
                    if !parent.as_os_str().is_empty() {
                        private_dir(parent).map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", parent.display())))?;
                    }
                }
                private_database_files(Path::new(path)).map_err(|e| StoreError::Unavailable(format!("cannot create {path}: {e}")))?;
                path.to_string()
            }
        };
        if backend == Backend::Postgres {
            // A server that answers "no such database" will not change its
            // mind while the pool waits: say so at once. Anything else (not
            // up yet) is left to the pool's wait.
            if let Err(e) = (Manager { url: url.clone(), backend }).open() {
                if e.to_string().contains("does not exist") {
                    return Err(StoreError::Unavailable(e.to_string().trim().to_string()));
                }
            }
        }
        let size = match backend {
            Backend::Postgres => PG_POOL_SIZE,
            Backend::Sqlite => SQLITE_POOL_SIZE,
        };
        let pool = r2d2::Pool::builder().max_size(size).min_idle(Some(1)).test_on_check_out(false).connection_timeout(POOL_TIMEOUT).build(Manager { url: url.clone(), backend })?;
        let async_pg = (backend == Backend::Postgres).then(|| std::sync::Arc::new(crate::pg_async::AsyncPg::new(url.clone())));
        let (sqlite, sqlite_alive) = match backend {
            Backend::Sqlite => {
                let alive = std::sync::Arc::new(());
                start_checkpointer(pool.clone(), std::sync::Arc::downgrade(&alive))?;
                (Some(std::sync::Arc::new(SqliteThread::start(Manager { url: url.clone(), backend })?)), Some(alive))
            }
            Backend::Postgres => (None, None),
        };
        let db = Db { pool, backend, down_until: Default::default(), sqlite, _sqlite_alive: sqlite_alive, async_pg };
        db.migrate()?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn async_pg(&self) -> Option<&crate::pg_async::AsyncPg> {
        self.async_pg.as_deref()
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Unavailable(format!("migration failed: {e}"));
        match &mut conn.conn {
            DbConnection::Pg(c) => {
                c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))?;
                let r = pending_names(c.pending_migrations(PG_MIGRATIONS))
                    .and_then(|pending| {
                        check_username_clashes(pending, || Ok(diesel::RunQueryDsl::load::<UsernameRow>(diesel::sql_query(USERNAMES_SQL), c)?.into_iter().map(|r| r.username).collect()))
                    })
                    .and_then(|()| c.run_pending_migrations(PG_MIGRATIONS).map(|_| ()).map_err(failed));
                c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))?;
                r
            }
            DbConnection::Sqlite(c) => pending_names(c.pending_migrations(SQLITE_MIGRATIONS))
                .and_then(|pending| check_username_clashes(pending, || Ok(diesel::RunQueryDsl::load::<UsernameRow>(diesel::sql_query(USERNAMES_SQL), c)?.into_iter().map(|r| r.username).collect())))
                .and_then(|()| c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()).map_err(failed)),
        }
    }

    /// Runs database work off the async executor: on SQLite on its database
    /// thread, after the work queued before it ([`crate::sqlite_thread`]); on
    /// PostgreSQL on the blocking pool with a pooled connection.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.sqlite {
            Some(thread) => thread.run(f).await,
            None => self.pooled(f).await,
        }
    }

    /// [`Db::run`] for a read that may take long (a console list, the audit
    /// trail, the overview, a metric scrape): on SQLite it runs on a pooled
    /// connection beside the database thread, so it holds up no sign-in (a
    /// WAL reader waits for no writer); on PostgreSQL it is `run`.
    pub async fn scan<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.pooled(f).await
    }

    /// `f` on a pooled connection, on the blocking pool.
    async fn pooled<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let down_until = self.down_until.clone();
        // The caller's span goes along: statements are traced as its children.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            use std::sync::atomic::Ordering;
            let mut conn = if now_ms() < down_until.load(Ordering::Relaxed) {
                pool.try_get().ok_or_else(|| StoreError::Unavailable("the database is unreachable".into()))?
            } else {
                match pool.get_timeout(REQUEST_POOL_TIMEOUT) {
                    Ok(c) => c,
                    Err(e) => {
                        // No connection at all: the database is down, not busy.
                        if pool.state().connections == 0 {
                            down_until.store(now_ms() + DOWN_BACKOFF.as_millis() as u64, Ordering::Relaxed);
                        }
                        return Err(e.into());
                    }
                }
            };
            conn.with(f)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("database task failed: {e}")))?
    }

    /// Runs blocking database work on the calling thread (CLI, start-up).
    pub fn run_blocking<T>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut conn = self.pool.get()?;
        conn.with(f)
    }
}

/// A trivial round trip, for health checks.
pub fn ping(conn: &mut DbConnection) -> Result<(), StoreError> {
    conn.batch_execute("SELECT 1")?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Issue 24 item 12: the directory, the database and its `-wal` and
    /// `-shm` files are this user's only, also when an earlier version left
    /// the database readable by others.
    #[tokio::test]
    async fn sqlite_files_are_private() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let root = std::env::temp_dir().join(format!("latchkey-perm-{}-{nanos}", std::process::id()));
        let dir = root.join("data");
        let db_path = dir.join("latchkey.db");
        let db = Db::connect(&DbConfig { url: format!("sqlite://{}", db_path.display()) }).expect("connect");
        db.run(|c| match c {
            DbConnection::Sqlite(c) => Ok(c.batch_execute("CREATE TABLE perm_check (x INTEGER); INSERT INTO perm_check VALUES (1);")?),
            DbConnection::Pg(_) => Ok(()),
        })
        .await
        .expect("write");
        assert_eq!(mode(&dir), 0o700, "the directory");
        assert_eq!(mode(&root), 0o700, "a parent it created");
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", db_path.display()));
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        drop(db);
        // A database an earlier version left at 0644 is narrowed at the next start.
        std::fs::set_permissions(&db_path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let db = Db::connect(&DbConfig { url: format!("sqlite://{}", db_path.display()) }).expect("connect again");
        assert_eq!(mode(&db_path), 0o600);
        drop(db);
        let _ = std::fs::remove_dir_all(&root);
    }

    fn count_rows(c: &mut DbConnection) -> Result<i64, StoreError> {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        Ok(diesel::RunQueryDsl::get_result::<N>(diesel::sql_query("SELECT count(*) AS n FROM point_check"), c)?.n)
    }

    /// A new SQLite database in a directory of its own, with one row in
    /// `point_check`; the directory to remove afterwards.
    async fn point_check_db(tag: &str) -> (Db, std::path::PathBuf) {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let root = std::env::temp_dir().join(format!("latchkey-{tag}-{}-{nanos}", std::process::id()));
        let db = Db::connect(&DbConfig { url: format!("sqlite://{}", root.join("latchkey.db").display()) }).expect("connect");
        db.run(|c| Ok(c.batch_execute("CREATE TABLE point_check (x INTEGER); INSERT INTO point_check VALUES (1);")?)).await.expect("table");
        (db, root)
    }

    /// Issue #31: on SQLite every statement runs on the database thread's one
    /// connection (a temporary table, which only its own connection sees,
    /// is there for the next job); a job that panics costs its caller an
    /// error and the next job a new connection, never a connection left in
    /// a transaction; reads run beside a writer of another connection that
    /// holds the write lock (WAL: the committed rows, at once).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_work_runs_on_one_connection_and_survives_a_panic() {
        let (db, root) = point_check_db("thread").await;
        db.run(|c| Ok(c.batch_execute("CREATE TEMP TABLE mine (x INTEGER); INSERT INTO mine VALUES (7);")?)).await.expect("temp table");
        let sees_mine = |c: &mut DbConnection| Ok(c.batch_execute("SELECT x FROM mine").is_ok());
        for _ in 0..20 {
            assert!(db.run(sees_mine).await.expect("read"), "the same connection every time");
        }
        assert!(!db.scan(sees_mine).await.expect("scan"), "a scan runs on a pooled connection");

        // A job that panics inside a transaction: its caller gets an error,
        // the next job a fresh connection (no transaction left open).
        let panicked = db.run(|c| -> Result<(), StoreError> {
            c.batch_execute("BEGIN IMMEDIATE; INSERT INTO point_check VALUES (99);").expect("begin");
            panic!("a job that panics");
        });
        assert!(panicked.await.is_err(), "the caller hears of it");
        assert!(!db.run(sees_mine).await.expect("read"), "a new connection after the panic");
        assert_eq!(db.run(count_rows).await.expect("read"), 1, "the panicked transaction was not kept");
        db.run(|c| Ok(c.batch_execute("INSERT INTO point_check VALUES (2);")?)).await.expect("the new connection writes");

        // Another connection in the middle of a transaction, holding SQLite's write lock.
        let mut writer = db.pool.get().expect("a connection");
        writer.conn.batch_execute("BEGIN IMMEDIATE; INSERT INTO point_check VALUES (3);").expect("begin");
        let started = std::time::Instant::now();
        assert_eq!(db.run(count_rows).await.expect("read"), 2, "the committed rows only");
        assert!(started.elapsed() < Duration::from_secs(1), "not held up by the writer: {:?}", started.elapsed());
        writer.conn.batch_execute("COMMIT").expect("commit");
        assert_eq!(db.run(count_rows).await.expect("read"), 3, "another connection's commit, seen at once");
        drop(writer);
        drop(db);
        let _ = std::fs::remove_dir_all(&root);
    }

    /// A long read ([`Db::scan`]) runs beside the database thread: it is
    /// not queued behind a long job there, and none waits behind it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn scans_run_beside_the_database_thread() {
        let (db, root) = point_check_db("scan").await;
        let long = tokio::spawn({
            let db = db.clone();
            async move {
                db.run(|_| {
                    std::thread::sleep(Duration::from_millis(600));
                    Ok(())
                })
                .await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        assert_eq!(db.scan(count_rows).await.expect("scan"), 1);
        assert!(started.elapsed() < Duration::from_millis(400), "not queued behind the long job: {:?}", started.elapsed());
        assert!(!long.is_finished(), "the long job was still running");
        long.await.expect("join").expect("the long job");
        drop(db);
        let _ = std::fs::remove_dir_all(&root);
    }
}
