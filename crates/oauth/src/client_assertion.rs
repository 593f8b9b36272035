//! `private_key_jwt` client authentication (RFC 7523 §2.2, OIDC Core §9): the
//! client signs a short JWT with a key whose public half it registered (a JWK
//! Set), instead of sending a shared secret.

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
        let keys: JwkSet = client.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()).ok_or("the client has no keys registered")?;
        let header = decode_header(assertion).map_err(|_| "malformed assertion")?;
        if !ASSERTION_ALGS.contains(&header.alg) {
            return Err("algorithm not accepted");
        }
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
