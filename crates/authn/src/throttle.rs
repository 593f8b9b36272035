//! Rate limits on sign-in attempts, per account and per client IP, kept in the
//! fast store so every node counts together.
//!
//! Lockout follows OWASP's "device cookie" scheme, so that an attacker's
//! failures cannot lock an account's owner out: a browser that has signed in
//! to an account holds a signed device cookie for it (the web layer checks the
//! signature and passes the cookie's id here). Failures from such a *known
//! device* count against that device only; failures from everywhere else count
//! against the account's limit for unknown devices. A password sprayer locks
//! the unknown-device door; the owner's own browser still opens.
//!
//! An attempt is *reserved* before anything is checked: the counters are
//! incremented first and the attempt refused when that took them over the
//! limit. Parallel guesses therefore cannot all slip through a
//! check-then-count gap. A success gives its reservations back.
//!
//! Counters are keyed on the account's id ([`Subject`]), never on the name
//! typed: `ALICE` and `alice` (or any later rename) are one counter, so a
//! second account cannot reset or sidestep the first one's (issue #24 item 2).

use std::time::Duration;

use latchkey_domain::UserId;
use latchkey_store::FastStore;
use latchkey_token::crypto::KeyedHasher;

use crate::error::AuthnError;

/// Failed attempts allowed per account in one window: enough for a person who
/// mistypes, far too few for online guessing.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 10;
/// Per client IP the limit is higher, as many users may share one NAT address.
pub const MAX_FAILURES_PER_IP: i64 = 100;
/// Failed attempts allowed from one known device of an account (a browser
/// holding a device cookie for it) in one window, counted apart from the
/// account's unknown-device failures.
pub const MAX_FAILURES_PER_DEVICE: i64 = 10;
/// Progressive delay: failures beyond this many (per account or device) make
/// each further attempt wait before its password is checked...
pub const FREE_FAILURES: i64 = 5;
/// ...by this much per failure over [`FREE_FAILURES`], up to
/// [`MAX_FAILURE_DELAY`]: a person retrying by hand barely notices; a script
/// that has not yet hit the hard limit is slowed to a crawl.
pub const FAILURE_DELAY_STEP: Duration = Duration::from_millis(200);
pub const MAX_FAILURE_DELAY: Duration = Duration::from_secs(1);
/// The window the limits are counted over.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Over the per-IP limit, an account whose own counter is clean is slowed
/// down rather than refused: one abusive client behind a shared address
/// (a proxy, a NAT) must not lock every other user out, yet it gets at most
/// one attempt per connection every two seconds.
pub const IP_OVER_LIMIT_DELAY: Duration = Duration::from_secs(2);
/// Device cookie ids are counted by at most this many characters, so
/// made-up ids cannot make counter keys arbitrarily large.
const MAX_COUNTED_NAME: usize = 64;

/// Whom an attempt counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An existing account, by its id.
    Account(UserId),
    /// A name no account has: a keyed hash of it (see
    /// [`LoginThrottle::unknown_name`]), so guesses at made-up names are
    /// limited like any other, the typed text never reaches the store, and
    /// every counter key has the same shape and bounded size.
    UnknownName(String),
}

/// What a reservation needs to be given back after a success.
#[derive(Debug)]
pub struct Attempt {
    counter_key: String,
    ip_key: Option<String>,
}

#[derive(Clone)]
pub struct LoginThrottle {
    fast: FastStore,
    /// Keys the hash of names that no account has.
    names: KeyedHasher,
    /// Key namespace: passwords and second factors are counted separately.
    kind: &'static str,
    ip_delay: Duration,
    delay_step: Duration,
}

impl LoginThrottle {
    /// `names` is a keyed hasher ([`latchkey_token::crypto::KeyPurpose::LoginName`]):
    /// every node of a deployment must count an unknown name under one key.
    pub fn new(fast: FastStore, names: KeyedHasher) -> LoginThrottle {
        LoginThrottle { fast, names, kind: "login-fail", ip_delay: IP_OVER_LIMIT_DELAY, delay_step: FAILURE_DELAY_STEP }
    }

    /// The subject for a typed name that names no account: a keyed hash of
    /// the name as it is looked up (trimmed, ASCII lower case).
    pub fn unknown_name(&self, typed: &str) -> Subject {
        Subject::UnknownName(self.names.hash(&typed.trim().to_ascii_lowercase()))
    }

    /// The subject of `user` if there is one, else of the typed name.
    pub fn subject(&self, user: Option<&UserId>, typed: &str) -> Subject {
        match user {
            Some(id) => Subject::Account(id.clone()),
            None => self.unknown_name(typed),
        }
    }

    /// The same limits, counted separately, for second-factor codes.
    pub fn for_second_factor(self) -> LoginThrottle {
        LoginThrottle { kind: "mfa-fail", ..self }
    }

    fn account_key(&self, subject: &Subject) -> String {
        match subject {
            Subject::Account(id) => format!("{}:account:{}", self.kind, id.0.chars().take(MAX_COUNTED_NAME).collect::<String>()),
            Subject::UnknownName(hash) => format!("{}:name:{}", self.kind, hash.chars().take(MAX_COUNTED_NAME).collect::<String>()),
        }
    }

    fn device_key(&self, device: &str) -> String {
        let id: String = device.chars().take(MAX_COUNTED_NAME).collect();
        format!("{}:device:{id}", self.kind)
    }

    fn ip_key(&self, ip: &str) -> String {
        format!("{}:ip:{ip}", self.kind)
    }

    /// Reserves one attempt for `subject` from `ip`, or refuses it
    /// ([`AuthnError::Throttled`]) when that goes over a limit. `known_device`
    /// is the id of a verified device cookie for this account: its failures
    /// count against that device, not against the account's unknown devices.
    /// A failed attempt simply keeps its reservation; call
    /// [`LoginThrottle::succeeded`] after a success.
    pub async fn reserve(&self, subject: &Subject, ip: Option<&str>, known_device: Option<&str>) -> Result<Attempt, AuthnError> {
        let (counter_key, limit, scope) = match known_device {
            Some(device) => (self.device_key(device), MAX_FAILURES_PER_DEVICE, "device"),
            None => (self.account_key(subject), MAX_FAILURES_PER_ACCOUNT, "account"),
        };
        let failures = self.fast.incr_window(&counter_key, FAILURE_WINDOW).await?;
        if failures > limit {
            metrics::counter!("latchkey_rate_limited_total", "limit" => format!("{}-{scope}", self.kind)).increment(1);
            tracing::info!(target: "security", event = "throttled", kind = self.kind, scope, ip, "attempt refused: too many failures");
            return Err(AuthnError::Throttled);
        }
        let ip_key = match ip {
            Some(ip) => {
                let ip_key = self.ip_key(ip);
                if self.fast.incr_window(&ip_key, FAILURE_WINDOW).await? > MAX_FAILURES_PER_IP {
                    if failures > 1 {
                        // This account is being guessed at too: refuse, and do not
                        // charge the account for an attempt that was not made.
                        self.fast.decrement(&counter_key).await?;
                        metrics::counter!("latchkey_rate_limited_total", "limit" => format!("{}-ip", self.kind)).increment(1);
                        tracing::info!(target: "security", event = "throttled", kind = self.kind, scope = "ip", ip, "attempt refused: address over its limit");
                        return Err(AuthnError::Throttled);
                    }
                    tracing::info!(target: "security", event = "ip_over_limit_slowed", ip, "per-IP limit reached; clean account slowed down, not refused");
                    tokio::time::sleep(self.ip_delay).await;
                }
                Some(ip_key)
            }
            None => None,
        };
        let delay = failure_delay(failures - 1, self.delay_step);
        if !delay.is_zero() {
            metrics::counter!("latchkey_login_delayed_total", "kind" => self.kind).increment(1);
            tokio::time::sleep(delay).await;
        }
        Ok(Attempt { counter_key, ip_key })
    }

    /// A success: the account's failures are forgiven and the IP's
    /// reservation is given back (successes are not failures).
    pub async fn succeeded(&self, attempt: Attempt) -> Result<(), AuthnError> {
        self.fast.delete(&attempt.counter_key).await?;
        if let Some(k) = &attempt.ip_key {
            self.fast.decrement(k).await?;
        }
        Ok(())
    }
}

/// How long an attempt waits after `failures` earlier failures.
fn failure_delay(failures: i64, step: Duration) -> Duration {
    let over = u32::try_from(failures - FREE_FAILURES).unwrap_or(0);
    step.saturating_mul(over).min(MAX_FAILURE_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(FastStore::memory(), KeyedHasher::from_secret(b"test key"))
    }

    /// The real limits without the progressive delay (its own test covers it).
    fn quick() -> LoginThrottle {
        LoginThrottle { delay_step: Duration::ZERO, ..throttle() }
    }

    fn acct(id: &str) -> Subject {
        Subject::Account(UserId(id.into()))
    }

    /// Item 2 of issue #24: the counter is the account's, whatever the case
    /// of the name typed; an unknown name is counted under a keyed hash of
    /// its lower case, never as typed.
    #[tokio::test]
    async fn unknown_names_count_by_a_keyed_hash_of_their_lower_case() {
        let t = quick();
        assert_eq!(t.unknown_name("Mallory"), t.unknown_name(" mallory "));
        assert_ne!(t.unknown_name("mallory"), t.unknown_name("mallory2"));
        let Subject::UnknownName(hash) = t.unknown_name("Mallory") else { panic!("an unknown name") };
        assert!(!hash.contains("allory") && hash.len() == 64, "{hash}");
        let other_key = LoginThrottle::new(FastStore::memory(), KeyedHasher::from_secret(b"another deployment"));
        assert_ne!(t.unknown_name("mallory"), other_key.unknown_name("mallory"), "keyed, not a plain digest");
        for _ in 0..MAX_FAILURES_PER_ACCOUNT {
            t.reserve(&t.unknown_name("mallory"), None, None).await.unwrap();
        }
        assert!(matches!(t.reserve(&t.unknown_name("MALLORY"), None, None).await, Err(AuthnError::Throttled)));
        assert_eq!(t.subject(Some(&UserId("id-1".into())), "ALICE"), acct("id-1"), "an account counts by its id, not the name typed");
    }

    #[tokio::test]
    async fn an_attackers_failures_do_not_lock_the_owners_known_device() {
        let t = quick();
        for _ in 0..MAX_FAILURES_PER_ACCOUNT {
            t.reserve(&acct("alice"), Some("203.0.113.9"), None).await.unwrap();
        }
        assert!(matches!(t.reserve(&acct("alice"), Some("203.0.113.9"), None).await, Err(AuthnError::Throttled)), "unknown devices are locked out");
        let owner = t.reserve(&acct("alice"), Some("198.51.100.7"), Some("device-1")).await.expect("the known device still gets its attempt");
        t.succeeded(owner).await.unwrap();
        assert!(matches!(t.reserve(&acct("alice"), None, None).await, Err(AuthnError::Throttled)), "the owner's success does not unlock unknown devices");
    }

    #[tokio::test]
    async fn a_known_device_is_locked_by_its_own_failures_only() {
        let t = quick();
        for _ in 0..MAX_FAILURES_PER_DEVICE {
            t.reserve(&acct("alice"), None, Some("device-1")).await.unwrap();
        }
        assert!(matches!(t.reserve(&acct("alice"), None, Some("device-1")).await, Err(AuthnError::Throttled)));
        assert!(t.reserve(&acct("alice"), None, Some("device-2")).await.is_ok(), "another known device is not affected");
        assert!(t.reserve(&acct("alice"), None, None).await.is_ok(), "nor are unknown devices");
    }

    #[test]
    fn the_delay_grows_after_the_free_failures_and_is_capped() {
        assert_eq!(failure_delay(0, FAILURE_DELAY_STEP), Duration::ZERO);
        assert_eq!(failure_delay(FREE_FAILURES, FAILURE_DELAY_STEP), Duration::ZERO);
        assert_eq!(failure_delay(FREE_FAILURES + 1, FAILURE_DELAY_STEP), FAILURE_DELAY_STEP);
        assert_eq!(failure_delay(FREE_FAILURES + 3, FAILURE_DELAY_STEP), FAILURE_DELAY_STEP * 3);
        assert_eq!(failure_delay(1000, FAILURE_DELAY_STEP), MAX_FAILURE_DELAY);
    }

    #[tokio::test]
    async fn attempts_after_the_free_failures_wait() {
        let t = LoginThrottle { delay_step: Duration::from_millis(50), ..throttle() };
        for _ in 0..FREE_FAILURES + 2 {
            t.reserve(&acct("alice"), None, None).await.unwrap();
        }
        let started = std::time::Instant::now();
        t.reserve(&acct("alice"), None, None).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(100), "two failures over the free ones: two steps");
    }

    #[tokio::test]
    async fn locks_after_max_failures_and_success_resets() {
        let t = quick();
        for _ in 0..MAX_FAILURES_PER_ACCOUNT {
            t.reserve(&acct("alice"), Some("1.2.3.4"), None).await.unwrap();
        }
        assert!(matches!(t.reserve(&acct("alice"), None, None).await, Err(AuthnError::Throttled)));
        let bob = t.reserve(&acct("bob"), Some("1.2.3.4"), None).await.unwrap();
        t.succeeded(bob).await.unwrap();
        let fast = t.fast.clone();
        fast.delete(&t.account_key(&acct("alice"))).await.unwrap();
        assert!(t.reserve(&acct("alice"), None, None).await.is_ok());
    }

    #[tokio::test]
    async fn parallel_attempts_cannot_exceed_the_limit() {
        let t = quick();
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let t = t.clone();
                tokio::spawn(async move { t.reserve(&acct("alice"), Some("1.2.3.4"), None).await.is_ok() })
            })
            .collect();
        let mut allowed = 0;
        for task in tasks {
            allowed += i64::from(task.await.unwrap());
        }
        assert_eq!(allowed, MAX_FAILURES_PER_ACCOUNT);
    }

    #[tokio::test]
    async fn ip_limit_slows_but_never_refuses_a_clean_account() {
        let t = LoginThrottle { ip_delay: Duration::from_millis(1), ..quick() };
        for i in 0..MAX_FAILURES_PER_IP {
            t.reserve(&t.unknown_name(&format!("made-up-{i}")), Some("10.0.0.1"), None).await.unwrap();
        }
        let ok = t.reserve(&acct("alice"), Some("10.0.0.1"), None).await.expect("clean account is not refused");
        t.succeeded(ok).await.unwrap();
        // An account that already failed from this over-limit address is refused.
        t.reserve(&acct("carol"), Some("10.0.0.2"), None).await.unwrap();
        assert!(matches!(t.reserve(&acct("carol"), Some("10.0.0.1"), None).await, Err(AuthnError::Throttled)));
        assert_eq!(t.fast.get(&t.account_key(&acct("carol"))).await.unwrap().as_deref(), Some("1"), "the refused attempt was not charged to the account");
    }
}
