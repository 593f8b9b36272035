//! Command-line arguments. Every setting also reads a `LATCHKEY_*` variable.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};
use latchkey_app::directory::clients::NewClient;
use latchkey_authn::sessions::{DEFAULT_ABSOLUTE_LIFETIME, DEFAULT_IDLE_TIMEOUT};
use latchkey_authn::{Binding, SessionLimits};
use latchkey_domain::{GrantType, Scope, ScopeSet, SigningAlg};
use latchkey_token::service::{DEFAULT_REFRESH_ABSOLUTE, DEFAULT_REFRESH_GRACE, DEFAULT_REFRESH_IDLE};
use latchkey_token::RefreshPolicy;
use latchkey_web::config::{Settings, DEFAULT_BIND, DEFAULT_DATA_DIR, DEFAULT_ISSUER, DEFAULT_MAIL_FROM};

#[derive(Parser)]
#[command(name = "latchkey", version, about = "An OAuth 2.0 / OpenID Connect authorization server")]
pub struct Cli {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Under every command's own help: where the global options are.
const GLOBAL_OPTIONS_NOTE: &str = "Global options (--config, --issuer, --database-url, --redis-url, --data-dir, …) go before the command; see `latchkey --help`.";

/// The command line: each command's `--help` lists its own options only,
/// with a note pointing to the global ones.
pub fn command() -> clap::Command {
    fn note(c: clap::Command) -> clap::Command {
        c.after_help(GLOBAL_OPTIONS_NOTE).mut_subcommands(note)
    }
    Cli::command().mut_subcommands(note)
}

/// How the server behaves (sessions, tokens, accounts, mail, operations).
/// Shown in `serve --help` only; other commands read them from the
/// environment (and the configuration file) alone.
#[derive(Args, Clone)]
pub struct ServerOptions {
    /// Seconds a refresh-token family may go unused.
    #[arg(long, env = "LATCHKEY_REFRESH_IDLE_SECS", value_parser = seconds("LATCHKEY_REFRESH_IDLE_SECS"), default_value_t = DEFAULT_REFRESH_IDLE)]
    pub refresh_idle_secs: i64,
    /// Seconds a refresh-token family lives from sign-in, however active.
    #[arg(long, env = "LATCHKEY_REFRESH_ABSOLUTE_SECS", value_parser = seconds("LATCHKEY_REFRESH_ABSOLUTE_SECS"), default_value_t = DEFAULT_REFRESH_ABSOLUTE)]
    pub refresh_absolute_secs: i64,
    /// Seconds during which reuse of the previous refresh token returns its successor (0-60).
    #[arg(long, env = "LATCHKEY_REFRESH_GRACE_SECS", value_parser = seconds("LATCHKEY_REFRESH_GRACE_SECS"), default_value_t = DEFAULT_REFRESH_GRACE)]
    pub refresh_grace_secs: i64,
    /// Days between automatic signing-key rotations.
    #[arg(long, env = "LATCHKEY_KEY_ROTATION_DAYS", value_parser = days("LATCHKEY_KEY_ROTATION_DAYS"), default_value_t = 30)]
    pub key_rotation_days: i64,
    /// Seconds a browser session may go unused.
    #[arg(long, env = "LATCHKEY_SESSION_IDLE_SECS", value_parser = seconds("LATCHKEY_SESSION_IDLE_SECS"), default_value_t = DEFAULT_IDLE_TIMEOUT)]
    pub session_idle_secs: i64,
    /// Seconds a browser session lives at most.
    #[arg(long, env = "LATCHKEY_SESSION_ABSOLUTE_SECS", value_parser = seconds("LATCHKEY_SESSION_ABSOLUTE_SECS"), default_value_t = DEFAULT_ABSOLUTE_LIFETIME)]
    pub session_absolute_secs: i64,
    /// Re-authenticate when a session moves: off, user-agent, or both (user agent or network).
    #[arg(long, env = "LATCHKEY_SESSION_BINDING", default_value = "user-agent")]
    pub session_binding: String,
    /// SMTP server for notification mail (smtp://… or smtps://user:pass@host). Unset: `<data-dir>/outbox`.
    #[arg(long, env = "LATCHKEY_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of notification mail.
    #[arg(long, env = "LATCHKEY_MAIL_FROM", default_value = DEFAULT_MAIL_FROM)]
    pub mail_from: String,
    /// Reverse proxies (CIDRs, comma-separated) whose forwarding header (--forwarded-header) is believed.
    #[arg(long, env = "LATCHKEY_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// The header the trusted proxies set: x-forwarded-for or forwarded; the other is ignored (the proxy must clear it).
    #[arg(long, env = "LATCHKEY_FORWARDED_HEADER", default_value = "x-forwarded-for")]
    pub forwarded_header: String,
    /// Self-service sign-up: closed or open.
    #[arg(long, env = "LATCHKEY_SIGNUP", default_value = "closed")]
    pub signup: String,
    /// Who may register a client at /register (RFC 7591): closed, token (an initial access token
    /// from `latchkey client registration-token`) or open (anyone; OpenID Connect scopes only).
    #[arg(long, env = "LATCHKEY_CLIENT_REGISTRATION", default_value = "closed")]
    pub client_registration: String,
    /// Days a self-registered client may go unused (no consent, no refresh) before it is removed; 0: never.
    #[arg(long, env = "LATCHKEY_CLIENT_REGISTRATION_EXPIRY_DAYS", default_value_t = latchkey_app::registration::DEFAULT_EXPIRY_DAYS)]
    pub client_registration_expiry_days: i64,
    /// Client ID metadata documents: on lets an https URL be a client_id (latchkey fetches the
    /// document it names); off (default).
    #[arg(long, env = "LATCHKEY_CLIENT_ID_METADATA", default_value = "off")]
    pub client_id_metadata: String,
    /// Development only: fetch client ID metadata documents on this machine too (http://localhost,
    /// 127.0.0.1, [::1]).
    #[arg(long, env = "LATCHKEY_CLIENT_ID_METADATA_ALLOW_LOOPBACK", default_value_t = false)]
    pub client_id_metadata_allow_loopback: bool,
    /// Seconds an invitation link works.
    #[arg(long, env = "LATCHKEY_INVITE_TTL_SECS", value_parser = seconds("LATCHKEY_INVITE_TTL_SECS"), default_value_t = latchkey_authn::links::DEFAULT_INVITE_TTL)]
    pub invite_ttl_secs: i64,
    /// Seconds a recovery link works (900-3600).
    #[arg(long, env = "LATCHKEY_RECOVERY_TTL_SECS", value_parser = seconds("LATCHKEY_RECOVERY_TTL_SECS"), default_value_t = latchkey_authn::links::DEFAULT_RECOVERY_TTL)]
    pub recovery_ttl_secs: i64,
    /// Shortest password accepted (never below 8).
    #[arg(long, env = "LATCHKEY_PASSWORD_MIN_LENGTH", default_value_t = latchkey_authn::password_policy::DEFAULT_MIN_PASSWORD_CHARS)]
    pub password_min_length: usize,
    /// Threads that hash passwords, at the lowest priority (0: half the cores).
    #[arg(long, env = "LATCHKEY_HASHING_THREADS", default_value_t = 0)]
    pub hashing_threads: usize,
    /// Days the audit trail is kept (whole days past it are deleted).
    #[arg(long, env = "LATCHKEY_AUDIT_RETENTION_DAYS", value_parser = days("LATCHKEY_AUDIT_RETENTION_DAYS"), default_value_t = latchkey_oauth::audit::DEFAULT_AUDIT_RETENTION_DAYS)]
    pub audit_retention_days: i64,
    /// Serve Prometheus `/metrics` on this address (unset: no metrics endpoint).
    #[arg(long, env = "LATCHKEY_METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// Requests per second[/burst] per client at /token, /revoke, /introspect and /par (public clients: per client and address), or off.
    #[arg(long, env = "LATCHKEY_ENDPOINT_RATE_LIMIT", default_value = "50000/100000")]
    pub endpoint_rate_limit: String,
    /// Accept authorization requests only when pushed to /par first (RFC 9126), from every client.
    #[arg(long, env = "LATCHKEY_REQUIRE_PAR", default_value_t = false)]
    pub require_par: bool,
    /// DPoP proofs at /token must carry the server's nonce (RFC 9449 §8; clients retry once with the DPoP-Nonce header's value).
    #[arg(long, env = "LATCHKEY_DPOP_REQUIRE_NONCE", default_value_t = false)]
    pub dpop_require_nonce: bool,
    /// Product name in every page's header and title (1-64 characters).
    #[arg(long, env = "LATCHKEY_BRAND_NAME", default_value = latchkey_web::branding::DEFAULT_NAME)]
    pub brand_name: String,
    /// Logo in every page's header (an https URL, http only for localhost).
    #[arg(long, env = "LATCHKEY_BRAND_LOGO_URL")]
    pub brand_logo_url: Option<String>,
    /// Colour of buttons and links, as #rrggbb; white text on it needs a contrast of 4.5:1 (WCAG AA).
    #[arg(long, env = "LATCHKEY_BRAND_COLOR", default_value = latchkey_web::branding::DEFAULT_COLOR)]
    pub brand_color: String,
    /// Risky sign-ins (new country, impossible travel, guessing, blocklisted address): off (as before),
    /// standard (a mailed code at medium risk, a second factor or refusal at high) or strict.
    #[arg(long, env = "LATCHKEY_RISK_POLICY", default_value = "standard")]
    pub risk_policy: String,
    /// The risk policy of administrators' sign-ins (off, standard or strict); unset: LATCHKEY_RISK_POLICY.
    /// An account's own policy, set on its console page, wins over both.
    #[arg(long, env = "LATCHKEY_RISK_POLICY_ADMINS")]
    pub risk_policy_admins: Option<String>,
    /// A MaxMind DB file locating sign-ins (GeoLite2-City or DB-IP City Lite .mmdb, refreshed by you;
    /// nothing is downloaded). Unset: no country or travel signals.
    #[arg(long, env = "LATCHKEY_GEOIP_DB", value_name = "PATH")]
    pub geoip_db: Option<PathBuf>,
    /// A file of IP addresses and CIDR ranges, one a line (# comments), whose sign-ins are high risk.
    #[arg(long, env = "LATCHKEY_RISK_BLOCKLIST", value_name = "PATH")]
    pub risk_blocklist: Option<PathBuf>,
    /// The passkeys' relying-party id: the issuer's host (default) or a parent domain of it
    /// (example.com for https://login.example.com), so passkeys work on its other subdomains too.
    #[arg(long, env = "LATCHKEY_WEBAUTHN_RP_ID", value_name = "DOMAIN")]
    pub webauthn_rp_id: Option<String>,
    /// Other origins of the product that may use its passkeys (WebAuthn related origin requests;
    /// served at /.well-known/webauthn), comma-separated https://host[:port], at most 5 domains.
    #[arg(long, env = "LATCHKEY_WEBAUTHN_RELATED_ORIGINS", value_name = "ORIGINS", default_value = "")]
    pub webauthn_related_origins: String,
    /// Accounts that sign in with passkeys only (no password can be set; it goes with the first
    /// passkey): off (only those an admin marks), admins, or everyone.
    #[arg(long, env = "LATCHKEY_PASSKEY_ONLY", default_value = "off")]
    pub passkey_only: String,
    /// Which passkeys may be registered: any, listed (the AAGUIDs of LATCHKEY_PASSKEY_AAGUIDS) or
    /// security-keys (attested hardware security keys; needs LATCHKEY_FIDO_MDS). The console's
    /// "Passkey policy" page can choose another, which then wins.
    #[arg(long, env = "LATCHKEY_PASSKEY_POLICY", default_value = "any")]
    pub passkey_policy: String,
    /// Administrators' passkey policy (any, listed or security-keys); unset: LATCHKEY_PASSKEY_POLICY.
    #[arg(long, env = "LATCHKEY_PASSKEY_POLICY_ADMINS")]
    pub passkey_policy_admins: Option<String>,
    /// The authenticator models (AAGUIDs, comma-separated) a "listed" passkey policy allows.
    #[arg(long, env = "LATCHKEY_PASSKEY_AAGUIDS", value_name = "AAGUIDS", default_value = "")]
    pub passkey_aaguids: String,
    /// none (default) or required: a registration must carry an attestation that chains to a root the
    /// FIDO metadata BLOB gives for its model (device-bound passkeys only; synced ones do not attest).
    #[arg(long, env = "LATCHKEY_PASSKEY_ATTESTATION", default_value = "none")]
    pub passkey_attestation: String,
    /// The FIDO Metadata Service BLOB (the JWS file from mds3.fidoalliance.org, refreshed by you;
    /// read again when it changes, never downloaded): which authenticators exist and who vouches for them.
    #[arg(long, env = "LATCHKEY_FIDO_MDS", value_name = "PATH")]
    pub fido_mds: Option<PathBuf>,
    /// PEM file of the root(s) the metadata BLOB must be signed under; unset: the FIDO Alliance's.
    #[arg(long, env = "LATCHKEY_FIDO_MDS_ROOT", value_name = "PATH")]
    pub fido_mds_root: Option<PathBuf>,
    /// Let relying parties' SSF streams push to loopback and private networks, over http too
    /// (development and tests; default: https to public addresses only).
    #[arg(long, env = "LATCHKEY_SSF_ALLOW_PRIVATE")]
    pub ssf_allow_private: bool,
}

impl ServerOptions {
    /// `LATCHKEY_PASSKEY_POLICY[_ADMINS]`, `_AAGUIDS`, `_ATTESTATION`, `LATCHKEY_FIDO_MDS[_ROOT]`.
    fn passkey_policy_config(&self) -> Result<latchkey_authn::authenticator_policy::PolicyConfig, String> {
        use latchkey_authn::authenticator_policy::{parse_aaguids, Allowed, AuthenticatorPolicy, PolicyConfig};
        let aaguids = parse_aaguids(&self.passkey_aaguids).map_err(|e| format!("LATCHKEY_PASSKEY_AAGUIDS: {e}"))?;
        let attestation = match self.passkey_attestation.trim() {
            "none" | "" => false,
            "required" => true,
            other => return Err(format!("LATCHKEY_PASSKEY_ATTESTATION must be none or required, not {other}")),
        };
        let policy = |setting: &str, value: &str| -> Result<AuthenticatorPolicy, String> {
            let allowed = Allowed::parse(value).ok_or_else(|| format!("{setting} must be any, listed or security-keys, not {value}"))?;
            if allowed == Allowed::Listed && aaguids.is_empty() {
                return Err(format!("{setting}=listed needs the AAGUIDs in LATCHKEY_PASSKEY_AAGUIDS"));
            }
            Ok(AuthenticatorPolicy { allowed, aaguids: aaguids.clone(), attestation })
        };
        let metadata_roots = match self.fido_mds_root.as_ref().filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => Some(std::fs::read_to_string(p).map_err(|e| format!("LATCHKEY_FIDO_MDS_ROOT={}: {e}", p.display()))?),
            None => None,
        };
        Ok(PolicyConfig {
            everyone: policy("LATCHKEY_PASSKEY_POLICY", &self.passkey_policy)?,
            admins: match self.passkey_policy_admins.as_deref().filter(|p| !p.is_empty()) {
                Some(p) => Some(policy("LATCHKEY_PASSKEY_POLICY_ADMINS", p)?),
                None => None,
            },
            metadata_file: self.fido_mds.clone().filter(|p| !p.as_os_str().is_empty()),
            metadata_roots,
        })
    }
}

/// A whole number of seconds, or an error that names the setting, the value
/// and what to write instead.
fn seconds(setting: &'static str) -> impl Fn(&str) -> Result<i64, String> + Clone + Send + Sync + 'static {
    move |v: &str| v.trim().parse::<i64>().map_err(|_| format!("{setting}={v:?} is not a number of seconds: write a whole number, e.g. 3600 for an hour or 86400 for a day (no units)"))
}

/// A whole number of days, likewise.
fn days(setting: &'static str) -> impl Fn(&str) -> Result<i64, String> + Clone + Send + Sync + 'static {
    move |v: &str| v.trim().parse::<i64>().map_err(|_| format!("{setting}={v:?} is not a number of days: write a whole number, e.g. 30 (no units)"))
}

/// Only the environment: the server options as the admin commands see them.
#[derive(Parser)]
#[command(name = "latchkey")]
struct EnvOnly {
    #[command(flatten)]
    opts: ServerOptions,
}

impl ServerOptions {
    /// The server options from the environment (and configuration file) only.
    pub fn from_env() -> Result<ServerOptions, String> {
        EnvOnly::try_parse_from(["latchkey"]).map(|e| e.opts).map_err(|e| e.to_string())
    }
}

/// Where state lives; shared by `serve` and the admin commands so they always
/// talk to the same database.
/// They go before the command (`latchkey --data-dir /srv/lk user list`) or
/// in the environment, and are listed only by `latchkey --help`, under
/// their own heading.
#[derive(Args)]
#[command(next_help_heading = "Global options (before the command, or as LATCHKEY_* variables)")]
pub struct StoreArgs {
    /// A TOML file of settings (keys: the variables' names without LATCHKEY_, lower case); flags and environment win over it.
    #[arg(long, env = "LATCHKEY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Issuer identifier (the public base URL of this server).
    #[arg(long, env = "LATCHKEY_ISSUER", default_value = DEFAULT_ISSUER)]
    pub issuer: String,
    /// `postgres://…`, or a SQLite file path. Default: `<data-dir>/latchkey.db`.
    #[arg(long, env = "LATCHKEY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// `redis://…`. Unset: hot state stays in process (one node only).
    #[arg(long, env = "LATCHKEY_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key.
    #[arg(long, env = "LATCHKEY_REDIS_PREFIX", default_value = "latchkey:")]
    pub redis_prefix: String,
    /// Master key (64 hex digits or base64 of 32 bytes). Unset: `<data-dir>/master.key`, created on first use.
    #[arg(long, env = "LATCHKEY_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// Directory for the embedded database and the master key file.
    #[arg(long, env = "LATCHKEY_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Secret for refresh-token hashes (at least 32 characters). Unset: derived from the master key.
    #[arg(long, env = "LATCHKEY_TOKEN_PEPPER", hide_env_values = true)]
    pub token_pepper: Option<String>,
}

impl StoreArgs {
    /// The settings, with the server behaviour options `opts`.
    pub fn settings(&self, opts: &ServerOptions) -> Result<Settings, String> {
        let binding = Binding::parse(&opts.session_binding).ok_or_else(|| format!("LATCHKEY_SESSION_BINDING must be off, user-agent or both, not {}", opts.session_binding))?;
        Ok(Settings {
            bind: DEFAULT_BIND.to_string(),
            issuer: self.issuer.clone(),
            database_url: self.database_url.clone().filter(|s| !s.is_empty()),
            redis_url: self.redis_url.clone().filter(|s| !s.is_empty()),
            redis_prefix: self.redis_prefix.clone(),
            master_key: self.master_key.clone().filter(|s| !s.is_empty()),
            data_dir: self.data_dir.clone(),
            refresh: RefreshPolicy { idle: opts.refresh_idle_secs, absolute: opts.refresh_absolute_secs, grace: opts.refresh_grace_secs },
            token_pepper: self.token_pepper.clone().filter(|s| !s.is_empty()),
            key_rotation_period: opts.key_rotation_days.max(1) * 24 * 3600,
            sessions: SessionLimits { idle: opts.session_idle_secs, absolute: opts.session_absolute_secs, binding },
            smtp_url: opts.smtp_url.clone().filter(|s| !s.is_empty()),
            mail_from: opts.mail_from.clone(),
            trusted_proxies: latchkey_web::client_ip::parse_trusted_proxies(&opts.trusted_proxies)?,
            forwarded_header: latchkey_web::client_ip::ForwardedHeader::parse(&opts.forwarded_header)?,
            signup_open: match opts.signup.as_str() {
                "open" => true,
                "closed" => false,
                other => return Err(format!("LATCHKEY_SIGNUP must be open or closed, not {other}")),
            },
            client_registration: latchkey_app::registration::RegistrationPolicy::parse(&opts.client_registration)
                .ok_or_else(|| format!("LATCHKEY_CLIENT_REGISTRATION must be closed, token or open, not {}", opts.client_registration))?,
            client_registration_expiry_days: opts.client_registration_expiry_days.max(0),
            client_id_metadata: latchkey_app::client_metadata::MetadataPolicy::parse(&opts.client_id_metadata, opts.client_id_metadata_allow_loopback)
                .ok_or_else(|| format!("LATCHKEY_CLIENT_ID_METADATA must be on or off, not {}", opts.client_id_metadata))?,
            invite_ttl: opts.invite_ttl_secs,
            recovery_ttl: opts.recovery_ttl_secs,
            password_min_chars: opts.password_min_length,
            hashing_threads: (opts.hashing_threads > 0).then_some(opts.hashing_threads),
            audit_retention_days: opts.audit_retention_days,
            metrics_bind: opts.metrics_bind.clone().filter(|s| !s.is_empty()),
            endpoint_rate: latchkey_oauth::endpoint_limits::EndpointRate::parse(&opts.endpoint_rate_limit)?,
            require_par: opts.require_par,
            dpop_require_nonce: opts.dpop_require_nonce,
            brand_name: opts.brand_name.clone(),
            brand_logo_url: opts.brand_logo_url.clone().filter(|s| !s.is_empty()),
            brand_color: opts.brand_color.clone(),
            risk_policy: latchkey_authn::risk::RiskPolicy::parse(&opts.risk_policy).ok_or_else(|| format!("LATCHKEY_RISK_POLICY must be off, standard or strict, not {}", opts.risk_policy))?,
            risk_policy_admins: match opts.risk_policy_admins.as_deref().filter(|p| !p.is_empty()) {
                Some(p) => Some(latchkey_authn::risk::RiskPolicy::parse(p).ok_or_else(|| format!("LATCHKEY_RISK_POLICY_ADMINS must be off, standard or strict, not {p}"))?),
                None => None,
            },
            geoip_db: opts.geoip_db.clone().filter(|p| !p.as_os_str().is_empty()),
            risk_blocklist: opts.risk_blocklist.clone().filter(|p| !p.as_os_str().is_empty()),
            relying_party: latchkey_authn::relying_party::RelyingParty {
                id: opts.webauthn_rp_id.clone().filter(|s| !s.trim().is_empty()),
                related_origins: latchkey_authn::relying_party::parse_origins(&opts.webauthn_related_origins).map_err(|e| e.to_string())?,
            },
            passkey_only: latchkey_authn::passkey_only::PasskeyOnlyPolicy::parse(&opts.passkey_only)
                .ok_or_else(|| format!("LATCHKEY_PASSKEY_ONLY must be off, admins or everyone, not {}", opts.passkey_only))?,
            passkey_policy: opts.passkey_policy_config()?,
            ssf_allow_private: opts.ssf_allow_private,
        })
    }
}

// Parsed once per process: the server's many settings make `Serve` large,
// and boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Command {
    /// Run the server (migrations run at start).
    Serve(ServeArgs),
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage OAuth clients (relying parties).
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// See and revoke what users granted to clients.
    Grants {
        #[command(subcommand)]
        command: GrantsCommand,
    },
    /// Browser sessions: list and end.
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
    },
    /// Registered APIs (resource servers): their audience, scopes and roles.
    Api {
        #[command(subcommand)]
        command: ApiCommand,
    },
    /// Groups of users (the `groups` claim, API roles).
    Group {
        #[command(subcommand)]
        command: GroupCommand,
    },
    /// Upstream identity providers users can sign in with ("Continue with …").
    Provider {
        #[command(subcommand)]
        command: ProviderCommand,
    },
    /// Exit 0 when a running server is ready (for container health checks): GET <url>/health/ready.
    Probe {
        /// A running server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Check this configuration (and, with --url, a running server) against latchkey's security stance; exit 1 on any failure.
    Doctor {
        /// A running server's base URL to check too (readiness, discovery).
        #[arg(long)]
        url: Option<String>,
    },
    /// The first administrator.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Signing keys: list and rotate.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Read the outbox (`<data-dir>/outbox`: mail when no SMTP server is set, or SMTP refused it).
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Passkeys: the list that names their providers.
    Passkeys {
        #[command(subcommand)]
        command: PasskeysCommand,
    },
    /// SCIM provisioning (/scim/v2): the directories that create, change and remove users.
    Scim {
        #[command(subcommand)]
        command: ScimCommand,
    },
    /// Webhooks: other systems told of security events, signed (Standard Webhooks).
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
}

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Subscribe a URL to events; prints the subscription and its signing secret (shown once).
    Add {
        /// The receiver: https (http only with --allow-private).
        #[arg(long)]
        url: String,
        /// An event kind of the audit trail (sign_in, login_failed, user_disabled, …), repeatable
        /// or comma-separated; * or none: every kind.
        #[arg(long = "event", value_name = "KIND")]
        events: Vec<String>,
        /// Read the signing secret (whsec_…) from standard input instead of making one.
        #[arg(long)]
        secret_stdin: bool,
        /// Allow a receiver on loopback or a private network, and plain http.
        #[arg(long)]
        allow_private: bool,
    },
    /// The subscriptions: URL, events, state.
    List,
    /// Remove a subscription (its queue and log go with it).
    Remove { id: String },
    /// Turn a subscription that was turned off after a day of failures on again.
    Enable { id: String },
    /// The last 50 delivery attempts of a subscription, newest first.
    Log { id: String },
}

#[derive(Subcommand)]
pub enum ScimCommand {
    /// Bearer tokens of SCIM clients (Entra ID, Okta, an HR system).
    Token {
        #[command(subcommand)]
        command: ScimTokenCommand,
    },
}

#[derive(Subcommand)]
pub enum ScimTokenCommand {
    /// Make a SCIM client and print its token (shown once; send it as `Authorization: Bearer …`).
    Create {
        /// Who it is for ("Entra ID"): named in the audit trail for every change it makes.
        #[arg(long)]
        name: String,
        /// Days the token works (default: until revoked).
        #[arg(long)]
        expires_days: Option<i64>,
        /// How users it creates get in: none (an upstream provider, or an invitation later) or
        /// invite (a set-up link mailed at once).
        #[arg(long, default_value = "none")]
        onboarding: String,
    },
    /// The SCIM clients, with when each was last used.
    List,
    /// Revoke a SCIM client's token at once.
    Revoke {
        /// The SCIM client's id (from `list`).
        id: String,
    },
}

#[derive(Subcommand)]
pub enum PasskeysCommand {
    /// The list of passkey providers by AAGUID ("iCloud Keychain", "1Password", …) that names
    /// passkeys on /account, in the console and in mail. Without an option: which list is in force.
    Aaguids {
        /// Use this file instead of the list shipped in latchkey, on every node at once (the
        /// community list's format: {"<aaguid>": {"name", "icon_light", "icon_dark"}}, icons as
        /// base64 SVG or PNG data: URIs).
        #[arg(long, value_name = "PATH", conflicts_with = "shipped")]
        file: Option<PathBuf>,
        /// Go back to the list shipped in latchkey.
        #[arg(long)]
        shipped: bool,
    },
}

#[derive(Subcommand)]
pub enum MailCommand {
    /// List the outbox's messages, oldest first: number, date, recipient, subject.
    List,
    /// Print one message: its recipient, subject and plain text, decoded (every link whole on its own line).
    Show {
        /// Its number in `mail list` (1 is the oldest), or `last`.
        n: String,
    },
}

#[derive(Subcommand)]
pub enum GrantsCommand {
    /// List a client's grants.
    List {
        /// The client id.
        #[arg(long)]
        client: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke grants, refresh tokens and access tokens: a client's (all users,
    /// or `--user`), or with only `--user`, everything that user granted.
    Revoke {
        /// The client id.
        #[arg(long)]
        client: Option<String>,
        /// The username.
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// List a user's live sessions.
    List {
        /// The username.
        #[arg(long)]
        user: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// End one session (`--sid`) or all of a user's sessions (`--user`).
    Revoke {
        /// The username.
        #[arg(long)]
        user: Option<String>,
        /// A session id (`sid`).
        #[arg(long)]
        sid: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// List signing keys and their state.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Create new signing keys now (published at once, signing after the publish lead).
    Rotate {
        /// Only this algorithm (RS256, ES256, EdDSA); default: all.
        #[arg(long)]
        alg: Option<String>,
    },
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LATCHKEY_BIND", default_value = DEFAULT_BIND)]
    pub bind: String,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "LATCHKEY_WORKERS")]
    pub workers: Option<usize>,
    #[command(flatten)]
    pub opts: ServerOptions,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Print a one-time link (valid 1 hour) whose page creates the first administrator, `admin`,
    /// with a passkey; only while no administrator can sign in. A new link supersedes the last.
    SetupLink,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Invite a user: an account with no password and a single-use set-up
    /// link (mailed, and printed), to create a passkey or a password.
    Invite {
        /// The username.
        username: String,
        /// The user's email address.
        #[arg(long)]
        email: String,
        /// An administrator (may use the admin console).
        #[arg(long)]
        admin: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove a user's authenticator app and backup codes (they lost every
    /// factor), end their sessions, and tell them; audited.
    ResetMfa {
        /// The username.
        username: String,
    },
    /// Create a user. The password is read from standard input.
    Add {
        /// The username.
        username: String,
        /// The user's email address.
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required: never pass it as an argument).
        #[arg(long)]
        password_stdin: bool,
        /// An administrator (may use the admin console).
        #[arg(long)]
        admin: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List users.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Change an existing user: `--admin true` makes them an administrator
    /// (the admin console), `--admin false` takes it away (never from the
    /// last administrator); `--passkey-only true` lets them sign in with
    /// passkeys only; audited.
    Update {
        /// The username (or the user's id).
        username: String,
        /// true: an administrator; false: not.
        #[arg(long, value_name = "true|false")]
        admin: Option<bool>,
        /// true: no password can be set, and the one they have goes once they have a passkey;
        /// false: a password is allowed again.
        #[arg(long, value_name = "true|false")]
        passkey_only: Option<bool>,
    },
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its id and (for confidential clients) its secret, once.
    Add(ClientAddArgs),
    /// List clients.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show one client's settings (JSON), its token exchange policy included.
    Show {
        /// The client id.
        client_id: String,
    },
    /// Remove a client.
    Remove {
        /// The client id.
        client_id: String,
    },
    /// Mint an initial access token for dynamic client registration (LATCHKEY_CLIENT_REGISTRATION=token); shown once.
    RegistrationToken {
        /// Seconds it works.
        #[arg(long, default_value_t = 86400)]
        expires_in: i64,
        /// Registrations it allows (default: any number until it expires).
        #[arg(long)]
        uses: Option<i64>,
        /// Print JSON ({"token", "expires_in"}).
        #[arg(long)]
        json: bool,
    },
    /// Change a client: the API scopes it may be granted (replaces the list), whether it must push its requests, its consent-page links,
    /// or its token exchange policy (RFC 8693).
    Update {
        /// The client id.
        client_id: String,
        /// An API scope the client may ask for; repeat for several (none, without --require-par: no API scopes).
        #[arg(long = "allow-scope")]
        allow_scopes: Vec<String>,
        /// true: authorization requests only through /par (RFC 9126); false: also plain ones. Alone, it changes nothing else.
        #[arg(long)]
        require_par: Option<bool>,
        /// Replace the client's public keys (a JWK Set file) for private_key_jwt, e.g. to rotate them. Alone, it changes nothing else.
        #[arg(long)]
        jwks_file: Option<PathBuf>,
        /// With --jwks-file or --jwks-uri: true to accept only private_key_jwt from this client.
        #[arg(long)]
        require_private_key_jwt: Option<bool>,
        /// Where the client publishes its public keys for private_key_jwt (fetched, cached); "" removes it. Alone, it changes nothing else.
        #[arg(long)]
        jwks_uri: Option<String>,
        /// true: every token of this client is DPoP-bound (RFC 9449), requests without a proof are refused. Alone, it changes nothing else.
        #[arg(long)]
        require_dpop: Option<bool>,
        /// ID token signing algorithm from now on: RS256, ES256 or EdDSA. Alone, it changes nothing else.
        #[arg(long)]
        id_token_alg: Option<String>,
        #[command(flatten)]
        links: ClientLinkArgs,
        #[command(flatten)]
        exchange: TokenExchangeArgs,
    },
}

/// Token exchange (RFC 8693) settings of `client update`; alone, they change nothing else.
#[derive(Args, Clone, Default)]
pub struct TokenExchangeArgs {
    /// Token exchange (RFC 8693): an API audience this (confidential) client may exchange users' access tokens into;
    /// repeat for several (replaces the list); "" clears it (the client may no longer exchange tokens).
    #[arg(long = "token-exchange-to", value_name = "API_AUDIENCE")]
    pub to: Vec<String>,
    /// true: a token exchange without an actor_token gets a token without act (impersonation); false: always act.
    #[arg(long = "token-exchange-impersonation", value_name = "true|false")]
    pub impersonation: Option<bool>,
    /// A client that may act with this client's access tokens (their may_act claim, RFC 8693 §4.4; the consent page names it);
    /// repeat for several (replaces the list); "" clears it.
    #[arg(long = "may-act", value_name = "CLIENT_ID")]
    pub may_act: Vec<String>,
}

impl TokenExchangeArgs {
    /// The change these options ask for (a lone "" clears a list).
    pub fn into_update(self) -> latchkey_app::directory::clients::TokenExchangeUpdate {
        let list = |v: Vec<String>| (!v.is_empty()).then(|| v.into_iter().filter(|s| !s.is_empty()).collect());
        latchkey_app::directory::clients::TokenExchangeUpdate { to: list(self.to), impersonation: self.impersonation, may_act: list(self.may_act) }
    }
}

/// What the consent page shows of a client besides its name. On `client
/// update`, "" removes one, and these alone change nothing else.
#[derive(Args, Clone, Default)]
pub struct ClientLinkArgs {
    /// The client's logo (an https URL, http only for localhost), shown on the consent page; on update, "" removes it.
    #[arg(long)]
    pub logo_uri: Option<String>,
    /// The client's privacy policy (an https URL), linked from the consent page; on update, "" removes it.
    #[arg(long)]
    pub policy_uri: Option<String>,
    /// The client's terms of service (an https URL), linked from the consent page; on update, "" removes it.
    #[arg(long)]
    pub tos_uri: Option<String>,
}

impl ClientLinkArgs {
    pub fn into_update(self) -> latchkey_app::directory::clients::LinksUpdate {
        latchkey_app::directory::clients::LinksUpdate { logo_uri: self.logo_uri, policy_uri: self.policy_uri, tos_uri: self.tos_uri }
    }
}

#[derive(Subcommand)]
pub enum ApiCommand {
    /// Register an API; with --introspection-secret prints its secret once.
    Add {
        /// The name.
        #[arg(long)]
        name: String,
        /// The `resource` value that selects it and its tokens' `aud` (an absolute URI).
        #[arg(long)]
        audience: String,
        /// A scope as `name=description` (the consent page shows the description); repeat for several.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Access-token lifetime in seconds (60-86400; default 300).
        #[arg(long)]
        access_token_ttl: Option<i64>,
        /// Access-token signing algorithm: EdDSA (default), ES256 or RS256.
        #[arg(long, default_value = "EdDSA")]
        alg: String,
        /// Give the API credentials to introspect its own tokens.
        #[arg(long)]
        introspection_secret: bool,
        /// Let clients that registered themselves (dynamic registration, client ID metadata
        /// documents) ask for its scopes.
        #[arg(long)]
        self_registration: bool,
        /// Serve its protected resource metadata (RFC 9728) at <issuer>/resource-metadata/<id>.
        #[arg(long)]
        publish_metadata: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List APIs.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show one API (by id or audience).
    Show {
        /// The API (id or audience).
        api: String,
    },
    /// Change what an API allows (options left out stay as they are).
    Update {
        /// The API (id or audience).
        api: String,
        /// Whether clients that registered themselves may ask for its scopes.
        #[arg(long)]
        self_registration: Option<bool>,
        /// Whether latchkey serves its protected resource metadata (RFC 9728).
        #[arg(long)]
        publish_metadata: Option<bool>,
    },
    /// Remove an API (by id or audience).
    Remove {
        /// The API (id or audience).
        api: String,
    },
    /// Add or remove an API's scopes.
    Scope {
        #[command(subcommand)]
        command: ApiScopeCommand,
    },
    /// Map a group to a role of the API: its members' tokens for the API carry the role.
    Role {
        /// The API (id or audience).
        api: String,
        /// The role name.
        role: String,
        /// The group name.
        #[arg(long)]
        group: String,
    },
}

#[derive(Subcommand)]
pub enum ApiScopeCommand {
    /// Add a scope (`name=description`).
    Add {
        /// The API (id or audience).
        api: String,
        /// The scope as `name=description`.
        scope: String,
    },
    /// Remove a scope by name.
    Remove {
        /// The API (id or audience).
        api: String,
        /// The scope name.
        name: String,
    },
}

/// How a provider is reached and what a first sign-in through it may do.
#[derive(clap::Args)]
pub struct ProviderArgs {
    /// Shown on the button ("Continue with <name>"); the id is a slug of it.
    #[arg(long)]
    pub name: String,
    /// The OpenID Connect issuer (discovery at <issuer>/.well-known/openid-configuration); a
    /// preset fills it in (github: GitHub Enterprise's web address here instead).
    #[arg(long)]
    pub issuer: Option<String>,
    /// google (accounts.google.com), microsoft (Entra ID) or github (OAuth 2.0 and its API).
    #[arg(long)]
    pub preset: Option<String>,
    /// The Microsoft Entra ID tenant (its id or domain) for --preset microsoft; without it, any
    /// organisation's work or school accounts (`organizations`; `common` adds personal ones).
    #[arg(long)]
    pub tenant: Option<String>,
    /// The client id latchkey has at the provider.
    #[arg(long)]
    pub client_id: String,
    /// Read the client secret from standard input (never an argument: shell history).
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Scopes to ask for (default: openid email profile).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// An email domain whose users go to this provider (home-realm discovery); repeatable.
    #[arg(long = "domain")]
    pub domains: Vec<String>,
    /// When an account already has the upstream account's email: `existing-sign-in`
    /// (the user signs in to it first; the default) or `verified-email` (linked at
    /// once when the provider verified the email and its domain is one of --domain).
    #[arg(long, default_value = "existing-sign-in")]
    pub link: String,
    /// Whether a first sign-in without an account creates one: on or off.
    #[arg(long, default_value = "off")]
    pub signup: String,
    /// Count the provider's own multi-factor claims (amr) here.
    #[arg(long)]
    pub trust_upstream_mfa: bool,
    /// Signing out of latchkey also signs out of the provider (register
    /// <issuer>/federation/<id>/signed-out there as a post-logout redirect URI).
    #[arg(long)]
    pub upstream_logout: bool,
}

#[derive(Subcommand)]
pub enum ProviderCommand {
    /// Add a provider; prints its id and the callback URL to register at the provider.
    Add {
        #[command(flatten)]
        args: ProviderArgs,
        /// Print JSON ({"id", "redirect_uri"}).
        #[arg(long)]
        json: bool,
    },
    /// List providers.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One provider's settings (never its secret).
    Show {
        id: String,
    },
    /// Replace a provider's settings (the secret stays unless --client-secret-stdin).
    Update {
        id: String,
        #[command(flatten)]
        args: ProviderArgs,
    },
    /// Stop signing people in through it (links stay).
    Disable {
        id: String,
    },
    Enable {
        id: String,
    },
    /// Remove it and every account link to it.
    Remove {
        id: String,
    },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    /// Create a group.
    Add {
        /// The group name.
        name: String,
    },
    /// Remove a group.
    Remove {
        /// The group name.
        name: String,
    },
    /// List groups and their members.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Add or remove members.
    Member {
        #[command(subcommand)]
        command: GroupMemberCommand,
    },
}

#[derive(Subcommand)]
pub enum GroupMemberCommand {
    /// Add a user to a group.
    Add {
        /// The group name.
        group: String,
        /// The username.
        username: String,
    },
    /// Remove a user from a group.
    Remove {
        /// The group name.
        group: String,
        /// The username.
        username: String,
    },
}

#[derive(Args)]
pub struct ClientAddArgs {
    /// The name.
    #[arg(long)]
    pub name: String,
    /// Allowed redirect URI (exact match); repeat for several.
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Allowed post-logout redirect URI; repeat for several.
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (single-page or native app): no secret, PKCE required.
    #[arg(long)]
    pub public: bool,
    /// Allowed grant type; repeat for several (default: authorization_code and refresh_token).
    /// Also client_credentials, and urn:ietf:params:oauth:grant-type:device_code (RFC 8628: devices
    /// without a browser; needs no --redirect-uri).
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    /// Allowed OpenID Connect scope; repeat for several (default: openid profile email offline_access).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Allowed API scope (registered with `latchkey api add`); repeat for several.
    #[arg(long = "allow-scope")]
    pub allow_scopes: Vec<String>,
    /// An admin client (client_credentials with the admin scope).
    #[arg(long)]
    pub admin: bool,
    /// OIDC Back-Channel Logout: where latchkey POSTs logout tokens when a session ends.
    #[arg(long)]
    pub backchannel_logout_uri: Option<String>,
    /// Accept this client's authorization requests only when pushed to /par first (RFC 9126).
    #[arg(long)]
    pub require_par: bool,
    /// A JSON file with the client's public keys (a JWK Set) for private_key_jwt (RFC 7523).
    #[arg(long)]
    pub jwks_file: Option<PathBuf>,
    /// Authenticate this client only with private_key_jwt (its secret is refused); needs --jwks-file or --jwks-uri.
    #[arg(long)]
    pub require_private_key_jwt: bool,
    /// Where the client publishes its public keys (a JWK Set URL) for private_key_jwt; fetched with a timeout, cached, fetched again for an unknown key id.
    #[arg(long, conflicts_with = "jwks_file")]
    pub jwks_uri: Option<String>,
    /// Issue this client only DPoP-bound tokens (RFC 9449): token requests without a DPoP proof are refused.
    #[arg(long)]
    pub require_dpop: bool,
    #[command(flatten)]
    pub links: ClientLinkArgs,
    /// ID token signing algorithm: RS256 (default), ES256 or EdDSA.
    #[arg(long, default_value = "RS256")]
    pub id_token_alg: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl ClientAddArgs {
    pub fn into_new_client(self) -> Result<NewClient, String> {
        let grant_types = self.grant_types.iter().map(|g| GrantType::parse(g).ok_or_else(|| format!("unknown grant type {g}"))).collect::<Result<Vec<_>, _>>()?;
        let scopes = if self.scopes.is_empty() && self.allow_scopes.is_empty() {
            None
        } else {
            let oidc = if self.scopes.is_empty() {
                ScopeSet::parse_lenient(latchkey_app::directory::clients::DEFAULT_SCOPES)
            } else {
                let list = self
                    .scopes
                    .iter()
                    .flat_map(|s| s.split_whitespace())
                    .map(|s| Scope::parse(s).ok_or_else(|| format!("unknown scope {s} (API scopes go with --allow-scope)")))
                    .collect::<Result<Vec<_>, _>>()?;
                ScopeSet::from_iter(list)
            };
            let api = ScopeSet::parse_tokens(&self.allow_scopes.join(" ")).map_err(|s| format!("malformed scope {s}"))?;
            Some(oidc.union(&api.api_only()))
        };
        let id_token_alg = SigningAlg::parse(&self.id_token_alg).ok_or_else(|| format!("unknown algorithm {} (use RS256, ES256 or EdDSA)", self.id_token_alg))?;
        Ok(NewClient {
            name: self.name,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            public: self.public,
            grant_types,
            scopes,
            admin: self.admin,
            id_token_alg,
            backchannel_logout_uri: self.backchannel_logout_uri,
            require_par: self.require_par,
            jwks: self.jwks_file.as_deref().map(|p| std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))).transpose()?,
            require_private_key_jwt: self.require_private_key_jwt,
            require_dpop: self.require_dpop,
            jwks_uri: self.jwks_uri,
            links: latchkey_domain::ClientLinks { logo_uri: self.links.logo_uri, policy_uri: self.links.policy_uri, tos_uri: self.links.tos_uri },
        })
    }
}
