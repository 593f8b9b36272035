//! Rate limits on sign-in attempts, per account and per client IP, kept in the
//! fast store so every node counts together.
//!
//! An attempt is *reserved* before anything is checked: the counters are
//! incremented first and the attempt refused when that took them over the
//! limit. Parallel guesses therefore cannot all slip through a
//! check-then-count gap. A success gives its reservations back.

use std::time::Duration;

use latchkey_store::FastStore;

use crate::error::AuthnError;

/// Failed attempts allowed per account in one window: enough for a person who
/// mistypes, far too few for online guessing.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 10;
/// Per client IP the limit is higher, as many users may share one NAT address.
pub const MAX_FAILURES_PER_IP: i64 = 100;
/// The window both limits are counted over.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Over the per-IP limit, an account whose own counter is clean is slowed
/// down rather than refused: one abusive client behind a shared address
/// (a proxy, a NAT) must not lock every other user out, yet it gets at most
/// one attempt per connection every two seconds.
pub const IP_OVER_LIMIT_DELAY: Duration = Duration::from_secs(2);
/// Usernames are counted by at most this many characters (no valid username
/// is longer), so made-up names cannot make counter keys arbitrarily large.
const MAX_COUNTED_NAME: usize = 64;

/// What a reservation needs to be given back after a success.
#[derive(Debug)]
pub struct Attempt {
    account_key: String,
    ip_key: Option<String>,
}

#[derive(Clone)]
pub struct LoginThrottle {
    fast: FastStore,
    /// Key namespace: passwords and second factors are counted separately.
    kind: &'static str,
    ip_delay: Duration,
}

impl LoginThrottle {
    pub fn new(fast: FastStore) -> LoginThrottle {
        LoginThrottle { fast, kind: "login-fail", ip_delay: IP_OVER_LIMIT_DELAY }
    }

    /// The same limits, counted separately, for second-factor codes.
    pub fn for_second_factor(self) -> LoginThrottle {
        LoginThrottle { kind: "mfa-fail", ..self }
    }

    fn account_key(&self, username: &str) -> String {
        let name: String = username.chars().take(MAX_COUNTED_NAME).collect();
        format!("{}:user:{}", self.kind, name.to_lowercase())
    }

    fn ip_key(&self, ip: &str) -> String {
        format!("{}:ip:{ip}", self.kind)
    }

    /// Reserves one attempt for `username` from `ip`, or refuses it
    /// ([`AuthnError::Throttled`]) when that goes over a limit. A failed
    /// attempt simply keeps its reservation; call [`LoginThrottle::succeeded`]
    /// after a success.
    pub async fn reserve(&self, username: &str, ip: Option<&str>) -> Result<Attempt, AuthnError> {
        let account_key = self.account_key(username);
        let account = self.fast.incr_window(&account_key, FAILURE_WINDOW).await?;
        if account > MAX_FAILURES_PER_ACCOUNT {
            metrics::counter!("latchkey_rate_limited_total", "limit" => format!("{}-account", self.kind)).increment(1);
            return Err(AuthnError::Throttled);
        }
        let Some(ip) = ip else { return Ok(Attempt { account_key, ip_key: None }) };
        let ip_key = self.ip_key(ip);
        if self.fast.incr_window(&ip_key, FAILURE_WINDOW).await? > MAX_FAILURES_PER_IP {
            if account > 1 {
                // This account is being guessed at too: refuse, and do not
                // charge the account for an attempt that was not made.
                self.fast.decrement(&account_key).await?;
                metrics::counter!("latchkey_rate_limited_total", "limit" => format!("{}-ip", self.kind)).increment(1);
                return Err(AuthnError::Throttled);
            }
            tracing::info!(target: "security", event = "ip_over_limit_slowed", ip, "per-IP limit reached; clean account slowed down, not refused");
            tokio::time::sleep(self.ip_delay).await;
        }
        Ok(Attempt { account_key, ip_key: Some(ip_key) })
    }

    /// A success: the account's failures are forgiven and the IP's
    /// reservation is given back (successes are not failures).
    pub async fn succeeded(&self, attempt: Attempt) -> Result<(), AuthnError> {
        self.fast.delete(&attempt.account_key).await?;
        if let Some(k) = &attempt.ip_key {
            self.fast.decrement(k).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn locks_after_max_failures_and_success_resets() {
        let t = LoginThrottle::new(FastStore::memory());
        for _ in 0..MAX_FAILURES_PER_ACCOUNT {
            t.reserve("alice", Some("1.2.3.4")).await.unwrap();
        }
        assert!(matches!(t.reserve("alice", None).await, Err(AuthnError::Throttled)));
        let bob = t.reserve("bob", Some("1.2.3.4")).await.unwrap();
        t.succeeded(bob).await.unwrap();
        let fast = t.fast.clone();
        fast.delete(&t.account_key("alice")).await.unwrap();
        assert!(t.reserve("alice", None).await.is_ok());
    }

    #[tokio::test]
    async fn parallel_attempts_cannot_exceed_the_limit() {
        let t = LoginThrottle::new(FastStore::memory());
        let tasks: Vec<_> = (0..40).map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.reserve("alice", Some("1.2.3.4")).await.is_ok() })
        }).collect();
        let mut allowed = 0;
        for task in tasks {
            allowed += i64::from(task.await.unwrap());
        }
        assert_eq!(allowed, MAX_FAILURES_PER_ACCOUNT);
    }

    #[tokio::test]
    async fn ip_limit_slows_but_never_refuses_a_clean_account() {
        let t = LoginThrottle { ip_delay: Duration::from_millis(1), ..LoginThrottle::new(FastStore::memory()) };
        for i in 0..MAX_FAILURES_PER_IP {
            t.reserve(&format!("made-up-{i}"), Some("10.0.0.1")).await.unwrap();
        }
        let ok = t.reserve("alice", Some("10.0.0.1")).await.expect("clean account is not refused");
        t.succeeded(ok).await.unwrap();
        // An account that already failed from this over-limit address is refused.
        t.reserve("carol", Some("10.0.0.2")).await.unwrap();
        assert!(matches!(t.reserve("carol", Some("10.0.0.1")).await, Err(AuthnError::Throttled)));
        assert_eq!(t.fast.get(&t.account_key("carol")).await.unwrap().as_deref(), Some("1"), "the refused attempt was not charged to the account");
    }
}
