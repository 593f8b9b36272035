//! Rate limits on sign-in attempts, per account and per client IP, kept in the
//! fast store so every node counts together.

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

#[derive(Clone)]
pub struct LoginThrottle {
    fast: FastStore,
    /// Key namespace: passwords and second factors are counted separately.
    kind: &'static str,
}

impl LoginThrottle {
    pub fn new(fast: FastStore) -> LoginThrottle {
        LoginThrottle { fast, kind: "login-fail" }
    }

    /// The same limits, counted separately, for second-factor codes.
    pub fn for_second_factor(self) -> LoginThrottle {
        LoginThrottle { kind: "mfa-fail", ..self }
    }

    fn account_key(&self, username: &str) -> String {
        format!("{}:user:{}", self.kind, username.to_lowercase())
    }

    fn ip_key(&self, ip: &str) -> String {
        format!("{}:ip:{ip}", self.kind)
    }

    /// Refuses before any password is checked when a limit has been reached.
    pub async fn check(&self, username: &str, ip: Option<&str>) -> Result<(), AuthnError> {
        let over = |v: Option<String>, max: i64| v.and_then(|s| s.parse::<i64>().ok()).unwrap_or(0) >= max;
        if over(self.fast.get(&self.account_key(username)).await?, MAX_FAILURES_PER_ACCOUNT) {
            return Err(AuthnError::Throttled);
        }
        if let Some(ip) = ip {
            if over(self.fast.get(&self.ip_key(ip)).await?, MAX_FAILURES_PER_IP) {
                return Err(AuthnError::Throttled);
            }
        }
        Ok(())
    }

    pub async fn record_failure(&self, username: &str, ip: Option<&str>) -> Result<(), AuthnError> {
        self.fast.incr_window(&self.account_key(username), FAILURE_WINDOW).await?;
        if let Some(ip) = ip {
            self.fast.incr_window(&self.ip_key(ip), FAILURE_WINDOW).await?;
        }
        Ok(())
    }

    pub async fn record_success(&self, username: &str) -> Result<(), AuthnError> {
        self.fast.delete(&self.account_key(username)).await?;
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
            t.check("alice", Some("1.2.3.4")).await.unwrap();
            t.record_failure("alice", Some("1.2.3.4")).await.unwrap();
        }
        assert!(matches!(t.check("alice", None).await, Err(AuthnError::Throttled)));
        assert!(t.check("bob", Some("1.2.3.4")).await.is_ok(), "other accounts unaffected");
        t.record_success("alice").await.unwrap();
        assert!(t.check("alice", None).await.is_ok());
    }
}
