//! Back-channel logout from an upstream provider (OpenID Connect
//! Back-Channel Logout 1.0, latchkey as the relying party): a logout token
//! the provider signed ends the latchkey sessions its account (or its
//! session `sid`) signed in.

use std::collections::HashSet;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use latchkey_domain::Provider;
use latchkey_store::repo::providers as repo;
use serde::Deserialize;

use super::flow::UpstreamSession;
use super::FederationError;
use crate::{App, AppError};

/// The `events` member a logout token must carry.
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// A logout token issued longer ago than this is refused (its `iat`).
const LOGOUT_TOKEN_MAX_AGE_SECS: i64 = 5 * 60;
/// Tolerated clock skew with the provider.
const CLOCK_SKEW_SECS: i64 = 60;
/// A token's `jti` is remembered this long: a replay within it is refused
/// (past it, its `iat` is too old anyway).
const JTI_MEMORY: Duration = Duration::from_secs((LOGOUT_TOKEN_MAX_AGE_SECS + CLOCK_SKEW_SECS) as u64);
/// The signature algorithms a logout token may use: asymmetric only.
const ALGORITHMS: [Algorithm; 6] = [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA, Algorithm::RS384];

#[derive(Deserialize)]
struct LogoutClaims {
    iat: i64,
    jti: String,
    sub: Option<String>,
    sid: Option<String>,
    events: serde_json::Map<String, serde_json::Value>,
    nonce: Option<serde_json::Value>,
}

impl App {
    /// Records which upstream session signed the latchkey session `sid` in.
    pub async fn record_upstream_session(&self, sid: &str, upstream: &UpstreamSession) -> Result<(), AppError> {
        let (sid, u, now) = (sid.to_string(), upstream.clone(), self.clock.now());
        self.stores.db.run(move |c| repo::record_session(c, &sid, &u.provider, &u.subject, u.sid.as_deref(), now)).await?;
        Ok(())
    }

    /// Where to send the browser to sign out of the provider that signed the
    /// session `sid` in, when that provider is set to (`upstream_logout`):
    /// its end-session endpoint, naming latchkey's client and the page to
    /// come back to. Asked before the session ends; `None` otherwise.
    pub async fn upstream_sign_out_url(&self, sid: &str) -> Result<Option<String>, AppError> {
        let key = sid.to_string();
        let Some(provider_id) = self.stores.db.run(move |c| repo::provider_of_session(c, &key)).await? else { return Ok(None) };
        let Ok(p) = self.provider(&provider_id).await else { return Ok(None) };
        if !p.upstream_logout || !p.enabled() || p.kind != latchkey_domain::ProviderKind::Oidc {
            return Ok(None);
        }
        let Some(endpoint) = self.upstreams.end_session_endpoint(&p).await else { return Ok(None) };
        let Ok(mut url) = url::Url::parse(&endpoint) else { return Ok(None) };
        url.query_pairs_mut().append_pair("client_id", &p.client_id).append_pair("post_logout_redirect_uri", &self.provider_signed_out_uri(&p.id));
        Ok(Some(url.to_string()))
    }

    /// Where the provider sends the browser back after signing it out.
    pub fn provider_signed_out_uri(&self, id: &str) -> String {
        format!("{}/federation/{id}/signed-out", self.issuer.trim_end_matches('/'))
    }

    /// Verifies a logout token from `provider_id` and ends the sessions it
    /// names; returns how many ended.
    pub async fn upstream_logout(&self, provider_id: &str, token: &str) -> Result<usize, AppError> {
        let provider = self.provider(provider_id).await.map_err(|_| FederationError::UnknownProvider)?;
        let claims = self.verify_logout_token(&provider, token).await?;
        let fresh = self.stores.fast.single_use().first_use(&format!("federation-logout-jti:{}:{}", provider.id, claims.jti), JTI_MEMORY).await?;
        if !fresh {
            return Err(invalid(&provider, "logout token replayed").into());
        }
        let (pid, sub, sid) = (provider.id.clone(), claims.sub.clone(), claims.sid.clone());
        let sessions = self.stores.db.run(move |c| repo::sessions_signed_in_by(c, &pid, sub.as_deref(), sid.as_deref())).await?;
        let count = sessions.len();
        if !sessions.is_empty() {
            self.end_sessions(sessions).await?;
        }
        tracing::info!(target: "security", provider = %provider.id, sessions = count, "back-channel logout from an upstream provider");
        Ok(count)
    }

    async fn verify_logout_token(&self, p: &Provider, token: &str) -> Result<LogoutClaims, AppError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(p, format!("logout token: {e}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(invalid(p, "logout token: algorithm not allowed").into());
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&p.issuer]);
        validation.set_audience(&[&p.client_id]);
        validation.required_spec_claims = HashSet::from(["iss".to_string(), "aud".to_string()]);
        validation.leeway = CLOCK_SKEW_SECS as u64;
        let mut last = None;
        // The cached keys first; a key they lack fetches them again, once.
        for fresh in [false, true] {
            let set: JwkSet = serde_json::from_value(self.upstreams.jwks_json(p, fresh).await?).map_err(|e| invalid(p, format!("keys: {e}")))?;
            let jwk = match &header.kid {
                Some(kid) => set.find(kid),
                None if set.keys.len() == 1 => set.keys.first(),
                None => None,
            };
            let Some(jwk) = jwk else {
                last = Some("logout token: unknown key".to_string());
                continue;
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(p, format!("key: {e}")))?;
            match jsonwebtoken::decode::<LogoutClaims>(token, &key, &validation) {
                Ok(data) => return self.check_logout_claims(p, data.claims),
                Err(e) => last = Some(format!("logout token: {e}")),
            }
        }
        Err(invalid(p, last.unwrap_or_default()).into())
    }

    fn check_logout_claims(&self, p: &Provider, c: LogoutClaims) -> Result<LogoutClaims, AppError> {
        let now = self.clock.now();
        if !c.events.contains_key(BACKCHANNEL_EVENT) {
            return Err(invalid(p, "logout token: not a back-channel logout event").into());
        }
        if c.nonce.is_some() {
            return Err(invalid(p, "logout token: carries a nonce (an ID token?)").into());
        }
        if c.sub.is_none() && c.sid.is_none() {
            return Err(invalid(p, "logout token: neither sub nor sid").into());
        }
        if c.iat > now + CLOCK_SKEW_SECS || c.iat < now - LOGOUT_TOKEN_MAX_AGE_SECS {
            return Err(invalid(p, "logout token: issued too long ago or in the future").into());
        }
        if c.jti.is_empty() || c.jti.len() > 255 {
            return Err(invalid(p, "logout token: bad jti").into());
        }
        Ok(c)
    }
}

fn invalid(p: &Provider, reason: impl Into<String>) -> FederationError {
    FederationError::InvalidResponse { provider: p.name.clone(), reason: reason.into() }
}
