//! Dynamic client registration (RFC 7591) and its management (RFC 7592),
//! issue #27: clients that register themselves (agents, MCP clients, CLIs
//! installed by many users).
//!
//! The policy (`LATCHKEY_CLIENT_REGISTRATION`) is `closed` by default;
//! `token` needs an initial access token an operator minted
//! (`latchkey client registration-token`); `open` takes anyone (the web
//! layer limits it per address) but only the OpenID Connect scopes and
//! the scopes of APIs whose operator opened them to self-registered clients
//! (`self_registration`, which also holds under `token`).
//! Whatever the policy, a self-registered client gets no `admin` scope, no
//! grant but the code flow and refresh, and only redirect URIs that are
//! https, loopback (any port, RFC 8252 §7.3) or a private-use scheme; it is
//! marked as self-registered everywhere it is shown.

use latchkey_domain::{Actor, Client, ClientLinks, GrantType, Scope, ScopeSet, Secret, SecurityEvent, SigningAlg};
use latchkey_store::repo::{clients as client_repo, registration_tokens};
use latchkey_token::crypto::{random_token, KeyPurpose};
use serde::{Deserialize, Serialize};

use crate::directory::clients::{self as directory, validate_links, validate_redirect_uri, NewClient};
use crate::{App, AppError};

/// Registration access tokens (RFC 7592) carry this prefix for secret scanners.
pub const REGISTRATION_TOKEN_PREFIX: &str = "lkrat_";
/// Initial access tokens (RFC 7591 §3) carry this prefix.
pub const INITIAL_TOKEN_PREFIX: &str = "lkiat_";
/// The scopes a client registered under the `open` policy may ask for.
pub const OPEN_SCOPES: [Scope; 4] = [Scope::OpenId, Scope::Profile, Scope::Email, Scope::OfflineAccess];
/// A self-registered client unused this many days is removed (the
/// default of `LATCHKEY_CLIENT_REGISTRATION_EXPIRY_DAYS`).
pub const DEFAULT_EXPIRY_DAYS: i64 = 30;
/// Longest client name.
const MAX_NAME_CHARS: usize = 100;
/// At most this many redirect URIs per client.
const MAX_REDIRECT_URIS: usize = 20;

/// Who may register a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationPolicy {
    Closed,
    /// With an initial access token.
    Token,
    /// Anyone (limited per address by the caller).
    Open,
}

impl RegistrationPolicy {
    pub fn parse(s: &str) -> Option<RegistrationPolicy> {
        match s {
            "closed" => Some(RegistrationPolicy::Closed),
            "token" => Some(RegistrationPolicy::Token),
            "open" => Some(RegistrationPolicy::Open),
            _ => None,
        }
    }
}

/// Why a registration (or its management) was refused; the web layer
/// words each as RFC 7591 §3.2.2 / RFC 6750 say.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("client registration is closed on this server")]
    Closed,
    /// The initial access token (or the registration access token) is
    /// missing, unknown, used up or expired.
    #[error("the access token is missing, invalid or expired")]
    InvalidToken,
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("{0}")]
    InvalidClientMetadata(String),
    #[error(transparent)]
    App(#[from] AppError),
}

/// RFC 7591 §2 client metadata, as sent (unknown members are ignored).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientMetadata {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub scope: Option<String>,
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
}

/// RFC 7591 §3.2.1: the registered client, as the response says it.
#[derive(Debug, Clone, Serialize)]
pub struct RegisteredClient {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_id_issued_at: i64,
    /// 0: the secret does not expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    pub registration_client_uri: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
}

fn bad_metadata(m: impl Into<String>) -> RegistrationError {
    RegistrationError::InvalidClientMetadata(m.into())
}

/// A redirect URI a self-registered client may have: https, http on a
/// loopback IP or `localhost`, or a private-use scheme in reverse-domain
/// form (RFC 8252 §7.1) — never `javascript:`, `data:` or `file:`.
fn check_redirect_uri(uri: &str) -> Result<(), RegistrationError> {
    validate_redirect_uri(uri).map_err(RegistrationError::InvalidRedirectUri)?;
    let scheme = uri.split(':').next().unwrap_or("").to_ascii_lowercase();
    let private_use = scheme.contains('.') && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !(scheme == "https" || scheme == "http" || private_use) {
        return Err(RegistrationError::InvalidRedirectUri(format!("{uri}: use https, a loopback http URI, or a private-use scheme like com.example.app:/")));
    }
    if uri.len() > 2000 || uri.chars().any(char::is_control) {
        return Err(RegistrationError::InvalidRedirectUri(format!("{uri}: too long or has control characters")));
    }
    Ok(())
}

impl App {
    fn registration_hasher(&self) -> latchkey_token::crypto::KeyedHasher {
        self.stores.master.hasher(KeyPurpose::ClientSecret)
    }

    /// Mints an initial access token (shown once): `expires_in` seconds,
    /// `uses` registrations (none: any number until it expires).
    pub async fn mint_initial_access_token(&self, expires_in: i64, uses: Option<i64>) -> Result<String, AppError> {
        let token = random_token(INITIAL_TOKEN_PREFIX);
        let hash = self.registration_hasher().hash(&format!("initial:{token}"));
        let (now, until) = (self.clock.now(), self.clock.now() + expires_in);
        self.stores.db.run(move |c| registration_tokens::insert(c, &hash, until, uses, now)).await?;
        Ok(token)
    }

    /// RFC 7591 §3: registers a client from its metadata under `policy`;
    /// `initial_token` is the bearer token of the request, if any.
    pub async fn register_client(&self, policy: RegistrationPolicy, initial_token: Option<&str>, meta: ClientMetadata) -> Result<RegisteredClient, RegistrationError> {
        match policy {
            RegistrationPolicy::Closed => return Err(RegistrationError::Closed),
            RegistrationPolicy::Token => {
                let token = initial_token.ok_or(RegistrationError::InvalidToken)?;
                let (hash, now) = (self.registration_hasher().hash(&format!("initial:{token}")), self.clock.now());
                if !self.stores.db.run(move |c| registration_tokens::spend(c, &hash, now)).await.map_err(AppError::from)? {
                    return Err(RegistrationError::InvalidToken);
                }
            }
            RegistrationPolicy::Open => {}
        }
        let new = self.new_client_from(policy, &meta).await?;
        let (client, secret) = directory::register(&self.stores.db, &self.stores.master, new, self.clock.now()).await?;
        let token = random_token(REGISTRATION_TOKEN_PREFIX);
        let (id, hash) = (client.id.0.clone(), self.registration_hasher().hash(&format!("registration:{token}")));
        self.stores.db.run(move |c| client_repo::set_registration(c, &id, &hash)).await.map_err(AppError::from)?;
        self.oauth.record(&Actor::Anonymous, SecurityEvent::ClientCreated { client: client.id.clone(), name: format!("{} (registered itself)", client.name) }).await;
        Ok(self.registered(&client, secret, Some(token), meta.token_endpoint_auth_method.as_deref()))
    }

    /// What a self-registered client's metadata becomes, checked.
    pub(crate) async fn new_client_from(&self, policy: RegistrationPolicy, m: &ClientMetadata) -> Result<NewClient, RegistrationError> {
        if m.redirect_uris.is_empty() || m.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(RegistrationError::InvalidRedirectUri(format!("1-{MAX_REDIRECT_URIS} redirect_uris are needed")));
        }
        for uri in &m.redirect_uris {
            check_redirect_uri(uri)?;
        }
        let grants = m.grant_types.clone().unwrap_or_else(|| vec!["authorization_code".into()]);
        let mut grant_types = Vec::new();
        for g in &grants {
            match GrantType::parse(g) {
                Some(t @ (GrantType::AuthorizationCode | GrantType::RefreshToken)) => grant_types.push(t),
                _ => return Err(bad_metadata(format!("grant type {g:?} is not available to self-registered clients (authorization_code, refresh_token)"))),
            }
        }
        if !grant_types.contains(&GrantType::AuthorizationCode) {
            return Err(bad_metadata("grant_types must include authorization_code"));
        }
        if m.response_types.as_ref().is_some_and(|r| r.iter().any(|t| t != "code")) {
            return Err(bad_metadata("only the response type code is supported"));
        }
        let method = m.token_endpoint_auth_method.as_deref().unwrap_or("client_secret_basic");
        let (public, private_key_jwt) = match method {
            "none" => (true, false),
            "client_secret_basic" | "client_secret_post" => (false, false),
            "private_key_jwt" => (false, true),
            other => return Err(bad_metadata(format!("token_endpoint_auth_method {other:?} is not supported"))),
        };
        if private_key_jwt && m.jwks.is_none() && m.jwks_uri.is_none() {
            return Err(bad_metadata("private_key_jwt needs jwks or jwks_uri"));
        }
        let requested = match &m.scope {
            Some(s) => ScopeSet::parse_tokens(s).map_err(|bad| bad_metadata(format!("scope: {bad:?} is not a scope token")))?,
            None => ScopeSet::parse_lenient(directory::DEFAULT_SCOPES),
        };
        if requested.contains(Scope::Admin) || requested.contains(Scope::Scim) {
            return Err(bad_metadata("the admin and scim scopes cannot be registered"));
        }
        if policy == RegistrationPolicy::Open && requested.iter().any(|s| !OPEN_SCOPES.contains(&s)) {
            return Err(bad_metadata("open registration grants only openid, profile, email, offline_access and the scopes of APIs open to self-registered clients"));
        }
        self.check_self_registered_api_scopes(&requested).await?;
        let name = m.client_name.clone().unwrap_or_else(|| "Unnamed application".into());
        let name = name.trim().to_string();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(bad_metadata(format!("client_name must be 1-{MAX_NAME_CHARS} characters without control characters")));
        }
        let links = validate_links(ClientLinks { logo_uri: m.logo_uri.clone(), policy_uri: m.policy_uri.clone(), tos_uri: m.tos_uri.clone() }).map_err(|e| bad_metadata(e.to_string()))?;
        let jwks = m.jwks.as_ref().map(|j| j.to_string());
        Ok(NewClient {
            name,
            redirect_uris: m.redirect_uris.clone(),
            post_logout_redirect_uris: vec![],
            public,
            grant_types,
            scopes: Some(requested),
            admin: false,
            id_token_alg: SigningAlg::RS256,
            backchannel_logout_uri: None,
            require_par: false,
            jwks,
            require_private_key_jwt: private_key_jwt,
            require_dpop: false,
            jwks_uri: m.jwks_uri.clone(),
            links,
        })
    }

    /// A self-registered client may ask only for the scopes of APIs whose
    /// operator opened them to such clients (`self_registration`), under
    /// every policy: an API's data is not for any app that shows up.
    pub(crate) async fn check_self_registered_api_scopes(&self, requested: &ScopeSet) -> Result<(), RegistrationError> {
        if requested.api_names().next().is_none() {
            return Ok(());
        }
        let apis = self.oauth.apis().await.map_err(AppError::from)?;
        for name in requested.api_names() {
            match apis.iter().find(|a| a.has_scope(name)) {
                Some(api) if api.self_registration => {}
                Some(_) => return Err(bad_metadata(format!("scope {name}: its API does not take self-registered clients"))),
                None => return Err(bad_metadata(format!("scope {name} is not a scope of a registered API"))),
            }
        }
        Ok(())
    }

    fn registered(&self, c: &Client, secret: Option<Secret>, token: Option<String>, method: Option<&str>) -> RegisteredClient {
        let method = match (c.secret_hash.is_some(), c.require_private_key_jwt) {
            (false, _) => "none".to_string(),
            (true, true) => "private_key_jwt".to_string(),
            (true, false) => method.filter(|m| *m == "client_secret_post").unwrap_or("client_secret_basic").to_string(),
        };
        RegisteredClient {
            client_id: c.id.0.clone(),
            client_secret_expires_at: secret.as_ref().map(|_| 0),
            client_secret: secret.map(|s| s.expose().to_string()),
            client_id_issued_at: c.created_at,
            registration_access_token: token,
            registration_client_uri: self.registration_client_uri(&c.id.0),
            client_name: c.name.clone(),
            redirect_uris: c.redirect_uris.clone(),
            grant_types: c.grant_types.iter().map(|g| g.as_str().to_string()).collect(),
            response_types: vec!["code".into()],
            token_endpoint_auth_method: method,
            scope: c.allowed_scopes.to_string(),
            logo_uri: c.links.logo_uri.clone(),
            policy_uri: c.links.policy_uri.clone(),
            tos_uri: c.links.tos_uri.clone(),
            jwks_uri: c.jwks_uri.clone(),
        }
    }

    /// Removes self-registered clients unused for `max_idle_days` (no
    /// consent, no refresh in that time), revoking what was issued to them;
    /// a reaped client then gets `invalid_client` and registers again.
    /// Returns how many went. Every node runs it in its upkeep.
    pub async fn reap_unused_registrations(&self, max_idle_days: i64) -> Result<usize, AppError> {
        let cutoff = self.clock.now() - max_idle_days * 86_400;
        let unused = self.stores.db.run(move |c| client_repo::unused_self_registered(c, cutoff)).await?;
        for id in &unused {
            self.oauth.revoke_client_grants(id, None, &Actor::System, "unused self-registered client expired").await?;
            directory::remove(&self.stores.db, id).await?;
            self.oauth.record(&Actor::System, SecurityEvent::ClientDeleted { client: latchkey_domain::ClientId(id.clone()) }).await;
        }
        if !unused.is_empty() {
            self.oauth.forget_cached_clients();
        }
        Ok(unused.len())
    }

    /// Where a self-registered client reads and deletes its registration.
    pub fn registration_client_uri(&self, client_id: &str) -> String {
        format!("{}/register/{client_id}", self.issuer.trim_end_matches('/'))
    }

    /// The self-registered client `client_id`, if `token` is its
    /// registration access token (compared in constant time).
    async fn registered_client(&self, client_id: &str, token: Option<&str>) -> Result<Client, RegistrationError> {
        let token = token.ok_or(RegistrationError::InvalidToken)?;
        let id = client_id.to_string();
        let stored = self.stores.db.run(move |c| client_repo::registration_token_hash(c, &id)).await.map_err(AppError::from)?;
        let Some(stored) = stored else { return Err(RegistrationError::InvalidToken) };
        if !self.registration_hasher().verify(&format!("registration:{token}"), &stored) {
            return Err(RegistrationError::InvalidToken);
        }
        self.oauth.client(client_id).await.map_err(AppError::from)?.ok_or(RegistrationError::InvalidToken)
    }

    /// RFC 7592 §2.1: the registration as it stands (no secret, no token).
    pub async fn read_registration(&self, client_id: &str, token: Option<&str>) -> Result<RegisteredClient, RegistrationError> {
        let client = self.registered_client(client_id, token).await?;
        Ok(self.registered(&client, None, None, None))
    }

    /// RFC 7592 §2.2: the client replaces its metadata (all of it; what it
    /// leaves out is reset). The rules of registration hold; what would
    /// change the client's kind (its authentication method, its grants) or
    /// widen its API scopes is refused: register again for that.
    pub async fn update_registration(
        &self,
        policy: RegistrationPolicy,
        client_id: &str,
        token: Option<&str>,
        meta: ClientMetadata,
        body_client_id: Option<&str>,
    ) -> Result<RegisteredClient, RegistrationError> {
        let client = self.registered_client(client_id, token).await?;
        if body_client_id != Some(client_id) {
            return Err(bad_metadata("the body's client_id must be the client's"));
        }
        let new = self.new_client_from(policy, &meta).await?;
        if new.public != client.secret_hash.is_none() || new.require_private_key_jwt != client.require_private_key_jwt {
            return Err(bad_metadata("token_endpoint_auth_method cannot change; register a new client"));
        }
        let mut grants_now = client.grant_types.clone();
        let mut grants_asked = new.grant_types.clone();
        grants_now.sort_by_key(|g| g.as_str());
        grants_asked.sort_by_key(|g| g.as_str());
        if grants_now != grants_asked {
            return Err(bad_metadata("grant_types cannot change; register a new client"));
        }
        let scopes = new.scopes.clone().unwrap_or_default();
        if scopes.api_names().any(|a| !client.allowed_scopes.contains_api(a)) {
            return Err(bad_metadata("new API scopes need a new registration"));
        }
        let update = directory::ClientUpdate { name: new.name.clone(), redirect_uris: new.redirect_uris.clone(), post_logout_redirect_uris: vec![], backchannel_logout_uri: None };
        directory::update(&self.stores.db, client_id, update).await?;
        let links = directory::LinksUpdate {
            logo_uri: Some(new.links.logo_uri.clone().unwrap_or_default()),
            policy_uri: Some(new.links.policy_uri.clone().unwrap_or_default()),
            tos_uri: Some(new.links.tos_uri.clone().unwrap_or_default()),
        };
        directory::update_links(&self.stores.db, client_id, links).await?;
        let (id, scope_text) = (client_id.to_string(), scopes.to_string());
        self.stores.db.run(move |c| client_repo::set_scopes(c, &id, &scope_text)).await.map_err(AppError::from)?;
        self.oauth.forget_cached_clients();
        let change = latchkey_domain::ClientChange::Settings {
            name_before: client.name.clone(),
            name: new.name.clone(),
            redirect_uris_before: client.redirect_uris.clone(),
            redirect_uris: new.redirect_uris.clone(),
        };
        self.oauth.record(&Actor::Anonymous, SecurityEvent::ClientUpdated { client: client.id.clone(), change }).await;
        let updated = self.oauth.client(client_id).await.map_err(AppError::from)?.ok_or(RegistrationError::InvalidToken)?;
        Ok(self.registered(&updated, None, None, meta.token_endpoint_auth_method.as_deref()))
    }

    /// RFC 7592 §2.3: the client deregisters; what was issued to it is
    /// revoked first.
    pub async fn delete_registration(&self, client_id: &str, token: Option<&str>) -> Result<(), RegistrationError> {
        let client = self.registered_client(client_id, token).await?;
        let actor = crate::admin::Actor::Token { client: client.id.0.clone(), subject: client.id.0.clone() };
        self.admin(actor).delete_client(&client.id.0).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_a_self_registered_client_may_have() {
        for ok in ["https://app.example/cb", "http://127.0.0.1/cb", "http://[::1]:8080/cb", "http://localhost:3000/cb", "com.example.app:/oauth"] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in ["javascript:alert(1)", "data:text/html,hi", "file:///etc/passwd", "http://app.example/cb", "myapp:/cb", "https://app.example/cb#frag", "not a uri"] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }
}
