//! Password hashing with argon2id, off the async executor on a bounded pool.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::Argon2;
use latchkey_domain::Secret;
use tokio::sync::Semaphore;

use crate::error::AuthnError;

use crate::password_policy::{normalize, MAX_PASSWORD_BYTES as MAX_PASSWORD_LEN};

/// argon2id with the crate's defaults, which are OWASP's recommendation
/// (m = 19 MiB, t = 2, p = 1). Each hash takes ~25 ms and 19 MiB, so at most one
/// hash per core runs at a time: a burst of sign-ins queues instead of exhausting
/// memory or starving the executor.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when the user does not
    /// exist so that "no such user" takes as long as "wrong password".
    dummy_hash: Arc<String>,
}

fn argon2() -> Argon2<'static> {
    Argon2::default()
}

impl PasswordHasher {
    pub fn new() -> Result<PasswordHasher, AuthnError> {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let dummy = argon2()
            .hash_password(uuid::Uuid::new_v4().to_string().as_bytes())
            .map_err(|e| AuthnError::Hashing(e.to_string()))?
            .to_string();
        Ok(PasswordHasher { permits: Arc::new(Semaphore::new(cores)), dummy_hash: Arc::new(dummy) })
    }

    /// Hashes on the blocking pool (PHC string with a fresh salt).
    pub async fn hash(&self, password: Secret) -> Result<String, AuthnError> {
        let _permit = self.permits.acquire().await.map_err(|e| AuthnError::Hashing(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            argon2()
                .hash_password(normalize(password.expose()).as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| AuthnError::Hashing(e.to_string()))
        })
        .await
        .map_err(|e| AuthnError::Hashing(e.to_string()))?
    }

    /// Verifies `password` against `stored`, or against a dummy hash when there is
    /// no stored hash, so both cases cost the same.
    pub async fn verify(&self, password: Secret, stored: Option<String>) -> Result<bool, AuthnError> {
        if password.expose().len() > MAX_PASSWORD_LEN {
            return Ok(false);
        }
        let _permit = self.permits.acquire().await.map_err(|e| AuthnError::Hashing(e.to_string()))?;
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| argon2().verify_password(normalize(password.expose()).as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .map_err(|e| AuthnError::Hashing(e.to_string()))?;
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

    #[tokio::test]
    async fn the_same_password_in_another_unicode_form_verifies() {
        let h = PasswordHasher::new().unwrap();
        let stored = h.hash(Secret::new("caf\u{E9} au lait")).await.unwrap();
        assert!(h.verify(Secret::new("cafe\u{301} au lait"), Some(stored)).await.unwrap());
    }
}
