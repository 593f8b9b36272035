//! Issuing and verifying JWTs with the deployment's keys.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::{decode, decode_header, encode, Header, Validation};
use latchkey_domain::{SharedClock, SigningAlg};
use latchkey_store::repo::keys as key_repo;
use latchkey_store::{Db, FastStore};

use crate::claims::{AccessTokenClaims, IdTokenClaims};
use crate::crypto::MasterKey;
use crate::error::TokenError;
use crate::keys::{jwt_alg, KeyRing, SigningKey};

/// Access tokens live 5 minutes: short enough that a leaked token is worth little,
/// long enough that a relying party is not refreshing constantly. Revocation
/// before expiry is handled by the revoked-`jti` list.
pub const DEFAULT_ACCESS_TOKEN_TTL: i64 = 5 * 60;
/// ID tokens are consumed once, at sign-in; 10 minutes covers clock skew and a slow RP.
pub const DEFAULT_ID_TOKEN_TTL: i64 = 10 * 60;
/// Access tokens are verified on every API call: sign them with a fast algorithm
/// (EdDSA: ~35k signatures/s/core, vs ~570 for RS256; shared/STACK.md).
pub const ACCESS_TOKEN_ALG: SigningAlg = SigningAlg::EdDSA;
/// RFC 9068 §2.1: the `typ` header of JWT access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub issuer: String,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
}

impl TokenConfig {
    pub fn new(issuer: impl Into<String>) -> TokenConfig {
        TokenConfig {
            issuer: issuer.into(),
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            id_token_ttl: DEFAULT_ID_TOKEN_TTL,
        }
    }
}

pub struct TokenService {
    pub config: TokenConfig,
    db: Db,
    fast: FastStore,
    master: MasterKey,
    clock: SharedClock,
    ring: RwLock<Arc<KeyRing>>,
}

fn revoked_key(jti: &str) -> String {
    format!("revoked-jti:{jti}")
}

impl TokenService {
    /// Loads the published keys, creating one per algorithm on first start.
    pub async fn init(config: TokenConfig, db: Db, fast: FastStore, master: MasterKey, clock: SharedClock) -> Result<TokenService, TokenError> {
        let svc = TokenService { config, db, fast, master, clock, ring: RwLock::new(Arc::new(KeyRing::default())) };
        svc.ensure_keys().await?;
        Ok(svc)
    }

    async fn ensure_keys(&self) -> Result<(), TokenError> {
        let master = self.master.clone();
        let now = self.clock.now();
        let ring = self
            .db
            .run(move |conn| {
                let mut stored = key_repo::list_published(conn)?;
                for alg in SigningAlg::ALL {
                    if !stored.iter().any(|k| k.alg == alg.as_str()) {
                        let (_, record) = SigningKey::create(alg, now, &master).map_err(to_store)?;
                        key_repo::insert(conn, &record)?;
                        tracing::info!(kid = %record.kid, alg = alg.as_str(), "created signing key");
                        stored.push(record);
                    }
                }
                let keys = stored.iter().map(|s| SigningKey::load(s, &master)).collect::<Result<Vec<_>, _>>().map_err(to_store)?;
                Ok(KeyRing::new(keys))
            })
            .await?;
        self.set_ring(ring);
        Ok(())
    }

    /// Re-reads the published keys (another node may have rotated them).
    pub async fn reload_keys(&self) -> Result<(), TokenError> {
        let master = self.master.clone();
        let ring = self
            .db
            .run(move |conn| {
                let stored = key_repo::list_published(conn)?;
                let keys = stored.iter().map(|s| SigningKey::load(s, &master)).collect::<Result<Vec<_>, _>>().map_err(to_store)?;
                Ok(KeyRing::new(keys))
            })
            .await?;
        self.set_ring(ring);
        Ok(())
    }

    fn set_ring(&self, ring: KeyRing) {
        let mut guard = self.ring.write().unwrap_or_else(|p| p.into_inner());
        *guard = Arc::new(ring);
    }

    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    fn sign<T: serde::Serialize>(&self, alg: SigningAlg, typ: Option<&str>, claims: &T) -> Result<String, TokenError> {
        let ring = self.ring();
        let key = ring.active(alg).ok_or(TokenError::NoKey(alg.as_str()))?;
        let mut header = Header::new(jwt_alg(alg));
        header.kid = Some(key.kid.clone());
        header.typ = typ.map(str::to_string);
        Ok(encode(&header, claims, &key.encoding)?)
    }

    pub fn sign_id_token(&self, claims: &IdTokenClaims, alg: SigningAlg) -> Result<String, TokenError> {
        self.sign(alg, Some("JWT"), claims)
    }

    pub fn sign_access_token(&self, claims: &AccessTokenClaims) -> Result<String, TokenError> {
        self.sign(ACCESS_TOKEN_ALG, Some(ACCESS_TOKEN_TYP), claims)
    }

    /// Verifies signature, `typ`, issuer and expiry (by our clock), and that the
    /// token's `jti` has not been revoked.
    pub async fn verify_access_token(&self, token: &str) -> Result<AccessTokenClaims, TokenError> {
        let claims = self.verify_signature::<AccessTokenClaims>(token, Some(ACCESS_TOKEN_TYP)).await?;
        if claims.iss != self.config.issuer {
            return Err(TokenError::Invalid("wrong issuer".into()));
        }
        if claims.exp <= self.clock.now() {
            return Err(TokenError::Invalid("expired".into()));
        }
        if self.is_revoked(&claims.jti).await? {
            return Err(TokenError::Revoked);
        }
        Ok(claims)
    }

    /// Verifies an ID token we issued (for `id_token_hint`), ignoring expiry as
    /// OIDC RP-Initiated Logout §2 allows.
    pub async fn verify_id_token_ignoring_expiry(&self, token: &str) -> Result<IdTokenClaims, TokenError> {
        let claims = self.verify_signature::<IdTokenClaims>(token, None).await?;
        if claims.iss != self.config.issuer {
            return Err(TokenError::Invalid("wrong issuer".into()));
        }
        Ok(claims)
    }

    async fn verify_signature<T: serde::de::DeserializeOwned>(&self, token: &str, typ: Option<&str>) -> Result<T, TokenError> {
        let header = decode_header(token)?;
        if let Some(want) = typ {
            if header.typ.as_deref().map(|t| t.eq_ignore_ascii_case(want)) != Some(true) {
                return Err(TokenError::Invalid("wrong token type".into()));
            }
        }
        let kid = header.kid.ok_or_else(|| TokenError::Invalid("no kid".into()))?;
        let mut ring = self.ring();
        if ring.by_kid(&kid).is_none() {
            // A key created by another node since we last looked.
            self.reload_keys().await?;
            ring = self.ring();
        }
        let key = ring.by_kid(&kid).ok_or_else(|| TokenError::Invalid("unknown kid".into()))?;
        if jwt_alg(key.alg) != header.alg {
            return Err(TokenError::Invalid("algorithm does not match key".into()));
        }
        let mut v = Validation::new(header.alg);
        v.validate_exp = false; // checked against our clock by the caller
        v.validate_aud = false;
        v.required_spec_claims.clear();
        Ok(decode::<T>(token, &key.decoding, &v)?.claims)
    }

    /// Marks a `jti` revoked until the token would have expired anyway.
    pub async fn revoke_jti(&self, jti: &str, exp: i64) -> Result<(), TokenError> {
        let remaining = (exp - self.clock.now()).max(1) as u64;
        self.fast.put(&revoked_key(jti), "1", Duration::from_secs(remaining + 1)).await?;
        Ok(())
    }

    pub async fn is_revoked(&self, jti: &str) -> Result<bool, TokenError> {
        Ok(self.fast.get(&revoked_key(jti)).await?.is_some())
    }
}

fn to_store(e: TokenError) -> latchkey_store::StoreError {
    latchkey_store::StoreError::Corrupt(e.to_string())
}
