//! Request rate limits (sign-up, recovery requests, link redemption), per
//! client address and per account or address, counted in the fast store so
//! every node counts together. Fixed windows of the server clock.

use std::time::Duration;

use latchkey_domain::SharedClock;
use latchkey_store::FastStore;

use crate::error::AuthnError;

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// What is limited, for the key and the log.
    pub name: &'static str,
    pub max: i64,
    pub window_secs: i64,
}

/// Sign-ups from one address: a family or an office, not a script.
pub const SIGNUP_PER_IP: Limit = Limit { name: "signup-ip", max: 10, window_secs: 3600 };
/// Sign-up (and its resends) for one email address: a mailbox is not flooded.
pub const SIGNUP_PER_ADDRESS: Limit = Limit { name: "signup-address", max: 3, window_secs: 3600 };
/// Recovery requests from one address.
pub const RECOVERY_PER_IP: Limit = Limit { name: "recovery-ip", max: 20, window_secs: 3600 };
/// Recovery requests (and so recovery mails) for one account name or address.
pub const RECOVERY_PER_ACCOUNT: Limit = Limit { name: "recovery-account", max: 5, window_secs: 3600 };
/// Link redemptions (set-up, recovery, email change) from one address: enough
/// for a person retrying, too few to try tokens (which are 256-bit anyway).
pub const LINKS_PER_IP: Limit = Limit { name: "links-ip", max: 30, window_secs: 15 * 60 };
/// Passkey sign-in ceremonies started from one address. Every sign-in page
/// starts one for passkey autofill, so this is sized for a busy office behind
/// one NAT address (5 page loads a second, sustained), not a flood: each
/// start parks a ceremony (~1.5 KiB with the store's overhead) for 5 minutes,
/// so one address holds at most ~4.4 MiB of the 64 MiB in-process budget.
pub const PASSKEY_START_PER_IP: Limit = Limit { name: "passkey-start-ip", max: 3_000, window_secs: 10 * 60 };
/// Sign-ins through upstream providers, started or answered, from one
/// address (issue #26): each start parks a flow for 10 minutes and each
/// callback may cost a token request and a signature check upstream, so a
/// flood is cut off; a busy office behind one address (a sign-in a second)
/// stays under it.
pub const FEDERATION_PER_IP: Limit = Limit { name: "federation-ip", max: 600, window_secs: 10 * 60 };
/// Client registrations (RFC 7591) from one address: a developer trying
/// things out gets through, a script minting thousands of clients does not.
pub const REGISTRATION_PER_IP: Limit = Limit { name: "registration-ip", max: 20, window_secs: 3600 };
/// Client ID metadata documents fetched for requests from one address
/// (issue #27): each fetch is an outgoing request of up to 5 s to a URL the
/// requester chose, so a flood of made-up client ids is cut off; a cached
/// document costs nothing and is not counted.
pub const METADATA_FETCH_PER_IP: Limit = Limit { name: "metadata-fetch-ip", max: 30, window_secs: 10 * 60 };
/// Email changes requested per account.
pub const EMAIL_CHANGE_PER_ACCOUNT: Limit = Limit { name: "email-change", max: 5, window_secs: 3600 };

#[derive(Clone)]
pub struct RateLimiter {
    fast: FastStore,
    clock: SharedClock,
}

impl RateLimiter {
    pub fn new(fast: FastStore, clock: SharedClock) -> RateLimiter {
        RateLimiter { fast, clock }
    }

    /// Counts one request for `key` under `limit`; refuses it (with the
    /// seconds until the window ends) when that went over.
    pub async fn hit(&self, limit: Limit, key: &str) -> Result<(), AuthnError> {
        let now = self.clock.now();
        let window = now.div_euclid(limit.window_secs);
        let key: String = key.to_lowercase().chars().take(254).collect();
        let bucket = format!("rate:{}:{key}:{window}", limit.name);
        let ttl = Duration::from_secs(limit.window_secs as u64 + 60);
        if self.fast.incr_window(&bucket, ttl).await? > limit.max {
            let retry_after = (window + 1) * limit.window_secs - now;
            metrics::counter!("latchkey_rate_limited_total", "limit" => limit.name).increment(1);
            return Err(AuthnError::RateLimited { retry_after: retry_after.max(1) });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use latchkey_domain::ManualClock;

    use super::*;

    #[tokio::test]
    async fn refuses_over_the_limit_and_recovers_in_the_next_window() {
        let clock = Arc::new(ManualClock::new());
        let limiter = RateLimiter::new(FastStore::memory(), clock.clone());
        let limit = Limit { name: "t", max: 2, window_secs: 60 };
        limiter.hit(limit, "a").await.unwrap();
        limiter.hit(limit, "A").await.unwrap();
        match limiter.hit(limit, "a").await {
            Err(AuthnError::RateLimited { retry_after }) => assert!((1..=60).contains(&retry_after)),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(limiter.hit(limit, "b").await.is_ok(), "other keys are unaffected");
        clock.advance(60);
        assert!(limiter.hit(limit, "a").await.is_ok(), "a new window");
    }
}
