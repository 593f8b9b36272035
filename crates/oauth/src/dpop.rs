//! DPoP (RFC 9449) at latchkey's own endpoints: proofs checked and their
//! `jti`s spent once across nodes, server nonces, and the rules for who must
//! present what (bound tokens only with a proof of their key; clients that
//! require DPoP get no bearer tokens).

use std::time::Duration;

use latchkey_domain::Client;
use latchkey_dpop::{Expected, Proof};
use latchkey_token::AccessTokenClaims;

use crate::error::{ErrorCode, OAuthError};
use crate::service::OAuthService;

/// Server nonces (RFC 9449 §8) change every 5 minutes and the previous one
/// stays good, so a nonce works for 5 to 10 minutes: short enough that a
/// proof made in advance (a stolen device's pre-computed proofs) soon stops
/// working, long enough that a client rarely has to retry. Nonces are MACs
/// of the time window under the deployment's key: every node makes and
/// accepts the same ones, and none needs storing.
pub const NONCE_WINDOW_SECS: i64 = 300;

/// How a protected resource (userinfo) was presented a token.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// `Authorization: DPoP <token>` with the request's `DPoP` header (if any).
    Dpop { token: &'a str, proof: Option<&'a str>, method: &'a str },
}

impl Presented<'_> {
    pub fn token(&self) -> &str {
        match self {
            Presented::Bearer(t) | Presented::Dpop { token: t, .. } => t,
        }
    }
}

fn invalid_proof(why: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidDpopProof, why)
}

impl OAuthService {
    fn nonce_for(&self, window: i64) -> String {
        format!("{window}.{}", self.dpop_nonces.tag_b64(&window.to_string()))
    }

    /// The current server nonce: sent in `DPoP-Nonce` on every answer to a
    /// request that carried a proof.
    pub fn dpop_nonce(&self) -> String {
        self.nonce_for(self.clock.now().div_euclid(NONCE_WINDOW_SECS))
    }

    fn nonce_is_current(&self, nonce: &str) -> bool {
        let current = self.clock.now().div_euclid(NONCE_WINDOW_SECS);
        let Some((window, tag)) = nonce.split_once('.') else { return false };
        match window.parse::<i64>() {
            Ok(w) if w == current || w == current - 1 => self.dpop_nonces.verify_b64(window, tag),
            _ => false,
        }
    }

    /// Checks a proof sent to our endpoint at `path` and spends its `jti`
    /// (one atomic step in the fast store: two nodes cannot both accept it).
    pub(crate) async fn check_dpop_proof(&self, proof: &str, method: &str, path: &str, access_token: Option<&str>, nonce_required: bool) -> Result<Proof, OAuthError> {
        let now = self.clock.now();
        let url = format!("{}{path}", self.config.issuer.trim_end_matches('/'));
        let proof = latchkey_dpop::verify(proof, &Expected { method, url: &url, now, access_token }).map_err(|e| {
            tracing::info!(target: "security", event = "dpop_proof_refused", path, why = e.0);
            invalid_proof(e.0)
        })?;
        match proof.nonce.as_deref() {
            Some(n) if !self.nonce_is_current(n) => return Err(OAuthError::new(ErrorCode::UseDpopNonce, "the DPoP nonce is unknown or stale; use the one in DPoP-Nonce")),
            None if nonce_required => return Err(OAuthError::new(ErrorCode::UseDpopNonce, "a DPoP nonce is required; use the one in DPoP-Nonce")),
            _ => {}
        }
        let key = format!("dpop-jti:{}:{}", proof.jkt, proof.jti);
        if !self.fast.single_use().first_use(&key, Duration::from_secs(proof.replay_window(now))).await? {
            tracing::warn!(target: "security", event = "dpop_proof_replayed", path, "a DPoP proof was presented twice");
            return Err(invalid_proof("the DPoP proof was already used"));
        }
        Ok(proof)
    }

    /// The token endpoint's DPoP step: the key the tokens of this request are
    /// bound to, if the client sent a proof; a client that must use DPoP and
    /// sent none is refused.
    pub(crate) async fn token_endpoint_dpop(&self, client: &Client, proof: Option<&str>) -> Result<Option<String>, OAuthError> {
        match proof {
            Some(p) => Ok(Some(self.check_dpop_proof(p, "POST", "/token", None, self.config.dpop_require_nonce).await?.jkt)),
            None if client.require_dpop => Err(invalid_proof("this client must send a DPoP proof with every token request (RFC 9449)")),
            None => Ok(None),
        }
    }

    /// A protected resource's check of how a token was presented (RFC 9449
    /// §7): a bound token only with the DPoP scheme and a fresh proof of its
    /// key (and that proof naming this token, `ath`); the DPoP scheme only
    /// with a bound token.
    pub(crate) async fn check_presentation(&self, presented: Presented<'_>, claims: &AccessTokenClaims, path: &str) -> Result<(), OAuthError> {
        let bound = claims.cnf.as_ref().map(|c| c.jkt.as_str());
        match (presented, bound) {
            (Presented::Bearer(_), None) => Ok(()),
            (Presented::Bearer(_), Some(_)) => Err(OAuthError::new(ErrorCode::InvalidToken, "the access token is DPoP-bound: present it with the DPoP scheme and a proof")),
            (Presented::Dpop { proof: None, .. }, _) => Err(invalid_proof("the DPoP scheme needs a DPoP proof header")),
            (Presented::Dpop { token, proof: Some(p), method }, bound) => {
                let proof = self.check_dpop_proof(p, method, path, Some(token), false).await?;
                if bound != Some(proof.jkt.as_str()) {
                    return Err(OAuthError::new(ErrorCode::InvalidToken, "the access token is not bound to the proof's key"));
                }
                Ok(())
            }
        }
    }
}
