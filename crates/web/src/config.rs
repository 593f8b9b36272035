//! Server settings: where to listen, who we are, where state lives.
//!
//! The binary fills this from flags and `LATCHKEY_*` environment variables; tests
//! fill it directly.

use std::path::PathBuf;

use latchkey_authn::SessionLimits;
use latchkey_token::service::DEFAULT_KEY_ROTATION_PERIOD;
use latchkey_token::RefreshPolicy;

/// Default listen address: loopback only, so a first `latchkey serve` is not
/// reachable from the network until someone decides it should be.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_ISSUER: &str = "http://localhost:8080";
pub const DEFAULT_DATA_DIR: &str = "./latchkey-data";
pub const MASTER_KEY_FILE: &str = "master.key";
pub const SQLITE_FILE: &str = "latchkey.db";
pub const OUTBOX_DIR: &str = "outbox";
pub const DEFAULT_MAIL_FROM: &str = "latchkey <no-reply@localhost>";

#[derive(Clone)]
pub struct Settings {
    pub bind: String,
    /// The issuer identifier: scheme, host, port, no trailing slash.
    pub issuer: String,
    /// `postgres://…` or a SQLite path / `sqlite://path`. `None`: SQLite under `data_dir`.
    pub database_url: Option<String>,
    /// `redis://…`; `None`: in-process fast store (single node only).
    pub redis_url: Option<String>,
    /// Prefix for every Redis key, so several deployments (or test runs) can share one Redis.
    pub redis_prefix: String,
    /// Hex or base64 master key; `None`: read or create `data_dir/master.key`.
    pub master_key: Option<String>,
    pub data_dir: PathBuf,
    /// Refresh-token lifetimes and grace window.
    pub refresh: RefreshPolicy,
    /// `LATCHKEY_TOKEN_PEPPER`: secret for refresh-token hashes; `None`: derived from the master key.
    pub token_pepper: Option<String>,
    /// Seconds between automatic signing-key rotations.
    pub key_rotation_period: i64,
    /// Session idle timeout, absolute lifetime, and device binding.
    pub sessions: SessionLimits,
    /// `smtp://…` / `smtps://…`; `None`: mail goes to `data_dir/outbox`.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// `LATCHKEY_TRUSTED_PROXIES`: only from these peers are `Forwarded` /
    /// `X-Forwarded-For` believed. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `LATCHKEY_FORWARDED_HEADER`: the one header the trusted proxies set
    /// (`X-Forwarded-For` by default); the other is never read.
    pub forwarded_header: crate::client_ip::ForwardedHeader,
    /// `LATCHKEY_SIGNUP=open`: anyone may create an account (default closed).
    pub signup_open: bool,
    /// `LATCHKEY_CLIENT_REGISTRATION`: who may register a client at
    /// `/register` (RFC 7591): closed (the default), token, open.
    pub client_registration: latchkey_app::registration::RegistrationPolicy,
    /// `LATCHKEY_CLIENT_REGISTRATION_EXPIRY_DAYS`: a self-registered client
    /// unused this long is removed (0: never).
    pub client_registration_expiry_days: i64,
    /// `LATCHKEY_CLIENT_ID_METADATA=on`: an https URL may be a `client_id`
    /// (a client ID metadata document, fetched); off by default.
    /// `LATCHKEY_CLIENT_ID_METADATA_ALLOW_LOOPBACK=true` (development only)
    /// fetches documents on this machine too.
    pub client_id_metadata: latchkey_app::client_metadata::MetadataPolicy,
    /// Seconds an invitation link works (`LATCHKEY_INVITE_TTL_SECS`).
    pub invite_ttl: i64,
    /// Seconds a recovery link works (`LATCHKEY_RECOVERY_TTL_SECS`, 900-3600).
    pub recovery_ttl: i64,
    /// Shortest password accepted (`LATCHKEY_PASSWORD_MIN_LENGTH`, never below 8).
    pub password_min_chars: usize,
    /// Password hashing threads (`LATCHKEY_HASHING_THREADS`); `None`: half the cores.
    pub hashing_threads: Option<usize>,
    /// Days the audit trail is kept (`LATCHKEY_AUDIT_RETENTION_DAYS`).
    pub audit_retention_days: i64,
    /// `LATCHKEY_METRICS_BIND`: where `/metrics` is served (off when unset).
    pub metrics_bind: Option<String>,
    /// `LATCHKEY_ENDPOINT_RATE_LIMIT`: requests per second and burst per
    /// client at the token, revocation and introspection endpoints (`None`: off).
    pub endpoint_rate: Option<latchkey_oauth::endpoint_limits::EndpointRate>,
    /// `LATCHKEY_REQUIRE_PAR=true`: every client must push its authorization
    /// requests (RFC 9126 §5); per client with `client add --require-par`.
    pub require_par: bool,
    /// `LATCHKEY_DPOP_REQUIRE_NONCE=true`: DPoP proofs at the token endpoint
    /// must carry a server nonce (RFC 9449 §8).
    pub dpop_require_nonce: bool,
    /// `LATCHKEY_BRAND_NAME`: the product name pages show instead of "latchkey".
    pub brand_name: String,
    /// `LATCHKEY_BRAND_LOGO_URL`: a logo in every page's header.
    pub brand_logo_url: Option<String>,
    /// `LATCHKEY_BRAND_COLOR`: buttons and links, `#rrggbb`.
    pub brand_color: String,
    /// `LATCHKEY_RISK_POLICY`: how risky sign-ins are stepped up (issue #32).
    pub risk_policy: latchkey_authn::risk::RiskPolicy,
    /// `LATCHKEY_RISK_POLICY_ADMINS`: administrators' (`None`: `risk_policy`).
    pub risk_policy_admins: Option<latchkey_authn::risk::RiskPolicy>,
    /// `LATCHKEY_GEOIP_DB`: a MaxMind DB file locating sign-ins (none by default).
    pub geoip_db: Option<PathBuf>,
    /// `LATCHKEY_RISK_BLOCKLIST`: addresses and ranges whose sign-ins are high risk.
    pub risk_blocklist: Option<PathBuf>,
    /// `LATCHKEY_WEBAUTHN_RP_ID` and `LATCHKEY_WEBAUTHN_RELATED_ORIGINS` (issue #29).
    pub relying_party: latchkey_authn::relying_party::RelyingParty,
    /// `LATCHKEY_PASSKEY_ONLY`: `off`, `admins` or `everyone` (issue #29).
    pub passkey_only: latchkey_authn::passkey_only::PasskeyOnlyPolicy,
    /// `LATCHKEY_PASSKEY_POLICY[_ADMINS]`, `LATCHKEY_PASSKEY_AAGUIDS`,
    /// `LATCHKEY_PASSKEY_ATTESTATION`, `LATCHKEY_FIDO_MDS[_ROOT]` (issue #29).
    pub passkey_policy: latchkey_authn::authenticator_policy::PolicyConfig,
    /// `LATCHKEY_SSF_ALLOW_PRIVATE`: SSF streams may push to loopback and
    /// private networks, over http too (development, tests).
    pub ssf_allow_private: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: DEFAULT_BIND.to_string(),
            issuer: DEFAULT_ISSUER.to_string(),
            database_url: None,
            redis_url: None,
            redis_prefix: "latchkey:".to_string(),
            master_key: None,
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            refresh: RefreshPolicy::default(),
            token_pepper: None,
            key_rotation_period: DEFAULT_KEY_ROTATION_PERIOD,
            sessions: SessionLimits::default(),
            smtp_url: None,
            mail_from: DEFAULT_MAIL_FROM.to_string(),
            trusted_proxies: Vec::new(),
            forwarded_header: Default::default(),
            signup_open: false,
            client_registration: latchkey_app::registration::RegistrationPolicy::Closed,
            client_registration_expiry_days: latchkey_app::registration::DEFAULT_EXPIRY_DAYS,
            client_id_metadata: Default::default(),
            invite_ttl: latchkey_authn::links::DEFAULT_INVITE_TTL,
            recovery_ttl: latchkey_authn::links::DEFAULT_RECOVERY_TTL,
            password_min_chars: latchkey_authn::password_policy::DEFAULT_MIN_PASSWORD_CHARS,
            hashing_threads: None,
            audit_retention_days: latchkey_oauth::audit::DEFAULT_AUDIT_RETENTION_DAYS,
            metrics_bind: None,
            endpoint_rate: Some(Default::default()),
            require_par: false,
            dpop_require_nonce: false,
            brand_name: crate::branding::DEFAULT_NAME.to_string(),
            brand_logo_url: None,
            brand_color: crate::branding::DEFAULT_COLOR.to_string(),
            risk_policy: Default::default(),
            risk_policy_admins: None,
            geoip_db: None,
            risk_blocklist: None,
            relying_party: Default::default(),
            passkey_only: Default::default(),
            passkey_policy: Default::default(),
            ssf_allow_private: false,
        }
    }
}

/// Secrets (master key, pepper, database password) never reach a log line.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |o: &Option<String>| o.as_ref().map(|_| "<redacted>");
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("issuer", &self.issuer)
            .field("database_url", &redact(&self.database_url))
            .field("redis_url", &redact(&self.redis_url))
            .field("redis_prefix", &self.redis_prefix)
            .field("master_key", &redact(&self.master_key))
            .field("data_dir", &self.data_dir)
            .field("refresh", &self.refresh)
            .field("token_pepper", &redact(&self.token_pepper))
            .field("key_rotation_period", &self.key_rotation_period)
            .field("sessions", &self.sessions)
            .field("smtp_url", &redact(&self.smtp_url))
            .field("mail_from", &self.mail_from)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("forwarded_header", &self.forwarded_header)
            .field("signup_open", &self.signup_open)
            .field("client_registration", &self.client_registration)
            .field("client_id_metadata", &self.client_id_metadata)
            .field("invite_ttl", &self.invite_ttl)
            .field("recovery_ttl", &self.recovery_ttl)
            .field("password_min_chars", &self.password_min_chars)
            .field("hashing_threads", &self.hashing_threads)
            .field("audit_retention_days", &self.audit_retention_days)
            .field("metrics_bind", &self.metrics_bind)
            .field("endpoint_rate", &self.endpoint_rate)
            .field("require_par", &self.require_par)
            .field("dpop_require_nonce", &self.dpop_require_nonce)
            .field("brand_name", &self.brand_name)
            .field("brand_logo_url", &self.brand_logo_url)
            .field("brand_color", &self.brand_color)
            .field("risk_policy", &self.risk_policy)
            .field("risk_policy_admins", &self.risk_policy_admins)
            .field("geoip_db", &self.geoip_db)
            .field("risk_blocklist", &self.risk_blocklist)
            .field("relying_party", &self.relying_party)
            .field("passkey_only", &self.passkey_only)
            .field("passkey_policy", &self.passkey_policy)
            .field("ssf_allow_private", &self.ssf_allow_private)
            .finish()
    }
}

impl Settings {
    /// Checks every setting; the error names the setting and the value.
    pub fn validate(&self) -> Result<(), String> {
        let issuer = url::Url::parse(&self.issuer).map_err(|_| format!("LATCHKEY_ISSUER={:?} is not a URL", self.issuer))?;
        if !matches!(issuer.scheme(), "http" | "https") {
            return Err(format!("LATCHKEY_ISSUER={:?} must be an http or https URL", self.issuer));
        }
        if let Some(url) = self.database_url.as_deref().filter(|u| !u.is_empty()) {
            validate_database_url(url)?;
        }
        let positive = |name: &str, v: i64| if v > 0 { Ok(()) } else { Err(format!("{name}={v} must be a positive number of seconds")) };
        positive("LATCHKEY_SESSION_IDLE_SECS", self.sessions.idle)?;
        positive("LATCHKEY_SESSION_ABSOLUTE_SECS", self.sessions.absolute)?;
        if self.sessions.idle > self.sessions.absolute {
            return Err(format!("LATCHKEY_SESSION_IDLE_SECS={} is longer than LATCHKEY_SESSION_ABSOLUTE_SECS={}", self.sessions.idle, self.sessions.absolute));
        }
        positive("LATCHKEY_REFRESH_IDLE_SECS", self.refresh.idle)?;
        positive("LATCHKEY_REFRESH_ABSOLUTE_SECS", self.refresh.absolute)?;
        if self.refresh.idle > self.refresh.absolute {
            return Err(format!("LATCHKEY_REFRESH_IDLE_SECS={} is longer than LATCHKEY_REFRESH_ABSOLUTE_SECS={}", self.refresh.idle, self.refresh.absolute));
        }
        if !(0..=60).contains(&self.refresh.grace) {
            return Err(format!("LATCHKEY_REFRESH_GRACE_SECS={} must be 0-60", self.refresh.grace));
        }
        if self.key_rotation_period < 24 * 3600 {
            return Err("LATCHKEY_KEY_ROTATION_DAYS must be at least 1".into());
        }
        if self.password_min_chars < latchkey_authn::password_policy::MIN_PASSWORD_CHARS_FLOOR {
            return Err(format!("LATCHKEY_PASSWORD_MIN_LENGTH={} is below NIST's minimum of 8", self.password_min_chars));
        }
        if self.audit_retention_days < 1 {
            return Err(format!("LATCHKEY_AUDIT_RETENTION_DAYS={} must be at least 1", self.audit_retention_days));
        }
        if let Some(smtp) = self.smtp_url.as_deref() {
            let ok = url::Url::parse(smtp).is_ok_and(|u| matches!(u.scheme(), "smtp" | "smtps") && u.host_str().is_some());
            if !ok {
                return Err("LATCHKEY_SMTP_URL must look like smtp://host:25 or smtps://user:pass@host".into());
            }
        }
        if let Some(m) = self.metrics_bind.as_deref() {
            m.parse::<std::net::SocketAddr>().map_err(|_| format!("LATCHKEY_METRICS_BIND={m:?} is not an address:port"))?;
        }
        self.brand()?;
        Ok(())
    }

    /// The checked branding (name, logo, colour).
    pub fn brand(&self) -> Result<crate::branding::Brand, String> {
        crate::branding::Brand::from_settings(&self.brand_name, self.brand_logo_url.as_deref(), &self.brand_color)
    }

    /// The risk policy with its files read and checked (issue #32): a
    /// missing, unreadable or corrupt location database or blocklist is an
    /// error naming the setting, not a silent "no signals".
    pub fn risk_config(&self) -> Result<latchkey_authn::risk::RiskConfig, latchkey_authn::risk::RiskConfigError> {
        use latchkey_authn::risk::{Blocklist, GeoDb, RiskConfig};
        let geo = match self.geoip_db.as_deref().filter(|p| !p.as_os_str().is_empty()) {
            Some(path) => Some(std::sync::Arc::new(GeoDb::open(path)?)),
            None => None,
        };
        let blocklist = match self.risk_blocklist.as_deref().filter(|p| !p.as_os_str().is_empty()) {
            Some(path) => Blocklist::load(path)?,
            None => Blocklist::default(),
        };
        Ok(RiskConfig { policy: self.risk_policy, admins: self.risk_policy_admins, geo, blocklist: std::sync::Arc::new(blocklist) })
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) if !u.is_empty() => u.clone(),
            _ => format!("sqlite://{}", self.data_dir.join(SQLITE_FILE).display()),
        }
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join(OUTBOX_DIR)
    }

    pub fn issuer(&self) -> String {
        self.issuer.trim_end_matches('/').to_string()
    }
}

/// `postgres://…`, `sqlite://path`, or a path ending in `.db`, `.sqlite` or
/// `.sqlite3` whose directory exists (only the default data directory is
/// created for you).
pub fn validate_database_url(url: &str) -> Result<(), String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(());
    }
    let path = match url.strip_prefix("sqlite://") {
        Some(p) => p,
        None if url.contains("://") => return Err(format!("LATCHKEY_DATABASE_URL: unknown scheme in {:?} (use postgres://… or a SQLite file)", url.split("://").next().unwrap_or(""))),
        None if [".db", ".sqlite", ".sqlite3"].iter().any(|e| url.ends_with(e)) => url,
        None => return Err(format!("LATCHKEY_DATABASE_URL={url:?} is neither postgres://… nor a SQLite file (…/name.db)")),
    };
    let dir = std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    if !dir.is_dir() {
        return Err(format!("LATCHKEY_DATABASE_URL: the directory {} does not exist", dir.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_named() {
        let ok = Settings::default();
        assert!(ok.validate().is_ok());
        let bad = |f: &dyn Fn(&mut Settings)| {
            let mut s = Settings::default();
            f(&mut s);
            s.validate().err().unwrap_or_default()
        };
        assert!(bad(&|s| s.database_url = Some("garbage".into())).contains("LATCHKEY_DATABASE_URL"));
        assert!(bad(&|s| s.database_url = Some("mysql://x/y".into())).contains("unknown scheme"));
        assert!(bad(&|s| s.database_url = Some("/nonexistent/dir/lk.db".into())).contains("does not exist"));
        assert!(bad(&|s| s.sessions.idle = -5).contains("LATCHKEY_SESSION_IDLE_SECS"));
        assert!(bad(&|s| s.sessions.idle = s.sessions.absolute + 1).contains("longer than"));
        assert!(bad(&|s| s.smtp_url = Some("not a url".into())).contains("LATCHKEY_SMTP_URL"));
        assert!(bad(&|s| s.password_min_chars = 6).contains("LATCHKEY_PASSWORD_MIN_LENGTH"));
        assert!(bad(&|s| s.metrics_bind = Some("garbage".into())).contains("LATCHKEY_METRICS_BIND"));
        assert!(bad(&|s| s.issuer = "ftp://x".into()).contains("LATCHKEY_ISSUER"));
        assert!(bad(&|s| s.brand_color = "red".into()).contains("LATCHKEY_BRAND_COLOR"));
        assert!(bad(&|s| s.brand_logo_url = Some("javascript:alert(1)".into())).contains("LATCHKEY_BRAND_LOGO_URL"));
        assert!(bad(&|s| s.brand_name = " ".into()).contains("LATCHKEY_BRAND_NAME"));
        assert!(validate_database_url("postgres://u@h/db").is_ok());
    }
}
