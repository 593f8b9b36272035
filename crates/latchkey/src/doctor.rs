//! `latchkey doctor`: a configuration (and optionally a running server)
//! checked against latchkey's security stance, one line per check:
//! `PASS`, `WARN` (works, but not how production should be) or `FAIL`
//! (exit status 1).
//!
//! The doctor only reads: it creates no directory, key file, database,
//! table or signing key (SQLite is opened read-only, PostgreSQL in a
//! read-only session). What is missing is reported with what to do.

use std::path::Path;

use latchkey_domain::{SharedClock, SigningAlg};
use latchkey_store::repo::keys::StoredKey;
use latchkey_store::{Backend, DbConfig};
use latchkey_token::keys::KEY_PUBLISH_LEAD;
use latchkey_token::MasterKey;
use latchkey_web::config::MASTER_KEY_FILE;
use latchkey_web::Settings;

use crate::CliError;

/// An IPv4 trusted-proxy range shorter than this (a /8 is 16 million
/// addresses, more than any proxy fleet) is almost certainly a mistake.
const BROAD_V4_PREFIX: u8 = 8;
/// The same for IPv6: a /32 is what a whole provider is allocated.
const BROAD_V6_PREFIX: u8 = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Pass,
    Warn,
    Fail,
}

pub struct Finding {
    pub level: Level,
    pub text: String,
}

fn f(level: Level, text: impl Into<String>) -> Finding {
    Finding { level, text: text.into() }
}

/// What this build's libpq can do for the database URL's `sslmode`.
fn postgres_tls(url: &str, built_in: bool) -> Finding {
    use latchkey_store::tls::{tls_need, TlsNeed};
    match (tls_need(url), built_in) {
        (_, true) => f(Level::Pass, "this latchkey speaks TLS to PostgreSQL (built with postgres-tls); sslmode in the URL decides"),
        (TlsNeed::None, false) => f(Level::Pass, "PostgreSQL on this host (or sslmode=disable): no TLS needed, and this build has none"),
        (_, false) => f(
            Level::Fail,
            "the database URL needs TLS to PostgreSQL (a remote host, or sslmode=require and up), which this build lacks: build with --features postgres-tls, or use the deploy/Dockerfile image",
        ),
    }
}

/// The checks that need only the settings.
pub fn check_settings(s: &Settings) -> Vec<Finding> {
    let mut out = Vec::new();
    let issuer = url::Url::parse(&s.issuer).ok();
    let local = issuer.as_ref().and_then(|u| u.host_str().map(|h| h == "localhost" || h == "127.0.0.1" || h == "[::1]")).unwrap_or(false);
    let https = issuer.as_ref().is_some_and(|u| u.scheme() == "https");
    out.push(match (https, local) {
        (true, _) => f(Level::Pass, "the issuer is https: cookies are Secure and HSTS is sent"),
        (false, true) => f(Level::Warn, "the issuer is http://localhost: fine for development only"),
        (false, false) => f(Level::Fail, format!("the issuer {} is plain http on a public name: browsers drop latchkey's Secure cookies and tokens travel in clear", s.issuer)),
    });
    let postgres = s.database_url.as_deref().is_some_and(|u| u.starts_with("postgres"));
    if postgres {
        out.push(if s.redis_url.is_some() {
            f(Level::Pass, "PostgreSQL with Redis: several nodes can share revocations, sessions and rate limits")
        } else {
            f(Level::Warn, "PostgreSQL without Redis: hot state is per process, so run exactly one node")
        });
        if let Some(url) = s.database_url.as_deref() {
            out.push(postgres_tls(url, latchkey_store::tls::POSTGRES_TLS));
        }
        out.push(if s.master_key.is_some() {
            f(Level::Pass, "the master key comes from LATCHKEY_MASTER_KEY")
        } else {
            f(Level::Warn, "the master key is the auto-generated file of this node's data directory: every node needs the same key; set LATCHKEY_MASTER_KEY")
        });
    }
    out.push(if s.smtp_url.is_some() {
        f(Level::Pass, "mail is delivered by SMTP")
    } else if local {
        f(Level::Pass, "mail goes to the outbox (development)")
    } else {
        f(Level::Warn, "mail goes to the outbox directory: recovery links and security notices reach nobody; set LATCHKEY_SMTP_URL")
    });
    if https && s.trusted_proxies.is_empty() {
        out.push(f(Level::Warn, "no LATCHKEY_TRUSTED_PROXIES: behind a TLS proxy every user shares the proxy's address for rate limits, sessions and the audit trail"));
    }
    for net in &s.trusted_proxies {
        let broad = if net.addr().is_ipv4() { BROAD_V4_PREFIX } else { BROAD_V6_PREFIX };
        if net.prefix_len() == 0 {
            out.push(f(Level::Fail, format!("LATCHKEY_TRUSTED_PROXIES contains {net}: every client is trusted to name its own address in {}, so per-address limits, new-device mail and the audit trail's addresses are whatever it writes; list only your reverse proxies' addresses", s.forwarded_header.name())));
        } else if net.prefix_len() < broad {
            out.push(f(Level::Warn, format!("LATCHKEY_TRUSTED_PROXIES contains the very broad range {net}: any client in it can choose its address; list only your reverse proxies' addresses")));
        }
    }
    if s.signup_open {
        out.push(f(
            Level::Warn,
            "LATCHKEY_SIGNUP=open: anyone who reaches this server can create an account; set LATCHKEY_SIGNUP=closed and invite people (latchkey user invite) unless public sign-up is intended",
        ));
    }
    if s.client_id_metadata == latchkey_app::client_metadata::MetadataPolicy::OnWithLoopback && !local {
        out.push(f(
            Level::Fail,
            "LATCHKEY_CLIENT_ID_METADATA_ALLOW_LOOPBACK=true on a server that is not on localhost: a client id can make latchkey fetch from this machine's own services; it is for development only, unset it",
        ));
    }
    if let Some(bind) = s.metrics_bind.as_deref() {
        if !bind.parse::<std::net::SocketAddr>().is_ok_and(|a| a.ip().is_loopback()) {
            out.push(f(Level::Warn, format!("LATCHKEY_METRICS_BIND={bind} is not a loopback address: /metrics has no authentication and tells anyone who reaches it your traffic and users' activity; bind it to 127.0.0.1:<port> or allow only your Prometheus in a firewall")));
        }
    }
    out.push(f(Level::Pass, format!("sign-in throttles and request rate limits are on (passwords: at least {} characters)", s.password_min_chars)));
    out
}

/// A location database older than this misplaces addresses that moved
/// since: MaxMind and DB-IP publish a new one every month.
const GEOIP_STALE_DAYS: i64 = 45;

/// The risk policy of sign-ins and its files (issue #32): the location
/// database read whole (every node and record), the blocklist parsed.
pub fn check_risk(s: &Settings, now: i64) -> Vec<Finding> {
    use latchkey_authn::risk::{Blocklist, GeoDb, RiskPolicy};
    let mut out = Vec::new();
    if s.risk_policy == RiskPolicy::Off {
        out.push(f(Level::Warn, "LATCHKEY_RISK_POLICY=off: risky sign-ins (after many failures, from a new country, impossible travel, a blocklisted address) get no extra step; set standard"));
    }
    match s.geoip_db.as_deref() {
        None => {
            out.push(f(Level::Pass, "no LATCHKEY_GEOIP_DB: sign-ins are not located, so there are no country or impossible-travel signals (the device, network, failure and blocklist ones apply)"))
        }
        Some(path) => match GeoDb::open(path) {
            Err(e) => out.push(f(Level::Fail, e.to_string())),
            Ok(geo) => match geo.verify() {
                Err(problem) => out.push(f(Level::Fail, format!("LATCHKEY_GEOIP_DB={}: the file is damaged ({problem}); download it again", path.display()))),
                Ok(()) => {
                    out.push(f(Level::Pass, format!("sign-ins are located with {} ({})", path.display(), geo.describe())));
                    if !geo.has_cities() {
                        out.push(f(Level::Warn, format!("LATCHKEY_GEOIP_DB={} has no cities: no impossible-travel signal and no \"Berlin, Germany\"; use a City database", path.display())));
                    }
                    let age = geo.age_days(now);
                    if age > GEOIP_STALE_DAYS {
                        out.push(f(Level::Warn, format!("LATCHKEY_GEOIP_DB={} is {age} days old: addresses move; download this month's file", path.display())));
                    }
                }
            },
        },
    }
    if let Some(path) = s.risk_blocklist.as_deref() {
        out.push(match Blocklist::load(path) {
            Ok(list) => f(Level::Pass, format!("LATCHKEY_RISK_BLOCKLIST={}: {} address(es) and range(s); their sign-ins are high risk", path.display(), list.len())),
            Err(e) => f(Level::Fail, e.to_string()),
        });
    }
    out
}

/// Whether others than this user may read `path` (Unix modes).
#[cfg(unix)]
fn readable_by_others(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn readable_by_others(_: &Path) -> Option<u32> {
    None
}

/// The data directory and the master key, read without creating anything.
fn check_files(s: &Settings, sqlite: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    let dir = s.data_dir.display();
    let needs_dir = sqlite || s.master_key.is_none();
    if needs_dir && !s.data_dir.is_dir() {
        out.push(f(
            Level::Fail,
            format!("the data directory {dir} does not exist: start latchkey once (latchkey serve creates it, with the database and the master key) or set LATCHKEY_DATA_DIR to the directory in use"),
        ));
        return out;
    }
    if needs_dir {
        if let Some(mode) = readable_by_others(&s.data_dir) {
            out.push(f(Level::Warn, format!("the data directory {dir} is readable by others (mode {mode:o}): it holds the master key and the database; chmod 700 {dir}")));
        }
    }
    match s.master_key.as_deref() {
        Some(text) => {
            if MasterKey::parse(text).is_err() {
                out.push(f(Level::Fail, "LATCHKEY_MASTER_KEY is not 64 hex digits or the base64 of 32 bytes: set the key the nodes were started with"));
            }
        }
        None => {
            let path = s.data_dir.join(MASTER_KEY_FILE);
            match std::fs::read_to_string(&path) {
                Ok(text) if MasterKey::parse(&text).is_ok() => {
                    if let Some(mode) = readable_by_others(&path) {
                        out.push(f(Level::Fail, format!("the master key {} is readable by others (mode {mode:o}): chmod 600 {}", path.display(), path.display())));
                    }
                }
                Ok(_) => out.push(f(Level::Fail, format!("the master key file {} is damaged: restore it from your backup (every token, secret and session depends on it)", path.display()))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => out.push(f(
                    Level::Fail,
                    format!("there is no master key at {}: latchkey serve creates it at its first start; with several nodes, set the same LATCHKEY_MASTER_KEY on each", path.display()),
                )),
                Err(e) => out.push(f(Level::Fail, format!("cannot read the master key {}: {e}", path.display()))),
            }
        }
    }
    out
}

/// The signing keys: one per algorithm, the one signing now younger than
/// the rotation period (+ 1 h of upkeep slack).
fn check_keys(keys: &[StoredKey], now: i64, rotation_period: i64) -> Finding {
    let mut missing = Vec::new();
    let mut oldest_signing = now;
    for alg in SigningAlg::ALL {
        let of_alg: Vec<&StoredKey> = keys.iter().filter(|k| k.alg == alg.as_str() && k.retired_at.is_none()).collect();
        // As the key ring picks it: the newest key published long enough, else the oldest.
        let signing = of_alg.iter().rev().find(|k| k.created_at + KEY_PUBLISH_LEAD <= now).or(of_alg.first());
        match signing {
            Some(k) => oldest_signing = oldest_signing.min(k.created_at),
            None => missing.push(alg.as_str()),
        }
    }
    if !missing.is_empty() {
        f(Level::Warn, format!("no signing key yet for {}: latchkey serve creates them at its first start", missing.join(", ")))
    } else if now - oldest_signing <= rotation_period + 3600 {
        f(Level::Pass, "every active signing key is younger than the rotation period")
    } else {
        f(Level::Warn, "an active signing key is older than the rotation period: is a node running? its upkeep rotates keys (or run latchkey keys rotate)")
    }
}

/// What the database holds, read in one read-only connection.
fn check_database(s: &Settings, now: i64) -> Vec<Finding> {
    use latchkey_store::repo::{keys, mfa, passkeys, users};
    let config = DbConfig { url: s.database_url() };
    let mut conn = match config.open_read_only() {
        Ok(c) => c,
        Err(e) => {
            let what = match config.backend() {
                Backend::Sqlite => "start latchkey once (latchkey serve creates and migrates it) or point LATCHKEY_DATABASE_URL at the database in use",
                Backend::Postgres => "check that PostgreSQL runs and that the database exists (createdb <name>), then start latchkey serve, which creates its tables",
            };
            return vec![f(Level::Fail, format!("cannot open the database: {e}; {what}"))];
        }
    };
    let schema = |e: latchkey_store::StoreError| {
        f(Level::Fail, format!("cannot read the database ({e}): it has no latchkey tables or is from an older version; latchkey serve creates and migrates them at start"))
    };
    let mut out = Vec::new();
    match keys::list_all(&mut conn) {
        Ok(k) => out.push(check_keys(&k, now, s.key_rotation_period)),
        Err(e) => return vec![schema(e)],
    }
    let all = match users::list(&mut conn) {
        Ok(u) => u,
        Err(e) => return vec![schema(e)],
    };
    let (mut passkey, mut second) = (0usize, 0usize);
    for u in &all {
        let p = passkeys::list_for_user(&mut conn, &u.id.0).map(|l| !l.is_empty()).unwrap_or(false);
        let app = mfa::find(&mut conn, &u.id.0).ok().flatten().is_some_and(|c| c.confirmed_at.is_some());
        passkey += usize::from(p);
        second += usize::from(p || app);
    }
    let pct = |n: usize| {
        if all.is_empty() {
            0
        } else {
            n * 100 / all.len()
        }
    };
    out.push(f(Level::Pass, format!("{} users: {}% with a passkey, {}% with a second factor", all.len(), pct(passkey), pct(second))));
    out
}

pub async fn run(settings: &Settings, url: Option<&str>, clock: SharedClock) -> Result<(), CliError> {
    let mut findings = check_settings(settings);
    findings.extend(check_risk(settings, clock.now()));
    let sqlite = DbConfig { url: settings.database_url() }.backend() == Backend::Sqlite;
    let files = check_files(settings, sqlite);
    let dir_missing = files.iter().any(|x| x.level == Level::Fail) && sqlite && !settings.data_dir.is_dir();
    findings.extend(files);
    if !dir_missing {
        let (s, now) = (settings.clone(), clock.now());
        let checked = tokio::task::spawn_blocking(move || check_database(&s, now)).await.map_err(|e| CliError::Usage(e.to_string()))?;
        findings.extend(checked);
    }
    if let Some(base) = url {
        let base = base.trim_end_matches('/');
        let http = latchkey_oauth::http::client_builder().timeout(std::time::Duration::from_secs(5)).build().map_err(|e| CliError::OAuth(e.to_string()))?;
        match http.get(format!("{base}/health/ready")).send().await {
            Ok(r) if r.status().is_success() => findings.push(f(Level::Pass, format!("{base} is ready"))),
            Ok(r) => findings.push(f(Level::Fail, format!("{base}/health/ready answered {}", r.status()))),
            Err(e) => findings.push(f(Level::Fail, format!("{base} does not answer: {e}"))),
        }
        if let Ok(r) = http.get(format!("{base}/.well-known/openid-configuration")).send().await {
            let doc: serde_json::Value = r.json().await.unwrap_or_default();
            let issuer = doc["issuer"].as_str().unwrap_or_default();
            findings.push(if issuer == settings.issuer.trim_end_matches('/') {
                f(Level::Pass, "the server's issuer matches this configuration")
            } else {
                f(Level::Fail, format!("the server says its issuer is {issuer:?}, this configuration says {:?}", settings.issuer))
            });
        }
    }
    let mut failed = false;
    for finding in &findings {
        let tag = match finding.level {
            Level::Pass => "PASS",
            Level::Warn => "WARN",
            Level::Fail => {
                failed = true;
                "FAIL"
            }
        };
        println!("{tag}  {}", finding.text);
    }
    if failed {
        return Err(CliError::Usage("doctor found failures".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_risk_files_are_read_and_named() {
        let dir = std::env::temp_dir().join(format!("latchkey-doctor-risk-{}-{:?}", std::process::id(), std::time::SystemTime::now()));
        std::fs::create_dir_all(&dir).expect("dir");
        let ok = check_risk(&Settings::default(), 0);
        assert!(ok.iter().all(|x| x.level == Level::Pass), "the default: standard, no files");
        let off = Settings { risk_policy: latchkey_authn::risk::RiskPolicy::Off, ..Settings::default() };
        assert_eq!(check_risk(&off, 0).iter().filter(|x| x.level == Level::Warn).count(), 1);
        let (bad_list, not_a_db) = (dir.join("blocklist.txt"), dir.join("city.mmdb"));
        std::fs::write(&bad_list, "203.0.113.7\nnot-an-address\n").expect("write");
        std::fs::write(&not_a_db, "garbage").expect("write");
        let broken = Settings { geoip_db: Some(not_a_db), risk_blocklist: Some(bad_list), ..Settings::default() };
        let found = check_risk(&broken, 0);
        assert!(
            found.iter().any(|x| x.level == Level::Fail && x.text.contains("LATCHKEY_GEOIP_DB") && x.text.contains("not a MaxMind DB file")),
            "{:?}",
            found.iter().map(|x| &x.text).collect::<Vec<_>>()
        );
        assert!(found.iter().any(|x| x.level == Level::Fail && x.text.contains("line 2")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn levels(s: &Settings, about: &str) -> Vec<Level> {
        check_settings(s).into_iter().filter(|x| x.text.contains(about)).map(|x| x.level).collect()
    }

    /// Issue 25: a build without PostgreSQL TLS fails the doctor for a URL
    /// that needs it, and passes a local one.
    #[test]
    fn postgres_tls_is_checked_against_the_build() {
        assert_eq!(postgres_tls("postgres://postgres@127.0.0.1:5432/db", false).level, Level::Pass);
        assert_eq!(postgres_tls("postgres://u@db.internal/db", false).level, Level::Fail);
        assert_eq!(postgres_tls("postgres://u@127.0.0.1/db?sslmode=require", false).level, Level::Fail);
        assert!(postgres_tls("postgres://u@db.internal/db", false).text.contains("--features postgres-tls"));
        assert_eq!(postgres_tls("postgres://u@db.internal/db?sslmode=verify-full", true).level, Level::Pass);
    }

    /// Issue 24 item 15: settings that hand the client address, accounts or
    /// the metrics to anyone are named, with what to do.
    #[test]
    fn dangerous_exposure_is_named() {
        let ok = Settings::default();
        assert!(levels(&ok, "LATCHKEY_TRUSTED_PROXIES").is_empty() && levels(&ok, "LATCHKEY_SIGNUP").is_empty() && levels(&ok, "METRICS").is_empty());
        let proxies = |list: &str| Settings { trusted_proxies: latchkey_web::client_ip::parse_trusted_proxies(list).unwrap_or_default(), ..Settings::default() };
        assert_eq!(levels(&proxies("0.0.0.0/0"), "LATCHKEY_TRUSTED_PROXIES"), [Level::Fail]);
        assert_eq!(levels(&proxies("::/0"), "LATCHKEY_TRUSTED_PROXIES"), [Level::Fail]);
        assert_eq!(levels(&proxies("10.0.0.0/8, 0.0.0.0/1"), "LATCHKEY_TRUSTED_PROXIES"), [Level::Warn]);
        assert_eq!(levels(&proxies("2001:db8::/16"), "LATCHKEY_TRUSTED_PROXIES"), [Level::Warn]);
        assert!(levels(&proxies("10.0.0.0/8, 172.16.0.0/12, fd00::/64, 127.0.0.1"), "LATCHKEY_TRUSTED_PROXIES").is_empty(), "private proxy ranges are fine");
        assert!(check_settings(&proxies("0.0.0.0/0")).iter().any(|x| x.text.contains("list only your reverse proxies")));
        let open = Settings { signup_open: true, ..Settings::default() };
        assert_eq!(levels(&open, "LATCHKEY_SIGNUP=open"), [Level::Warn]);
        assert!(check_settings(&open).iter().any(|x| x.text.contains("LATCHKEY_SIGNUP=closed")));
        let metrics = |bind: &str| Settings { metrics_bind: Some(bind.into()), ..Settings::default() };
        assert_eq!(levels(&metrics("0.0.0.0:9100"), "LATCHKEY_METRICS_BIND"), [Level::Warn]);
        assert_eq!(levels(&metrics("[::]:9100"), "LATCHKEY_METRICS_BIND"), [Level::Warn]);
        assert_eq!(levels(&metrics("192.0.2.7:9100"), "LATCHKEY_METRICS_BIND"), [Level::Warn]);
        assert!(levels(&metrics("127.0.0.1:9100"), "LATCHKEY_METRICS_BIND").is_empty());
        assert!(levels(&metrics("[::1]:9100"), "LATCHKEY_METRICS_BIND").is_empty());
        let loopback = |issuer: &str| Settings { issuer: issuer.into(), client_id_metadata: latchkey_app::client_metadata::MetadataPolicy::OnWithLoopback, ..Settings::default() };
        assert_eq!(levels(&loopback("https://id.example.com"), "ALLOW_LOOPBACK"), [Level::Fail]);
        assert!(levels(&loopback("http://localhost:8080"), "ALLOW_LOOPBACK").is_empty(), "development");
    }

    fn key(alg: &str, created_at: i64) -> StoredKey {
        StoredKey { kid: format!("{alg}-{created_at}"), alg: alg.into(), private_key_enc: String::new(), public_jwk: String::new(), created_at, retired_at: None }
    }

    /// Issue 24 item 31: the key-age check reads the keys there are; none
    /// is a warning, not a key made on the spot.
    #[test]
    fn key_age_is_read_not_made() {
        let (now, period) = (100 * 86_400, 30 * 86_400);
        assert_eq!(check_keys(&[], now, period).level, Level::Warn);
        let fresh: Vec<StoredKey> = SigningAlg::ALL.iter().map(|a| key(a.as_str(), now - 86_400)).collect();
        assert_eq!(check_keys(&fresh, now, period).level, Level::Pass);
        let old: Vec<StoredKey> = SigningAlg::ALL.iter().map(|a| key(a.as_str(), now - 60 * 86_400)).collect();
        assert_eq!(check_keys(&old, now, period).level, Level::Warn);
    }
}
