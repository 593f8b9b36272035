//! Registered APIs (resource servers, RFC 8707 resources): the audience of
//! their access tokens, their scopes, token lifetime and signing algorithm.

use crate::client::SigningAlg;

/// Access tokens for an API live 5 minutes unless its admin says otherwise:
/// short enough that revocation is rarely needed, long enough for a page's calls.
pub const DEFAULT_API_TOKEN_TTL: i64 = 5 * 60;
/// Bounds of a per-API lifetime: at least a minute, at most a day.
pub const API_TOKEN_TTL_RANGE: (i64, i64) = (60, 24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiScope {
    pub name: String,
    /// What the consent page shows ("Read your orders").
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Api {
    pub id: String,
    pub name: String,
    /// The `resource` value that selects this API and its tokens' `aud`.
    pub audience: String,
    pub access_token_ttl: i64,
    pub signing_alg: SigningAlg,
    /// Keyed hash of the secret the API introspects with, if it has one.
    pub introspection_secret_hash: Option<String>,
    pub scopes: Vec<ApiScope>,
    /// `(role, group name)`: members of the group hold the role at this API.
    pub roles: Vec<(String, String)>,
    pub created_at: i64,
    /// Clients that registered themselves (RFC 7591, a client ID metadata
    /// document) may ask for this API's scopes. Off unless the operator
    /// says so: an API's data is not for any app that shows up.
    pub self_registration: bool,
    /// latchkey serves this API's protected resource metadata (RFC 9728),
    /// so the API need not host it.
    pub publish_metadata: bool,
}

impl Api {
    pub fn has_scope(&self, name: &str) -> bool {
        self.scopes.iter().any(|s| s.name == name)
    }

    pub fn describe(&self, scope: &str) -> Option<&str> {
        self.scopes.iter().find(|s| s.name == scope).map(|s| s.description.as_str())
    }
}
