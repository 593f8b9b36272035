//! The upstream providers an administrator configures: one audited use
//! case per change, whichever door (CLI, admin API, console).

use latchkey_domain::{LinkRule, Provider, ProviderKind, SecurityEvent};
use latchkey_store::repo::providers::{self as repo, ProviderRow};
use latchkey_token::MasterKey;

use crate::admin::Admin;
use crate::{App, AppError};

/// Longest id (a slug of the name, part of the callback URL).
const MAX_ID_CHARS: usize = 40;
/// The scopes asked of an OpenID Connect provider when none are given.
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "email", "profile"];

/// A provider to add, or the full new settings of one (`update`).
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub name: String,
    pub kind: ProviderKind,
    pub issuer: String,
    pub client_id: String,
    /// `None` on an update keeps the current secret.
    pub client_secret: Option<String>,
    pub scopes: Vec<String>,
    pub domains: Vec<String>,
    pub link: LinkRule,
    pub signup: bool,
    pub trust_upstream_mfa: bool,
    /// Signing out of latchkey also signs out of the provider.
    pub upstream_logout: bool,
}

/// The id a name gets: lower-case letters and digits, other runs become `-`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    out.chars().take(MAX_ID_CHARS).collect::<String>().trim_end_matches('-').to_string()
}

fn invalid(m: impl Into<String>) -> AppError {
    AppError::Invalid(m.into())
}

/// What each setting may be, as regular expressions: `check` holds every
/// door to them, and the admin API's OpenAPI document states the same ones
/// (so a request the document calls valid is never refused, nor the other
/// way round).
pub mod rules {
    /// 1-64 characters, no control character, at least one ASCII letter or
    /// digit (the id is a slug of it).
    pub const NAME: &str = r"^[^\x00-\x1f\x7f-\x9f]*[A-Za-z0-9][^\x00-\x1f\x7f-\x9f]*$";
    pub const NAME_MAX_CHARS: usize = 64;
    /// https with a dotted lower-case host (http only on localhost), an
    /// optional port and path, no query or fragment. A trailing slash is
    /// kept: the issuer must match the provider's `iss` exactly.
    pub const ISSUER: &str = r"^(https://[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+|http://(localhost|127\.0\.0\.1|\[::1\]))(:[1-9][0-9]{0,4})?(/[A-Za-z0-9._~-]+)*/?$";
    /// Printable ASCII, no space.
    pub const CLIENT_ID: &str = r"^[!-~]{1,255}$";
    pub const CLIENT_SECRET: &str = r"^[!-~]{1,1024}$";
    /// RFC 6749 scope-token characters.
    pub const SCOPE: &str = r"^[!#-\[\]-~]{1,100}$";
    pub const MAX_SCOPES: usize = 20;
    /// A dotted domain name, any case, optionally written `@domain`.
    pub const DOMAIN: &str = r"^@?[A-Za-z0-9]+(-[A-Za-z0-9]+)*(\.[A-Za-z0-9]+(-[A-Za-z0-9]+)*)+$";
    pub const DOMAIN_MAX_CHARS: usize = 253;
    pub const MAX_DOMAINS: usize = 50;
}

fn matches(pattern: &str, value: &str) -> bool {
    // The patterns are constants above (a test compiles each).
    regex::Regex::new(pattern).is_ok_and(|r| r.is_match(value))
}

/// Checks and normalises settings; refuses what would make the provider
/// unusable or unsafe (a plain-http issuer off localhost, a bad domain).
pub fn check(mut s: ProviderSettings) -> Result<ProviderSettings, AppError> {
    if s.name.chars().count() > rules::NAME_MAX_CHARS || !matches(rules::NAME, &s.name) {
        return Err(invalid(format!("a provider needs a name of 1-{} characters with a letter or digit, and no control characters", rules::NAME_MAX_CHARS)));
    }
    s.name = s.name.trim().to_string();
    if !matches(rules::ISSUER, &s.issuer) {
        return Err(invalid("the issuer must be an https URL with a domain name (http only on localhost), without a query"));
    }
    if !matches(rules::CLIENT_ID, &s.client_id) {
        return Err(invalid("the client id is 1-255 printable characters without spaces"));
    }
    if s.client_secret.as_deref().is_some_and(|secret| !matches(rules::CLIENT_SECRET, secret)) {
        return Err(invalid("the client secret is 1-1024 printable characters without spaces"));
    }
    if s.scopes.len() > rules::MAX_SCOPES || s.scopes.iter().any(|x| !matches(rules::SCOPE, x)) {
        return Err(invalid(format!("at most {} scopes, each printable ASCII without spaces, quotes or backslashes", rules::MAX_SCOPES)));
    }
    if s.scopes.is_empty() {
        s.scopes = match s.kind {
            ProviderKind::Oidc => DEFAULT_SCOPES.iter().map(|x| x.to_string()).collect(),
            ProviderKind::Github => vec!["read:user".into(), "user:email".into()],
        };
    }
    if s.kind == ProviderKind::Oidc && !s.scopes.iter().any(|x| x == "openid") {
        s.scopes.insert(0, "openid".into());
    }
    if s.domains.len() > rules::MAX_DOMAINS {
        return Err(invalid(format!("at most {} domains", rules::MAX_DOMAINS)));
    }
    let mut domains = Vec::new();
    for d in &s.domains {
        if d.len() > rules::DOMAIN_MAX_CHARS || !matches(rules::DOMAIN, d) {
            return Err(invalid(format!("{d:?} is not a domain name")));
        }
        let d = d.trim_start_matches('@').to_ascii_lowercase();
        if !domains.contains(&d) {
            domains.push(d);
        }
    }
    s.domains = domains;
    Ok(s)
}

fn secret_context(id: &str) -> String {
    format!("upstream-provider:{id}")
}

pub(crate) fn to_provider(row: ProviderRow) -> Result<Provider, AppError> {
    let corrupt = |what: &str| AppError::Store(latchkey_store::StoreError::Corrupt(format!("provider {}: {what}", row.id)));
    Ok(Provider {
        kind: ProviderKind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?,
        link: LinkRule::parse(&row.link_rule).ok_or_else(|| corrupt("link rule"))?,
        scopes: row.scopes.split_whitespace().map(str::to_string).collect(),
        domains: row.domains.split_whitespace().map(str::to_string).collect(),
        id: row.id,
        name: row.name,
        issuer: row.issuer,
        client_id: row.client_id,
        signup: row.signup,
        trust_upstream_mfa: row.trust_upstream_mfa,
        upstream_logout: row.upstream_logout,
        disabled_at: row.disabled_at,
        created_at: row.created_at,
    })
}

impl App {
    /// Every provider, enabled or not, oldest first.
    pub async fn providers(&self) -> Result<Vec<Provider>, AppError> {
        self.stores.db.run(repo::list).await?.into_iter().map(to_provider).collect()
    }

    /// The enabled providers: the sign-in page's buttons.
    pub async fn enabled_providers(&self) -> Result<Vec<Provider>, AppError> {
        Ok(self.providers().await?.into_iter().filter(Provider::enabled).collect())
    }

    pub async fn provider(&self, id: &str) -> Result<Provider, AppError> {
        let id = id.to_string();
        let row = self.stores.db.run(move |c| repo::find(c, &id)).await?.ok_or(AppError::NotFound("provider"))?;
        to_provider(row)
    }

    /// The enabled provider whose domains hold `email` (home-realm discovery).
    pub async fn provider_for_email(&self, email: &str) -> Result<Option<Provider>, AppError> {
        Ok(self.enabled_providers().await?.into_iter().find(|p| p.serves_email(email)))
    }

    /// The provider's client secret, unsealed.
    pub(crate) async fn provider_secret(&self, id: &str) -> Result<String, AppError> {
        let key = id.to_string();
        let row = self.stores.db.run(move |c| repo::find(c, &key)).await?.ok_or(AppError::NotFound("provider"))?;
        unseal(&self.stores.master, id, &row.client_secret_enc)
    }

    /// The callback URL to register at the provider.
    pub fn provider_redirect_uri(&self, id: &str) -> String {
        format!("{}/federation/{id}/callback", self.issuer.trim_end_matches('/'))
    }
}

fn unseal(master: &MasterKey, id: &str, sealed: &str) -> Result<String, AppError> {
    let bytes = master.decrypt(sealed, &secret_context(id))?;
    String::from_utf8(bytes).map_err(|_| AppError::Store(latchkey_store::StoreError::Corrupt(format!("provider {id}: secret"))))
}

impl Admin<'_> {
    /// Adds a provider; its id is a slug of its name (refused when taken).
    pub async fn add_provider(&self, settings: ProviderSettings) -> Result<Provider, AppError> {
        let app = self.app;
        let s = check(settings)?;
        let secret = s.client_secret.clone().ok_or_else(|| invalid("a provider needs its client secret"))?;
        let id = slug(&s.name);
        let row = ProviderRow {
            client_secret_enc: app.stores.master.encrypt(secret.as_bytes(), &secret_context(&id))?,
            id,
            name: s.name,
            kind: s.kind.as_str().into(),
            issuer: s.issuer,
            client_id: s.client_id,
            scopes: s.scopes.join(" "),
            domains: s.domains.join(" "),
            link_rule: s.link.as_str().into(),
            signup: s.signup,
            trust_upstream_mfa: s.trust_upstream_mfa,
            upstream_logout: s.upstream_logout,
            disabled_at: None,
            created_at: app.clock.now(),
        };
        let stored = row.clone();
        app.stores.db.run(move |c| repo::insert(c, &stored)).await.map_err(|e| match e {
            latchkey_store::StoreError::Conflict(_) => AppError::Conflict(format!("a provider with the id {} exists; choose another name", row.id)),
            other => other.into(),
        })?;
        app.oauth.record(&self.actor.audited(), SecurityEvent::ProviderAdded { provider: row.id.clone(), name: row.name.clone() }).await;
        to_provider(row)
    }

    /// Replaces a provider's settings (its id and kind stay).
    pub async fn update_provider(&self, id: &str, settings: ProviderSettings) -> Result<Provider, AppError> {
        let app = self.app;
        let current = app.provider(id).await?;
        let s = check(ProviderSettings { kind: current.kind, ..settings })?;
        let key = id.to_string();
        let mut row = app.stores.db.run(move |c| repo::find(c, &key)).await?.ok_or(AppError::NotFound("provider"))?;
        if let Some(secret) = &s.client_secret {
            row.client_secret_enc = app.stores.master.encrypt(secret.as_bytes(), &secret_context(id))?;
        }
        row.name = s.name;
        row.issuer = s.issuer;
        row.client_id = s.client_id;
        row.scopes = s.scopes.join(" ");
        row.domains = s.domains.join(" ");
        row.link_rule = s.link.as_str().into();
        row.signup = s.signup;
        row.trust_upstream_mfa = s.trust_upstream_mfa;
        row.upstream_logout = s.upstream_logout;
        let stored = row.clone();
        if !app.stores.db.run(move |c| repo::update(c, &stored)).await? {
            return Err(AppError::NotFound("provider"));
        }
        app.upstreams.forget(id);
        app.oauth.record(&self.actor.audited(), SecurityEvent::ProviderUpdated { provider: id.into() }).await;
        to_provider(row)
    }

    /// A disabled provider signs nobody in (its button goes; a flow under
    /// way is refused at the callback); links to it stay for when it is
    /// enabled again.
    pub async fn set_provider_disabled(&self, id: &str, disabled: bool) -> Result<(), AppError> {
        let app = self.app;
        let (key, at) = (id.to_string(), disabled.then(|| app.clock.now()));
        if !app.stores.db.run(move |c| repo::set_disabled(c, &key, at)).await? {
            return Err(AppError::NotFound("provider"));
        }
        let provider = id.to_string();
        app.oauth.record(&self.actor.audited(), if disabled { SecurityEvent::ProviderDisabled { provider } } else { SecurityEvent::ProviderEnabled { provider } }).await;
        Ok(())
    }

    /// Removes a provider and every link to it.
    pub async fn remove_provider(&self, id: &str) -> Result<(), AppError> {
        let app = self.app;
        let key = id.to_string();
        if !app.stores.db.run(move |c| repo::remove(c, &key)).await? {
            return Err(AppError::NotFound("provider"));
        }
        app.upstreams.forget(id);
        app.oauth.record(&self.actor.audited(), SecurityEvent::ProviderRemoved { provider: id.into() }).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ProviderSettings {
        ProviderSettings {
            name: "Corp SSO".into(),
            kind: ProviderKind::Oidc,
            issuer: "https://id.corp.example/".into(),
            client_id: "latchkey".into(),
            client_secret: Some("s3cret".into()),
            scopes: vec![],
            domains: vec!["Corp.Example".into(), "@corp.example".into()],
            link: LinkRule::ExistingSignIn,
            signup: false,
            trust_upstream_mfa: false,
            upstream_logout: false,
        }
    }

    #[test]
    fn names_become_ids_for_the_callback_url() {
        assert_eq!(slug("Corp SSO"), "corp-sso");
        assert_eq!(slug("  Google / Workspace!! "), "google-workspace");
        assert_eq!(slug("ÆØÅ"), "");
        assert_eq!(slug(&"x".repeat(100)).len(), MAX_ID_CHARS);
    }

    #[test]
    fn settings_are_normalised_and_unsafe_ones_refused() {
        for pattern in [rules::NAME, rules::ISSUER, rules::CLIENT_ID, rules::CLIENT_SECRET, rules::SCOPE, rules::DOMAIN] {
            assert!(regex::Regex::new(pattern).is_ok(), "{pattern}");
        }
        let s = check(settings()).expect("valid");
        assert_eq!(s.issuer, "https://id.corp.example/", "kept as given: it must match the provider's iss");
        assert_eq!(s.domains, vec!["corp.example".to_string()]);
        assert_eq!(s.scopes, vec!["openid", "email", "profile"]);
        assert!(check(ProviderSettings { issuer: "http://id.corp.example".into(), ..settings() }).is_err(), "plain http off localhost");
        assert!(check(ProviderSettings { issuer: "http://127.0.0.1:4000".into(), ..settings() }).is_ok());
        assert!(check(ProviderSettings { issuer: "https://id.example/?x=1".into(), ..settings() }).is_err());
        assert!(check(ProviderSettings { name: "a\u{7}b".into(), ..settings() }).is_err(), "control character");
        assert!(check(ProviderSettings { name: "!!!".into(), ..settings() }).is_err(), "no letter for an id");
        assert!(check(ProviderSettings { domains: vec!["corp example".into()], ..settings() }).is_err());
        assert!(check(ProviderSettings { domains: vec!["localhost".into()], ..settings() }).is_err());
        assert!(check(ProviderSettings { name: "Société SSO".into(), ..settings() }).is_ok(), "any letters, with an ASCII one for the id");
        assert!(check(ProviderSettings { client_id: "a b".into(), ..settings() }).is_err());
        assert!(check(ProviderSettings { scopes: vec!["x".repeat(101)], ..settings() }).is_err());
        assert!(check(ProviderSettings { issuer: "https://0".into(), ..settings() }).is_err(), "a host without a dot");
        assert!(check(ProviderSettings { scopes: vec!["email".into()], ..settings() }).expect("openid added").scopes.contains(&"openid".to_string()));
    }
}
