//! The protocol engine: ties requests to clients, sessions, codes and tokens.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use latchkey_domain::{Client, SharedClock};
use latchkey_store::repo::clients as client_repo;
use latchkey_store::{Db, FastStore, StoreError};
use latchkey_token::crypto::{KeyPurpose, KeyedHasher};
use latchkey_token::TokenService;

/// A user has 10 minutes from the client's redirect to finish signing in and
/// consenting; after that the request is forgotten and the client must start over.
pub const PENDING_AUTHORIZATION_TTL: Duration = Duration::from_secs(10 * 60);
/// Authorization codes carry this prefix. NEVER CHANGE IT (secret scanners match on it).
pub const CODE_PREFIX: &str = "lkc_";

#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub issuer: String,
    /// RFC 9126 §5 `require_pushed_authorization_requests`, for every client.
    pub require_par: bool,
    /// RFC 9449 §8: DPoP proofs at the token endpoint must carry a server
    /// nonce (`use_dpop_nonce` until they do).
    pub dpop_require_nonce: bool,
    /// RFC 7591: clients may register themselves at `/register` (a policy
    /// other than closed); discovery then names the endpoint.
    pub registration_open: bool,
    /// Client ID metadata documents: an https URL may be a `client_id`.
    pub client_id_metadata: bool,
}

/// Clients are cached per node for 5 seconds: a removed client or a changed
/// secret takes effect everywhere within that, and the token endpoint skips a
/// database round trip on almost every call.
const CLIENT_CACHE_TTL: i64 = 5;
/// Bound on cached clients, so a flood of distinct ids cannot grow memory.
const CLIENT_CACHE_MAX: usize = 10_000;

pub struct OAuthService {
    pub config: OAuthConfig,
    pub(crate) db: Db,
    pub(crate) fast: FastStore,
    pub(crate) tokens: Arc<TokenService>,
    pub(crate) clock: SharedClock,
    pub(crate) client_secrets: KeyedHasher,
    pub(crate) codes: KeyedHasher,
    /// Keyed hashes of device codes and user codes (RFC 8628).
    pub(crate) device_codes: KeyedHasher,
    pub(crate) dpop_nonces: KeyedHasher,
    client_cache: RwLock<HashMap<String, (Client, i64)>>,
    pub(crate) api_cache: crate::api_cache::ApiCache,
    /// Sessions older than this are over (refresh families bound to them end too).
    pub(crate) session_absolute: i64,
    /// Sessions unused for longer than this are over too.
    pub(crate) session_idle: i64,
    /// Outgoing HTTP (back-channel logout, clients' jwks_uri).
    pub(crate) http: reqwest::Client,
    /// Clients' key sets fetched from their jwks_uri.
    pub(crate) remote_jwks: crate::remote_jwks::RemoteJwks,
    /// Back-channel logout deliveries running in this process, so a CLI
    /// command can wait for them before it exits.
    pub(crate) deliveries: InFlight,
    /// Sees every recorded event (anomaly detection, see `audit::Watcher`).
    pub(crate) watchers: crate::audit::Watchers,
    /// Which relying parties this node has recorded for which sessions.
    pub(crate) recorded_clients: RecordedClients,
}

/// Most session–client pairs a node remembers having recorded; past it the
/// set starts again empty (a pair forgotten is only recorded again: its
/// row exists, so the write finds it). ~120 bytes a pair: ~2.4 MB.
const MAX_RECORDED_CLIENTS: usize = 20_000;

/// The (session, client) pairs this node has written to `session_clients`
/// (which relying parties a session signed in to, for back-channel
/// logout): a returning user's next code skips that database round trip.
/// A pair's row goes only with its session, and a session that ended
/// issues no more codes, so a remembered pair is never a missing row.
#[derive(Default)]
pub(crate) struct RecordedClients(Mutex<HashSet<(String, String)>>);

impl RecordedClients {
    /// Whether the pair was recorded (by this node, since it was last cleared).
    pub(crate) fn contains(&self, sid: &str, client_id: &str) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).contains(&(sid.to_string(), client_id.to_string()))
    }

    /// Remembers a pair whose row is written.
    pub(crate) fn insert(&self, sid: String, client_id: String) {
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if set.len() >= MAX_RECORDED_CLIENTS {
            set.clear();
        }
        set.insert((sid, client_id));
    }
}

/// How many deliveries this process is running (a watch channel, so a
/// waiter sees the count fall to zero without polling).
pub(crate) struct InFlight(tokio::sync::watch::Sender<usize>);

impl Default for InFlight {
    fn default() -> Self {
        InFlight(tokio::sync::watch::Sender::new(0))
    }
}

/// Held by one running delivery; the count falls when it is dropped
/// (also when the task panics or is cancelled).
pub(crate) struct Running(tokio::sync::watch::Sender<usize>);

impl InFlight {
    pub(crate) fn start(&self) -> Running {
        self.0.send_modify(|n| *n += 1);
        Running(self.0.clone())
    }

    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<usize> {
        self.0.subscribe()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl OAuthService {
    pub fn new(config: OAuthConfig, db: Db, fast: FastStore, tokens: Arc<TokenService>, clock: SharedClock, session_idle: i64, session_absolute: i64) -> OAuthService {
        let client_secrets = tokens.master().hasher(KeyPurpose::ClientSecret);
        let codes = tokens.master().hasher(KeyPurpose::AuthCode);
        let device_codes = tokens.master().hasher(KeyPurpose::DeviceCode);
        let dpop_nonces = tokens.master().hasher(KeyPurpose::DpopNonce);
        // No redirects: a relying party's logout endpoint answers, it does not send us elsewhere.
        let http = crate::http::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            // Startup only; fails only for a TLS configuration that
            // http.rs's test holds to be valid.
            .expect("the outgoing HTTP client builds");
        OAuthService {
            config,
            db,
            fast,
            tokens,
            clock,
            client_secrets,
            codes,
            device_codes,
            dpop_nonces,
            client_cache: RwLock::new(HashMap::new()),
            api_cache: Default::default(),
            session_absolute,
            session_idle,
            http,
            remote_jwks: Default::default(),
            deliveries: Default::default(),
            watchers: Default::default(),
            recorded_clients: Default::default(),
        }
    }

    pub fn tokens(&self) -> &Arc<TokenService> {
        &self.tokens
    }

    pub async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let id = id.to_string();
        self.db.run(move |c| client_repo::find(c, &id)).await
    }

    /// A client by id, from a short-lived per-node cache: the token and
    /// introspection endpoints authenticate a client on every call.
    pub(crate) async fn cached_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let now = self.clock.now();
        if let Some((client, at)) = self.client_cache.read().unwrap_or_else(|p| p.into_inner()).get(id) {
            if now - at < CLIENT_CACHE_TTL {
                return Ok(Some(client.clone()));
            }
        }
        let found = self.client(id).await?;
        if let Some(c) = &found {
            let mut cache = self.client_cache.write().unwrap_or_else(|p| p.into_inner());
            if cache.len() >= CLIENT_CACHE_MAX {
                cache.clear();
            }
            cache.insert(id.to_string(), (c.clone(), now));
        }
        Ok(found)
    }

    /// A client as the sign-in and consent pages show it (name, logo,
    /// links): the node's copy, at most `CLIENT_CACHE_TTL` old, as
    /// `/authorize` and the token endpoint read it. A change made on another
    /// node shows on this one's pages within that time; what a code is good
    /// for is still decided at the token endpoint.
    pub async fn client_for_page(&self, id: &str) -> Result<Option<Client>, StoreError> {
        self.cached_client(id).await
    }

    /// Forgets cached clients (after a client is changed or removed on this node).
    pub fn forget_cached_clients(&self) {
        self.client_cache.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
