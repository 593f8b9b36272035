//! `private_key_jwt` client authentication (RFC 7523 §2.2, OIDC Core §9): the
//! client signs a short JWT with a key whose public half it registered (a JWK
//! Set), instead of sending a shared secret.

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
pub use crate::client_keys::ASSERTION_ALG_NAMES;
/// An assertion is a one-time credential: one valid for longer than this is
/// refused, so its `jti` need be remembered only this long.
pub const MAX_ASSERTION_LIFETIME: i64 = 300;
/// Clock skew allowed between the client and us.
const LEEWAY: i64 = 30;
/// Longest assertion accepted (bytes): keys and claims are small.
pub const MAX_ASSERTION_LEN: usize = 8 * 1024;

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
        if !self.fast.single_use().first_use(&format!("assertion-jti:{}:{jti}", client.id.0), ttl).await.map_err(|_| "replay check unavailable")? {
            return Err("assertion replayed");
        }
        Ok(())
    }
}
