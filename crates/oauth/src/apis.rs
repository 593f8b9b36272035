//! Registered APIs (RFC 8707 resources): registration, the cached registry,
//! and which API a request's `resource` and scopes select.

use crate::audit::caller;
use latchkey_domain::SecurityEvent;
use std::sync::{Arc, RwLock};

use latchkey_domain::api::{API_TOKEN_TTL_RANGE, DEFAULT_API_TOKEN_TTL};
use latchkey_domain::scope::valid_scope_token;
use latchkey_domain::{Api, ApiScope, Client, Scope, ScopeSet, Secret, SharedClock, SigningAlg};
use latchkey_store::repo::{apis as repo, groups as group_repo};
use latchkey_store::{Db, StoreError};
use latchkey_token::crypto::{random_token, KeyPurpose};

use crate::clients::CLIENT_SECRET_PREFIX;
use crate::error::{ErrorCode, OAuthError};
use crate::service::OAuthService;

/// The registry is cached per node for 5 seconds, like clients: a new or
/// removed API takes effect everywhere within that.
const API_CACHE_TTL: i64 = 5;
/// A request naming a resource (or an API scope its client is allowed) that
/// the cached registry does not know makes the node read the registry again
/// before refusing it — an API registered with the CLI while the server runs
/// is usable at once — but at most this often per node, and one reader at a
/// time: made-up resources cannot turn into a database query each (like an
/// unknown `kid` at a resource server).
const API_REREAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The cached registry and when it was read, and when an unknown name last
/// made this node read it again (the lock makes those reads single-flight).
#[derive(Default)]
pub(crate) struct ApiCache {
    list: RwLock<Option<(Arc<Vec<Api>>, i64)>>,
    reread: tokio::sync::Mutex<Option<std::time::Instant>>,
}

pub struct NewApi {
    pub name: String,
    pub audience: String,
    pub scopes: Vec<ApiScope>,
    pub access_token_ttl: Option<i64>,
    pub signing_alg: SigningAlg,
    /// Give the API credentials to introspect its tokens.
    pub introspection_secret: bool,
}

/// Parses `name=description` (the description defaults to the name).
pub fn parse_scope_arg(arg: &str) -> Result<ApiScope, String> {
    let (name, description) = arg.split_once('=').map(|(n, d)| (n.trim(), d.trim())).unwrap_or((arg.trim(), ""));
    validate_scope_name(name)?;
    let description = if description.is_empty() { name.to_string() } else { description.chars().take(200).collect() };
    Ok(ApiScope { name: name.to_string(), description })
}

fn validate_scope_name(name: &str) -> Result<(), String> {
    if !valid_scope_token(name) {
        return Err(format!("{name:?} is not a valid scope name (RFC 6749 §3.3: printable ASCII without spaces, quotes or backslashes)"));
    }
    if Scope::parse(name).is_some() {
        return Err(format!("{name} is an OpenID Connect scope of latchkey's own"));
    }
    Ok(())
}

/// RFC 8707 §2: an absolute URI without a fragment.
fn validate_audience(aud: &str) -> Result<(), String> {
    let u = url::Url::parse(aud).map_err(|_| format!("the audience {aud:?} is not an absolute URI"))?;
    if u.fragment().is_some() || aud.len() > 512 {
        return Err("the audience must not have a fragment and must be at most 512 characters".into());
    }
    Ok(())
}

/// The API a scope belongs to.
pub fn owner_of<'a>(apis: &'a [Api], scope: &str) -> Option<&'a Api> {
    apis.iter().find(|a| a.has_scope(scope))
}

pub fn by_audience<'a>(apis: &'a [Api], audience: &str) -> Option<&'a Api> {
    apis.iter().find(|a| a.audience == audience)
}

/// Most `resource` parameters one authorization request may name (RFC 8707
/// §2 allows several: one token per resource is issued later).
pub const MAX_RESOURCES: usize = 5;

/// The registered API scopes of `requested` that `client` may have, for the
/// API `resource` if one was named. A registered scope the client is not
/// allowed, or one of another API than `resource`, is `invalid_scope` (never
/// a silent widening or narrowing); unregistered names are dropped (RFC 6749
/// §3.3 lets the server issue less than was asked).
pub fn allowed_api_scopes(apis: &[Api], client: &Client, requested: &ScopeSet, resource: Option<&Api>) -> Result<ScopeSet, OAuthError> {
    allowed_api_scopes_for(apis, client, requested, resource.as_slice())
}

/// [`allowed_api_scopes`] with any number of named resources (none: any API).
pub fn allowed_api_scopes_for(apis: &[Api], client: &Client, requested: &ScopeSet, resources: &[&Api]) -> Result<ScopeSet, OAuthError> {
    let mut kept = Vec::new();
    for name in requested.api_names() {
        let Some(owner) = owner_of(apis, name) else { continue };
        if !client.allowed_scopes.contains_api(name) {
            return Err(OAuthError::new(ErrorCode::InvalidScope, format!("the client may not request {name}")));
        }
        if !resources.is_empty() && !resources.iter().any(|r| r.id == owner.id) {
            return Err(OAuthError::new(ErrorCode::InvalidScope, format!("{name} is not a scope of the requested resource")));
        }
        kept.push(name);
    }
    Ok(ScopeSet::from_api_names(kept))
}

/// The API named by a `resource` parameter (RFC 8707 `invalid_target` otherwise).
pub fn resource<'a>(apis: &'a [Api], value: Option<&str>) -> Result<Option<&'a Api>, OAuthError> {
    match value {
        None => Ok(None),
        Some(v) => by_audience(apis, v).map(Some).ok_or_else(|| OAuthError::new(ErrorCode::InvalidTarget, "the resource is not a registered API")),
    }
}

/// The APIs named by the `resource` parameters of an authorization request
/// (each must be registered; a repeated one counts once).
pub fn resources<'a>(apis: &'a [Api], values: &[&str]) -> Result<Vec<&'a Api>, OAuthError> {
    if values.len() > MAX_RESOURCES {
        return Err(OAuthError::new(ErrorCode::InvalidTarget, format!("at most {MAX_RESOURCES} resources in one request")));
    }
    let mut named: Vec<&Api> = Vec::new();
    for v in values {
        if let Some(api) = resource(apis, Some(v))? {
            if !named.iter().any(|a| a.id == api.id) {
                named.push(api);
            }
        }
    }
    Ok(named)
}

/// What an access token is for: its audience, scope, lifetime and algorithm.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub aud: String,
    pub scope: ScopeSet,
    pub ttl: i64,
    pub alg: SigningAlg,
    pub api: Option<Api>,
    /// The user's groups, when the grant has the `groups` scope.
    pub groups: Option<Vec<String>>,
    /// The user's roles at `api`.
    pub roles: Option<Vec<String>>,
}

impl ApiCache {
    /// Every registered API (cached for a few seconds per node).
    pub(crate) async fn all(&self, db: &Db, clock: &SharedClock) -> Result<Arc<Vec<Api>>, StoreError> {
        let now = clock.now();
        if let Some((list, at)) = self.list.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if now - at < API_CACHE_TTL {
                return Ok(list.clone());
            }
        }
        self.read(db, now).await
    }

    async fn read(&self, db: &Db, now: i64) -> Result<Arc<Vec<Api>>, StoreError> {
        let list = Arc::new(db.run(repo::list).await?);
        *self.list.write().unwrap_or_else(|p| p.into_inner()) = Some((list.clone(), now));
        Ok(list)
    }

    /// The registry, known to hold the APIs of `resources` and the owners of
    /// the API scopes `client` may have among `requested`, if they exist: a
    /// cached list missing one is read again (see [`API_REREAD_INTERVAL`])
    /// before the caller refuses the request as `invalid_target` or drops
    /// the scope.
    pub(crate) async fn for_request(&self, db: &Db, clock: &SharedClock, resources: &[&str], requested: &ScopeSet, client: &Client) -> Result<Arc<Vec<Api>>, StoreError> {
        let knows =
            |list: &[Api]| resources.iter().all(|r| by_audience(list, r).is_some()) && requested.api_names().filter(|n| client.allowed_scopes.contains_api(n)).all(|n| owner_of(list, n).is_some());
        let list = self.all(db, clock).await?;
        if knows(&list) {
            return Ok(list);
        }
        let mut last = self.reread.lock().await;
        // Another request may have read it while this one waited.
        let current = self.list.read().unwrap_or_else(|p| p.into_inner()).as_ref().map(|(l, _)| l.clone()).unwrap_or(list);
        if knows(&current) || last.is_some_and(|at| at.elapsed() < API_REREAD_INTERVAL) {
            return Ok(current);
        }
        *last = Some(std::time::Instant::now());
        metrics::counter!("latchkey_api_registry_rereads_total").increment(1);
        self.read(db, clock.now()).await
    }

    fn forget(&self) {
        *self.list.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl OAuthService {
    /// Every registered API (cached for a few seconds per node).
    pub async fn apis(&self) -> Result<Arc<Vec<Api>>, StoreError> {
        self.api_cache.all(&self.db, &self.clock).await
    }

    /// See [`ApiCache::for_request`].
    pub(crate) async fn apis_for(&self, resources: &[&str], requested: &ScopeSet, client: &Client) -> Result<Arc<Vec<Api>>, StoreError> {
        self.api_cache.for_request(&self.db, &self.clock, resources, requested, client).await
    }

    pub fn forget_cached_apis(&self) {
        self.api_cache.forget();
    }

    /// An API by id or audience.
    pub async fn api(&self, id_or_audience: &str) -> Result<Option<Api>, StoreError> {
        self.forget_cached_apis();
        Ok(self.apis().await?.iter().find(|a| a.id == id_or_audience || a.audience == id_or_audience).cloned())
    }

    /// Registers an API; returns it and, if asked for, its introspection
    /// secret (shown once, stored as a keyed hash).
    pub async fn register_api(&self, new: NewApi) -> Result<(Api, Option<Secret>), OAuthError> {
        if new.name.trim().is_empty() || new.name.len() > 200 {
            return Err(OAuthError::invalid_request("an API needs a name (at most 200 characters)"));
        }
        validate_audience(&new.audience).map_err(OAuthError::invalid_request)?;
        for s in &new.scopes {
            validate_scope_name(&s.name).map_err(OAuthError::invalid_request)?;
        }
        let ttl = new.access_token_ttl.unwrap_or(DEFAULT_API_TOKEN_TTL);
        if !(API_TOKEN_TTL_RANGE.0..=API_TOKEN_TTL_RANGE.1).contains(&ttl) {
            return Err(OAuthError::invalid_request(format!("the access-token lifetime must be {}-{} seconds", API_TOKEN_TTL_RANGE.0, API_TOKEN_TTL_RANGE.1)));
        }
        let secret = new.introspection_secret.then(|| Secret::new(random_token(CLIENT_SECRET_PREFIX)));
        let api = Api {
            id: uuid::Uuid::new_v4().to_string(),
            name: new.name.trim().to_string(),
            audience: new.audience,
            access_token_ttl: ttl,
            signing_alg: new.signing_alg,
            introspection_secret_hash: secret.as_ref().map(|s| self.tokens.master().hasher(KeyPurpose::ClientSecret).hash(s.expose())),
            scopes: new.scopes,
            roles: Vec::new(),
            created_at: self.clock.now(),
        };
        let a = api.clone();
        self.db.run(move |c| repo::insert(c, &a)).await.map_err(|e| match e {
            StoreError::Conflict(_) => OAuthError::Conflict("that audience or one of those scope names is already registered".into()),
            other => other.into(),
        })?;
        self.forget_cached_apis();
        self.record(&caller(), SecurityEvent::ApiRegistered { name: api.name.clone(), audience: api.audience.clone() }).await;
        Ok((api, secret))
    }

    pub async fn remove_api(&self, id_or_audience: &str) -> Result<bool, OAuthError> {
        let Some(api) = self.api(id_or_audience).await? else { return Ok(false) };
        let id = api.id.clone();
        let removed = self.db.run(move |c| repo::remove(c, &id)).await?;
        self.forget_cached_apis();
        self.record(&caller(), SecurityEvent::ApiRemoved { name: api.name.clone(), audience: api.audience.clone() }).await;
        Ok(removed)
    }

    pub async fn add_api_scope(&self, id_or_audience: &str, scope: ApiScope) -> Result<(), OAuthError> {
        validate_scope_name(&scope.name).map_err(OAuthError::invalid_request)?;
        let api = self.api(id_or_audience).await?.ok_or(OAuthError::NotFound("API"))?;
        self.db.run(move |c| repo::add_scope(c, &api.id, &scope)).await.map_err(|e| match e {
            StoreError::Conflict(_) => OAuthError::Conflict("that scope name is already registered".into()),
            other => other.into(),
        })?;
        self.forget_cached_apis();
        Ok(())
    }

    pub async fn remove_api_scope(&self, id_or_audience: &str, name: &str) -> Result<bool, OAuthError> {
        let api = self.api(id_or_audience).await?.ok_or(OAuthError::NotFound("API"))?;
        let n = name.to_string();
        let removed = self.db.run(move |c| repo::remove_scope(c, &api.id, &n)).await?;
        self.forget_cached_apis();
        Ok(removed)
    }

    /// Members of `group` hold `role` at the API.
    pub async fn add_api_role(&self, id_or_audience: &str, role: &str, group: &str) -> Result<(), OAuthError> {
        if !valid_scope_token(role) {
            return Err(OAuthError::invalid_request("a role name is printable ASCII without spaces"));
        }
        let api = self.api(id_or_audience).await?.ok_or(OAuthError::NotFound("API"))?;
        let g = group.to_string();
        let gid = self.db.run(move |c| group_repo::find_id(c, &g)).await?.ok_or(OAuthError::NotFound("group"))?;
        let r = role.to_string();
        self.db.run(move |c| repo::add_role(c, &api.id, &r, &gid)).await.map_err(|e| match e {
            StoreError::Conflict(_) => OAuthError::invalid_request("that role mapping exists"),
            other => other.into(),
        })?;
        self.forget_cached_apis();
        Ok(())
    }

    /// Key upkeep that knows every API's token lifetime: keys are retired only
    /// once the longest-lived access token they could have signed expired.
    pub async fn maintain_keys(&self) -> Result<(), OAuthError> {
        self.forget_cached_apis();
        let longest = self.apis().await?.iter().map(|a| a.access_token_ttl).max().unwrap_or(0);
        Ok(self.tokens.maintain_for(longest).await?)
    }

    /// The user's groups (names, sorted).
    pub async fn groups_of(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let uid = user_id.to_string();
        self.db.run(move |c| group_repo::of_user(c, &uid)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_domain::{ClientId, GrantType};

    fn api(id: &str, aud: &str, scopes: &[&str]) -> Api {
        Api {
            id: id.into(),
            name: id.into(),
            audience: aud.into(),
            access_token_ttl: 300,
            signing_alg: SigningAlg::EdDSA,
            introspection_secret_hash: None,
            scopes: scopes.iter().map(|s| ApiScope { name: (*s).into(), description: (*s).into() }).collect(),
            roles: vec![],
            created_at: 0,
        }
    }

    fn client(allowed: &str) -> Client {
        Client {
            id: ClientId("c".into()),
            name: "c".into(),
            secret_hash: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode],
            allowed_scopes: ScopeSet::parse_lenient(allowed),
            admin: false,
            id_token_alg: SigningAlg::RS256,
            created_at: 0,
            backchannel_logout_uri: None,
            disabled_at: None,
            require_par: false,
            jwks: None,
            require_private_key_jwt: false,
            require_dpop: false,
            jwks_uri: None,
            links: Default::default(),
        }
    }

    #[test]
    fn scopes_are_checked_against_the_client_and_the_resource() {
        let apis = vec![api("orders", "https://api/orders", &["orders:read", "orders:write"]), api("bills", "https://api/bills", &["bills:read"])];
        let c = client("openid orders:read bills:read");
        let req = ScopeSet::parse_lenient("openid orders:read unknown:thing");
        assert_eq!(allowed_api_scopes(&apis, &c, &req, None).map(|s| s.to_string()).ok().as_deref(), Some("orders:read"), "unregistered names are dropped");
        assert!(allowed_api_scopes(&apis, &c, &ScopeSet::parse_lenient("orders:write"), None).is_err(), "not allowed: invalid_scope");
        assert!(allowed_api_scopes(&apis, &c, &ScopeSet::parse_lenient("bills:read"), Some(&apis[0])).is_err(), "another API's scope");
        assert!(resource(&apis, Some("https://nowhere")).is_err());
        assert_eq!(resource(&apis, Some("https://api/bills")).ok().flatten().map(|a| a.id.as_str()), Some("bills"));
    }

    #[test]
    fn scope_arguments_and_names() {
        assert_eq!(parse_scope_arg("orders:read=Read your orders").ok().map(|s| s.description), Some("Read your orders".into()));
        assert!(parse_scope_arg("openid=no").is_err());
        assert!(parse_scope_arg("bad scope").is_err());
        assert!(validate_audience("https://api.example.com/orders").is_ok());
        assert!(validate_audience("not a uri").is_err());
        assert!(validate_audience("https://a.example/#frag").is_err());
    }
}
