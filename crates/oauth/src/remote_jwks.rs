//! Clients' key sets fetched from their `jwks_uri` (private_key_jwt), cached
//! per node.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;

use crate::trace::SendTraced;

/// A client's published keys (`jwks_uri`) are kept this long before they are
/// fetched again: key rotation at the client reaches us within it, or at once
/// when an assertion names a key id we have not seen.
pub const REMOTE_JWKS_TTL: i64 = 5 * 60;
/// An unknown key id makes us fetch again, but at most this often per URL, so
/// assertions naming made-up kids cannot make us hammer the client's server.
pub const REMOTE_JWKS_REFETCH: i64 = 30;
/// A client's key server must answer within this, or the assertion fails
/// (and the token request with it) rather than hang our endpoint.
pub const REMOTE_JWKS_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on the URLs cached per node.
const REMOTE_JWKS_MAX: usize = 1_000;

/// Clients' key sets fetched from their `jwks_uri`, per node.
///
/// At most one fetch per URL is under way at a time (requests that need the
/// same keys wait for it and use its answer), and an attempt is remembered
/// whether it succeeded or failed: a failing or slow key server is asked at
/// most every [`REMOTE_JWKS_REFETCH`] seconds, however many assertions name
/// it (before, each request during an outage fetched again, up to
/// [`REMOTE_JWKS_TIMEOUT`] each).
#[derive(Default)]
pub struct RemoteJwks {
    /// URL → what is known of it.
    cache: std::sync::RwLock<HashMap<String, Arc<RemoteEntry>>>,
}

#[derive(Default)]
struct RemoteEntry {
    state: std::sync::Mutex<RemoteState>,
    /// Held while this URL is fetched: the fetch is single-flight.
    flight: tokio::sync::Mutex<()>,
}

#[derive(Default, Clone)]
struct RemoteState {
    /// The last keys fetched, and when (seconds on the service clock).
    keys: Option<(JwkSet, i64)>,
    /// When a fetch was last tried, whatever its outcome.
    attempted_at: Option<i64>,
}

impl RemoteState {
    /// What the cache can answer without fetching: `None` when a fetch is
    /// due (stale keys, or an unknown `kid`, and no attempt for a while).
    fn answer(&self, kid: Option<&str>, now: i64) -> Option<Result<JwkSet, &'static str>> {
        if let Some((set, at)) = &self.keys {
            if now - at < REMOTE_JWKS_TTL && kid.is_none_or(|k| set.find(k).is_some()) {
                return Some(Ok(set.clone()));
            }
        }
        if self.attempted_at.is_some_and(|at| now - at < REMOTE_JWKS_REFETCH) {
            // Tried moments ago: the last keys (if any) serve; no new fetch.
            return Some(self.keys.as_ref().map(|(set, _)| set.clone()).ok_or("the client's jwks_uri could not be fetched (tried moments ago)"));
        }
        None
    }
}

impl RemoteJwks {
    fn entry(&self, uri: &str) -> Arc<RemoteEntry> {
        if let Some(e) = self.cache.read().unwrap_or_else(|p| p.into_inner()).get(uri) {
            return e.clone();
        }
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= REMOTE_JWKS_MAX && !cache.contains_key(uri) {
            cache.clear();
        }
        cache.entry(uri.to_string()).or_default().clone()
    }

    /// The keys at `uri`: cached while fresh and holding `kid`, fetched
    /// otherwise (once at a time, at most every [`REMOTE_JWKS_REFETCH`]
    /// seconds); if a fetch fails, the last keys fetched still serve.
    pub async fn keys(&self, http: &reqwest::Client, uri: &str, kid: Option<&str>, now: i64) -> Result<JwkSet, &'static str> {
        let entry = self.entry(uri);
        let known = || entry.state.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(answer) = known().answer(kid, now) {
            return answer;
        }
        let _flight = entry.flight.lock().await;
        // A fetch that finished while this request waited answers it too.
        if let Some(answer) = known().answer(kid, now) {
            return answer;
        }
        // Recorded once the fetch is over: requests arriving meanwhile wait
        // for its outcome (above) rather than see "tried moments ago".
        let fetched = fetch_jwks(http, uri).await;
        let mut state = entry.state.lock().unwrap_or_else(|p| p.into_inner());
        state.attempted_at = Some(now);
        match fetched {
            Ok(set) => {
                state.keys = Some((set.clone(), now));
                Ok(set)
            }
            Err(why) => {
                tracing::warn!(target: "security", event = "client_jwks_fetch_failed", uri, why, "a client's jwks_uri could not be fetched");
                state.keys.as_ref().map(|(set, _)| set.clone()).ok_or("the client's jwks_uri could not be fetched")
            }
        }
    }
}

async fn fetch_jwks(http: &reqwest::Client, uri: &str) -> Result<JwkSet, &'static str> {
    let mut response = http.get(uri).timeout(REMOTE_JWKS_TIMEOUT).send_traced().await.map_err(|_| "unreachable")?;
    if !response.status().is_success() {
        return Err("not a success status");
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| "the answer broke off")? {
        body.extend_from_slice(&chunk);
        if body.len() > crate::client_keys::MAX_JWKS_LEN {
            return Err("the JWK Set is too large");
        }
    }
    let text = std::str::from_utf8(&body).map_err(|_| "not UTF-8")?;
    let checked = crate::client_keys::validate_jwks(text).map_err(|_| "not an acceptable JWK Set (public signature keys with kids)")?;
    serde_json::from_str(&checked).map_err(|_| "not a JWK Set")
}
