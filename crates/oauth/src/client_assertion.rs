//! `private_key_jwt` client authentication (RFC 7523 §2.2, OIDC Core §9): the
//! client signs a short JWT with a key whose public half it registered (a JWK
//! Set), instead of sending a shared secret.

use std::collections::HashMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use latchkey_domain::Client;
use serde::Deserialize;

use crate::service::OAuthService;

/// RFC 7523 §2.2: the `client_assertion_type` of a JWT assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Signature algorithms accepted (discovery's
/// `token_endpoint_auth_signing_alg_values_supported`); never `none` or HMAC.
pub const ASSERTION_ALGS: [Algorithm; 4] = [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA];
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
#[derive(Default)]
pub struct RemoteJwks {
    /// URL → (keys, when fetched: seconds on the service clock).
    cache: tokio::sync::RwLock<HashMap<String, (JwkSet, i64)>>,
}

impl RemoteJwks {
    /// The keys at `uri`: cached while fresh and holding `kid`, fetched
    /// otherwise; if a fetch fails, the last keys fetched still serve.
    pub async fn keys(&self, http: &reqwest::Client, uri: &str, kid: Option<&str>, now: i64) -> Result<JwkSet, &'static str> {
        let cached = self.cache.read().await.get(uri).cloned();
        if let Some((set, at)) = &cached {
            let has_kid = kid.is_none_or(|k| set.find(k).is_some());
            let age = now - at;
            if age < REMOTE_JWKS_TTL && (has_kid || age < REMOTE_JWKS_REFETCH) {
                return Ok(set.clone());
            }
        }
        match fetch_jwks(http, uri).await {
            Ok(set) => {
                let mut cache = self.cache.write().await;
                if cache.len() >= REMOTE_JWKS_MAX {
                    cache.clear();
                }
                cache.insert(uri.to_string(), (set.clone(), now));
                Ok(set)
            }
            Err(why) => {
                tracing::warn!(target: "security", event = "client_jwks_fetch_failed", uri, why, "a client's jwks_uri could not be fetched");
                cached.map(|(set, _)| set).ok_or("the client's jwks_uri could not be fetched")
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
    exp: i64,
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
    /// Audiences an assertion may name: the issuer, or the endpoint it is
    /// presented at (any of ours that authenticate clients).
    fn assertion_audiences(&self) -> Vec<String> {
        let issuer = self.config.issuer.trim_end_matches('/');
        let mut auds = vec![issuer.to_string()];
        auds.extend(["/token", "/par", "/revoke", "/introspect"].iter().map(|p| format!("{issuer}{p}")));
        auds
    }

    /// Verifies `assertion` for `client`: signed by one of its registered
    /// keys with an accepted algorithm, `iss` = `sub` = its id, `aud` ours,
    /// not expired nor valid for long, and a `jti` never seen before (one
    /// atomic step in the fast store, so two nodes cannot both accept it).
    pub(crate) async fn verify_client_assertion(&self, client: &Client, assertion: &str) -> Result<(), &'static str> {
        if assertion.len() > MAX_ASSERTION_LEN {
            return Err("assertion too long");
        }
        let header = decode_header(assertion).map_err(|_| "malformed assertion")?;
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
        let key = DecodingKey::from_jwk(jwk).map_err(|_| "a registered key is unusable")?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[&client.id.0]);
        v.sub = Some(client.id.0.clone());
        v.set_audience(&self.assertion_audiences());
        v.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        v.validate_exp = false; // checked against our clock below
        let claims = decode::<AssertionClaims>(assertion, &key, &v).map_err(|_| "signature, issuer, subject or audience is wrong")?.claims;
        let now = self.clock.now();
        if claims.exp + LEEWAY < now {
            return Err("assertion expired");
        }
        if claims.exp - now > MAX_ASSERTION_LIFETIME + LEEWAY {
            return Err("assertion valid for too long");
        }
        let jti = claims.jti.filter(|j| !j.is_empty() && j.len() <= 256).ok_or("jti is required")?;
        let ttl = std::time::Duration::from_secs((claims.exp - now + LEEWAY).max(1) as u64);
        if !self.fast.put_if_absent(&format!("assertion-jti:{}:{jti}", client.id.0), "1", ttl).await.map_err(|_| "replay check unavailable")? {
            return Err("assertion replayed");
        }
        Ok(())
    }
}
