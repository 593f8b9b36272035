//! Request rate limits on the token, revocation and introspection endpoints:
//! per client, and per client and address for public clients (anyone can
//! claim a public client's id). GCRA buckets: in Redis (one atomic script, so
//! every node shares a bucket) when there is one, else in process with
//! `governor`; when Redis fails, each node counts on its own (per-node limits)
//! rather than failing the request.
//!
//! A client's own budget is spent only by requests that authenticated as it
//! ([`Gate`]): a request that fails client authentication is counted per
//! claimed client id *and* address, so whoever knows a confidential client's
//! id cannot drain that client's bucket with wrong secrets (issue #24 item
//! 23), and a guesser is slowed down at their own address.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use latchkey_domain::SharedClock;
use latchkey_store::FastStore;

use crate::error::OAuthError;

/// The sustained rate allowed per client (or public client and address).
/// Far above what one legitimate client sends (the benchmarks' single client
/// peaks near 30,000 requests/s on this whole server), so the limit only ever
/// meets a runaway or hostile caller; operators lower it to their clients'
/// real figures.
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 50_000;
/// Requests allowed at once above the sustained rate (two seconds' worth).
pub const DEFAULT_BURST: u32 = 100_000;
/// Keys are cut to this length: a client id or address is never longer, and
/// made-up ones cannot make bucket keys arbitrarily large.
const MAX_KEY: usize = 200;
/// Above this many in-process buckets, idle ones are dropped.
const MAX_LOCAL_BUCKETS: usize = 100_000;
/// After a failed Redis call, the limits count in process for this long
/// before trying Redis again: an outage then costs one bounded wait per node
/// every two seconds, not one per request. Read on the injected clock
/// (whole seconds), so a test moves past it instead of sleeping.
const REDIS_RETRY_AFTER_SECS: i64 = 2;

/// Requests per second and burst (`LATCHKEY_ENDPOINT_RATE_LIMIT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointRate {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Default for EndpointRate {
    fn default() -> Self {
        EndpointRate { per_second: NonZeroU32::new(DEFAULT_REQUESTS_PER_SECOND).unwrap_or(NonZeroU32::MIN), burst: NonZeroU32::new(DEFAULT_BURST).unwrap_or(NonZeroU32::MIN) }
    }
}

impl EndpointRate {
    /// `"<per second>"` or `"<per second>/<burst>"`; `None` for `off`.
    pub fn parse(text: &str) -> Result<Option<EndpointRate>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .ok()
                .and_then(NonZeroU32::new)
                .ok_or_else(|| format!("LATCHKEY_ENDPOINT_RATE_LIMIT={text:?}: expected off, <requests per second> or <requests per second>/<burst>, positive numbers"))
        };
        match text.split_once('/') {
            Some((rate, burst)) => Ok(Some(EndpointRate { per_second: number(rate)?, burst: number(burst)? })),
            None => {
                let per_second = number(text)?;
                Ok(Some(EndpointRate { per_second, burst: per_second.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN)) }))
            }
        }
    }

    fn interval_us(self) -> u64 {
        (1_000_000 / u64::from(self.per_second.get())).max(1)
    }
}

/// Most (claimed client, address) pairs remembered per node as refused for
/// failing authentication too often; beyond this, expired ones are dropped,
/// and if none has expired the oldest entries go (a flood of made-up pairs
/// then costs a Redis question each, never memory).
const MAX_BLOCKED: usize = 10_000;

/// Who a request is counted against.
pub enum Caller<'a> {
    /// A confidential client (it authenticated with a secret or a signed
    /// assertion): counted per client.
    Confidential { client_id: &'a str },
    /// A public client or no client at all: counted per client and address.
    Public { client_id: Option<&'a str>, ip: Option<&'a str> },
    /// A request that failed client authentication: counted per claimed
    /// client id and address, apart from that client's own budget.
    Unauthenticated { claimed: &'a str, ip: Option<&'a str> },
}

impl Caller<'_> {
    fn key(&self) -> String {
        let key = match self {
            Caller::Confidential { client_id } => format!("c:{client_id}"),
            Caller::Public { client_id, ip } => {
                format!("p:{}@{}", client_id.unwrap_or("-"), ip.unwrap_or("-"))
            }
            Caller::Unauthenticated { claimed, ip } => format!("f:{claimed}@{}", ip.unwrap_or("-")),
        };
        key.chars().take(MAX_KEY).collect()
    }
}

/// The rate limit of one request to one endpoint, applied around client
/// authentication (`OAuthService::authenticate_client`): a pair that failed
/// too often is refused before its credentials are checked again; an
/// authenticated request is counted against its client; a failed one against
/// the claimed id at this address.
#[derive(Clone)]
pub struct Gate {
    limiter: EndpointLimiter,
    endpoint: &'static str,
    ip: Option<String>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

impl Gate {
    pub fn new(limiter: &EndpointLimiter, endpoint: &'static str, ip: Option<String>) -> Gate {
        Gate { limiter: limiter.clone(), endpoint, ip }
    }

    fn failure_key(&self, claimed: &str) -> String {
        format!("{}:{}", self.endpoint, Caller::Unauthenticated { claimed, ip: self.ip.as_deref() }.key())
    }

    /// Before authentication: refused while this (claimed id, address) is
    /// known on this node to have used up its failures. Costs no Redis call.
    pub fn admit(&self, claimed: &str) -> Result<(), OAuthError> {
        if self.limiter.rate.is_none() {
            return Ok(());
        }
        match self.limiter.blocked_for(&self.failure_key(claimed)) {
            Some(wait) => Err(OAuthError::RateLimited { retry_after: wait.as_secs().max(1) }),
            None => Ok(()),
        }
    }

    /// After a successful authentication: one request of `client_id`'s.
    pub async fn authenticated(&self, client_id: &str, confidential: bool) -> Result<(), OAuthError> {
        let caller = if confidential { Caller::Confidential { client_id } } else { Caller::Public { client_id: Some(client_id), ip: self.ip.as_deref() } };
        self.limiter.check(self.endpoint, &caller).await
    }

    /// After a failed authentication: one failure of `claimed` at this
    /// address. Past the budget the answer is 429 instead of 401, and this
    /// node refuses the pair without checking credentials until it refills.
    pub async fn failed(&self, claimed: &str) -> Result<(), OAuthError> {
        let result = self.limiter.check(self.endpoint, &Caller::Unauthenticated { claimed, ip: self.ip.as_deref() }).await;
        if let Err(OAuthError::RateLimited { retry_after }) = &result {
            self.limiter.block(self.failure_key(claimed), Duration::from_secs(*retry_after));
        }
        result
    }
}

#[derive(Clone)]
pub struct EndpointLimiter {
    rate: Option<EndpointRate>,
    fast: FastStore,
    /// The in-process buckets keep `governor`'s own monotonic clock: GCRA
    /// needs sub-second precision, which the injected clock does not have.
    local: Arc<DefaultKeyedRateLimiter<String>>,
    /// The injected clock: when to try Redis again, when a block ends.
    clock: SharedClock,
    /// Until when (seconds since the epoch, on `clock`) Redis is skipped after a failure.
    shared_down_until: Arc<AtomicI64>,
    /// Failure keys ([`Caller::Unauthenticated`]) found over their budget,
    /// and until when (seconds, on `clock`) this node refuses them without
    /// asking (see [`Gate`]).
    blocked: Arc<Mutex<HashMap<String, i64>>>,
}

impl EndpointLimiter {
    /// `rate: None` turns the limits off.
    pub fn new(rate: Option<EndpointRate>, fast: FastStore, clock: SharedClock) -> EndpointLimiter {
        let quota = rate.map(|r| Quota::per_second(r.per_second).allow_burst(r.burst)).unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX));
        EndpointLimiter { rate, fast, local: Arc::new(DefaultKeyedRateLimiter::keyed(quota)), clock, shared_down_until: Arc::new(AtomicI64::new(0)), blocked: Default::default() }
    }

    /// How long `key` stays refused on this node, if it is.
    fn blocked_for(&self, key: &str) -> Option<Duration> {
        let now = self.clock.now();
        let blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        // Whole seconds: blocked through the second `until` names, so for at least the wait.
        blocked.get(key).filter(|until| **until >= now).map(|until| Duration::from_secs(until.abs_diff(now).max(1)))
    }

    fn block(&self, key: String, wait: Duration) {
        let now = self.clock.now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        if blocked.len() >= MAX_BLOCKED {
            blocked.retain(|_, until| *until >= now);
            if blocked.len() >= MAX_BLOCKED {
                blocked.clear();
            }
        }
        blocked.insert(key, now.saturating_add(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX)));
    }

    /// Counts one request to `endpoint` by `caller`; refuses it (429 with
    /// `Retry-After`) when its bucket is empty.
    pub async fn check(&self, endpoint: &'static str, caller: &Caller<'_>) -> Result<(), OAuthError> {
        let Some(rate) = self.rate else { return Ok(()) };
        let key = format!("{endpoint}:{}", caller.key());
        let tolerance = rate.interval_us().saturating_mul(u64::from(rate.burst.get()) - 1);
        // Whole seconds: skipped through the second named, so for at least the back-off.
        let shared = if self.clock.now() <= self.shared_down_until.load(Ordering::Relaxed) {
            metrics::counter!("latchkey_rate_limit_fallback_total").increment(1);
            None
        } else {
            match self.fast.gcra(&format!("gcra:{key}"), rate.interval_us(), tolerance).await {
                Ok(wait) => wait.map(Duration::from_micros),
                Err(e) => {
                    // Redis is down: count on this node rather than fail the request.
                    self.shared_down_until.store(self.clock.now().saturating_add(REDIS_RETRY_AFTER_SECS), Ordering::Relaxed);
                    metrics::counter!("latchkey_rate_limit_fallback_total").increment(1);
                    tracing::warn!(error = %e, "rate limit store unavailable; counting on this node for 2 s");
                    None
                }
            }
        };
        let wait = match shared {
            Some(wait) => wait,
            None => self.local_check(key.clone()),
        };
        if wait.is_zero() {
            return Ok(());
        }
        metrics::counter!("latchkey_rate_limited_total", "limit" => endpoint).increment(1);
        tracing::warn!(target: "security", event = "endpoint_rate_limited", endpoint, key = %key, "endpoint rate limit reached");
        Err(OAuthError::RateLimited { retry_after: wait.as_secs().max(1) })
    }

    fn local_check(&self, key: String) -> Duration {
        if self.local.len() > MAX_LOCAL_BUCKETS {
            self.local.retain_recent();
        }
        match self.local.check_key(&key) {
            Ok(()) => Duration::ZERO,
            Err(not_until) => not_until.wait_time_from(DefaultClock::default().now()).max(Duration::from_micros(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_second: u32, burst: u32) -> Option<EndpointRate> {
        Some(EndpointRate { per_second: NonZeroU32::new(per_second).unwrap(), burst: NonZeroU32::new(burst).unwrap() })
    }

    #[test]
    fn parses_the_setting() {
        assert_eq!(EndpointRate::parse("off").unwrap(), None);
        assert_eq!(EndpointRate::parse("100/300").unwrap(), rate(100, 300));
        assert_eq!(EndpointRate::parse("100").unwrap(), rate(100, 200));
        for bad in ["", "0", "-1", "10/0", "ten", "10/x", "99999999999"] {
            assert!(EndpointRate::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn in_process_buckets_allow_the_burst_then_refuse_with_a_wait() {
        let limiter = EndpointLimiter::new(rate(1, 3), FastStore::memory(), Arc::new(latchkey_domain::ManualClock::new()));
        let app = Caller::Confidential { client_id: "app" };
        for _ in 0..3 {
            limiter.check("token", &app).await.unwrap();
        }
        match limiter.check("token", &app).await {
            Err(OAuthError::RateLimited { retry_after }) => assert_eq!(retry_after, 1),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Other clients, other endpoints, and a public client's other addresses have their own buckets.
        limiter.check("token", &Caller::Confidential { client_id: "other" }).await.unwrap();
        limiter.check("introspect", &app).await.unwrap();
        let spa = |ip| Caller::Public { client_id: Some("spa"), ip: Some(ip) };
        for _ in 0..3 {
            limiter.check("token", &spa("10.0.0.1")).await.unwrap();
        }
        assert!(limiter.check("token", &spa("10.0.0.1")).await.is_err());
        limiter.check("token", &spa("10.0.0.2")).await.unwrap();
    }

    #[tokio::test]
    async fn failures_are_counted_apart_from_the_clients_budget() {
        let limiter = EndpointLimiter::new(rate(1, 3), FastStore::memory(), Arc::new(latchkey_domain::ManualClock::new()));
        let attacker = Gate::new(&limiter, "token", Some("10.0.0.66".into()));
        for _ in 0..3 {
            attacker.admit("app").unwrap();
            attacker.failed("app").await.unwrap();
        }
        assert!(matches!(attacker.failed("app").await, Err(OAuthError::RateLimited { .. })), "the attacker's failures run out");
        assert!(attacker.admit("app").is_err(), "then refused before any credential check");
        // The client's own budget, and the same id's failures elsewhere, are untouched.
        let client = Gate::new(&limiter, "token", Some("10.0.0.1".into()));
        client.admit("app").unwrap();
        for _ in 0..3 {
            client.authenticated("app", true).await.unwrap();
        }
        assert!(client.authenticated("app", true).await.is_err(), "the client's own burst is its own");
        client.failed("app").await.unwrap();
        // Another endpoint has its own failure budget.
        Gate::new(&limiter, "revoke", Some("10.0.0.66".into())).admit("app").unwrap();
    }

    #[tokio::test]
    async fn a_blocked_pair_is_admitted_again_when_the_injected_clock_passes_the_wait() {
        let clock = Arc::new(latchkey_domain::ManualClock::new());
        let limiter = EndpointLimiter::new(rate(1, 1), FastStore::memory(), clock.clone());
        let attacker = Gate::new(&limiter, "token", Some("10.0.0.66".into()));
        attacker.failed("app").await.unwrap();
        let Err(OAuthError::RateLimited { retry_after }) = attacker.failed("app").await else { panic!("the second failure is over the budget") };
        assert!(attacker.admit("app").is_err(), "blocked on this node");
        clock.advance(i64::try_from(retry_after).unwrap() + 1);
        attacker.admit("app").expect("the block ends on the injected clock, not the wall clock");
    }

    #[tokio::test]
    async fn off_means_no_limit() {
        let limiter = EndpointLimiter::new(None, FastStore::memory(), Arc::new(latchkey_domain::ManualClock::new()));
        for _ in 0..1000 {
            limiter.check("token", &Caller::Confidential { client_id: "app" }).await.unwrap();
        }
    }
}
