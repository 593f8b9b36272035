//! Opening the stores and wiring the services together.

use std::sync::Arc;

use latchkey_app::registration::RegistrationPolicy;
pub use latchkey_app::Stores;
use latchkey_app::{App, AppConfig, AppError, MailConfig};
use latchkey_domain::SharedClock;
use latchkey_oauth::OAuthConfig;
use latchkey_store::{Backend, Db, DbConfig, FastStore, StoreError};
use latchkey_token::crypto::{KeyPurpose, KeyedHasher};
use latchkey_token::{MasterKey, TokenConfig, TokenError};

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
    #[error("{0}")]
    App(#[from] AppError),
    /// A configured service cannot be used: the setting, its value (without
    /// credentials), what went wrong and what to do.
    #[error("{setting}={value}: {problem}; {todo}")]
    Service { setting: &'static str, value: String, problem: String, todo: String },
    /// The location database or the blocklist of the risk policy (issue #32).
    #[error(transparent)]
    Risk(#[from] latchkey_authn::risk::RiskConfigError),
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

/// Opens the database (creating or migrating its tables), the fast store
/// and the master key: what both `serve` and the admin CLI need.
pub async fn open_stores(settings: &Settings) -> Result<Stores, StartupError> {
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
        Some(url) if !url.is_empty() => FastStore::redis(url, &settings.redis_prefix)
            .await
            .map_err(|e| StartupError::Service {
                setting: "LATCHKEY_REDIS_URL",
                value: without_credentials(url),
                problem: format!("cannot reach Redis ({e})"),
                todo: "start Redis or correct the host and port (or unset LATCHKEY_REDIS_URL to keep hot state in this process, one node only)".into(),
            })?
            // Sign-ins go on while Redis is unreachable (issue #31).
            .with_database_fallback(db.clone()),
        _ => FastStore::memory(),
    };
    Ok(Stores { db, fast, master })
}

/// The application (every use case and service, [`App`]) and what only
/// HTTP needs: CSRF keys, proxies, headers, the brand of the pages.
/// Handlers reach the application's fields and use cases through `Deref`
/// (`state.authn`, `state.end_sessions(…)`).
pub struct AppState {
    pub app: App,
    /// `scheme://host[:port]` of the issuer, compared with `Origin` on POSTs.
    pub issuer_origin: String,
    /// Derives form CSRF tokens and browser bindings from the CSRF cookie.
    pub csrf: KeyedHasher,
    /// Peers whose forwarding header is believed, and which header (see `client_ip`).
    pub trusted_proxies: crate::client_ip::Proxies,
    /// Send `Strict-Transport-Security` (the issuer is https).
    pub hsts: bool,
    /// Rate limits of the token, revocation and introspection endpoints.
    pub endpoint_limits: latchkey_oauth::endpoint_limits::EndpointLimiter,
    pub signup_open: bool,
    /// Who may register a client at `/register` (RFC 7591).
    pub client_registration: RegistrationPolicy,
    /// Product name, logo and colour on every page.
    pub brand: Arc<crate::branding::Brand>,
    /// The `Content-Security-Policy` of every page (images from the brand's logo host too).
    pub csp: String,
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

/// The application over `stores`, configured by `settings`: what the CLI
/// uses, and what a web node wraps in its [`AppState`].
pub async fn build_app(settings: &Settings, stores: Stores, clock: SharedClock) -> Result<App, StartupError> {
    settings.validate().map_err(StartupError::Config)?;
    let issuer = settings.issuer();
    let (lo, hi) = latchkey_authn::links::RECOVERY_TTL_RANGE;
    if !(lo..=hi).contains(&settings.recovery_ttl) {
        return Err(StartupError::Config(format!("LATCHKEY_RECOVERY_TTL_SECS must be between {lo} and {hi}")));
    }
    if settings.invite_ttl < 3600 {
        return Err(StartupError::Config("LATCHKEY_INVITE_TTL_SECS must be at least 3600".into()));
    }
    let brand = settings.brand().map_err(StartupError::Config)?;
    let risk = settings.risk_config()?;
    let issuer_url = url::Url::parse(&issuer).map_err(|e| StartupError::Config(format!("LATCHKEY_ISSUER={issuer}: {e}")))?;
    settings.relying_party.id_for(&issuer_url).map_err(|e| StartupError::Config(e.to_string()))?;
    if let Some(geo) = &risk.geo {
        tracing::info!(database = %geo.describe(), "sign-ins are located with LATCHKEY_GEOIP_DB");
    }
    let config = AppConfig {
        token: TokenConfig { refresh: settings.refresh, refresh_pepper: settings.token_pepper.clone(), key_rotation_period: settings.key_rotation_period, ..TokenConfig::new(issuer.clone()) },
        oauth: OAuthConfig {
            issuer,
            require_par: settings.require_par,
            dpop_require_nonce: settings.dpop_require_nonce,
            registration_open: settings.client_registration != RegistrationPolicy::Closed,
            client_id_metadata: settings.client_id_metadata.enabled(),
        },
        sessions: settings.sessions,
        password_min_chars: settings.password_min_chars,
        hashing_threads: settings.hashing_threads,
        mail: MailConfig { smtp_url: settings.smtp_url.clone(), from: settings.mail_from.clone(), outbox: settings.outbox_dir(), brand: brand.for_mail() },
        invite_ttl: settings.invite_ttl,
        recovery_ttl: settings.recovery_ttl,
        client_id_metadata: settings.client_id_metadata,
        risk,
        relying_party: settings.relying_party.clone(),
        passkey_only: settings.passkey_only,
        passkey_policy: settings.passkey_policy.clone(),
        ssf_allow_private: settings.ssf_allow_private,
    };
    Ok(App::new(config, stores, clock).await?)
}

impl AppState {
    pub async fn build(settings: &Settings, clock: SharedClock) -> Result<AppState, StartupError> {
        settings.validate().map_err(StartupError::Config)?;
        let stores = open_stores(settings).await?;
        AppState::with_stores(settings, stores, clock).await
    }

    pub async fn with_stores(settings: &Settings, stores: Stores, clock: SharedClock) -> Result<AppState, StartupError> {
        let app = build_app(settings, stores, clock).await?;
        let parsed = url::Url::parse(&app.issuer).map_err(|e| StartupError::Config(format!("issuer {}: {e}", app.issuer)))?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(StartupError::Config("the issuer must not have a query or fragment".into()));
        }
        let brand = Arc::new(settings.brand().map_err(StartupError::Config)?);
        Ok(AppState {
            issuer_origin: parsed.origin().ascii_serialization(),
            csrf: app.stores.master.hasher(KeyPurpose::Csrf),
            trusted_proxies: crate::client_ip::Proxies { trusted: settings.trusted_proxies.clone(), header: settings.forwarded_header },
            hsts: parsed.scheme() == "https",
            endpoint_limits: latchkey_oauth::endpoint_limits::EndpointLimiter::new(settings.endpoint_rate, app.stores.fast.clone(), app.clock.clone()),
            signup_open: settings.signup_open,
            client_registration: settings.client_registration,
            csp: crate::csp::content_security_policy(&[brand.logo_origin()]),
            brand,
            app,
        })
    }
}
