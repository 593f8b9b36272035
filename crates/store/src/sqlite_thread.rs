//! SQLite's database thread: on the embedded default every statement of a
//! request runs on one thread, on the one connection that thread keeps.
//!
//! Why one connection. In WAL mode a connection that finds the database
//! changed by another connection since its last transaction throws its whole
//! page cache away and reads every page it needs again (`pread`, then
//! `malloc` for each page). With a pool of connections beside a writer that
//! happened on nearly every statement of a busy server: freeing and
//! re-reading pages was a sixth of a passkey sign-in's CPU. The connection
//! that makes every change never finds its cache stale. Measured on the
//! embedded default (docs/BENCHMARKS.md, issue #31): passkey sign-ins
//! 294-358 → 440-456 per second, returning sign-ins 2,500 → 2,950 per second.
//!
//! Why one thread. SQLite lets one connection write at a time anyway; jobs
//! queue first come first served ([`crate::writer`]) instead of racing for
//! its lock, and a point read from a warm cache takes microseconds.
//!
//! What does not run here: reads that may take long (the console's lists,
//! the audit trail, the overview, metric scrapes) use a pooled connection
//! beside this one ([`crate::Db::scan`]) and hold up no sign-in; the
//! checkpointer, the CLI and start-up use the pool too.

use std::sync::{Arc, Mutex};

use crate::db::{Manager, Pooled};
use crate::error::StoreError;
use crate::writer::Writer;

/// The database thread's page cache, in KiB: SQLite's own default (2,000
/// KiB), where the pooled connections keep 256. It is the one cache every
/// sign-in reads from, so it holds the hot pages of the sessions, users and
/// single-use tables; one connection's worth, not eight.
pub(crate) const THREAD_CACHE_KIB: u32 = 2_000;

/// The queue and the connection its thread keeps.
pub(crate) struct SqliteThread {
    queue: Writer,
    /// Touched only by the queue's thread (the lock is never contended); a
    /// job that panicked poisons it, and the next job then starts on a new
    /// connection (the old one may have been left inside a transaction).
    conn: Arc<Mutex<Option<Pooled>>>,
    manager: Arc<Manager>,
}

impl SqliteThread {
    /// Starts the thread; its connection is opened by the first job.
    pub(crate) fn start(manager: Manager) -> Result<SqliteThread, StoreError> {
        Ok(SqliteThread { queue: Writer::start()?, conn: Arc::new(Mutex::new(None)), manager: Arc::new(manager) })
    }

    /// Queues `f` for the thread and returns its answer to wait for.
    pub(crate) fn run<T, F>(&self, f: F) -> impl std::future::Future<Output = Result<T, StoreError>> + Send + 'static
    where
        F: FnOnce(&mut crate::db::DbConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (slot, manager) = (self.conn.clone(), self.manager.clone());
        // The caller's span goes along: statements are traced as its children.
        let span = tracing::Span::current();
        self.queue.run(move || {
            let _entered = span.enter();
            let mut held = match slot.lock() {
                Ok(held) => held,
                Err(poisoned) => {
                    slot.clear_poison();
                    let mut held = poisoned.into_inner();
                    *held = None;
                    held
                }
            };
            if held.as_ref().is_none_or(Pooled::is_lost) {
                *held = Some(manager.open_for_thread()?);
            }
            match held.as_mut() {
                Some(conn) => conn.with(f),
                None => Err(StoreError::Unavailable("the database connection could not be opened".into())),
            }
        })
    }
}
