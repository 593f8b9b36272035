//! The client directory: registering clients and changing their settings
//! (the console, the admin API and the CLI, through `crate::admin`).

use latchkey_domain::client::{check_exchange_entry, MAX_EXCHANGE_AUDIENCE_CHARS, MAX_MAY_ACT_ID_CHARS, MAX_TOKEN_EXCHANGE_ENTRIES};
use latchkey_domain::{Client, ClientId, ClientKind, ClientLinks, GrantType, Scope, ScopeSet, Secret, SigningAlg, TokenExchangePolicy};
use latchkey_store::repo::clients as client_repo;
use latchkey_store::Db;
use latchkey_token::crypto::{random_token, KeyPurpose};
use latchkey_token::MasterKey;

use latchkey_oauth::client_keys::validate_jwks;

use crate::AppError;

/// Client secrets carry this prefix so secret scanners can spot leaked ones.
/// NEVER CHANGE IT: scanners and existing deployments match on it.
pub const CLIENT_SECRET_PREFIX: &str = "lks_";

#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub public: bool,
    pub grant_types: Vec<GrantType>,
    pub scopes: Option<ScopeSet>,
    pub admin: bool,
    pub id_token_alg: SigningAlg,
    pub backchannel_logout_uri: Option<String>,
    /// RFC 9126 §5: authorization requests only through `/par`.
    pub require_par: bool,
    /// private_key_jwt: the client's public keys (a JWK Set, JSON).
    pub jwks: Option<String>,
    /// Only private_key_jwt authenticates this client.
    pub require_private_key_jwt: bool,
    /// RFC 9449: only DPoP-bound tokens for this client.
    pub require_dpop: bool,
    /// private_key_jwt: where the client publishes its JWK Set.
    pub jwks_uri: Option<String>,
    /// Logo, privacy policy and terms of service shown on the consent page.
    pub links: ClientLinks,
}

/// Checks a redirect URI: absolute, no fragment (RFC 6749 §3.1.2); `http` only
/// for loopback hosts (RFC 8252 §7.3) — everything else must be `https` or a
/// private-use scheme for native apps.
pub fn validate_redirect_uri(uri: &str) -> Result<(), String> {
    let u = url::Url::parse(uri).map_err(|e| format!("{uri}: not an absolute URI ({e})"))?;
    if u.fragment().is_some() {
        return Err(format!("{uri}: must not contain a fragment"));
    }
    if u.scheme() == "http" {
        let host = u.host_str().unwrap_or("");
        if !(host == "localhost" || host == "127.0.0.1" || host == "[::1]") {
            return Err(format!("{uri}: http is only allowed for localhost; use https"));
        }
    }
    Ok(())
}

/// Builds a client and, for confidential clients, its secret (returned once).
pub fn build_client(new: NewClient, master: &MasterKey, now: i64) -> Result<(Client, Option<Secret>), AppError> {
    if new.name.trim().is_empty() {
        return Err(invalid("a client needs a name"));
    }
    for uri in new.redirect_uris.iter().chain(&new.post_logout_redirect_uris).chain(&new.backchannel_logout_uri) {
        validate_redirect_uri(uri).map_err(invalid)?;
    }
    let mut grant_types = new.grant_types.clone();
    if grant_types.is_empty() {
        grant_types = if new.admin { vec![GrantType::ClientCredentials] } else { vec![GrantType::AuthorizationCode, GrantType::RefreshToken] };
    }
    if grant_types.contains(&GrantType::AuthorizationCode) && new.redirect_uris.is_empty() {
        return Err(invalid("the authorization_code grant needs at least one --redirect-uri"));
    }
    if grant_types.contains(&GrantType::TokenExchange) {
        return Err(invalid("token exchange is not a grant type to list: allow it with the client's token exchange audiences (--token-exchange-to, token_exchange_to)"));
    }
    let links = validate_links(new.links)?;
    let jwks = new.jwks.as_deref().map(validate_jwks).transpose().map_err(AppError::Invalid)?;
    let jwks_uri = new.jwks_uri.as_deref().map(validate_jwks_uri).transpose()?;
    if jwks.is_some() && jwks_uri.is_some() {
        return Err(invalid("register keys (--jwks-file) or where to fetch them (--jwks-uri), not both"));
    }
    if new.require_private_key_jwt && jwks.is_none() && jwks_uri.is_none() {
        return Err(invalid("private_key_jwt needs registered keys (--jwks-file or --jwks-uri)"));
    }
    if new.public && new.require_private_key_jwt {
        return Err(invalid("a public client has no credentials; private_key_jwt makes it confidential (leave out --public)"));
    }
    if new.public && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(invalid("public clients cannot use client_credentials"));
    }
    if new.public && new.admin {
        return Err(invalid("an admin client must be confidential"));
    }
    if !new.admin && new.scopes.as_ref().is_some_and(|s| s.contains(Scope::Admin)) {
        return Err(invalid("the admin scope is only for admin clients (--admin)"));
    }
    let mut scopes = new.scopes.unwrap_or_else(|| ScopeSet::parse_lenient(DEFAULT_SCOPES));
    if new.admin {
        scopes = scopes.union(&ScopeSet::from_iter([Scope::Admin]));
    }
    let secret = (!new.public).then(|| Secret::new(random_token(CLIENT_SECRET_PREFIX)));
    let client = Client {
        id: ClientId(uuid::Uuid::new_v4().to_string()),
        name: new.name,
        secret_hash: secret.as_ref().map(|s| master.hasher(KeyPurpose::ClientSecret).hash(s.expose())),
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        grant_types,
        allowed_scopes: scopes,
        admin: new.admin,
        id_token_alg: new.id_token_alg,
        created_at: now,
        backchannel_logout_uri: new.backchannel_logout_uri,
        disabled_at: None,
        require_par: new.require_par,
        jwks,
        require_private_key_jwt: new.require_private_key_jwt,
        require_dpop: new.require_dpop,
        jwks_uri,
        links,
        self_registered: false,
        token_exchange: Default::default(),
    };
    Ok((client, secret))
}

/// A refusal of what the admin typed.
fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid(message.into())
}

/// Turns a client form or body into a [`NewClient`].
#[allow(clippy::too_many_arguments)] // the form's fields, as the console and the admin API send them
pub fn new_client(
    name: String,
    redirect_uris: Vec<String>,
    post_logout: Vec<String>,
    public: bool,
    grants: &[String],
    scope: Option<&str>,
    backchannel: Option<String>,
    alg: Option<&str>,
) -> Result<NewClient, AppError> {
    let grant_types = grants.iter().map(|g| GrantType::parse(g).ok_or_else(|| invalid(format!("unknown grant type {g}")))).collect::<Result<Vec<_>, _>>()?;
    let scopes = match scope.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(ScopeSet::parse_tokens(s).map_err(|bad| invalid(format!("malformed scope {bad}")))?),
        None => None,
    };
    let id_token_alg = match alg {
        Some(a) => SigningAlg::parse(a).ok_or_else(|| invalid("id_token_alg must be RS256, ES256 or EdDSA"))?,
        None => SigningAlg::RS256,
    };
    Ok(NewClient {
        name,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        public,
        grant_types,
        scopes,
        admin: false,
        id_token_alg,
        backchannel_logout_uri: backchannel.filter(|b| !b.is_empty()),
        require_par: false,
        jwks: None,
        require_private_key_jwt: false,
        require_dpop: false,
        jwks_uri: None,
        links: Default::default(),
    })
}

/// What a client may ask for when nobody says otherwise.
pub const DEFAULT_SCOPES: &str = "openid profile email offline_access";

/// Every API scope of `scopes` must be registered.
async fn check_api_scopes(db: &Db, scopes: &ScopeSet) -> Result<(), AppError> {
    if scopes.api_names().next().is_none() {
        return Ok(());
    }
    let apis = db.run(latchkey_store::repo::apis::list).await?;
    match scopes.api_names().find(|n| latchkey_oauth::apis::owner_of(&apis, n).is_none()) {
        Some(unknown) => Err(invalid(format!("unknown scope {unknown} (register it with `latchkey api add` or `api scope add`)"))),
        None => Ok(()),
    }
}

/// Registers a client: validates it, stores it, and returns the secret once.
pub async fn register(db: &Db, master: &MasterKey, new: NewClient, now: i64) -> Result<(Client, Option<Secret>), AppError> {
    let (client, secret) = build_client(new, master, now)?;
    check_api_scopes(db, &client.allowed_scopes).await?;
    let c = client.clone();
    db.run(move |conn| client_repo::insert(conn, &c)).await?;
    Ok((client, secret))
}

/// Replaces the API scopes a client may be granted (its OIDC scopes stay).
pub async fn set_api_scopes(db: &Db, client_id: &str, names: &[String]) -> Result<Client, AppError> {
    let id = client_id.to_string();
    let client = db.run(move |c| client_repo::find(c, &id)).await?.ok_or(AppError::NotFound("client"))?;
    let scopes = client.allowed_scopes.oidc_only().union(&ScopeSet::from_api_names(names.iter().map(String::as_str)));
    if scopes.api_names().count() != names.iter().collect::<std::collections::BTreeSet<_>>().len() {
        return Err(invalid("an API scope name is malformed or an OpenID Connect scope"));
    }
    check_api_scopes(db, &scopes).await?;
    let (id, text) = (client.id.0.clone(), scopes.to_string());
    db.run(move |c| client_repo::set_scopes(c, &id, &text)).await?;
    Ok(Client { allowed_scopes: scopes, ..client })
}

/// Requires (or not) that a client push its authorization requests (RFC 9126 §5).
pub async fn set_require_par(db: &Db, client_id: &str, required: bool) -> Result<(), AppError> {
    let id = client_id.to_string();
    if !db.run(move |c| client_repo::set_require_par(c, &id, required)).await? {
        return Err(AppError::NotFound("client"));
    }
    Ok(())
}

/// Checks the URL a client publishes its keys at: https (http only on a
/// loopback host, for development), no credentials or fragment in it.
pub fn validate_jwks_uri(uri: &str) -> Result<String, AppError> {
    let u = url::Url::parse(uri).map_err(|_| invalid("jwks_uri is not an absolute URL"))?;
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !(u.scheme() == "https" || (u.scheme() == "http" && loopback)) {
        return Err(invalid("jwks_uri must be https (http only for localhost)"));
    }
    if !u.username().is_empty() || u.password().is_some() || u.fragment().is_some() || uri.len() > 2048 {
        return Err(invalid("jwks_uri must not carry credentials or a fragment, and at most 2,048 characters"));
    }
    Ok(u.to_string())
}

/// Longest URL a page shows or a client registers for it.
pub const MAX_DISPLAY_URI_CHARS: usize = 2048;

/// Checks a URL that pages link to or load (a client's logo, policy and terms,
/// the brand's logo): `https://` (or `http://` on a loopback host, for
/// development), a DNS name or loopback host, an optional port, then only
/// unreserved, sub-delim and `%:@/?` characters: no credentials, fragment,
/// space or quote, and so no `javascript:` or `data:`. The admin API's
/// OpenAPI pattern says the same. The error names `field`.
pub fn checked_https_uri(field: &str, uri: &str) -> Result<String, String> {
    let refused = || format!("{field} must be an https URL (http only for localhost) without credentials, fragment or spaces, at most {MAX_DISPLAY_URI_CHARS} characters");
    let (rest, loopback_only) = match (uri.strip_prefix("https://"), uri.strip_prefix("http://")) {
        (Some(rest), _) => (rest, false),
        (_, Some(rest)) => (rest, true),
        _ => return Err(refused()),
    };
    let host_end = if rest.starts_with("[::1]") { "[::1]".len() } else { rest.find([':', '/', '?']).unwrap_or(rest.len()) };
    let (host, tail) = rest.split_at(host_end);
    let host_ok = if loopback_only { matches!(host, "localhost" | "127.0.0.1" | "[::1]") } else { is_dns_name(host) || host == "[::1]" };
    let tail = match tail.strip_prefix(':') {
        Some(t) => {
            let digits = t.find(['/', '?']).unwrap_or(t.len());
            let port = &t[..digits];
            // 1-4 digits, or 5 without a leading zero up to 65535 (the OpenAPI pattern's words).
            let five = digits == 5 && !port.starts_with('0') && port.parse::<u32>().is_ok_and(|p| p <= 65535);
            if !port.bytes().all(|b| b.is_ascii_digit()) || !((1..=4).contains(&digits) || five) {
                return Err(refused());
            }
            &t[digits..]
        }
        None => tail,
    };
    let path_ok = tail.is_empty() || (tail.starts_with(['/', '?']) && tail.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b)));
    if uri.len() > MAX_DISPLAY_URI_CHARS || !host_ok || !path_ok {
        return Err(refused());
    }
    url::Url::parse(uri).map(|u| u.to_string()).map_err(|_| refused())
}

/// Dot-separated labels of letters, digits and single inner hyphens, the last
/// starting with a letter (so never an IPv4 number or a punycode `xn--` label).
fn is_dns_name(host: &str) -> bool {
    let label_ok = |l: &str| !l.is_empty() && l.split('-').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()));
    let last_ok = host.rsplit('.').next().is_some_and(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()));
    last_ok && host.split('.').all(label_ok)
}

/// Checks a client's logo, policy and terms URLs; an empty one is none.
pub fn validate_links(links: ClientLinks) -> Result<ClientLinks, AppError> {
    let check = |field: &str, v: Option<String>| -> Result<Option<String>, AppError> { v.filter(|u| !u.is_empty()).map(|u| checked_https_uri(field, &u).map_err(invalid)).transpose() };
    Ok(ClientLinks { logo_uri: check("logo_uri", links.logo_uri)?, policy_uri: check("policy_uri", links.policy_uri)?, tos_uri: check("tos_uri", links.tos_uri)? })
}

/// A change of some of a client's links: `None` keeps one, `Some("")` removes it.
#[derive(Debug, Clone, Default)]
pub struct LinksUpdate {
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
}

impl LinksUpdate {
    pub fn is_empty(&self) -> bool {
        self.logo_uri.is_none() && self.policy_uri.is_none() && self.tos_uri.is_none()
    }

    /// Checks the new values alone (before anything else of the client changes).
    pub fn check(&self) -> Result<(), AppError> {
        validate_links(ClientLinks { logo_uri: self.logo_uri.clone(), policy_uri: self.policy_uri.clone(), tos_uri: self.tos_uri.clone() }).map(|_| ())
    }
}

/// Changes some of a client's logo, policy and terms URLs (checked as at registration).
pub async fn update_links(db: &Db, client_id: &str, change: LinksUpdate) -> Result<ClientLinks, AppError> {
    let id = client_id.to_string();
    let current = db.run(move |c| client_repo::find(c, &id)).await?.ok_or(AppError::NotFound("client"))?.links;
    let links = validate_links(ClientLinks { logo_uri: change.logo_uri.or(current.logo_uri), policy_uri: change.policy_uri.or(current.policy_uri), tos_uri: change.tos_uri.or(current.tos_uri) })?;
    let (id, stored) = (client_id.to_string(), links.clone());
    if !db.run(move |c| client_repo::set_links(c, &id, &stored)).await? {
        return Err(AppError::NotFound("client"));
    }
    Ok(links)
}

/// Sets (or clears) where a client publishes its keys.
pub async fn set_jwks_uri(db: &Db, client_id: &str, uri: Option<&str>) -> Result<(), AppError> {
    let uri = uri.map(validate_jwks_uri).transpose()?;
    let id = client_id.to_string();
    if !db.run(move |c| client_repo::set_jwks_uri(c, &id, uri.as_deref())).await? {
        return Err(AppError::NotFound("client"));
    }
    Ok(())
}

/// Requires (or not) that every token of a client be DPoP-bound (RFC 9449).
/// Changes the algorithm of a client's ID tokens (e.g. to RS256 for a
/// relying party whose JOSE library lacks EdDSA), without re-registering it.
pub async fn set_id_token_alg(db: &Db, client_id: &str, alg: SigningAlg) -> Result<(), AppError> {
    let id = client_id.to_string();
    if !db.run(move |c| client_repo::set_id_token_alg(c, &id, alg.as_str())).await? {
        return Err(AppError::NotFound("client"));
    }
    Ok(())
}

pub async fn set_require_dpop(db: &Db, client_id: &str, required: bool) -> Result<(), AppError> {
    let id = client_id.to_string();
    if !db.run(move |c| client_repo::set_require_dpop(c, &id, required)).await? {
        return Err(AppError::NotFound("client"));
    }
    Ok(())
}

/// Registers (or replaces, for rotation) a client's keys and whether it must
/// authenticate with them (its keys registered here or at its jwks_uri).
pub async fn set_keys(db: &Db, client_id: &str, jwks: Option<&str>, required: bool) -> Result<(), AppError> {
    let jwks = jwks.map(validate_jwks).transpose().map_err(AppError::Invalid)?;
    if required && jwks.is_none() {
        let id = client_id.to_string();
        let has_uri = db.run(move |c| client_repo::find(c, &id)).await?.ok_or(AppError::NotFound("client"))?.jwks_uri.is_some();
        if !has_uri {
            return Err(invalid("private_key_jwt needs registered keys or a jwks_uri"));
        }
    }
    let id = client_id.to_string();
    if !db.run(move |c| client_repo::set_keys(c, &id, jwks.as_deref(), required)).await? {
        return Err(AppError::NotFound("client"));
    }
    Ok(())
}

/// A change of a client's token exchange policy (RFC 8693): `None` keeps a
/// part, an empty list clears one.
#[derive(Debug, Clone, Default)]
pub struct TokenExchangeUpdate {
    /// The API audiences the client may exchange tokens into (replaces the list).
    pub to: Option<Vec<String>>,
    /// Whether the client may impersonate (a token without `act`).
    pub impersonation: Option<bool>,
    /// The clients that may act with this client's tokens (replaces the list).
    pub may_act: Option<Vec<String>>,
}

impl TokenExchangeUpdate {
    pub fn is_empty(&self) -> bool {
        self.to.is_none() && self.impersonation.is_none() && self.may_act.is_none()
    }

    /// The policy `current` becomes, checked for a client that is `public` or not.
    pub fn apply(&self, current: &TokenExchangePolicy, public: bool) -> Result<TokenExchangePolicy, AppError> {
        let policy = TokenExchangePolicy {
            to: self.to.clone().unwrap_or_else(|| current.to.clone()),
            impersonation: self.impersonation.unwrap_or(current.impersonation),
            may_act: self.may_act.clone().unwrap_or_else(|| current.may_act.clone()),
        };
        checked_token_exchange(policy, public)
    }
}

/// Checks a token exchange policy: at most [`MAX_TOKEN_EXCHANGE_ENTRIES`]
/// audiences and actors, each printable ASCII without spaces (the admin
/// API's schema says the same), repeats dropped; only a confidential client
/// may exchange tokens or impersonate. Whether the audiences and clients
/// exist is not checked: the registry decides at each exchange.
pub fn checked_token_exchange(policy: TokenExchangePolicy, public: bool) -> Result<TokenExchangePolicy, AppError> {
    let dedup = |list: Vec<String>| {
        let mut out: Vec<String> = Vec::new();
        for v in list {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    };
    // Counted as given (the admin API's maxItems), then repeats dropped.
    if policy.to.len() > MAX_TOKEN_EXCHANGE_ENTRIES || policy.may_act.len() > MAX_TOKEN_EXCHANGE_ENTRIES {
        return Err(invalid(format!("at most {MAX_TOKEN_EXCHANGE_ENTRIES} token exchange audiences and {MAX_TOKEN_EXCHANGE_ENTRIES} actors")));
    }
    let (to, may_act) = (dedup(policy.to), dedup(policy.may_act));
    for aud in &to {
        check_exchange_entry("a token exchange audience", aud, MAX_EXCHANGE_AUDIENCE_CHARS).map_err(invalid)?;
    }
    for id in &may_act {
        check_exchange_entry("a may_act client id", id, MAX_MAY_ACT_ID_CHARS).map_err(invalid)?;
    }
    if public && (!to.is_empty() || policy.impersonation) {
        return Err(invalid("a public client cannot exchange tokens (it has no credentials to prove who acts)"));
    }
    Ok(TokenExchangePolicy { to, impersonation: policy.impersonation, may_act })
}

/// Checks a change of a client's token exchange policy without making it
/// (before anything else of the client changes); `NotFound` without the client.
pub async fn check_token_exchange_update(db: &Db, client_id: &str, change: &TokenExchangeUpdate) -> Result<TokenExchangePolicy, AppError> {
    let id = client_id.to_string();
    let client = db.run(move |c| client_repo::find(c, &id)).await?.ok_or(AppError::NotFound("client"))?;
    change.apply(&client.token_exchange, client.kind() == ClientKind::Public)
}

/// Changes a client's token exchange policy; returns it as it now is.
pub async fn update_token_exchange(db: &Db, client_id: &str, change: TokenExchangeUpdate) -> Result<TokenExchangePolicy, AppError> {
    let policy = check_token_exchange_update(db, client_id, &change).await?;
    let (id, stored) = (client_id.to_string(), policy.clone());
    if !db.run(move |c| client_repo::set_token_exchange(c, &id, &stored)).await? {
        return Err(AppError::NotFound("client"));
    }
    Ok(policy)
}

/// What an admin may change of a client after registration.
pub struct ClientUpdate {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
}

/// Changes a client's name and URIs (validated like at registration).
pub async fn update(db: &Db, client_id: &str, u: ClientUpdate) -> Result<(), AppError> {
    if u.name.trim().is_empty() {
        return Err(invalid("a client needs a name"));
    }
    for uri in u.redirect_uris.iter().chain(&u.post_logout_redirect_uris).chain(&u.backchannel_logout_uri) {
        validate_redirect_uri(uri).map_err(invalid)?;
    }
    let id = client_id.to_string();
    let client = db.run(move |c| client_repo::find(c, &id)).await?.ok_or(AppError::NotFound("client"))?;
    if client.allows_grant(GrantType::AuthorizationCode) && u.redirect_uris.is_empty() {
        return Err(invalid("the authorization_code grant needs at least one redirect URI"));
    }
    let id = client_id.to_string();
    db.run(move |c| client_repo::update(c, &id, u.name.trim(), &u.redirect_uris, &u.post_logout_redirect_uris, u.backchannel_logout_uri.as_deref())).await?;
    Ok(())
}

pub async fn list(db: &Db) -> Result<Vec<Client>, AppError> {
    Ok(db.run(client_repo::list).await?)
}

/// Removes a client; `false` when there was none with that id.
pub async fn remove(db: &Db, id: &str) -> Result<bool, AppError> {
    let id = id.to_string();
    Ok(db.run(move |conn| client_repo::remove(conn, &id)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(public: bool) -> NewClient {
        NewClient {
            name: "App".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            public,
            grant_types: vec![],
            scopes: None,
            admin: false,
            id_token_alg: SigningAlg::RS256,
            backchannel_logout_uri: None,
            require_par: false,
            jwks: None,
            require_private_key_jwt: false,
            require_dpop: false,
            jwks_uri: None,
            links: ClientLinks::default(),
        }
    }

    #[test]
    fn confidential_gets_a_prefixed_secret_stored_hashed() -> Result<(), AppError> {
        let m = MasterKey::generate()?;
        let (c, s) = build_client(new(false), &m, 0)?;
        let (Some(s), Some(stored)) = (s, c.secret_hash) else { panic!("a confidential client has a secret and its hash") };
        assert!(s.expose().starts_with(CLIENT_SECRET_PREFIX));
        assert!(!stored.contains(s.expose()));
        assert!(m.hasher(KeyPurpose::ClientSecret).verify(s.expose(), &stored));
        Ok(())
    }

    #[test]
    fn public_has_no_secret() -> Result<(), AppError> {
        let m = MasterKey::generate()?;
        let (c, s) = build_client(new(true), &m, 0)?;
        assert!(s.is_none() && c.secret_hash.is_none());
        Ok(())
    }

    #[test]
    fn token_exchange_policies_are_checked() {
        let policy = |to: &[&str], impersonation: bool, may_act: &[&str]| TokenExchangePolicy {
            to: to.iter().map(|s| s.to_string()).collect(),
            impersonation,
            may_act: may_act.iter().map(|s| s.to_string()).collect(),
        };
        let ok = checked_token_exchange(policy(&["https://a", "https://a", "https://b"], false, &["agent"]), false);
        assert_eq!(ok.ok().map(|p| p.to), Some(vec!["https://a".to_string(), "https://b".to_string()]), "repeats dropped, order kept");
        assert!(checked_token_exchange(policy(&["https://a"], false, &[]), true).is_err(), "a public client cannot exchange");
        assert!(checked_token_exchange(policy(&[], true, &[]), true).is_err(), "nor impersonate");
        assert!(checked_token_exchange(policy(&[], false, &["agent"]), true).is_ok(), "but others may act with its tokens");
        assert!(checked_token_exchange(policy(&["has space"], false, &[]), false).is_err());
        assert!(checked_token_exchange(policy(&[], false, &["ctl\u{1}"]), false).is_err());
        let many: Vec<String> = (0..=MAX_TOKEN_EXCHANGE_ENTRIES).map(|i| format!("https://api{i}")).collect();
        assert!(checked_token_exchange(TokenExchangePolicy { to: many, ..Default::default() }, false).is_err());
        let repeated = vec!["https://a".to_string(); MAX_TOKEN_EXCHANGE_ENTRIES + 1];
        assert!(checked_token_exchange(TokenExchangePolicy { may_act: repeated, ..Default::default() }, false).is_err(), "counted as given, like the schema's maxItems");
        let change = TokenExchangeUpdate { impersonation: Some(true), ..Default::default() };
        let now = change.apply(&policy(&["https://a"], false, &["agent"]), false);
        assert_eq!(now.ok(), Some(policy(&["https://a"], true, &["agent"])), "what is not named stays");
        assert!(build_client(NewClient { grant_types: vec![GrantType::TokenExchange], ..new(false) }, &MasterKey::generate().expect("key"), 0).is_err(), "not a grant type to list");
    }

    #[test]
    fn redirect_uri_rules() -> Result<(), AppError> {
        assert!(validate_redirect_uri("https://a.example/cb").is_ok());
        assert!(validate_redirect_uri("http://localhost:3000/cb").is_ok());
        assert!(validate_redirect_uri("http://a.example/cb").is_err());
        assert!(validate_redirect_uri("https://a.example/cb#x").is_err());
        assert!(validate_redirect_uri("/relative").is_err());
        assert!(validate_redirect_uri("com.example.app:/cb").is_ok());
        Ok(())
    }

    #[test]
    fn the_admin_scope_needs_an_admin_client() -> Result<(), AppError> {
        let m = MasterKey::generate()?;
        let asks_admin = NewClient { scopes: Some(ScopeSet::parse_lenient("openid admin")), ..new(false) };
        assert!(build_client(asks_admin, &m, 0).is_err(), "--scope admin without --admin is refused");
        let (admin, _) = build_client(NewClient { admin: true, ..new(false) }, &m, 0)?;
        assert!(admin.allowed_scopes.contains(Scope::Admin));
        Ok(())
    }

    proptest::proptest! {
        /// Any string: never a panic; what is accepted is an absolute URI
        /// without a fragment, and plain http only on a loopback host.
        #[test]
        fn redirect_uri_check_never_panics_and_holds_its_rules(uri in "(https?|myapp)://[a-z0-9.:\\[\\]@-]{0,30}(/[a-z0-9#?=&%.-]{0,30})?|\\PC{0,80}") {
            if validate_redirect_uri(&uri).is_ok() {
                let u = url::Url::parse(&uri).expect("accepted means parseable");
                proptest::prop_assert!(u.fragment().is_none());
                if u.scheme() == "http" {
                    proptest::prop_assert!(matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")), "{}", uri);
                }
            }
        }
    }

    #[test]
    fn display_uris_are_https_and_plain() {
        let ok = |u: &str| checked_https_uri("logo_uri", u);
        assert_eq!(ok("https://cdn.app.example/logo.png").ok().as_deref(), Some("https://cdn.app.example/logo.png"));
        assert!(ok("https://app.example:8443/legal/privacy?lang=en").is_ok());
        assert!(ok("https://app.example:65535/x").is_ok() && ok("http://localhost:41234/logo.svg").is_ok(), "five-digit ports");
        assert!(ok("https://app.example:65536/x").is_err() && ok("https://app.example:08080/x").is_err() && ok("https://app.example:123456/x").is_err());
        assert!(ok("http://localhost:8080/logo.svg").is_ok() && ok("http://127.0.0.1/x").is_ok() && ok("http://[::1]:8080/x").is_ok(), "http on loopback");
        for bad in [
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "http://app.example/logo.png",
            "ftp://app.example/x",
            "//app.example/x",
            "/logo.png",
            "https://user:pw@app.example/x",
            "https://app.example/x#frag",
            "https://app.example/a b",
            "https://app.example/\"onerror=\"x",
            "https://1.2.3.4/x",
            "https://xn--a.example/x",
            "https://app.example:99999/",
            "https://app.example:/",
            "https://",
            "",
            "https://app_example/x",
            "https://app.example/\u{e9}",
        ] {
            assert!(ok(bad).is_err_and(|e| e.contains("logo_uri")), "{bad:?} is refused");
        }
        assert!(ok(&format!("https://app.example/{}", "a".repeat(2048))).is_err(), "too long");
        let links = validate_links(ClientLinks { logo_uri: Some(String::new()), policy_uri: Some("https://app.example/privacy".into()), tos_uri: None });
        assert_eq!(links.ok(), Some(ClientLinks { logo_uri: None, policy_uri: Some("https://app.example/privacy".into()), tos_uri: None }), "empty is none");
        let mut c = new(false);
        c.links.tos_uri = Some("javascript:alert(1)".into());
        let m = MasterKey::generate().ok();
        assert!(m.is_some_and(|m| build_client(c, &m, 0).is_err()), "registration checks them");
    }
}
