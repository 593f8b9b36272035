//! Registered APIs (RFC 8707 resources): registration, the cached registry,
//! and which API a request's `resource` and scopes select.

use latchkey_domain::{Api, Client, ScopeSet, SigningAlg};

use crate::error::{ErrorCode, OAuthError};

/// The API a scope belongs to.
pub fn owner_of<'a>(apis: &'a [Api], scope: &str) -> Option<&'a Api> {
    apis.iter().find(|a| a.has_scope(scope))
}

pub fn by_audience<'a>(apis: &'a [Api], audience: &str) -> Option<&'a Api> {
    apis.iter().find(|a| a.audience == audience)
}

/// Where latchkey publishes the protected resource metadata (RFC 9728) of
/// an API whose operator asked for it (`publish_metadata`): the API points
/// its 401s' `resource_metadata` here instead of hosting the document.
pub fn metadata_url(issuer: &str, api: &Api) -> String {
    format!("{}/resource-metadata/{}", issuer.trim_end_matches('/'), api.id)
}

/// RFC 9728 §2: what a client needs to get a token for an API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResourceMetadata {
    /// The API's audience: the tokens' `aud`, the `resource` to ask for.
    pub resource: String,
    pub resource_name: String,
    pub authorization_servers: Vec<String>,
    pub scopes_supported: Vec<String>,
    /// Only the `Authorization` header (RFC 6750 §2.1).
    pub bearer_methods_supported: Vec<&'static str>,
    pub dpop_signing_alg_values_supported: Vec<&'static str>,
}

/// The metadata latchkey publishes for `api` (issuer `issuer`).
pub fn resource_metadata(issuer: &str, api: &Api) -> ResourceMetadata {
    ResourceMetadata {
        resource: api.audience.clone(),
        resource_name: api.name.clone(),
        authorization_servers: vec![issuer.trim_end_matches('/').to_string()],
        scopes_supported: api.scopes.iter().map(|s| s.name.clone()).collect(),
        bearer_methods_supported: vec!["header"],
        dpop_signing_alg_values_supported: latchkey_dpop::algorithm_names(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_domain::{ApiScope, ClientId, GrantType};

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
            self_registration: false,
            publish_metadata: false,
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
            self_registered: false,
            token_exchange: Default::default(),
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
}
