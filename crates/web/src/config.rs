//! Server settings: where to listen, who we are, where state lives.
//!
//! The binary fills this from flags and `LATCHKEY_*` environment variables; tests
//! fill it directly.

use std::path::PathBuf;

use latchkey_token::service::DEFAULT_KEY_ROTATION_PERIOD;
use latchkey_authn::SessionLimits;
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
    /// `LATCHKEY_SIGNUP=open`: anyone may create an account (default closed).
    pub signup_open: bool,
    /// Seconds an invitation link works (`LATCHKEY_INVITE_TTL_SECS`).
    pub invite_ttl: i64,
    /// Seconds a recovery link works (`LATCHKEY_RECOVERY_TTL_SECS`, 900-3600).
    pub recovery_ttl: i64,
    /// Shortest password accepted (`LATCHKEY_PASSWORD_MIN_LENGTH`, never below 8).
    pub password_min_chars: usize,
    /// Days the audit trail is kept (`LATCHKEY_AUDIT_RETENTION_DAYS`).
    pub audit_retention_days: i64,
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
            signup_open: false,
            invite_ttl: latchkey_authn::links::DEFAULT_INVITE_TTL,
            recovery_ttl: latchkey_authn::links::DEFAULT_RECOVERY_TTL,
            password_min_chars: latchkey_authn::password_policy::DEFAULT_MIN_PASSWORD_CHARS,
            audit_retention_days: latchkey_oauth::audit::DEFAULT_AUDIT_RETENTION_DAYS,
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
            .field("signup_open", &self.signup_open)
            .field("invite_ttl", &self.invite_ttl)
            .field("recovery_ttl", &self.recovery_ttl)
            .field("password_min_chars", &self.password_min_chars)
            .field("audit_retention_days", &self.audit_retention_days)
            .finish()
    }
}

impl Settings {
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
