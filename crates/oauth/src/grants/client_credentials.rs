//! `grant_type=client_credentials` (RFC 6749 §4.4): a confidential client
//! acting for itself. No user, no refresh token; the non-user scopes it was
//! allowed (`admin`), or the scopes of one API (named by `resource`, or by
//! the scopes asked for).

use latchkey_domain::{Api, Client, ClientKind, GrantType, ScopeSet};

use super::GrantContext;
use crate::error::{ErrorCode, OAuthError};
use crate::issue::AuthContext;
use crate::token::{TokenRequest, TokenResponse};

pub(crate) async fn grant(ctx: &GrantContext<'_>, client: &Client, req: TokenRequest, dpop_jkt: Option<String>) -> Result<TokenResponse, OAuthError> {
    if client.kind() != ClientKind::Confidential || !client.allows_grant(GrantType::ClientCredentials) {
        return Err(super::unauthorized_client("client_credentials"));
    }
    let apis = ctx.apis_for(req.resource.as_deref().as_slice(), &ScopeSet::parse_lenient(req.scope.as_deref().unwrap_or("")), client).await?;
    let named = crate::apis::resource(&apis, req.resource.as_deref())?;
    let own = ScopeSet::from_iter(client.allowed_scopes.iter().filter(|s| !s.is_user_scope()));
    let (scopes, api) = match req.scope.as_deref() {
        Some(requested) => {
            let parsed = ScopeSet::parse_tokens(requested).map_err(|s| OAuthError::new(ErrorCode::InvalidScope, format!("malformed scope {s}")))?;
            if let Some(unknown) = parsed.api_names().find(|n| crate::apis::owner_of(&apis, n).is_none()) {
                return Err(OAuthError::new(ErrorCode::InvalidScope, format!("unknown scope {unknown}")));
            }
            let api_part = crate::apis::allowed_api_scopes(&apis, client, &parsed, named)?;
            let owners: Vec<&Api> = api_part.api_names().filter_map(|n| crate::apis::owner_of(&apis, n)).collect();
            let api = match named {
                Some(a) => Some(a),
                None if owners.iter().all(|o| owners.first().is_some_and(|f| f.id == o.id)) => owners.first().copied(),
                None => return Err(OAuthError::new(ErrorCode::InvalidTarget, "the scopes belong to several APIs: name one with resource")),
            };
            let oidc = parsed.oidc_only();
            if !oidc.is_subset(&own) || (api.is_some() && !oidc.is_empty()) {
                return Err(OAuthError::new(ErrorCode::InvalidScope, "the client may not request that scope"));
            }
            (oidc.union(&api_part), api)
        }
        None => match named {
            Some(a) => (ScopeSet::from_api_names(client.allowed_scopes.api_names().filter(|n| a.has_scope(n))), Some(a)),
            None => (own, None),
        },
    };
    let now = ctx.clock.now();
    let auth = AuthContext { scope: scopes.to_string(), auth_time: None, acr: None, amr: Vec::new(), sid: None, nonce: None, dpop_jkt, delegation: None };
    let target = ctx.target(&scopes, api);
    let minted = ctx.mint(client, &client.id.0, None, &auth, &target, uuid::Uuid::new_v4().to_string(), now)?;
    Ok(minted.into_response(None))
}
