//! `latchkey doctor`: a configuration (and optionally a running server)
//! checked against latchkey's security stance, one line per check:
//! `PASS`, `WARN` (works, but not how production should be) or `FAIL`
//! (exit status 1).

use latchkey_domain::SharedClock;
use latchkey_web::{AppState, Settings};

use crate::CliError;

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
    out.push(f(Level::Pass, format!("sign-in throttles and request rate limits are on (passwords: at least {} characters)", s.password_min_chars)));
    out
}

pub async fn run(settings: &Settings, url: Option<&str>, clock: SharedClock) -> Result<(), CliError> {
    let mut findings = check_settings(settings);
    match AppState::build(settings, clock.clone()).await {
        Ok(state) => {
            let now = clock.now();
            let keys = state.tokens.key_status().await.map_err(|e| CliError::OAuth(e.to_string()))?;
            let newest = keys.iter().filter(|k| k.state == "active").map(|k| k.created_at).min().unwrap_or(0);
            findings.push(if now - newest <= settings.key_rotation_period + 3600 {
                f(Level::Pass, "every active signing key is younger than the rotation period")
            } else {
                f(Level::Warn, "an active signing key is older than the rotation period: is a node running the key upkeep?")
            });
            let users = state.authn.list_users().await?;
            let (mut passkey, mut second) = (0usize, 0usize);
            for u in &users {
                let p = state.passkeys.has_passkey(&u.id).await?;
                passkey += usize::from(p);
                second += usize::from(p || state.mfa.has_second_factor(u).await?);
            }
            let pct = |n: usize| if users.is_empty() { 0 } else { n * 100 / users.len() };
            findings.push(f(Level::Pass, format!("{} users: {}% with a passkey, {}% with a second factor", users.len(), pct(passkey), pct(second))));
        }
        Err(e) => findings.push(f(Level::Fail, format!("cannot open the stores: {e}"))),
    }
    if let Some(base) = url {
        let base = base.trim_end_matches('/');
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build().map_err(|e| CliError::OAuth(e.to_string()))?;
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
