//! The application layer: latchkey's use cases, below HTTP and above the
//! domain crates.
//!
//! A use case is something a person or a program asks for that takes more
//! than one domain service to do right: "sign this user in" (a session, a
//! remembered device, a new-device notice, an audit row), "end this
//! session" (its device, its tokens, the back-channel logouts), "disable
//! this user" (sessions, tokens and links too, and never the last
//! administrator). Each lives here once, as a method on [`App`], with typed
//! inputs and a typed error ([`AppError`]); its callers are the web pages,
//! the admin API and the CLI, and later the upstream-provider sign-in and
//! SCIM. A rule kept here (see [`admin`]) holds whichever door the request
//! came through.
//!
//! Why a crate and not rooms in `authn` or `oauth`: these use cases need
//! both (ending a session revokes its tokens; signing in completes an
//! authorization request), and `authn` and `oauth` must not know each
//! other. Why not the web crate: the CLI and the tests reach the use cases
//! without a server, and a use case must not see a request or a cookie.
//!
//! What lives here: [`App`] (the wired services), [`sessions`] (ending
//! sessions and what hangs on them, credential changes, "This wasn't me"
//! links), [`accounts`] (invitations, sign-up, recovery: accounts that run
//! on mailed links), [`directory`] (clients, APIs and groups), [`sign_in`] (the sign-in state machine: first factor
//! known, second factor owed, sign-in completed), [`admin`] (what
//! administrators do, with the rules they may not break).
//!
//! What must not: actix types, cookies, templates, status codes (the web
//! crate turns [`AppError`] into a response in one place), and protocol
//! rules (those are `oauth`'s and `token`'s).

pub mod accounts;
pub mod admin;
pub mod anomalies;
pub mod client_metadata;
pub mod directory;
mod error;
pub mod federation;
pub mod registration;
pub mod risk;
pub mod scim;
pub mod sessions;
pub mod sign_in;
pub mod ssf;
pub mod webhooks;

use std::path::PathBuf;
use std::sync::Arc;

use latchkey_authn::notice::MailBrand;
use latchkey_authn::{Authenticator, DeviceService, LinkService, Mailer, MfaService, PasskeyService, PasswordPolicy, RateLimiter, SessionLimits, SessionService};
use latchkey_domain::SharedClock;
use latchkey_oauth::{OAuthConfig, OAuthService};
use latchkey_store::{Db, FastStore};
use latchkey_token::crypto::{KeyPurpose, KeyedHasher};
use latchkey_token::{MasterKey, TokenConfig, TokenService};

pub use error::{AppError, Refusal};

/// The database, the fast store and the master key: what every use case
/// stands on, opened by whoever starts the process.
#[derive(Clone)]
pub struct Stores {
    pub db: Db,
    pub fast: FastStore,
    pub master: MasterKey,
}

/// Where mail goes: SMTP when set, else the outbox directory.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub smtp_url: Option<String>,
    pub from: String,
    pub outbox: PathBuf,
    /// What the mail shows of the product (name, colour).
    pub brand: MailBrand,
}

/// What the use cases need to know of the configuration, already checked.
#[derive(Clone)]
pub struct AppConfig {
    pub token: TokenConfig,
    pub oauth: OAuthConfig,
    pub sessions: SessionLimits,
    pub password_min_chars: usize,
    /// Password hashing threads; `None`: [`latchkey_authn::password::hashing_threads`].
    pub hashing_threads: Option<usize>,
    pub mail: MailConfig,
    /// How long an invitation's set-up link works (seconds).
    pub invite_ttl: i64,
    /// How long a recovery link works (seconds).
    pub recovery_ttl: i64,
    /// Client ID metadata documents: off, on, or on with documents on this
    /// machine allowed too (development).
    pub client_id_metadata: client_metadata::MetadataPolicy,
    /// Risky sign-ins (issue #32): the policy, the location database and
    /// the blocklist, already read.
    pub risk: latchkey_authn::risk::RiskConfig,
    /// The passkeys' relying-party id and related origins (issue #29).
    pub relying_party: latchkey_authn::relying_party::RelyingParty,
    /// Which accounts sign in with passkeys only (`LATCHKEY_PASSKEY_ONLY`).
    pub passkey_only: latchkey_authn::passkey_only::PasskeyOnlyPolicy,
    /// Which passkeys may be registered, and the FIDO metadata BLOB (issue #29).
    pub passkey_policy: latchkey_authn::authenticator_policy::PolicyConfig,
    /// SSF streams may push to loopback and private networks, over http
    /// (`LATCHKEY_SSF_ALLOW_PRIVATE`; development and tests).
    pub ssf_allow_private: bool,
}

/// latchkey's services, wired together: what a web node, the CLI and the
/// service-level tests hold.
pub struct App {
    pub issuer: String,
    pub oauth: Arc<OAuthService>,
    pub authn: Authenticator,
    pub sessions: SessionService,
    pub devices: DeviceService,
    pub mfa: MfaService,
    pub passkeys: PasskeyService,
    pub mailer: Mailer,
    /// What mail shows of the product.
    pub mail_brand: MailBrand,
    /// Signs the links in notification mails.
    pub mail_links: KeyedHasher,
    /// Hashes session ids for the audit trail ([`App::session_hash`]).
    audit_sessions: KeyedHasher,
    pub tokens: Arc<TokenService>,
    pub stores: Stores,
    pub clock: SharedClock,
    /// Mailed single-use links (set-up, recovery, email change).
    pub links: LinkService,
    pub limiter: RateLimiter,
    pub invite_ttl: i64,
    pub recovery_ttl: i64,
    /// Upstream identity providers' HTTP client and discovery cache.
    pub upstreams: federation::upstream::Upstreams,
    /// Fetches client ID metadata documents; `None` when they are off.
    pub metadata_fetcher: Option<latchkey_oauth::outbound::GuardedFetcher>,
    /// Assesses sign-ins and remembers them (issue #32).
    pub risk: latchkey_authn::risk::RiskService,
    /// Hashes mailed sign-in codes ([`risk`]).
    sign_in_codes: KeyedHasher,
    /// SSF streams may push to private networks ([`AppConfig::ssf_allow_private`]).
    pub ssf_allow_private: bool,
}

impl App {
    /// Wires the services over `stores`. Reads and, when due, creates the
    /// signing keys (so two processes starting at once agree on them).
    pub async fn new(config: AppConfig, stores: Stores, clock: SharedClock) -> Result<App, AppError> {
        let issuer = config.token.issuer.clone();
        let tokens = Arc::new(TokenService::init(config.token, stores.db.clone(), stores.fast.clone(), stores.master.clone(), clock.clone()).await?);
        let limits = config.sessions;
        let oauth = Arc::new(OAuthService::new(config.oauth, stores.db.clone(), stores.fast.clone(), tokens.clone(), clock.clone(), limits.idle, limits.absolute));
        // Every recorded event passes the anomaly detector (issue #32).
        oauth.watch(Arc::new(anomalies::Detector::new(stores.db.clone(), stores.fast.clone(), clock.clone())));
        let mut authn = Authenticator::with_hashing_threads(
            stores.db.clone(),
            stores.fast.clone(),
            &stores.master,
            clock.clone(),
            config.hashing_threads.unwrap_or_else(latchkey_authn::password::hashing_threads),
        )?;
        authn.policy = PasswordPolicy::with_min_chars(config.password_min_chars);
        authn.passkey_only = config.passkey_only;
        Ok(App {
            links: LinkService::new(stores.db.clone(), &stores.master, clock.clone()),
            limiter: RateLimiter::new(stores.fast.clone(), clock.clone()),
            sessions: SessionService::new(stores.db.clone(), stores.fast.clone(), &stores.master, clock.clone(), limits),
            devices: DeviceService::new(stores.db.clone(), &stores.master, clock.clone()),
            mailer: Mailer::new(config.mail.smtp_url.as_deref(), &config.mail.from, config.mail.outbox)?,
            mail_brand: config.mail.brand,
            mail_links: stores.master.hasher(KeyPurpose::MailLink),
            // The key audit rows have always hashed session ids with.
            audit_sessions: stores.master.hasher(KeyPurpose::Csrf),
            mfa: MfaService::new(stores.db.clone(), stores.fast.clone(), &stores.master, clock.clone(), &issuer),
            passkeys: PasskeyService::new(
                &issuer,
                &config.relying_party,
                latchkey_authn::authenticator_policy::PasskeyPolicies::new(config.passkey_policy, stores.db.clone(), clock.clone()).map_err(latchkey_authn::AuthnError::InvalidInput)?,
                stores.db.clone(),
                stores.fast.clone(),
                clock.clone(),
            )?,
            risk: latchkey_authn::risk::RiskService::new(stores.db.clone(), clock.clone(), config.risk),
            sign_in_codes: stores.master.hasher(KeyPurpose::SignInCode),
            ssf_allow_private: config.ssf_allow_private,
            issuer,
            oauth,
            authn,
            tokens,
            stores,
            clock,
            invite_ttl: config.invite_ttl,
            recovery_ttl: config.recovery_ttl,
            upstreams: federation::upstream::Upstreams::new(),
            metadata_fetcher: config.client_id_metadata.fetcher()?,
        })
    }
}
