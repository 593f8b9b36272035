//! `private_key_jwt` client authentication (RFC 7523 §2.2, OIDC Core §9): the
//! client signs a short JWT with a key whose public half it registered (a JWK
//! Set), instead of sending a shared secret.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::Algorithm;
use latchkey_domain::Client;
use latchkey_dpop::jws;
use serde::Deserialize;

use crate::service::OAuthService;

/// RFC 7523 §2.2: the `client_assertion_type` of a JWT assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Signature algorithms accepted; never `none` or HMAC. `EdDSA` is also
/// accepted under its RFC 9864 name `Ed25519` (the default of oauth4webapi
/// 3.x and openid-client 6.x for Ed25519 keys): see [`ASSERTION_ALG_NAMES`].
pub const ASSERTION_ALGS: [Algorithm; 4] = [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA];
/// The names of [`ASSERTION_ALGS`] as a client writes them (discovery's
/// `token_endpoint_auth_signing_alg_values_supported`, a JWK's `alg`).
pub const ASSERTION_ALG_NAMES: [&str; 5] = ["RS256", "PS256", "ES256", jws::EDDSA, jws::ED25519];
/// An assertion is a one-time credential: one valid for longer than this is
/// refused, so its `jti` need be remembered only this long.
pub const MAX_ASSERTION_LIFETIME: i64 = 300;
/// Clock skew allowed between the client and us.
const LEEWAY: i64 = 30;
/// Longest assertion accepted (bytes): keys and claims are small.
pub const MAX_ASSERTION_LEN: usize = 8 * 1024;

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
    let mut response = http.get(uri).timeout(REMOTE_JWKS_TIMEOUT).send().await.map_err(|_| "unreachable")?;
    if !response.status().is_success() {
        return Err("not a success status");
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| "the answer broke off")? {
        body.extend_from_slice(&chunk);
        if body.len() > crate::clients::MAX_JWKS_LEN {
            return Err("the JWK Set is too large");
        }
    }
    let text = std::str::from_utf8(&body).map_err(|_| "not UTF-8")?;
    let checked = crate::clients::validate_jwks(text).map_err(|_| "not an acceptable JWK Set (public signature keys with kids)")?;
    serde_json::from_str(&checked).map_err(|_| "not a JWK Set")
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    /// One string or an array (RFC 7519 §4.1.3): only the issuer as a
    /// single string is accepted (see `assertion_audience_ok`).
    aud: Option<serde_json::Value>,
    exp: Option<i64>,
    jti: Option<String>,
}

/// The client id an assertion claims (`sub`, which must equal `iss`), read
/// before anything is verified — only to find the client whose keys verify it.
pub fn claimed_client(assertion: &str) -> Option<String> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return None;
    }
    let payload = assertion.split('.').nth(1)?;
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("sub")?.as_str().map(str::to_string)
}

impl OAuthService {
    /// The one audience an assertion may name: our issuer identifier, as a
    /// single string. Endpoint URLs and arrays are refused: an `aud` naming
    /// an endpoint (or a list holding ours among others) is what the 2025
    /// private_key_jwt audience-injection advisory abuses — an assertion a
    /// client made for another server that shares (or names) one of our
    /// endpoint URLs would be accepted here. (OIDC Core errata 2, RFC 7523bis.)
    fn assertion_audience_ok(&self, aud: Option<&serde_json::Value>) -> bool {
        aud.and_then(|a| a.as_str()) == Some(self.config.issuer.as_str())
    }

    /// Verifies `assertion` for `client`: signed by one of its registered
    /// keys with an accepted algorithm, `iss` = `sub` = its id, `aud` our issuer,
    /// not expired nor valid for long, and a `jti` never seen before (one
    /// atomic step in the fast store, so two nodes cannot both accept it).
    pub(crate) async fn verify_client_assertion(&self, client: &Client, assertion: &str) -> Result<(), &'static str> {
        if assertion.len() > MAX_ASSERTION_LEN {
            return Err("assertion too long");
        }
        let parsed = jws::parse(assertion).map_err(|_| "malformed assertion")?;
        let header = &parsed.header;
        if !ASSERTION_ALGS.contains(&header.alg) {
            return Err("algorithm not accepted");
        }
        let keys: JwkSet = match (&client.jwks, &client.jwks_uri) {
            (Some(registered), _) => serde_json::from_str(registered).map_err(|_| "the client's registered keys are unusable")?,
            (None, Some(uri)) => self.remote_jwks.keys(&self.http, uri, header.kid.as_deref(), self.clock.now()).await?,
            (None, None) => return Err("the client has no keys registered"),
        };
        let jwk = match &header.kid {
            Some(kid) => keys.find(kid),
            None if keys.keys.len() == 1 => keys.keys.first(),
            None => None,
        }
        .ok_or("no registered key matches the assertion's kid")?;
        let claims: AssertionClaims = parsed.verify_with_jwk(jwk).map_err(|_| "the signature does not verify with the registered key")?;
        let me = client.id.0.as_str();
        if claims.iss.as_deref() != Some(me) || claims.sub.as_deref() != Some(me) {
            return Err("iss and sub must both be the client id");
        }
        if !self.assertion_audience_ok(claims.aud.as_ref()) {
            return Err("aud must be the issuer identifier, as a single string");
        }
        let exp = claims.exp.ok_or("exp is required")?;
        let now = self.clock.now();
        if exp + LEEWAY < now {
            return Err("assertion expired");
        }
        if exp - now > MAX_ASSERTION_LIFETIME + LEEWAY {
            return Err("assertion valid for too long");
        }
        let jti = claims.jti.filter(|j| !j.is_empty() && j.len() <= 256).ok_or("jti is required")?;
        let ttl = std::time::Duration::from_secs((exp - now + LEEWAY).max(1) as u64);
        if !self.fast.put_if_absent(&format!("assertion-jti:{}:{jti}", client.id.0), "1", ttl).await.map_err(|_| "replay check unavailable")? {
            return Err("assertion replayed");
        }
        Ok(())
    }
}
