//! Password hashing with argon2id, on a small pool of dedicated threads.

use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::Argon2;
use latchkey_domain::Secret;
use tokio::sync::{mpsc, oneshot};

use crate::error::AuthnError;

use crate::password_policy::{normalize, MAX_PASSWORD_BYTES as MAX_PASSWORD_LEN};

/// Hashes waiting for a hashing thread, at most; more callers wait to queue
/// (a burst of sign-ins slows down; it does not grow memory).
const QUEUE: usize = 256;

/// The number of hashing threads: half the cores, at least one. argon2id
/// (OWASP's m = 19 MiB, t = 2, p = 1; the crate's defaults) takes ~25 ms of
/// one core and 19 MiB per hash. On dedicated threads, never the runtime's
/// blocking pool: (1) memory is bounded — each thread's allocator arena keeps
/// its 19 MiB block for the next hash, so a few threads keep a few blocks,
/// where hashing on whichever of the pool's many threads was free left a
/// block behind on each of them (RSS grew ~3 MB per sign-in, issue #17);
/// (2) a sign-in storm uses at most these cores, and database calls on the
/// blocking pool and token requests on the other cores go on (20 sign-ins
/// per second are half of one thread's capacity).
pub fn hashing_threads() -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    (cores / 2).max(1)
}

type Job = Box<dyn FnOnce() + Send>;

/// The dedicated hashing threads and their queue.
struct Pool {
    jobs: mpsc::Sender<Job>,
}

impl Pool {
    fn start(threads: usize) -> Result<Pool, AuthnError> {
        let (jobs, queue) = mpsc::channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || loop {
                    // One thread waits on the queue at a time; the others on the lock.
                    let job = queue.lock().unwrap_or_else(|p| p.into_inner()).blocking_recv();
                    match job {
                        Some(job) => job(),
                        None => return, // every hasher is gone
                    }
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

fn argon2() -> Argon2<'static> {
    Argon2::default()
}

impl PasswordHasher {
    pub fn new() -> Result<PasswordHasher, AuthnError> {
        Self::with_threads(hashing_threads())
    }

    /// A hasher with `threads` hashing threads (at least one).
    pub fn with_threads(threads: usize) -> Result<PasswordHasher, AuthnError> {
        let dummy = argon2()
            .hash_password(uuid::Uuid::new_v4().to_string().as_bytes())
            .map_err(|e| AuthnError::Hashing(e.to_string()))?
            .to_string();
        Ok(PasswordHasher { pool: Arc::new(Pool::start(threads.max(1))?), dummy_hash: Arc::new(dummy) })
    }

    /// Hashes on a hashing thread (PHC string with a fresh salt).
    pub async fn hash(&self, password: Secret) -> Result<String, AuthnError> {
        self.pool
            .run(move || {
                argon2()
                    .hash_password(normalize(password.expose()).as_bytes())
                    .map(|h| h.to_string())
                    .map_err(|e| AuthnError::Hashing(e.to_string()))
            })
            .await?
    }

    /// Verifies `password` against `stored`, or against a dummy hash when there is
    /// no stored hash, so both cases cost the same.
    pub async fn verify(&self, password: Secret, stored: Option<String>) -> Result<bool, AuthnError> {
        if password.expose().len() > MAX_PASSWORD_LEN {
            return Ok(false);
        }
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let ok = self
            .pool
            .run(move || PasswordHash::new(&hash).map(|parsed| argon2().verify_password(normalize(password.expose()).as_bytes(), &parsed).is_ok()).unwrap_or(false))
            .await?;
        Ok(ok && known)
    }
}

/// Synchronous hashing for the CLI (no runtime needed).
pub fn hash_blocking(password: &Secret) -> Result<String, AuthnError> {
    argon2()
        .hash_password(normalize(password.expose()).as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthnError::Hashing(e.to_string()))
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
        let stored = h.hash(Secret::new("correct horse")).await.unwrap();
        assert!(h.verify(Secret::new("correct horse"), Some(stored)).await.unwrap());
    }

    async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
    where
        F::Output: Send + 'static,
        F: Send + 'static,
    {
        let handles: Vec<_> = futs.map(tokio::spawn).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn the_same_password_in_another_unicode_form_verifies() {
        let h = PasswordHasher::new().unwrap();
        let stored = h.hash(Secret::new("caf\u{E9} au lait")).await.unwrap();
        assert!(h.verify(Secret::new("cafe\u{301} au lait"), Some(stored)).await.unwrap());
    }
}
