//! Webhooks (issue #30): other systems told of security events as they
//! happen. A subscription names a URL and the event kinds it wants (the
//! audit trail's kinds, or all); each event is queued in the transaction
//! that records it (`latchkey_store::repo::webhooks`), then delivered by
//! whichever node claims it ([`delivery`]), signed as Standard Webhooks says
//! ([`signing`]).

pub mod delivery;
pub mod signing;

use latchkey_domain::EventKind;
use latchkey_store::repo::webhooks::{self as repo, AttemptRow, SubscriptionRow};

use crate::admin::Actor;
use crate::{App, AppError};

/// A subscription's URL is at most this long.
pub const MAX_URL_CHARS: usize = 2048;

/// What a receiver's URL may be without `--allow-private`, as a regular
/// expression: every door checks it, and the admin API's document states
/// it (a URL the document calls valid is never refused).
pub mod rules {
    /// https, a dotted lower-case domain name whose last label starts with a
    /// letter (never an IP literal), an optional port, a plain path.
    pub const PUBLIC_URL: &str = concat!(
        r"^https://[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*\.[a-z][a-z0-9]*(-[a-z0-9]+)*",
        r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?",
        r"(/[A-Za-z0-9._~-]+)*/?$"
    );
}

/// A subscription as shown (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: String,
    pub url: String,
    /// The kinds it gets; empty: all of them.
    pub events: Vec<String>,
    pub allow_private: bool,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    pub failing_since: Option<i64>,
}

fn from_row(r: &SubscriptionRow) -> Subscription {
    let events = if r.events == "*" { Vec::new() } else { r.events.split(',').filter(|e| !e.is_empty()).map(str::to_string).collect() };
    Subscription { id: r.id.clone(), url: r.url.clone(), events, allow_private: r.allow_private, created_at: r.created_at, disabled_at: r.disabled_at, failing_since: r.failing_since }
}

/// Checks a receiver's URL: `https` (or `http` to a private receiver the
/// operator allowed), no credentials or fragment, and (unless allowed) no
/// IP literal of a private network. Names are checked again when resolved.
pub fn check_url(url: &str, allow_private: bool) -> Result<url::Url, AppError> {
    let parsed = url::Url::parse(url).map_err(|_| AppError::Invalid(format!("{url:?} is not a URL")))?;
    if url.chars().count() > MAX_URL_CHARS {
        return Err(AppError::Invalid(format!("a webhook URL is at most {MAX_URL_CHARS} characters")));
    }
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(AppError::Invalid("a webhook URL is https (http only with --allow-private)".into())),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.fragment().is_some() || parsed.host().is_none() {
        return Err(AppError::Invalid("a webhook URL has a host, and no credentials or fragment".into()));
    }
    if !allow_private && !regex::Regex::new(rules::PUBLIC_URL).is_ok_and(|r| r.is_match(url)) {
        return Err(AppError::Invalid("a webhook URL is https with a domain name, an optional port and a plain path (anything else needs --allow-private)".into()));
    }
    if !allow_private {
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(a)) => Some(std::net::IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => Some(std::net::IpAddr::V6(a)),
            _ => None,
        };
        if literal.is_some_and(|ip| !latchkey_oauth::outbound::allowed_address(ip, false)) || parsed.host_str().is_some_and(|h| h.eq_ignore_ascii_case("localhost")) {
            return Err(AppError::Invalid("a webhook URL on a private network needs --allow-private".into()));
        }
    }
    Ok(parsed)
}

/// Checks event kind names (the audit trail's, e.g. `sign_in`, `user_disabled`); `*` is all.
pub fn check_events(events: &[String]) -> Result<String, AppError> {
    let names: Vec<&str> = events.iter().flat_map(|e| e.split(',')).map(str::trim).filter(|e| !e.is_empty()).collect();
    if names.is_empty() || names.contains(&"*") {
        return Ok("*".into());
    }
    for n in &names {
        if !EventKind::ALL.iter().any(|k| k.as_str() == *n) {
            return Err(AppError::Invalid(format!("{n:?} is not an event kind (see the README's list, or use *)")));
        }
    }
    Ok(format!(",{},", names.join(",")))
}

impl App {
    /// Adds a subscription; its signing secret is `secret` or a new one,
    /// returned (shown once).
    pub async fn add_webhook(&self, by: &Actor, url: &str, events: &[String], secret: Option<&str>, allow_private: bool) -> Result<(Subscription, String), AppError> {
        let url = check_url(url, allow_private)?;
        let events = check_events(events)?;
        let secret = match secret {
            Some(s) => {
                signing::secret_bytes(s).ok_or_else(|| AppError::Invalid("a secret is whsec_ and the base64 of 24 to 64 bytes".into()))?;
                s.to_string()
            }
            None => signing::new_secret(),
        };
        let row = SubscriptionRow {
            id: uuid::Uuid::new_v4().to_string(),
            url: url.to_string(),
            events,
            secret: self.stores.master.encrypt(secret.as_bytes(), "webhook-secret")?,
            allow_private,
            created_at: self.clock.now(),
            disabled_at: None,
            failing_since: None,
            kind: repo::WEBHOOK.into(),
            client_id: None,
        };
        let r = row.clone();
        self.stores.db.run(move |c| repo::insert_subscription(c, &r)).await?;
        self.oauth.record(&by.audited(), latchkey_domain::SecurityEvent::WebhookAdded { subscription: row.id.clone(), url: row.url.clone() }).await;
        Ok((from_row(&row), secret))
    }

    pub async fn webhooks(&self) -> Result<Vec<Subscription>, AppError> {
        Ok(self.stores.db.run(repo::subscriptions).await?.iter().map(from_row).collect())
    }

    pub async fn remove_webhook(&self, by: &Actor, id: &str) -> Result<(), AppError> {
        let i = id.to_string();
        if !self.stores.db.run(move |c| repo::remove_subscription(c, &i)).await? {
            return Err(AppError::NotFound("webhook"));
        }
        self.oauth.record(&by.audited(), latchkey_domain::SecurityEvent::WebhookRemoved { subscription: id.to_string() }).await;
        Ok(())
    }

    /// Enables a disabled subscription again (its queue is delivered from where it stopped).
    pub async fn enable_webhook(&self, id: &str) -> Result<(), AppError> {
        let i = id.to_string();
        if !self.stores.db.run(move |c| repo::set_disabled(c, &i, None)).await? {
            return Err(AppError::NotFound("webhook"));
        }
        Ok(())
    }

    /// The newest attempts of a subscription, newest first, and how many deliveries wait.
    pub async fn webhook_log(&self, id: &str) -> Result<(Vec<AttemptRow>, i64), AppError> {
        let (a, b) = (id.to_string(), id.to_string());
        let attempts = self.stores.db.run(move |c| repo::attempts(c, &a)).await?;
        let pending = self.stores.db.run(move |c| repo::pending(c, &b)).await?;
        Ok((attempts, pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_events_are_checked() {
        assert!(check_url("https://hooks.example.com/latchkey", false).is_ok());
        for bad in [
            "http://hooks.example.com/",
            "https://user:pw@hooks.example.com/",
            "https://10.0.0.5/",
            "https://127.0.0.1/",
            "https://localhost/",
            "https://[::1]/",
            "https://169.254.169.254/latest",
            "ftp://x/",
            "not a url",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://127.0.0.1:8080/hook", true).is_ok(), "allowed: a receiver on this machine");
        assert!(check_url("https://hooks.example.com:65535/a/b", false).is_ok());
        for bad in ["https://hooks.example.com:65536/", "https://hooks.example.com/?q=1", "https://HOOKS.example.com/", "https://1.2.3.4/"] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert_eq!(check_events(&["sign_in".into(), "user_disabled,login_failed".into()]).expect("kinds"), ",sign_in,user_disabled,login_failed,");
        assert_eq!(check_events(&[]).expect("all"), "*");
        assert!(check_events(&["sign_inn".into()]).is_err());
        assert!(check_events(&["%".into()]).is_err(), "no LIKE wildcards");
    }
}
