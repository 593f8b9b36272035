//! The token endpoint's grants (RFC 6749 §4, §6; RFC 8628), one file each:
//!
//! - [`authorization_code`] — a code from `/authorize` (PKCE, replay revokes);
//! - [`refresh_token`] — rotation, reuse detection, the grace window;
//! - [`client_credentials`] — a confidential client acting for itself;
//! - [`device_code`] — a device polling for the user's answer (RFC 8628);
//! - [`token_exchange`] — a user's access token traded for one at another
//!   API, the client acting for the user (RFC 8693).
//!
//! Each grant is one function, `grant(ctx, client, req, dpop_jkt)`, over a
//! [`GrantContext`]: the few things a grant may use (stores, token service,
//! clock, issuer, API registry, hashers), not the whole [`OAuthService`].
//! By the time a grant runs, the endpoint has authenticated the client and
//! checked its DPoP proof (`dpop_jkt` is the key the tokens are bound to);
//! the grant checks that the client may use it, then what the request
//! redeems, and answers with a [`TokenResponse`] or an RFC 6749 §5.2 error.
//! What grants share (minting access, ID and refresh tokens; a user's grant
//! redeemed; the access token's target API) lives in [`crate::issue`].
//!
//! **Where a new grant goes.** JWT bearer assertions (RFC 7523 §2.1) or
//! CIBA are each one new file here (as token exchange was): add the
//! variant to [`latchkey_domain::GrantType`] (its wire name in `as_str` and
//! `parse`), write `grants/<name>.rs` with its `grant` function, and add one
//! arm to [`dispatch`] (the compiler points at it) and the name to discovery's
//! `grant_types_supported`. Dynamic client registration (RFC 7591) is not a
//! grant: it is one new file beside `par.rs`, reusing [`crate::client_auth`].
//! Nothing in `service.rs` or the web crate changes for a new grant.
//!
//! [`OAuthService`]: crate::service::OAuthService

pub(crate) mod authorization_code;
pub(crate) mod client_credentials;
pub(crate) mod device_code;
pub(crate) mod refresh_token;
pub(crate) mod token_exchange;

use std::sync::Arc;

use latchkey_domain::{Api, Client, GrantType, ScopeSet, SharedClock};
use latchkey_store::repo::refresh::RotationRules;
use latchkey_store::{Db, FastStore, StoreError};
use latchkey_token::crypto::KeyedHasher;
use latchkey_token::TokenService;

use crate::api_cache::ApiCache;
use crate::error::{ErrorCode, OAuthError};
use crate::token::{TokenRequest, TokenResponse};

/// What a grant may use. Built per request from the service's parts
/// (`OAuthService::grant_context`); all borrowed, nothing to clean up.
pub(crate) struct GrantContext<'a> {
    /// The issuer (`iss` of every token; the audience of userinfo tokens).
    pub issuer: &'a str,
    pub db: &'a Db,
    pub fast: &'a FastStore,
    pub tokens: &'a TokenService,
    pub clock: &'a SharedClock,
    /// The cached API registry (RFC 8707 resources).
    pub apis: &'a ApiCache,
    /// Keyed hashes of authorization codes.
    pub codes: &'a KeyedHasher,
    /// Keyed hashes of device codes (RFC 8628).
    pub device_codes: &'a KeyedHasher,
    /// Sessions unused for longer than this are over (and the grants made in them).
    pub session_idle: i64,
    /// Sessions older than this are over.
    pub session_absolute: i64,
    /// Sees what the grants record (anomaly detection).
    pub watchers: &'a crate::audit::Watchers,
}

impl GrantContext<'_> {
    /// The registry, known to hold what the request names (see [`ApiCache::for_request`]).
    pub(crate) async fn apis_for(&self, resources: &[&str], requested: &ScopeSet, client: &Client) -> Result<Arc<Vec<Api>>, StoreError> {
        self.apis.for_request(self.db, self.clock, resources, requested, client).await
    }

    /// Records a security event in the audit trail (failing to record does
    /// not fail the request: the protective action already happened).
    pub(crate) async fn record(&self, by: &latchkey_domain::Actor, event: latchkey_domain::SecurityEvent) {
        crate::audit::record(self.db, self.clock, by, &event).await;
        self.watchers.observe(&event, self.clock.now()).await;
    }

    /// The rules a refresh family is judged by at `now`.
    pub(crate) fn rotation_rules(&self, now: i64) -> RotationRules {
        rotation_rules(self.tokens, self.session_idle, self.session_absolute, now)
    }
}

/// The rules a refresh family is judged by at `now` (the refresh policy,
/// and the life of the browser session a non-offline family is bound to).
pub(crate) fn rotation_rules(tokens: &TokenService, session_idle: i64, session_absolute: i64, now: i64) -> RotationRules {
    RotationRules { now, idle: tokens.config.refresh.idle, session_absolute, session_idle }
}

/// The request's `grant_type`: missing is `invalid_request`, one we do not
/// know `unsupported_grant_type` (RFC 6749 §5.2).
pub(crate) fn grant_type(raw: Option<&str>) -> Result<GrantType, OAuthError> {
    let raw = raw.filter(|g| !g.is_empty()).ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    GrantType::parse(raw).ok_or_else(|| OAuthError::new(ErrorCode::UnsupportedGrantType, "unknown grant_type"))
}

/// Runs `grant` for an authenticated `client`; `dpop_jkt` is the key of the
/// request's checked DPoP proof, if any.
pub(crate) async fn dispatch(ctx: &GrantContext<'_>, client: &Client, grant: GrantType, req: TokenRequest, dpop_jkt: Option<String>) -> Result<TokenResponse, OAuthError> {
    match grant {
        GrantType::AuthorizationCode => authorization_code::grant(ctx, client, req, dpop_jkt).await,
        GrantType::RefreshToken => refresh_token::grant(ctx, client, req, dpop_jkt).await,
        GrantType::ClientCredentials => client_credentials::grant(ctx, client, req, dpop_jkt).await,
        GrantType::DeviceCode => device_code::grant(ctx, client, req, dpop_jkt).await,
        GrantType::TokenExchange => token_exchange::grant(ctx, client, req, dpop_jkt).await,
    }
}

/// The error a grant answers when `client` may not use it.
pub(crate) fn unauthorized_client(what: &str) -> OAuthError {
    OAuthError::new(ErrorCode::UnauthorizedClient, format!("client may not use {what}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn code(e: OAuthError) -> Option<ErrorCode> {
        match e {
            OAuthError::Protocol { code, .. } => Some(code),
            _ => None,
        }
    }

    #[test]
    fn grant_types_are_parsed_by_their_wire_names() {
        for g in [GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials, GrantType::DeviceCode, GrantType::TokenExchange] {
            assert_eq!(grant_type(Some(g.as_str())).ok(), Some(g));
        }
        assert_eq!(grant_type(None).err().and_then(code), Some(ErrorCode::InvalidRequest));
        assert_eq!(grant_type(Some("")).err().and_then(code), Some(ErrorCode::InvalidRequest));
        for unknown in ["password", "implicit", "AUTHORIZATION_CODE", "urn:ietf:params:oauth:grant-type:jwt-bearer", "token-exchange"] {
            assert_eq!(grant_type(Some(unknown)).err().and_then(code), Some(ErrorCode::UnsupportedGrantType), "{unknown}");
        }
    }
}
