//! PostgreSQL connections driven by the calling thread's async runtime, for
//! the statements on the hottest paths: the refresh rotation, and the reads
//! every returning sign-in makes (the consent at `/authorize`, the session
//! and the user at the token endpoint; issue #31).
//!
//! Everything else goes through the blocking pool ([`crate::Db::run`]): a
//! request hands its work to a blocking thread, which takes a pooled libpq
//! connection, waits for the answer, and wakes the request again. Under the
//! refresh benchmark half of the server's CPU went to those hand-offs (13
//! context switches per rotation; docs/BENCHMARKS.md, issue #17). Here the
//! request's own thread sends the statement and is woken by its runtime when
//! the answer arrives, with no thread in between.
//!
//! Connections belong to the thread that opened them (an actix worker runs
//! its own single-threaded runtime, which drives the connection): each thread
//! keeps up to [`per_thread`] of them, and a request that finds all of its
//! thread's connections busy waits for one to come back. A connection that
//! fails is dropped. If no connection can be opened this way at all (for
//! example a URL that requires TLS, which this path does not speak), the
//! callers use the blocking pool instead.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use tokio::sync::oneshot;

use crate::error::StoreError;

/// Async connections per node, whatever its number of cores: each commit
/// waits for its WAL flush, and the more rotations are in flight, the more
/// share one flush. Measured on 2 cores (refresh, 64 connections,
/// docs/BENCHMARKS.md): 8 in all 4,289 req/s, 16 5,195, 32 5,936. The
/// blocking pool's 8 come on top: 40 connections to PostgreSQL per node.
pub const PER_NODE: usize = 32;

/// Connections per thread: a node runs one actix worker per core, so the
/// node's share divided among them (at least 2 each).
pub fn per_thread() -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    (PER_NODE / cores).max(2)
}

/// `application_name` of these connections.
pub const APPLICATION_NAME: &str = "latchkey-rotation";

/// How long a request waits for its thread's next free connection before the
/// store reports itself unavailable (as [`crate::Db::run`] does).
const WAIT: Duration = Duration::from_millis(800);

/// One thread's connections: idle ones, how many are open, who waits.
#[derive(Default)]
struct Lane {
    idle: Vec<AsyncPgConnection>,
    open: usize,
    /// Each gets a connection, or `None`: one closed, open your own.
    waiting: VecDeque<oneshot::Sender<Option<AsyncPgConnection>>>,
}

pub(crate) struct AsyncPg {
    url: String,
    per_thread: usize,
    lanes: Mutex<HashMap<ThreadId, Lane>>,
    /// Set once a connection could not be opened for a reason other than an
    /// outage (TLS required, an unsupported authentication method): the
    /// blocking pool serves every call from then on.
    unusable: AtomicBool,
}

/// A connection taken from its thread's lane; [`Checkout::give_back`]
/// returns it. Dropped without that (the statement failed), it is closed and
/// its place in the lane freed.
pub(crate) struct Checkout<'a> {
    owner: &'a AsyncPg,
    thread: ThreadId,
    conn: Option<AsyncPgConnection>,
}

impl AsyncPg {
    pub(crate) fn new(url: String) -> AsyncPg {
        // Named, so that an operator (and a test) can tell them from the
        // pool's in `pg_stat_activity`; a name in the URL is kept.
        let url = if url.contains("application_name=") { url } else { format!("{url}{}application_name={APPLICATION_NAME}", if url.contains('?') { '&' } else { '?' }) };
        let plain = plaintext_is_what_libpq_would_do(&url);
        if !plain {
            tracing::info!("refresh rotations use the blocking pool: their own connections speak no TLS, and this database is neither local nor sslmode=disable");
        }
        AsyncPg { url, per_thread: per_thread(), lanes: Mutex::new(HashMap::new()), unusable: AtomicBool::new(!plain) }
    }

    fn lanes(&self) -> std::sync::MutexGuard<'_, HashMap<ThreadId, Lane>> {
        self.lanes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection of this thread, or `None` when this path is unusable
    /// (the caller uses the blocking pool).
    pub(crate) async fn checkout(&self) -> Result<Option<Checkout<'_>>, StoreError> {
        if self.unusable.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let thread = std::thread::current().id();
        let waiter = {
            let mut lanes = self.lanes();
            let lane = lanes.entry(thread).or_default();
            if let Some(conn) = lane.idle.pop() {
                return Ok(Some(Checkout { owner: self, thread, conn: Some(conn) }));
            }
            if lane.open < self.per_thread {
                lane.open += 1;
                None
            } else {
                let (tx, rx) = oneshot::channel();
                lane.waiting.push_back(tx);
                Some(rx)
            }
        };
        match waiter {
            Some(rx) => match tokio::time::timeout(WAIT, rx).await {
                Ok(Ok(Some(conn))) => Ok(Some(Checkout { owner: self, thread, conn: Some(conn) })),
                Ok(Ok(None)) => self.open(thread).await,
                _ => Err(StoreError::Unavailable("timed out waiting for a database connection".into())),
            },
            None => self.open(thread).await,
        }
    }

    /// Opens a connection in a place of `thread`'s lane already counted.
    async fn open(&self, thread: ThreadId) -> Result<Option<Checkout<'_>>, StoreError> {
        // The place is given back however this ends, also if the request
        // is dropped while connecting (else the lane would shrink for good).
        let place = Place { owner: self, thread, taken: false };
        match AsyncPgConnection::establish(&self.url).await {
            Ok(mut conn) => {
                conn.set_instrumentation(crate::statement_spans::StatementSpans::new("postgresql"));
                Ok(Some(place.fill(conn)))
            }
            Err(e) => {
                drop(place);
                if !cannot_serve(&e.to_string()) {
                    Err(StoreError::Unavailable(format!("cannot connect to the database: {e}")))
                } else {
                    self.unusable.store(true, Ordering::Relaxed);
                    tracing::warn!(error = %e, "async PostgreSQL connections unavailable; refresh rotations use the blocking pool");
                    Ok(None)
                }
            }
        }
    }

    /// A connection of `thread` was closed (or never opened).
    fn closed(&self, thread: ThreadId) {
        let mut lanes = self.lanes();
        if let Some(lane) = lanes.get_mut(&thread) {
            // The place goes to the longest waiter still waiting, who opens
            // a connection of its own in it; else it is free.
            while let Some(next) = lane.waiting.pop_front() {
                if next.send(None).is_ok() {
                    return;
                }
            }
            lane.open = lane.open.saturating_sub(1);
        }
    }

    fn give_back(&self, thread: ThreadId, mut conn: AsyncPgConnection) {
        let mut lanes = self.lanes();
        let lane = lanes.entry(thread).or_default();
        // Hand it straight to the longest waiter still waiting.
        while let Some(next) = lane.waiting.pop_front() {
            match next.send(Some(conn)) {
                Ok(()) => return,
                Err(back) => match back {
                    Some(c) => conn = c,
                    None => return,
                },
            }
        }
        lane.idle.push(conn);
    }
}

/// Whether a connection without TLS is what the pool's libpq connections
/// get too: `sslmode=disable`, or a server on this host (loopback or a Unix
/// socket) without a stricter `sslmode`. Anything else (a remote server with
/// the default `prefer`, or `require` and up) would send over the network in
/// plain what the pool sends encrypted, so the rotation stays on the pool.
fn plaintext_is_what_libpq_would_do(url: &str) -> bool {
    crate::tls::tls_need(url) == crate::tls::TlsNeed::None
}

/// Errors that say this path cannot serve the configuration (TLS, an
/// authentication method it lacks), as opposed to an outage (refused, reset,
/// the server starting up), which is worth another try later.
fn cannot_serve(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    ["tls", "ssl", "authentication", "password", "sasl", "scram", "kerberos", "gss", "invalid connection url"].iter().any(|w| m.contains(w))
}

/// A counted place in a lane while its connection is being opened.
struct Place<'a> {
    owner: &'a AsyncPg,
    thread: ThreadId,
    taken: bool,
}

impl<'a> Place<'a> {
    fn fill(mut self, conn: AsyncPgConnection) -> Checkout<'a> {
        self.taken = true;
        Checkout { owner: self.owner, thread: self.thread, conn: Some(conn) }
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if !self.taken {
            self.owner.closed(self.thread);
        }
    }
}

impl Checkout<'_> {
    pub(crate) fn conn(&mut self) -> Result<&mut AsyncPgConnection, StoreError> {
        // Present from construction until give_back or drop.
        self.conn.as_mut().ok_or_else(|| StoreError::Unavailable("the connection was already returned".into()))
    }

    pub(crate) fn give_back(mut self) {
        if let Some(conn) = self.conn.take() {
            self.owner.give_back(self.thread, conn);
        }
    }
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if self.conn.take().is_some() {
            self.owner.closed(self.thread);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Places are counted and given back: a dropped attempt to connect, a
    /// failed statement, and a connection handed to a waiter.
    #[tokio::test]
    async fn places_in_a_lane_are_never_lost() {
        let pg = AsyncPg::new("postgres://u@127.0.0.1:1/db".into());
        let thread = std::thread::current().id();
        let open = |pg: &AsyncPg| pg.lanes().get(&thread).map_or(0, |l| l.open);
        // Nothing listens on port 1: the attempt fails as an outage, and
        // its place is free again.
        assert!(pg.checkout().await.is_err());
        assert_eq!(open(&pg), 0);
        // An attempt dropped half-way (the request went away) gives its
        // place back too.
        let attempt = pg.checkout();
        drop(attempt);
        {
            let mut attempt = Box::pin(pg.checkout());
            let _ = futures_poll_once(attempt.as_mut()).await;
        }
        assert_eq!(open(&pg), 0, "a dropped attempt keeps no place");
        // A waiter takes over the place of a connection that closed.
        pg.lanes().entry(thread).or_default().open = pg.per_thread;
        let (tx, rx) = oneshot::channel();
        pg.lanes().entry(thread).or_default().waiting.push_back(tx);
        pg.closed(thread);
        assert!(matches!(rx.await, Ok(None)), "the waiter may open its own");
        assert_eq!(open(&pg), pg.per_thread, "the place went to the waiter");
        // A waiter that gave up is skipped; the place is freed.
        let (tx, rx) = oneshot::channel();
        pg.lanes().entry(thread).or_default().waiting.push_back(tx);
        drop(rx);
        pg.closed(thread);
        assert_eq!(open(&pg), pg.per_thread - 1);
    }

    /// Polls `f` once (it gets as far as it can without waiting), then
    /// returns, dropping nothing itself.
    async fn futures_poll_once<F: std::future::Future + Unpin>(mut f: F) -> Option<F::Output> {
        std::future::poll_fn(|cx| match std::pin::Pin::new(&mut f).poll(cx) {
            std::task::Poll::Ready(v) => std::task::Poll::Ready(Some(v)),
            std::task::Poll::Pending => std::task::Poll::Ready(None),
        })
        .await
    }

    #[test]
    fn only_connections_libpq_would_make_in_plain_are_made_in_plain() {
        for (url, plain) in [
            ("postgres://postgres@127.0.0.1:5432/db", true),
            ("postgres://u@localhost/db", true),
            ("postgres://u@[::1]:5432/db", true),
            ("postgres://u@db.internal:5432/db?sslmode=disable", true),
            ("postgres://u@localhost/db?host=/var/run/postgresql", true),
            ("postgres://u@db.internal:5432/db", false),
            ("postgres://u@10.0.0.5/db?sslmode=prefer", false),
            ("postgres://u@127.0.0.1/db?sslmode=require", false),
            ("postgres://u@localhost/db?sslmode=verify-full", false),
            ("not a url", false),
        ] {
            assert_eq!(plaintext_is_what_libpq_would_do(url), plain, "{url}");
        }
    }

    #[test]
    fn outages_are_told_from_configurations_this_path_cannot_serve() {
        assert!(!cannot_serve("error connecting to server: Connection refused (os error 111)"));
        assert!(!cannot_serve("db error: FATAL: the database system is starting up"));
        assert!(cannot_serve("error performing TLS handshake: no TLS implementation configured"));
        assert!(cannot_serve("password authentication failed for user \"x\""));
    }
}
