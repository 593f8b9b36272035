//! Password hashing with argon2id, on a small pool of dedicated threads.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use latchkey_domain::Secret;
use tokio::sync::{mpsc, oneshot};

use crate::error::AuthnError;

use crate::password_policy::{normalize, MAX_PASSWORD_BYTES as MAX_PASSWORD_LEN};

/// Hashes waiting for a hashing thread, at most; more callers wait to queue
/// (a burst of sign-ins slows down; it does not grow memory).
const QUEUE: usize = 256;

/// The number of hashing threads: half the cores, at least one
/// (`LATCHKEY_HASHING_THREADS` sets another). argon2id (OWASP's m = 19 MiB,
/// t = 2, p = 1; the crate's defaults) takes ~17 ms of one core and 19 MiB
/// per hash. On dedicated threads, never the runtime's blocking pool:
/// (1) memory is bounded — each thread allocates its 19 MiB of argon2 blocks
/// once and reuses them for every hash (allocating them per hash left freed
/// 19 MiB holes that the allocator kept: RSS grew past 170 MiB under
/// sign-ins, issue #17); (2) a sign-in storm uses at most these cores, at the
/// lowest priority, and token requests on the others go on. Measured on
/// 2 cores (issue #31, docs/BENCHMARKS.md): one thread per core let password
/// sign-ins run at 88/s instead of ~60/s, but put the token endpoint's p99
/// beside 20 sign-ins per second at 3.2–3.4× idle instead of 1.7×; the
/// default keeps the token endpoint steady.
pub fn hashing_threads() -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    (cores / 2).max(1)
}

/// A hashing thread gives its 19 MiB of argon2 memory back after this long
/// without a hash, so a node returns to its idle size after a burst of
/// sign-ins. A storm (or anything busier than one hash per 5 s) keeps reusing
/// it; after a pause, the next hash pays ~2 ms for fresh pages (its hash
/// takes ~20 ms). The memory is mapped and unmapped whole (see
/// [`RESERVED_BLOCKS`]), not left in the allocator's arenas.
pub const RELEASE_IDLE_MEMORY_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

type Job = Box<dyn FnOnce() + Send>;

/// A hashing thread's life: run jobs until every hasher is gone, releasing
/// its argon2 memory after `release_after` without one. One thread waits on
/// the queue at a time; the others on the lock.
fn hashing_loop(queue: &Mutex<mpsc::Receiver<Job>>, release_after: std::time::Duration) {
    // A timer for the wait; without one (it cannot fail in practice) the
    // thread waits without releasing.
    let timer = tokio::runtime::Builder::new_current_thread().enable_time().build().ok();
    loop {
        let mut jobs = queue.lock().unwrap_or_else(|p| p.into_inner());
        let job = match &timer {
            Some(rt) if holds_blocks() => match rt.block_on(async { tokio::time::timeout(release_after, jobs.recv()).await }) {
                Ok(job) => job,
                Err(_idle) => {
                    drop(jobs);
                    release_blocks();
                    continue;
                }
            },
            _ => jobs.blocking_recv(),
        };
        drop(jobs);
        match job {
            Some(job) => job(),
            None => return,
        }
    }
}

/// The dedicated hashing threads and their queue.
struct Pool {
    jobs: mpsc::Sender<Job>,
}

impl Pool {
    fn start(threads: usize, release_after: std::time::Duration) -> Result<Pool, AuthnError> {
        let (jobs, queue) = mpsc::channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    // Below the request handlers: when a core is contended, a
                    // token request runs before the next slice of a hash (the
                    // sign-in waits a little longer instead). Failing that, the
                    // thread runs at normal priority.
                    if let Err(e) = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min) {
                        tracing::warn!(error = ?e, "password hashing thread keeps normal priority");
                    }
                    hashing_loop(&queue, release_after)
                })
                .map_err(|e| AuthnError::Hashing(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(Pool { jobs })
    }

    /// Runs `work` on a hashing thread and waits (asynchronously) for it.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AuthnError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(work());
        });
        self.jobs.send(job).await.map_err(|_| AuthnError::Hashing("the hashing threads are gone".into()))?;
        rx.await.map_err(|_| AuthnError::Hashing("a hashing thread failed".into()))
    }
}

/// argon2id password hashing and verification, off the async executor.
#[derive(Clone)]
pub struct PasswordHasher {
    pool: Arc<Pool>,
    /// A hash of a random password, verified against when the user does not
    /// exist so that "no such user" takes as long as "wrong password".
    dummy_hash: Arc<String>,
}

thread_local! {
    /// The argon2 memory of this hashing thread, kept for its next hash.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Whether this thread holds argon2 memory.
fn holds_blocks() -> bool {
    BLOCKS.with(|cell| !cell.borrow().is_empty())
}

/// Gives this thread's argon2 memory back.
fn release_blocks() {
    BLOCKS.with(|cell| *cell.borrow_mut() = Vec::new());
}

/// The address space reserved for a thread's argon2 blocks (1 KiB each):
/// 33 MiB, above glibc's largest mmap threshold (32 MiB). Such an allocation
/// is always mapped on its own and unmapped whole when freed, and freeing it
/// does not raise the threshold. The 19 MiB the allocator would otherwise
/// have kept in an arena (RSS stayed at its peak after the memory was given
/// back) returns to the system. Only the pages argon2 touches are resident.
const RESERVED_BLOCKS: usize = 33 * 1024;

/// Runs `f` with `count` argon2 blocks of this thread's reusable memory.
fn with_blocks<T>(count: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        if blocks.len() < count {
            if blocks.capacity() < RESERVED_BLOCKS.max(count) {
                let more = RESERVED_BLOCKS.max(count) - blocks.len();
                blocks.reserve_exact(more);
            }
            blocks.resize(count, Block::default());
        }
        f(&mut blocks[..count])
    })
}

fn hashing_error(e: impl std::fmt::Display) -> AuthnError {
    AuthnError::Hashing(e.to_string())
}

/// argon2id with the crate's default parameters and a fresh 16-byte salt,
/// as a PHC string — what `Argon2::default().hash_password` makes, computed
/// in this thread's reused memory.
fn hash_phc(password: &[u8]) -> Result<String, AuthnError> {
    let params = Params::default();
    let salt = Salt::generate();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    with_blocks(params.block_count(), |blocks| argon2.hash_password_into_with_memory(password, salt.as_ref(), &mut out, blocks)).map_err(hashing_error)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.into(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(hashing_error)?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(hashing_error)?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against a stored PHC string with the algorithm,
/// version and parameters it names, in this thread's reused memory; the
/// outputs are compared in constant time (`Output`'s equality).
fn verify_phc(password: &[u8], stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else { return false };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let computed = with_blocks(params.block_count(), |blocks| argon2.hash_password_into_with_memory(password, salt.as_ref(), &mut out, blocks));
    computed.is_ok() && Output::new(&out).is_ok_and(|o| o == *expected)
}

impl PasswordHasher {
    pub fn new() -> Result<PasswordHasher, AuthnError> {
        Self::with_threads(hashing_threads())
    }

    /// A hasher with `threads` hashing threads (at least one).
    pub fn with_threads(threads: usize) -> Result<PasswordHasher, AuthnError> {
        // On a thread of its own that ends here, so that its argon2 memory
        // is freed with it (a long-lived caller's thread would keep 19 MiB).
        let dummy = std::thread::scope(|s| s.spawn(|| hash_phc(uuid::Uuid::new_v4().to_string().as_bytes())).join()).map_err(|_| AuthnError::Hashing("the dummy hash failed".into()))??;
        Ok(PasswordHasher { pool: Arc::new(Pool::start(threads.max(1), RELEASE_IDLE_MEMORY_AFTER)?), dummy_hash: Arc::new(dummy) })
    }

    /// Hashes on a hashing thread (PHC string with a fresh salt).
    pub async fn hash(&self, password: Secret) -> Result<String, AuthnError> {
        let span = hashing_span("hash");
        self.pool.run(move || span.in_scope(|| hash_phc(normalize(password.expose()).as_bytes()))).await?
    }

    /// Verifies `password` against `stored`, or against a dummy hash when there is
    /// no stored hash, so both cases cost the same.
    pub async fn verify(&self, password: Secret, stored: Option<String>) -> Result<bool, AuthnError> {
        if password.expose().len() > MAX_PASSWORD_LEN {
            return Ok(false);
        }
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let span = hashing_span("verify");
        let ok = self.pool.run(move || span.in_scope(|| verify_phc(normalize(password.expose()).as_bytes(), &hash))).await?;
        Ok(ok && known)
    }
}

/// A trace span (issue #31) around one hash or verification, from the
/// request's thread through the wait for a hashing thread to the result:
/// the operation only, never the password or the hash.
fn hashing_span(operation: &'static str) -> tracing::Span {
    tracing::debug_span!(target: "latchkey_trace", "argon2", otel.name = %format!("argon2id {operation}"), argon2.operation = operation)
}

/// Synchronous hashing for the CLI (no runtime needed).
pub fn hash_blocking(password: &Secret) -> Result<String, AuthnError> {
    hash_phc(normalize(password.expose()).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = PasswordHasher::new().unwrap();
        let stored = h.hash(Secret::new("correct horse")).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(h.verify(Secret::new("correct horse"), Some(stored.clone())).await.unwrap());
        assert!(!h.verify(Secret::new("wrong horse"), Some(stored)).await.unwrap());
        assert!(!h.verify(Secret::new("anything"), None).await.unwrap(), "unknown user never verifies");
    }

    /// Many hashes at once on one hashing thread: all answered, and only that
    /// thread ran them (the runtime's threads never did).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_run_on_the_dedicated_threads_only() {
        let h = PasswordHasher::with_threads(1).unwrap();
        let names: Vec<String> = futures_join_all((0..8).map(|_| {
            let pool = h.pool.clone();
            async move { pool.run(|| std::thread::current().name().unwrap_or("").to_string()).await.unwrap() }
        }))
        .await;
        assert_eq!(names.len(), 8);
        assert!(names.iter().all(|n| n == "argon2-0"), "{names:?}");
        // And at the lowest priority (Linux: nice 19, field 19 of the thread's stat).
        let nice =
            h.pool.run(|| std::fs::read_to_string("/proc/thread-self/stat").ok().and_then(|s| s.rsplit_once(") ").and_then(|(_, rest)| rest.split(' ').nth(16).map(str::to_string)))).await.unwrap();
        assert_eq!(nice.as_deref(), Some("19"), "hashing runs below request handling");
        let stored = h.hash(Secret::new("correct horse")).await.unwrap();
        assert!(h.verify(Secret::new("correct horse"), Some(stored)).await.unwrap());
    }

    /// After a pause the thread's argon2 memory is gone; the next hash
    /// allocates it again and still verifies.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_hashing_threads_give_their_memory_back() {
        let pool = Pool::start(1, std::time::Duration::from_millis(200)).unwrap();
        let blocks = || BLOCKS.with(|b| b.borrow().len());
        let stored = pool.run(|| hash_phc(b"correct horse")).await.unwrap().unwrap();
        assert!(pool.run(blocks).await.unwrap() > 19_000, "kept right after a hash (19 MiB of 1 KiB blocks)");
        // The thread runs at the lowest priority: on a loaded machine it may
        // wake late, so look again (each look waits longer than the 200 ms
        // idle time, which a look restarts) for up to 10 s.
        let mut left = usize::MAX;
        for _ in 0..20 {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            left = pool.run(blocks).await.unwrap();
            if left == 0 {
                break;
            }
        }
        assert_eq!(left, 0, "released after the pause");
        assert!(pool.run(move || verify_phc(b"correct horse", &stored)).await.unwrap(), "and the next hash works");
        assert!(pool.run(blocks).await.unwrap() > 19_000);
    }

    async fn futures_join_all<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futs.map(tokio::spawn).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }

    /// The PHC strings made here verify with the argon2 crate's own verifier,
    /// and its hashes (other parameters too) verify here.
    #[test]
    fn hashes_agree_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let ours = hash_phc(b"correct horse").unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"wrong horse", &parsed).is_err());
        let theirs = Argon2::default().hash_password(b"correct horse").unwrap().to_string();
        assert!(verify_phc(b"correct horse", &theirs));
        assert!(!verify_phc(b"correct horses", &theirs));
        let small = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 3, 1, None).unwrap()).hash_password(b"pw").unwrap().to_string();
        assert!(verify_phc(b"pw", &small), "stored hashes with other parameters still verify");
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::default()).hash_password(b"pw").unwrap().to_string();
        assert!(verify_phc(b"pw", &argon2i));
        for broken in ["", "$argon2id$", "plain text", &ours[..ours.len() - 4]] {
            assert!(!verify_phc(b"correct horse", broken), "{broken}");
        }
        assert_ne!(hash_phc(b"same").unwrap(), hash_phc(b"same").unwrap(), "fresh salts");
    }

    #[tokio::test]
    async fn the_same_password_in_another_unicode_form_verifies() {
        let h = PasswordHasher::new().unwrap();
        let stored = h.hash(Secret::new("caf\u{E9} au lait")).await.unwrap();
        assert!(h.verify(Secret::new("cafe\u{301} au lait"), Some(stored)).await.unwrap());
    }
}
