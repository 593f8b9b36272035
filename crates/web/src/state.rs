//! Opening the stores and wiring the services together.

use std::sync::Arc;

use latchkey_authn::{Authenticator, DeviceService, LinkService, Mailer, MfaService, PasskeyService, PasswordPolicy, RateLimiter, SessionService};
use latchkey_domain::SharedClock;
use latchkey_oauth::{OAuthConfig, OAuthService};
use latchkey_store::{Backend, Db, DbConfig, FastStore, StoreError};
use latchkey_token::crypto::{KeyPurpose, KeyedHasher};
use latchkey_token::{MasterKey, TokenConfig, TokenError, TokenService};

use crate::config::{Settings, MASTER_KEY_FILE};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("invalid setting: {0}")]
    Config(String),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("{0}")]
    Authn(#[from] latchkey_authn::AuthnError),
    /// A configured service cannot be used: the setting, its value (without
    /// credentials), what went wrong and what to do.
    #[error("{setting}={value}: {problem}; {todo}")]
    Service { setting: &'static str, value: String, problem: String, todo: String },
}

/// `scheme://host:port/path` of a service URL, without user or password.
fn without_credentials(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "<unparsable URL>".to_string(),
    }
}

/// The database name and `createdb` arguments of a PostgreSQL URL.
fn createdb_hint(url: &str) -> String {
    let Ok(u) = url::Url::parse(url) else {
        return "create it with createdb".into();
    };
    let name = u.path().trim_start_matches('/');
    let mut cmd = String::from("createdb");
    if let Some(host) = u.host_str() {
        cmd.push_str(&format!(" -h {host}"));
    }
    if let Some(port) = u.port() {
        cmd.push_str(&format!(" -p {port}"));
    }
    if !u.username().is_empty() {
        cmd.push_str(&format!(" -U {}", u.username()));
    }
    format!("create it ({cmd} {name}); latchkey creates its tables at start")
}

/// The database, the fast store and the master key: what both `serve` and the
/// admin CLI need.
#[derive(Clone)]
pub struct Stores {
    pub db: Db,
    pub fast: FastStore,
    pub master: MasterKey,
}

impl Stores {
    pub async fn open(settings: &Settings) -> Result<Stores, StartupError> {
        let url = settings.database_url();
        let config = DbConfig { url };
        let needs_data_dir = config.backend() == Backend::Sqlite || settings.master_key.is_none();
        if needs_data_dir {
            latchkey_store::db::private_dir(&settings.data_dir).map_err(|source| StartupError::DataDir { path: settings.data_dir.display().to_string(), source })?;
        }
        let master = match &settings.master_key {
            Some(text) => MasterKey::parse(text)?,
            None => MasterKey::load_or_create_file(&settings.data_dir.join(MASTER_KEY_FILE))?,
        };
        let backend = config.backend();
        let url = config.url.clone();
        let db = tokio::task::spawn_blocking(move || Db::connect(&config)).await.map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let db = match db {
            Err(StoreError::Unavailable(problem)) if backend == Backend::Postgres && problem.contains("does not exist") => {
                return Err(StartupError::Service { setting: "LATCHKEY_DATABASE_URL", value: without_credentials(&url), todo: createdb_hint(&url), problem: problem.trim().to_string() });
            }
            Err(StoreError::Unavailable(problem)) if backend == Backend::Postgres && !problem.starts_with("migration failed") => {
                return Err(StartupError::Service {
                    setting: "LATCHKEY_DATABASE_URL",
                    value: without_credentials(&url),
                    problem: problem.trim().to_string(),
                    todo: "check that PostgreSQL runs and accepts connections at that host and port, and the user and password".into(),
                });
            }
            other => other?,
        };
        let fast = match &settings.redis_url {
            Some(url) if !url.is_empty() => FastStore::redis(url, &settings.redis_prefix).await.map_err(|e| StartupError::Service {
                setting: "LATCHKEY_REDIS_URL",
                value: without_credentials(url),
                problem: format!("cannot reach Redis ({e})"),
                todo: "start Redis or correct the host and port (or unset LATCHKEY_REDIS_URL to keep hot state in this process, one node only)".into(),
            })?,
            _ => FastStore::memory(),
        };
        Ok(Stores { db, fast, master })
    }
}

/// Everything a request handler can reach.
pub struct AppState {
    pub issuer: String,
    /// `scheme://host[:port]` of the issuer, compared with `Origin` on POSTs.
    pub issuer_origin: String,
    pub oauth: Arc<OAuthService>,
    pub authn: Authenticator,
    pub sessions: SessionService,
    pub devices: DeviceService,
    pub mfa: MfaService,
    pub passkeys: PasskeyService,
    pub mailer: Mailer,
    /// Signs the links in notification mails.
    pub mail_links: KeyedHasher,
    pub tokens: Arc<TokenService>,
    pub stores: Stores,
    /// Derives form CSRF tokens and browser bindings from the CSRF cookie.
    pub csrf: KeyedHasher,
    pub clock: SharedClock,
    /// Peers whose forwarding header is believed, and which header (see `client_ip`).
    pub trusted_proxies: crate::client_ip::Proxies,
    /// Send `Strict-Transport-Security` (the issuer is https).
    pub hsts: bool,
    /// Mailed single-use links (set-up, recovery, email change).
    pub links: LinkService,
    pub limiter: RateLimiter,
    /// Rate limits of the token, revocation and introspection endpoints.
    pub endpoint_limits: latchkey_oauth::endpoint_limits::EndpointLimiter,
    pub signup_open: bool,
    pub invite_ttl: i64,
    pub recovery_ttl: i64,
    /// Product name, logo and colour on every page.
    pub brand: Arc<crate::branding::Brand>,
    /// The `Content-Security-Policy` of every page (images from the brand's logo host too).
    pub csp: String,
}

impl AppState {
    pub async fn build(settings: &Settings, clock: SharedClock) -> Result<AppState, StartupError> {
        settings.validate().map_err(StartupError::Config)?;
        let stores = Stores::open(settings).await?;
        AppState::with_stores(settings, stores, clock).await
    }

    pub async fn with_stores(settings: &Settings, stores: Stores, clock: SharedClock) -> Result<AppState, StartupError> {
        settings.validate().map_err(StartupError::Config)?;
        let issuer = settings.issuer();
        let parsed = url::Url::parse(&issuer).map_err(|e| StartupError::Config(format!("issuer {issuer}: {e}")))?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(StartupError::Config("the issuer must not have a query or fragment".into()));
        }
        let issuer_origin = parsed.origin().ascii_serialization();
        let token_config =
            TokenConfig { refresh: settings.refresh, refresh_pepper: settings.token_pepper.clone(), key_rotation_period: settings.key_rotation_period, ..TokenConfig::new(issuer.clone()) };
        let tokens = Arc::new(TokenService::init(token_config, stores.db.clone(), stores.fast.clone(), stores.master.clone(), clock.clone()).await?);
        let limits = settings.sessions;
        let oauth = Arc::new(OAuthService::new(
            OAuthConfig { issuer: issuer.clone(), require_par: settings.require_par, dpop_require_nonce: settings.dpop_require_nonce },
            stores.db.clone(),
            stores.fast.clone(),
            tokens.clone(),
            clock.clone(),
            limits.idle,
            limits.absolute,
        ));
        let mut authn = Authenticator::new(stores.db.clone(), stores.fast.clone(), &stores.master, clock.clone())?;
        authn.policy = PasswordPolicy::with_min_chars(settings.password_min_chars);
        let (lo, hi) = latchkey_authn::links::RECOVERY_TTL_RANGE;
        if !(lo..=hi).contains(&settings.recovery_ttl) {
            return Err(StartupError::Config(format!("LATCHKEY_RECOVERY_TTL_SECS must be between {lo} and {hi}")));
        }
        if settings.invite_ttl < 3600 {
            return Err(StartupError::Config("LATCHKEY_INVITE_TTL_SECS must be at least 3600".into()));
        }
        let links = LinkService::new(stores.db.clone(), &stores.master, clock.clone());
        let limiter = RateLimiter::new(stores.fast.clone(), clock.clone());
        let endpoint_limits = latchkey_oauth::endpoint_limits::EndpointLimiter::new(settings.endpoint_rate, stores.fast.clone(), clock.clone());
        let sessions = SessionService::new(stores.db.clone(), stores.fast.clone(), &stores.master, clock.clone(), limits);
        let csrf = stores.master.hasher(KeyPurpose::Csrf);
        let devices = DeviceService::new(stores.db.clone(), &stores.master, clock.clone());
        let mailer = Mailer::new(settings.smtp_url.as_deref(), &settings.mail_from, settings.outbox_dir())?;
        let mail_links = stores.master.hasher(KeyPurpose::MailLink);
        let mfa = MfaService::new(stores.db.clone(), stores.fast.clone(), &stores.master, clock.clone(), &issuer);
        let passkeys = PasskeyService::new(&issuer, stores.db.clone(), stores.fast.clone(), clock.clone())?;
        let hsts = parsed.scheme() == "https";
        let trusted_proxies = crate::client_ip::Proxies { trusted: settings.trusted_proxies.clone(), header: settings.forwarded_header };
        let brand = Arc::new(settings.brand().map_err(StartupError::Config)?);
        let csp = crate::routes::content_security_policy(&[brand.logo_origin()]);
        Ok(AppState {
            issuer,
            issuer_origin,
            oauth,
            authn,
            sessions,
            devices,
            mfa,
            passkeys,
            mailer,
            mail_links,
            tokens,
            stores,
            csrf,
            clock,
            trusted_proxies,
            hsts,
            links,
            limiter,
            endpoint_limits,
            signup_open: settings.signup_open,
            invite_ttl: settings.invite_ttl,
            recovery_ttl: settings.recovery_ttl,
            brand,
            csp,
        })
    }
}
