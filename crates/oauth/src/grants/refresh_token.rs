//! `grant_type=refresh_token` (RFC 6749 §6): rotation, reuse detection, grace.

use latchkey_domain::{Actor, ClientId, SecurityEvent, UserId};
use std::time::Duration;

use latchkey_domain::{Api, Client, GrantType, ScopeSet};
use latchkey_store::repo::refresh::{self as repo, Family, Rotation, Successor, TokenRow};
use latchkey_store::StoreError;
use latchkey_token::crypto::random_token;

use super::GrantContext;
use crate::error::{ErrorCode, OAuthError};
use crate::issue::{AuthContext, REFRESH_PREFIX};
use crate::token::{TokenRequest, TokenResponse};

fn grace_key(hash: &str) -> String {
    format!("refresh-grace:{hash}")
}

/// What of a family's `granted` scope a refresh may still hand out: only
/// what the client is allowed now (an administrator may have taken a scope
/// away since the sign-in), and of API scopes only those still registered.
/// Refresh tokens thus never outlive a change of the client's permissions.
pub(crate) fn still_allowed(granted: &ScopeSet, client: &Client, apis: &[Api]) -> ScopeSet {
    let allowed = granted.intersect(&client.allowed_scopes);
    let registered = ScopeSet::from_api_names(allowed.api_names().filter(|n| crate::apis::owner_of(apis, n).is_some()));
    allowed.oidc_only().union(&registered)
}

pub(crate) async fn grant(ctx: &GrantContext<'_>, client: &Client, req: TokenRequest, dpop_jkt: Option<String>) -> Result<TokenResponse, OAuthError> {
    if !client.allows_grant(GrantType::RefreshToken) {
        return Err(super::unauthorized_client("refresh_token"));
    }
    let presented = req.refresh_token.as_deref().ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let hash = ctx.tokens.refresh_hasher().hash(presented);
    let now = ctx.clock.now();
    // RFC 8707: `resource` picks the API the new access token is for (any
    // API the grant covers); a narrower `scope` may be asked for (RFC 6749
    // §6), never a wider one. Both are checked before the token is spent,
    // so a bad request does not cost the client its family.
    let apis = ctx.apis_for(req.resource.as_deref().as_slice(), &ScopeSet::default(), client).await?;
    let api = crate::apis::resource(&apis, req.resource.as_deref())?;
    let wanted = match req.scope.as_deref() {
        Some(s) => Some(ScopeSet::parse_tokens(s).map_err(|bad| OAuthError::new(ErrorCode::InvalidScope, format!("malformed scope {bad}")))?),
        None => None,
    };
    if wanted.is_some() || api.is_some() {
        let h = hash.clone();
        if let Some(granted) = ctx.db.run(move |c| repo::find(c, &h)).await?.map(|(_, f)| ScopeSet::parse_lenient(&f.scope)) {
            if wanted.as_ref().is_some_and(|w| !w.is_subset(&granted)) {
                return Err(OAuthError::new(ErrorCode::InvalidScope, "the requested scope exceeds the original grant"));
            }
            if api.is_some_and(|a| !still_allowed(&granted, client, &apis).api_names().any(|n| a.has_scope(n))) {
                return Err(OAuthError::new(ErrorCode::InvalidTarget, "the grant covers no scope of that resource (any more)"));
            }
        }
    }
    let ttl = api.map_or(ctx.tokens.config.access_token_ttl, |a| a.access_token_ttl);

    let raw_next = random_token(REFRESH_PREFIX);
    let jti = uuid::Uuid::new_v4().to_string();
    let next = Successor { hash: ctx.tokens.refresh_hasher().hash(&raw_next), access_jti: jti.clone(), access_exp: now + ttl };
    let (h, client_id, rules, jkt) = (hash.clone(), client.id.0.clone(), ctx.rotation_rules(now), dpop_jkt.clone());
    let outcome = repo::rotate_in(ctx.db, h, client_id, jkt, next, rules).await?;
    let result = match &outcome {
        Rotation::Rotated { .. } => "rotated",
        Rotation::Reused { .. } => "reused",
        Rotation::Unknown => "unknown",
        Rotation::Refused { .. } => "refused",
    };
    metrics::counter!("latchkey_refresh_rotations_total", "result" => result).increment(1);
    match outcome {
        Rotation::Rotated { family, .. } => {
            let scope = still_allowed(&wanted.unwrap_or_else(|| ScopeSet::parse_lenient(&family.scope)), client, &apis);
            let auth = AuthContext::from_family(&family, scope.to_string(), dpop_jkt);
            let target = ctx.with_user_claims(ctx.target(&scope, api), &family.user_id, &scope).await?;
            // No ID token on refresh (OIDC Core §12.2 makes it optional): the
            // RS256 signature would be most of the cost of a rotation, and the
            // relying party already holds the ID token of the sign-in. The
            // family's user still exists (families are deleted with the user).
            let minted = ctx.mint(client, &family.user_id, None, &auth, &target, jti, now)?;
            let response = minted.into_response(Some(raw_next));
            remember_for_grace(ctx, &hash, &response).await?;
            Ok(response)
        }
        Rotation::Reused { token, family } => on_reuse(ctx, &hash, token, family, dpop_jkt.as_deref(), now).await,
        Rotation::Unknown => Err(OAuthError::invalid_grant("the refresh token is unknown")),
        Rotation::Refused { reason, .. } => Err(OAuthError::invalid_grant(reason)),
    }
}

/// With a grace window, keeps the response (sealed) so that a racing tab
/// presenting the same token gets the same successor.
async fn remember_for_grace(ctx: &GrantContext<'_>, hash: &str, response: &TokenResponse) -> Result<(), OAuthError> {
    let grace = ctx.tokens.config.refresh.grace;
    if grace <= 0 {
        return Ok(());
    }
    let json = serde_json::to_vec(response).map_err(StoreError::from)?;
    let sealed = ctx.tokens.master().encrypt(&json, &grace_key(hash))?;
    // The rotation is committed: losing the answer now would cost the
    // client its family, so a Redis outage only costs the grace window.
    if let Err(e) = ctx.fast.put(&grace_key(hash), &sealed, Duration::from_secs(grace as u64)).await {
        tracing::warn!(error = %e, "refresh grace answer not kept (fast store unreachable)");
    }
    Ok(())
}

/// A rotated token came back. Within the grace window, and if it is the
/// immediately previous token, answer with its successor; otherwise this is
/// theft or a broken client: revoke the family and everything it issued.
async fn on_reuse(ctx: &GrantContext<'_>, hash: &str, token: TokenRow, family: Family, dpop_jkt: Option<&str>, now: i64) -> Result<TokenResponse, OAuthError> {
    let grace = ctx.tokens.config.refresh.grace;
    let within = token.used_at.is_some_and(|used| now - used <= grace);
    // A bound family's answer goes only to the holder of its key.
    let holder = family.dpop_jkt.as_deref().is_none_or(|bound| dpop_jkt == Some(bound));
    if grace > 0 && within && holder && family.revoked_at.is_none() {
        if let Some(successor) = token.successor_hash.clone() {
            let current = ctx.db.run(move |c| repo::find(c, &successor)).await?.is_some_and(|(t, _)| t.used_at.is_none());
            if current {
                // Unreachable Redis: no grace answer; fall through and revoke (fail closed).
                if let Some(sealed) = ctx.fast.get(&grace_key(hash)).await.ok().flatten() {
                    let json = ctx.tokens.master().decrypt(&sealed, &grace_key(hash))?;
                    let response: TokenResponse = serde_json::from_slice(&json).map_err(StoreError::from)?;
                    tracing::info!(target: "security", event = "refresh_grace", family = %family.id);
                    return Ok(response);
                }
            }
        }
    }
    let (id, reason) = (family.id.clone(), "refresh token reuse");
    let jtis = ctx.db.run(move |c| repo::revoke_family(c, &id, now, reason)).await?;
    ctx.tokens.revoke_jtis(&jtis).await?;
    let client = ClientId(family.client_id.clone());
    let reuse = SecurityEvent::RefreshTokenReuse { user: UserId(family.user_id.clone()), client: client.clone(), family: family.id.clone(), generation: token.generation };
    ctx.record(&Actor::Client(client), reuse).await;
    Err(OAuthError::invalid_grant("the refresh token was already used; its family is revoked"))
}
