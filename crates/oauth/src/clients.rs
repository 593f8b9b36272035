//! Registering clients (CLI and, later, the admin API).

use latchkey_domain::{Client, ClientId, ClientLinks, GrantType, Scope, ScopeSet, Secret, SigningAlg};
use latchkey_store::repo::clients as client_repo;
use latchkey_store::Db;
use latchkey_token::crypto::{random_token, KeyPurpose};
use latchkey_token::MasterKey;

use crate::error::OAuthError;

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
pub fn build_client(new: NewClient, master: &MasterKey, now: i64) -> Result<(Client, Option<Secret>), OAuthError> {
    if new.name.trim().is_empty() {
        return Err(OAuthError::invalid_request("a client needs a name"));
    }
    for uri in new.redirect_uris.iter().chain(&new.post_logout_redirect_uris).chain(&new.backchannel_logout_uri) {
        validate_redirect_uri(uri).map_err(OAuthError::invalid_request)?;
    }
    let mut grant_types = new.grant_types.clone();
    if grant_types.is_empty() {
        grant_types = if new.admin { vec![GrantType::ClientCredentials] } else { vec![GrantType::AuthorizationCode, GrantType::RefreshToken] };
    }
    if grant_types.contains(&GrantType::AuthorizationCode) && new.redirect_uris.is_empty() {
        return Err(OAuthError::invalid_request("the authorization_code grant needs at least one --redirect-uri"));
    }
    let links = validate_links(new.links)?;
    let jwks = new.jwks.as_deref().map(validate_jwks).transpose()?;
    let jwks_uri = new.jwks_uri.as_deref().map(validate_jwks_uri).transpose()?;
    if jwks.is_some() && jwks_uri.is_some() {
        return Err(OAuthError::invalid_request("register keys (--jwks-file) or where to fetch them (--jwks-uri), not both"));
    }
    if new.require_private_key_jwt && jwks.is_none() && jwks_uri.is_none() {
        return Err(OAuthError::invalid_request("private_key_jwt needs registered keys (--jwks-file or --jwks-uri)"));
    }
    if new.public && new.require_private_key_jwt {
        return Err(OAuthError::invalid_request("a public client has no credentials; private_key_jwt makes it confidential (leave out --public)"));
    }
    if new.public && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(OAuthError::invalid_request("public clients cannot use client_credentials"));
    }
    if new.public && new.admin {
        return Err(OAuthError::invalid_request("an admin client must be confidential"));
    }
    if !new.admin && new.scopes.as_ref().is_some_and(|s| s.contains(Scope::Admin)) {
        return Err(OAuthError::invalid_request("the admin scope is only for admin clients (--admin)"));
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
    };
    Ok((client, secret))
}

/// What a client may ask for when nobody says otherwise.
pub const DEFAULT_SCOPES: &str = "openid profile email offline_access";

/// Every API scope of `scopes` must be registered.
async fn check_api_scopes(db: &Db, scopes: &ScopeSet) -> Result<(), OAuthError> {
    if scopes.api_names().next().is_none() {
        return Ok(());
    }
    let apis = db.run(latchkey_store::repo::apis::list).await?;
    match scopes.api_names().find(|n| crate::apis::owner_of(&apis, n).is_none()) {
        Some(unknown) => Err(OAuthError::invalid_request(format!("unknown scope {unknown} (register it with `latchkey api add` or `api scope add`)"))),
        None => Ok(()),
    }
}

/// Registers a client: validates it, stores it, and returns the secret once.
pub async fn register(db: &Db, master: &MasterKey, new: NewClient, now: i64) -> Result<(Client, Option<Secret>), OAuthError> {
    let (client, secret) = build_client(new, master, now)?;
    check_api_scopes(db, &client.allowed_scopes).await?;
    let c = client.clone();
    db.run(move |conn| client_repo::insert(conn, &c)).await?;
    Ok((client, secret))
}

/// Replaces the API scopes a client may be granted (its OIDC scopes stay).
pub async fn set_api_scopes(db: &Db, client_id: &str, names: &[String]) -> Result<Client, OAuthError> {
    let id = client_id.to_string();
    let client = db.run(move |c| client_repo::find(c, &id)).await?.ok_or(OAuthError::NotFound("client"))?;
    let scopes = client.allowed_scopes.oidc_only().union(&ScopeSet::from_api_names(names.iter().map(String::as_str)));
    if scopes.api_names().count() != names.iter().collect::<std::collections::BTreeSet<_>>().len() {
        return Err(OAuthError::invalid_request("an API scope name is malformed or an OpenID Connect scope"));
    }
    check_api_scopes(db, &scopes).await?;
    let (id, text) = (client.id.0.clone(), scopes.to_string());
    db.run(move |c| client_repo::set_scopes(c, &id, &text)).await?;
    Ok(Client { allowed_scopes: scopes, ..client })
}

/// Requires (or not) that a client push its authorization requests (RFC 9126 §5).
pub async fn set_require_par(db: &Db, client_id: &str, required: bool) -> Result<(), OAuthError> {
    let id = client_id.to_string();
    if !db.run(move |c| client_repo::set_require_par(c, &id, required)).await? {
        return Err(OAuthError::NotFound("client"));
    }
    Ok(())
}

/// Most keys a client may register: enough for a rotation in progress.
pub const MAX_CLIENT_KEYS: usize = 10;
/// Largest JWK Set accepted (bytes).
pub const MAX_JWKS_LEN: usize = 32 * 1024;

/// Checks a client's JWK Set for private_key_jwt: JSON, at most
/// [`MAX_CLIENT_KEYS`] keys, each public (no private parts), usable for
/// verification, and named by a `kid`. Returns it
/// normalised (compact JSON).
pub fn validate_jwks(text: &str) -> Result<String, OAuthError> {
    if text.len() > MAX_JWKS_LEN {
        return Err(OAuthError::invalid_request("the JWK Set is too large"));
    }
    let raw: serde_json::Value = serde_json::from_str(text).map_err(|_| OAuthError::invalid_request("the JWK Set is not JSON"))?;
    let keys = raw.get("keys").and_then(|k| k.as_array()).ok_or_else(|| OAuthError::invalid_request("a JWK Set has a \"keys\" array"))?;
    if keys.is_empty() || keys.len() > MAX_CLIENT_KEYS {
        return Err(OAuthError::invalid_request(format!("register 1 to {MAX_CLIENT_KEYS} keys")));
    }
    for k in keys {
        if ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|private| k.get(private).is_some()) {
            return Err(OAuthError::invalid_request("a registered key must be public only (it contains private or symmetric key material)"));
        }
        if k.get("kid").and_then(|v| v.as_str()).is_none_or(|kid| kid.is_empty() || kid.len() > 128) {
            return Err(OAuthError::invalid_request("each key needs a kid of 1-128 characters (the assertion names the key that signed it)"));
        }
        check_key_members(k).map_err(OAuthError::invalid_request)?;
    }
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(raw.clone()).map_err(|e| OAuthError::invalid_request(format!("not a usable JWK Set: {e}")))?;
    for k in &set.keys {
        jsonwebtoken::DecodingKey::from_jwk(k).map_err(|e| OAuthError::invalid_request(format!("a key cannot verify signatures: {e}")))?;
    }
    let mut normalised = serde_json::to_value(&set).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    // jsonwebtoken's key type reads RFC 9864's `"alg": "Ed25519"` as an
    // unknown algorithm: keep the name the client registered.
    if let (Some(out), Some(given)) = (normalised.get_mut("keys").and_then(|k| k.as_array_mut()), raw.get("keys").and_then(|k| k.as_array())) {
        for (out, given) in out.iter_mut().zip(given) {
            if let (Some(alg @ serde_json::Value::String(_)), Some(o)) = (given.get("alg"), out.as_object_mut()) {
                o.insert("alg".into(), alg.clone());
            }
        }
    }
    serde_json::to_string(&normalised).map_err(|e| OAuthError::invalid_request(e.to_string()))
}

/// The members a signature key of each type has, within sane sizes; `use`
/// and `alg`, when given, must fit client assertions.
fn check_key_members(k: &serde_json::Value) -> Result<(), String> {
    let text = |name: &str, max: usize| -> Result<(), String> {
        match k.get(name).and_then(|v| v.as_str()) {
            Some(v) if !v.is_empty() && v.len() <= max => Ok(()),
            _ => Err(format!("the key's {name} is missing or too long")),
        }
    };
    match k.get("kty").and_then(|v| v.as_str()) {
        Some("RSA") => text("n", 1400).and(text("e", 16))?,
        Some("EC") => {
            if !matches!(k.get("crv").and_then(|v| v.as_str()), Some("P-256" | "P-384")) {
                return Err("an EC key's crv must be P-256 or P-384".into());
            }
            text("x", 96).and(text("y", 96))?
        }
        Some("OKP") => {
            if k.get("crv").and_then(|v| v.as_str()) != Some("Ed25519") {
                return Err("an OKP key's crv must be Ed25519".into());
            }
            text("x", 64)?
        }
        _ => return Err("kty must be RSA, EC or OKP".into()),
    }
    if k.get("use").is_some_and(|u| u != "sig") {
        return Err("a key's use must be sig".into());
    }
    if let Some(alg) = k.get("alg") {
        let names = crate::client_assertion::ASSERTION_ALG_NAMES;
        if !alg.as_str().is_some_and(|a| names.contains(&a)) {
            return Err(format!("a key's alg must be one of {}", names.join(", ")));
        }
    }
    Ok(())
}

/// Checks the URL a client publishes its keys at: https (http only on a
/// loopback host, for development), no credentials or fragment in it.
pub fn validate_jwks_uri(uri: &str) -> Result<String, OAuthError> {
    let u = url::Url::parse(uri).map_err(|_| OAuthError::invalid_request("jwks_uri is not an absolute URL"))?;
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !(u.scheme() == "https" || (u.scheme() == "http" && loopback)) {
        return Err(OAuthError::invalid_request("jwks_uri must be https (http only for localhost)"));
    }
    if !u.username().is_empty() || u.password().is_some() || u.fragment().is_some() || uri.len() > 2048 {
        return Err(OAuthError::invalid_request("jwks_uri must not carry credentials or a fragment, and at most 2,048 characters"));
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
pub fn validate_links(links: ClientLinks) -> Result<ClientLinks, OAuthError> {
    let check =
        |field: &str, v: Option<String>| -> Result<Option<String>, OAuthError> { v.filter(|u| !u.is_empty()).map(|u| checked_https_uri(field, &u).map_err(OAuthError::invalid_request)).transpose() };
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
    pub fn check(&self) -> Result<(), OAuthError> {
        validate_links(ClientLinks { logo_uri: self.logo_uri.clone(), policy_uri: self.policy_uri.clone(), tos_uri: self.tos_uri.clone() }).map(|_| ())
    }
}

/// Changes some of a client's logo, policy and terms URLs (checked as at registration).
pub async fn update_links(db: &Db, client_id: &str, change: LinksUpdate) -> Result<ClientLinks, OAuthError> {
    let id = client_id.to_string();
    let current = db.run(move |c| client_repo::find(c, &id)).await?.ok_or(OAuthError::NotFound("client"))?.links;
    let links = validate_links(ClientLinks { logo_uri: change.logo_uri.or(current.logo_uri), policy_uri: change.policy_uri.or(current.policy_uri), tos_uri: change.tos_uri.or(current.tos_uri) })?;
    let (id, stored) = (client_id.to_string(), links.clone());
    if !db.run(move |c| client_repo::set_links(c, &id, &stored)).await? {
        return Err(OAuthError::NotFound("client"));
    }
    Ok(links)
}

/// Sets (or clears) where a client publishes its keys.
pub async fn set_jwks_uri(db: &Db, client_id: &str, uri: Option<&str>) -> Result<(), OAuthError> {
    let uri = uri.map(validate_jwks_uri).transpose()?;
    let id = client_id.to_string();
    if !db.run(move |c| client_repo::set_jwks_uri(c, &id, uri.as_deref())).await? {
        return Err(OAuthError::NotFound("client"));
    }
    Ok(())
}

/// Requires (or not) that every token of a client be DPoP-bound (RFC 9449).
/// Changes the algorithm of a client's ID tokens (e.g. to RS256 for a
/// relying party whose JOSE library lacks EdDSA), without re-registering it.
pub async fn set_id_token_alg(db: &Db, client_id: &str, alg: SigningAlg) -> Result<(), OAuthError> {
    let id = client_id.to_string();
    if !db.run(move |c| client_repo::set_id_token_alg(c, &id, alg.as_str())).await? {
        return Err(OAuthError::NotFound("client"));
    }
    Ok(())
}

pub async fn set_require_dpop(db: &Db, client_id: &str, required: bool) -> Result<(), OAuthError> {
    let id = client_id.to_string();
    if !db.run(move |c| client_repo::set_require_dpop(c, &id, required)).await? {
        return Err(OAuthError::NotFound("client"));
    }
    Ok(())
}

/// Registers (or replaces, for rotation) a client's keys and whether it must
/// authenticate with them (its keys registered here or at its jwks_uri).
pub async fn set_keys(db: &Db, client_id: &str, jwks: Option<&str>, required: bool) -> Result<(), OAuthError> {
    let jwks = jwks.map(validate_jwks).transpose()?;
    if required && jwks.is_none() {
        let id = client_id.to_string();
        let has_uri = db.run(move |c| client_repo::find(c, &id)).await?.ok_or(OAuthError::NotFound("client"))?.jwks_uri.is_some();
        if !has_uri {
            return Err(OAuthError::invalid_request("private_key_jwt needs registered keys or a jwks_uri"));
        }
    }
    let id = client_id.to_string();
    if !db.run(move |c| client_repo::set_keys(c, &id, jwks.as_deref(), required)).await? {
        return Err(OAuthError::NotFound("client"));
    }
    Ok(())
}

/// What an admin may change of a client after registration.
pub struct ClientUpdate {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
}

/// Changes a client's name and URIs (validated like at registration).
pub async fn update(db: &Db, client_id: &str, u: ClientUpdate) -> Result<(), OAuthError> {
    if u.name.trim().is_empty() {
        return Err(OAuthError::invalid_request("a client needs a name"));
    }
    for uri in u.redirect_uris.iter().chain(&u.post_logout_redirect_uris).chain(&u.backchannel_logout_uri) {
        validate_redirect_uri(uri).map_err(OAuthError::invalid_request)?;
    }
    let id = client_id.to_string();
    let client = db.run(move |c| client_repo::find(c, &id)).await?.ok_or(OAuthError::NotFound("client"))?;
    if client.allows_grant(GrantType::AuthorizationCode) && u.redirect_uris.is_empty() {
        return Err(OAuthError::invalid_request("the authorization_code grant needs at least one redirect URI"));
    }
    let id = client_id.to_string();
    db.run(move |c| client_repo::update(c, &id, u.name.trim(), &u.redirect_uris, &u.post_logout_redirect_uris, u.backchannel_logout_uri.as_deref())).await?;
    Ok(())
}

pub async fn list(db: &Db) -> Result<Vec<Client>, OAuthError> {
    Ok(db.run(client_repo::list).await?)
}

/// Removes a client; `false` when there was none with that id.
pub async fn remove(db: &Db, id: &str) -> Result<bool, OAuthError> {
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
    fn confidential_gets_a_prefixed_secret_stored_hashed() -> Result<(), OAuthError> {
        let m = MasterKey::generate()?;
        let (c, s) = build_client(new(false), &m, 0)?;
        let (Some(s), Some(stored)) = (s, c.secret_hash) else { panic!("a confidential client has a secret and its hash") };
        assert!(s.expose().starts_with(CLIENT_SECRET_PREFIX));
        assert!(!stored.contains(s.expose()));
        assert!(m.hasher(KeyPurpose::ClientSecret).verify(s.expose(), &stored));
        Ok(())
    }

    #[test]
    fn public_has_no_secret() -> Result<(), OAuthError> {
        let m = MasterKey::generate()?;
        let (c, s) = build_client(new(true), &m, 0)?;
        assert!(s.is_none() && c.secret_hash.is_none());
        Ok(())
    }

    #[test]
    fn redirect_uri_rules() -> Result<(), OAuthError> {
        assert!(validate_redirect_uri("https://a.example/cb").is_ok());
        assert!(validate_redirect_uri("http://localhost:3000/cb").is_ok());
        assert!(validate_redirect_uri("http://a.example/cb").is_err());
        assert!(validate_redirect_uri("https://a.example/cb#x").is_err());
        assert!(validate_redirect_uri("/relative").is_err());
        assert!(validate_redirect_uri("com.example.app:/cb").is_ok());
        Ok(())
    }

    #[test]
    fn the_admin_scope_needs_an_admin_client() -> Result<(), OAuthError> {
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
