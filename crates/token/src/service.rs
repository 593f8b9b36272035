//! Issuing and verifying JWTs with the deployment's keys.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::{decode, decode_header, Header, Validation};
use latchkey_domain::{SharedClock, SigningAlg};
use latchkey_store::repo::keys as key_repo;
use latchkey_store::{Db, FastStore, StoreError};

use crate::claims::{AccessTokenClaims, IdTokenClaims};
use crate::crypto::{KeyPurpose, KeyedHasher, MasterKey};
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

/// Refresh tokens unused for 14 days die: a device left in a drawer for two
/// weeks signs in again.
pub const DEFAULT_REFRESH_IDLE: i64 = 14 * 24 * 3600;
/// No refresh-token family outlives 30 days from sign-in, however active.
pub const DEFAULT_REFRESH_ABSOLUTE: i64 = 30 * 24 * 3600;
/// Reuse of a rotated refresh token revokes its family at once by default.
pub const DEFAULT_REFRESH_GRACE: i64 = 0;
/// The grace window is capped: longer would let a thief race the owner for a minute.
pub const MAX_REFRESH_GRACE: i64 = 60;
/// Signing keys rotate every 30 days unless configured otherwise.
pub const DEFAULT_KEY_ROTATION_PERIOD: i64 = 30 * 24 * 3600;
/// Extra time a retired key stays published after the last token it could
/// have signed expired (clock skew between nodes and relying parties).
const KEY_RETIREMENT_MARGIN: i64 = 60;

#[derive(Debug, Clone, Copy)]
pub struct RefreshPolicy {
    pub idle: i64,
    pub absolute: i64,
    /// Seconds during which reuse of the immediately previous token returns the
    /// successor instead of revoking the family (multi-tab SPAs); 0 disables.
    pub grace: i64,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy { idle: DEFAULT_REFRESH_IDLE, absolute: DEFAULT_REFRESH_ABSOLUTE, grace: DEFAULT_REFRESH_GRACE }
    }
}

#[derive(Clone)]
pub struct TokenConfig {
    pub issuer: String,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh: RefreshPolicy,
    pub key_rotation_period: i64,
    /// Secret for refresh-token hashes (`LATCHKEY_TOKEN_PEPPER`); `None`: derived from the master key.
    pub refresh_pepper: Option<String>,
}

/// The pepper never reaches a log line.
impl std::fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenConfig")
            .field("issuer", &self.issuer)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("id_token_ttl", &self.id_token_ttl)
            .field("refresh", &self.refresh)
            .field("key_rotation_period", &self.key_rotation_period)
            .field("refresh_pepper", &self.refresh_pepper.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl TokenConfig {
    pub fn new(issuer: impl Into<String>) -> TokenConfig {
        TokenConfig {
            issuer: issuer.into(),
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            id_token_ttl: DEFAULT_ID_TOKEN_TTL,
            refresh: RefreshPolicy::default(),
            key_rotation_period: DEFAULT_KEY_ROTATION_PERIOD,
            refresh_pepper: None,
        }
    }
}

/// What a bulk revocation covers: every access token issued before now to…
#[derive(Debug, Clone, Copy)]
pub enum Revocation<'a> {
    /// …a client (all its users).
    Client(&'a str),
    /// …a client for one user.
    Grant { client_id: &'a str, user_id: &'a str },
    /// …anyone, from one browser session.
    Session(&'a str),
}

fn marker_key(r: Revocation<'_>) -> String {
    match r {
        Revocation::Client(c) => format!("nbf:client:{c}"),
        Revocation::Grant { client_id, user_id } => format!("nbf:grant:{client_id}:{user_id}"),
        Revocation::Session(sid) => format!("nbf:sid:{sid}"),
    }
}

/// A signing key as `latchkey keys list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: &'static str,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    /// `active` (signs), `next` (published, not signing yet), `published` (verifies only), `retired`.
    pub state: &'static str,
}

pub struct TokenService {
    pub config: TokenConfig,
    db: Db,
    fast: FastStore,
    master: MasterKey,
    clock: SharedClock,
    ring: RwLock<Arc<KeyRing>>,
    refresh_hasher: KeyedHasher,
    /// When the ring was last read from the database (our clock, seconds).
    ring_loaded_at: AtomicI64,
    /// Access tokens whose signature this node already checked. A signature
    /// does not change, so resource servers calling introspection or userinfo
    /// with the same token skip the Ed25519 verification; expiry and
    /// revocation are still checked on every call.
    verified: RwLock<HashMap<String, AccessTokenClaims>>,
    /// The fast store's outage count when this node last made sure it holds
    /// every revocation (another node may have recorded one during an outage).
    outages_repaired: AtomicU64,
}

/// Bound on remembered verified tokens (about 1 KiB each).
const VERIFIED_CACHE_MAX: usize = 10_000;

/// Present while the fast store holds every revocation of the database.
const REVOCATIONS_LOADED: &str = "revocations-loaded";
/// The marker outlives any revocation; a fast store that loses it (and so,
/// possibly, revocations) is refilled from the database.
const REVOCATIONS_LOADED_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// A durable note (in the revocations table): a revocation was recorded while
/// the fast store could not be reached, at this time.
const FAST_STORE_MISSED: &str = "fast-store-missed";

fn revoked_key(jti: &str) -> String {
    format!("revoked-jti:{jti}")
}

impl TokenService {
    /// Loads the published keys, creating one per algorithm on first start.
    pub async fn init(config: TokenConfig, db: Db, fast: FastStore, master: MasterKey, clock: SharedClock) -> Result<TokenService, TokenError> {
        let refresh_hasher = match &config.refresh_pepper {
            Some(p) if p.len() >= 32 => KeyedHasher::from_secret(p.as_bytes()),
            Some(_) => return Err(TokenError::MasterKey("LATCHKEY_TOKEN_PEPPER must be at least 32 characters".into())),
            None => master.hasher(KeyPurpose::RefreshToken),
        };
        if !(0..=MAX_REFRESH_GRACE).contains(&config.refresh.grace) {
            return Err(TokenError::Invalid(format!("the refresh grace window must be 0..={MAX_REFRESH_GRACE} seconds")));
        }
        let svc = TokenService {
            config,
            db,
            fast,
            master,
            clock,
            ring: RwLock::new(Arc::new(KeyRing::default())),
            refresh_hasher,
            ring_loaded_at: AtomicI64::new(0),
            verified: RwLock::new(HashMap::new()),
            outages_repaired: AtomicU64::new(0),
        };
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
        self.ring_loaded_at.store(self.clock.now(), Ordering::Relaxed);
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
        let key = ring.active(alg, self.clock.now()).ok_or(TokenError::NoKey(alg.as_str()))?;
        // A trace span (issue #31): which key signed what kind of token;
        // never the claims or the token.
        let _span = tracing::debug_span!(target: "latchkey_trace", "jwt.sign", otel.name = "sign JWT", jwt.alg = alg.as_str(), jwt.kid = %key.kid, jwt.typ = typ.unwrap_or_default()).entered();
        let mut header = Header::new(jwt_alg(alg));
        header.kid = Some(key.kid.clone());
        header.typ = typ.map(str::to_string);
        key.sign_jws(&header, claims)
    }

    pub fn sign_id_token(&self, claims: &IdTokenClaims, alg: SigningAlg) -> Result<String, TokenError> {
        self.sign(alg, Some("JWT"), claims)
    }

    /// OIDC Back-Channel Logout §2.4: `typ` is `logout+jwt`.
    pub fn sign_logout_token<T: serde::Serialize>(&self, claims: &T, alg: SigningAlg) -> Result<String, TokenError> {
        self.sign(alg, Some("logout+jwt"), claims)
    }

    /// A Security Event Token (RFC 8417 §2.3): `typ` is `secevent+jwt`.
    pub fn sign_security_event<T: serde::Serialize>(&self, claims: &T, alg: SigningAlg) -> Result<String, TokenError> {
        self.sign(alg, Some("secevent+jwt"), claims)
    }

    pub fn sign_access_token(&self, claims: &AccessTokenClaims) -> Result<String, TokenError> {
        self.sign(ACCESS_TOKEN_ALG, Some(ACCESS_TOKEN_TYP), claims)
    }

    /// An access token signed with `alg` (an API whose JWT library lacks EdDSA).
    pub fn sign_access_token_with(&self, claims: &AccessTokenClaims, alg: SigningAlg) -> Result<String, TokenError> {
        self.sign(alg, Some(ACCESS_TOKEN_TYP), claims)
    }

    /// Verifies signature, `typ`, issuer and expiry (by our clock), and that the
    /// token's `jti` has not been revoked.
    pub async fn verify_access_token(&self, token: &str) -> Result<AccessTokenClaims, TokenError> {
        let cached = self.verified.read().unwrap_or_else(|p| p.into_inner()).get(token).cloned();
        let claims = match cached {
            Some(c) => c,
            None => {
                let c = self.verify_signature::<AccessTokenClaims>(token, Some(ACCESS_TOKEN_TYP)).await?;
                if c.iss != self.config.issuer {
                    return Err(TokenError::Invalid("wrong issuer".into()));
                }
                let mut cache = self.verified.write().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= VERIFIED_CACHE_MAX {
                    let now = self.clock.now();
                    cache.retain(|_, v| v.exp > now);
                    if cache.len() >= VERIFIED_CACHE_MAX {
                        cache.clear();
                    }
                }
                cache.insert(token.to_string(), c.clone());
                c
            }
        };
        if claims.exp <= self.clock.now() {
            return Err(TokenError::Invalid("expired".into()));
        }
        self.check_not_revoked(&claims).await?;
        Ok(claims)
    }

    /// Verifies signature, `typ` and issuer only: for revocation, where an
    /// expired or already revoked token is still worth recognising.
    pub async fn parse_access_token(&self, token: &str) -> Result<AccessTokenClaims, TokenError> {
        let claims = self.verify_signature::<AccessTokenClaims>(token, Some(ACCESS_TOKEN_TYP)).await?;
        if claims.iss != self.config.issuer {
            return Err(TokenError::Invalid("wrong issuer".into()));
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

    /// Marks a `jti` revoked until the token would have expired anyway:
    /// durably first (the database), then in the fast store.
    pub async fn revoke_jti(&self, jti: &str, exp: i64) -> Result<(), TokenError> {
        self.revoke_jtis(&[(jti.to_string(), exp)]).await
    }

    /// Records revocations durably, then in the fast store. If Redis cannot
    /// be reached, the durable copy stands (checks fall back to it), the
    /// fast-store writes wait on this node until Redis answers, and a durable
    /// note makes every node's upkeep reload the revocations should this node
    /// die first.
    async fn record_revocations(&self, rows: Vec<(String, String, i64)>) -> Result<(), TokenError> {
        if rows.is_empty() {
            return Ok(());
        }
        let durable = rows.clone();
        self.db.run(move |c| latchkey_store::repo::revocations::record(c, &durable)).await?;
        let now = self.clock.now();
        let mut queued = 0;
        for (key, value, exp) in rows {
            if !self.fast.put_or_queue(&key, &value, Duration::from_secs((exp - now).max(1) as u64 + 1)).await? {
                queued += 1;
            }
        }
        if queued > 0 {
            let note = vec![(FAST_STORE_MISSED.to_string(), now.to_string(), now + REVOCATIONS_LOADED_TTL.as_secs() as i64)];
            self.db.run(move |c| latchkey_store::repo::revocations::record(c, &note)).await?;
            tracing::warn!(target: "security", event = "revocation_queued", count = queued, "redis unreachable: revocation recorded in the database; the fast store gets it when redis is back");
        }
        Ok(())
    }

    /// Reloads every revocation in force from the database into the fast
    /// store, then marks it loaded (with the time). Called when the marker is
    /// missing: the fast store restarted empty, was flushed, failed over, or
    /// this process just started with an in-process store; and by upkeep when
    /// a node noted a revocation that could not reach the fast store.
    async fn reload_revocations(&self) -> Result<(), TokenError> {
        let now = self.clock.now();
        let rows = self.db.run(move |c| latchkey_store::repo::revocations::live(c, now)).await?;
        let n = rows.len();
        for (key, value, exp) in rows.into_iter().filter(|(k, _, _)| k != FAST_STORE_MISSED) {
            self.fast.put(&key, &value, Duration::from_secs((exp - now).max(1) as u64 + 1)).await?;
        }
        self.fast.put(REVOCATIONS_LOADED, &now.to_string(), REVOCATIONS_LOADED_TTL).await?;
        tracing::info!(target: "security", event = "revocations_reloaded", count = n, "the fast store may have lost revocations; reloaded from the database");
        Ok(())
    }

    /// Upkeep: reloads the revocations into the fast store if some node
    /// noted, at or after the last load, a revocation it could not write there.
    async fn repair_missed_revocations(&self) -> Result<(), TokenError> {
        let now = self.clock.now();
        let keys = vec![FAST_STORE_MISSED.to_string()];
        let noted = self.db.run(move |c| latchkey_store::repo::revocations::values(c, &keys, now)).await?;
        let Some(Some(missed)) = noted.first().cloned() else { return Ok(()) };
        let loaded = self.fast.get(REVOCATIONS_LOADED).await?;
        if loaded.and_then(|l| l.parse::<i64>().ok()).is_none_or(|l| l <= missed.parse::<i64>().unwrap_or(i64::MAX)) {
            self.reload_revocations().await?;
        }
        Ok(())
    }

    pub async fn is_revoked(&self, jti: &str) -> Result<bool, TokenError> {
        Ok(self.fast.get(&revoked_key(jti)).await?.is_some())
    }

    /// The hasher of refresh tokens (HMAC-SHA256 under the pepper).
    pub fn refresh_hasher(&self) -> &KeyedHasher {
        &self.refresh_hasher
    }

    /// Revokes several access tokens (one database transaction).
    pub async fn revoke_jtis(&self, list: &[(String, i64)]) -> Result<(), TokenError> {
        self.record_revocations(list.iter().map(|(jti, exp)| (revoked_key(jti), "1".to_string(), *exp)).collect()).await
    }

    /// Revokes, in one write, every access token issued until now in `scope`:
    /// a marker that lives as long as the longest access token could.
    pub async fn revoke_issued_before(&self, scope: Revocation<'_>) -> Result<(), TokenError> {
        let now = self.clock.now();
        self.record_revocations(vec![(marker_key(scope), now.to_string(), now + self.longest_access_token_ttl() + 60)]).await
    }

    /// The longest an access token of ours can live: the default, or the
    /// longest per-API lifetime an admin may set.
    pub fn longest_access_token_ttl(&self) -> i64 {
        self.config.access_token_ttl.max(latchkey_domain::api::API_TOKEN_TTL_RANGE.1)
    }

    /// One round trip: the token's own `jti`, and the client, grant and
    /// session markers that may cover it. An exchanged token (RFC 8693) is
    /// also covered by the `jti` of every token it was exchanged from and by
    /// the markers of the client the user's grant is with.
    async fn check_not_revoked(&self, claims: &AccessTokenClaims) -> Result<(), TokenError> {
        let mut keys = vec![revoked_key(&claims.jti)];
        if let Some(from) = &claims.exchanged_from {
            keys.extend(from.jti.iter().map(|j| revoked_key(j)));
        }
        let jtis = keys.len();
        keys.extend([marker_key(Revocation::Client(&claims.client_id)), marker_key(Revocation::Grant { client_id: &claims.client_id, user_id: &claims.sub })]);
        if let Some(from) = &claims.exchanged_from {
            keys.extend([marker_key(Revocation::Client(&from.client_id)), marker_key(Revocation::Grant { client_id: &from.client_id, user_id: &claims.sub })]);
        }
        if let Some(sid) = &claims.sid {
            keys.push(marker_key(Revocation::Session(sid)));
        }
        // The same round trip asks whether the fast store still holds the
        // revocations (it may have restarted empty): if not, reload first.
        keys.push(REVOCATIONS_LOADED.to_string());
        let outages = self.fast.outages();
        let from_redis = async {
            let mut found = self.fast.get_many(&keys).await?;
            if found.last().is_some_and(Option::is_none) {
                self.reload_revocations().await?;
                found = self.fast.get_many(&keys).await?;
            } else if outages != self.outages_repaired.load(Ordering::Relaxed) {
                // First answer from Redis after an outage this node saw: another
                // node may have recorded revocations Redis has not got yet.
                self.repair_missed_revocations().await?;
                self.outages_repaired.store(outages, Ordering::Relaxed);
                found = self.fast.get_many(&keys).await?;
            }
            Ok::<_, TokenError>(found)
        };
        let mut found = match from_redis.await {
            Ok(found) => found,
            // Redis unreachable, at the first question or a later one (it may
            // go away between two): the database holds every revocation.
            Err(TokenError::Store(StoreError::Cache(_))) => {
                let lookup = keys[..keys.len() - 1].to_vec();
                let now = self.clock.now();
                let found = self.db.run(move |c| latchkey_store::repo::revocations::values(c, &lookup, now)).await?;
                return judge(claims, &found, jtis);
            }
            Err(e) => return Err(e),
        };
        found.pop();
        judge(claims, &found, jtis)
    }

    // ---- signing-key rotation ---------------------------------------------------

    /// Creates a new key for each of `algs`. It is published at once and signs
    /// after [`crate::keys::KEY_PUBLISH_LEAD`].
    pub async fn rotate_keys(&self, algs: &[SigningAlg]) -> Result<Vec<String>, TokenError> {
        let now = self.clock.now();
        let master = self.master.clone();
        let algs = algs.to_vec();
        let kids = self
            .db
            .run(move |conn| {
                let mut kids = Vec::new();
                let existing = key_repo::list_all(conn)?;
                for alg in algs {
                    // Strictly newer than every key of the algorithm, so the order
                    // (and with it the active key) never depends on a kid tie-break.
                    let newest = existing.iter().filter(|k| k.alg == alg.as_str()).map(|k| k.created_at).max();
                    let created = newest.map_or(now, |n| now.max(n + 1));
                    let (_, record) = SigningKey::create(alg, created, &master).map_err(to_store)?;
                    key_repo::insert(conn, &record)?;
                    tracing::info!(target: "security", event = "key_rotated", kid = %record.kid, alg = alg.as_str());
                    kids.push(record.kid);
                }
                Ok(kids)
            })
            .await?;
        self.reload_keys().await?;
        Ok(kids)
    }

    /// Periodic upkeep, on every node: rotate keys that are due, retire keys no
    /// token can need any more, and pick up other nodes' changes.
    pub async fn maintain(&self) -> Result<(), TokenError> {
        self.maintain_for(self.config.access_token_ttl).await
    }

    /// [`TokenService::maintain`] when access tokens may live up to
    /// `longest_access` seconds (the longest lifetime of a registered API):
    /// no key is retired while a token it signed could still be valid.
    pub async fn maintain_for(&self, longest_access: i64) -> Result<(), TokenError> {
        self.reload_keys().await?;
        // Not fatal to the rest of the upkeep: with Redis down this fails
        // until it is back, and key rotation must go on meanwhile.
        if let Err(e) = self.repair_missed_revocations().await {
            tracing::warn!(error = %e, "revocation repair skipped (fast store unavailable?); retried at the next upkeep");
        }
        let now = self.clock.now();
        self.db.run(move |c| latchkey_store::repo::revocations::purge(c, now)).await?;
        let now = self.clock.now();
        let ring = self.ring();
        let due: Vec<SigningAlg> = SigningAlg::ALL
            .into_iter()
            .filter(|alg| ring.keys().iter().filter(|k| k.alg == *alg).map(|k| k.created_at).max().is_some_and(|newest| now - newest >= self.config.key_rotation_period))
            .collect();
        if !due.is_empty() {
            self.rotate_keys(&due).await?;
        }
        let ring = self.ring();
        let longest = longest_access.max(self.config.access_token_ttl).max(self.config.id_token_ttl);
        let retire: Vec<String> = SigningAlg::ALL
            .into_iter()
            .filter_map(|alg| ring.active(alg, now).map(|active| (alg, active)))
            .filter(|(_, active)| now >= active.created_at + crate::keys::KEY_PUBLISH_LEAD + longest + KEY_RETIREMENT_MARGIN)
            .flat_map(|(alg, active)| ring.keys().iter().filter(move |k| k.alg == alg && (k.created_at, &k.kid) < (active.created_at, &active.kid)).map(|k| k.kid.clone()))
            .collect();
        if !retire.is_empty() {
            self.db
                .run(move |conn| {
                    for kid in &retire {
                        key_repo::retire(conn, kid, now)?;
                        tracing::info!(target: "security", event = "key_retired", kid = %kid);
                    }
                    Ok(())
                })
                .await?;
            self.reload_keys().await?;
        }
        Ok(())
    }

    /// Re-reads the keys if the ring is older than `max_age` seconds (the JWKS
    /// endpoint uses this so a key rotated on another node shows up quickly).
    pub async fn reload_keys_if_older_than(&self, max_age: i64) -> Result<(), TokenError> {
        if self.clock.now() - self.ring_loaded_at.load(Ordering::Relaxed) >= max_age {
            self.reload_keys().await?;
        }
        Ok(())
    }

    /// Every key, with its state now.
    pub async fn key_status(&self) -> Result<Vec<KeyInfo>, TokenError> {
        let now = self.clock.now();
        let stored = self.db.run(key_repo::list_all).await?;
        self.reload_keys().await?;
        let ring = self.ring();
        Ok(stored
            .into_iter()
            .filter_map(|k| {
                let alg = SigningAlg::parse(&k.alg)?;
                let active = ring.active(alg, now).map(|a| a.kid.clone());
                let state = if k.retired_at.is_some() {
                    "retired"
                } else if active.as_deref() == Some(k.kid.as_str()) {
                    "active"
                } else if active.is_some_and(|_| ring.active(alg, now).is_some_and(|a| k.created_at > a.created_at)) {
                    "next"
                } else {
                    "published"
                };
                Some(KeyInfo { kid: k.kid, alg: alg.as_str(), created_at: k.created_at, retired_at: k.retired_at, state })
            })
            .collect())
    }
}

fn to_store(e: TokenError) -> latchkey_store::StoreError {
    latchkey_store::StoreError::Corrupt(e.to_string())
}

/// Whether what the revocation lookup found (the first `jtis` entries: the
/// token's `jti` and those it was exchanged from; then the client, grant
/// and session markers: the times they were set) revokes it.
fn judge(claims: &AccessTokenClaims, found: &[Option<String>], jtis: usize) -> Result<(), TokenError> {
    if found.iter().take(jtis).any(Option::is_some) {
        return Err(TokenError::Revoked);
    }
    let covered = found.iter().skip(jtis).flatten().any(|at| at.parse::<i64>().is_ok_and(|at| claims.iat <= at));
    if covered {
        return Err(TokenError::Revoked);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_pepper() {
        let config = TokenConfig { refresh_pepper: Some("PEPPER-THAT-MUST-NOT-LEAK-0123456789".into()), ..TokenConfig::new("https://id.example") };
        let text = format!("{config:?}");
        assert!(!text.contains("PEPPER-THAT-MUST-NOT-LEAK"), "{text}");
        assert!(text.contains("<redacted>") && text.contains("https://id.example"));
    }
}
