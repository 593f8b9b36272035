//! `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693):
//! a confidential client trades a user's access token (one of ours) for an
//! access token at another API, acting for the user.
//!
//! In order, each refusal an RFC 6749 §5.2 error:
//!
//! - the client: confidential, with a token exchange policy
//!   (`token_exchange_to` not empty), else `unauthorized_client`;
//! - the request: `subject_token` with `subject_token_type` access token
//!   (or JWT: ours are both), `actor_token` only with `actor_token_type`,
//!   an access token asked for, else `invalid_request`;
//! - the target: the API named by `resource` and/or `audience` (the same
//!   one), in the client's policy and registered, else `invalid_target`;
//! - the subject token: ours (signature, issuer, type), not expired, not
//!   revoked (its `jti`, its client's, grant's and session's markers, and
//!   those of the tokens it was exchanged from), a user's, whose session
//!   (if it names one) is still live and who still exists, enabled; else
//!   `invalid_grant`. Its `may_act` (RFC 8693 §4.4), if any, must name the
//!   client (`invalid_request`); a chain is at most [`MAX_CHAIN`] long;
//! - the actor token, if any: ours, valid, and the calling client's own
//!   (`sub` and `client_id` the client: a client_credentials token);
//! - the scope: of the target API, and within the subject token's (for a
//!   first-hand token traded for another API, also within what the user
//!   consented to the token's app for that API: a token for one API carries
//!   none of another's), else `invalid_scope`; none asked for: all of those.
//!
//! The token issued has the subject's `sub`, `sid` and authentication
//! (`auth_time`, `acr`, `amr`), `client_id` the calling client, `act` the
//! calling client with the subject's own `act` nested in it, and
//! `exchanged_from` (the grant's client and the `jti` chain), so that
//! revoking the user's session, the grant, or any token up the chain
//! revokes it. It lives the API's lifetime but never past the subject
//! token's `exp`, is DPoP-bound when the request carries a proof, and comes
//! without a refresh token. A client its operator marked for impersonation
//! (`token_exchange_impersonation`) that sends no `actor_token` gets a token
//! without `act`, unless the subject token already has one (a chain is
//! never erased). Every exchange is audited (`token_exchanged`).

use latchkey_domain::{Actor as Audited, Client, ClientId, ClientKind, Scope, ScopeSet, SecurityEvent, UserId};
use latchkey_store::repo::{grants as grant_repo, sessions as session_repo, users as user_repo};
use latchkey_token::{AccessTokenClaims, Actor, ExchangedFrom, TokenError};

use super::GrantContext;
use crate::error::{ErrorCode, OAuthError};
use crate::issue::{AuthContext, Delegation};
use crate::token::{TokenRequest, TokenResponse};

/// RFC 8693 §3: an OAuth 2.0 access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// RFC 8693 §3: a JWT (our access tokens are JWTs, so it names the same).
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// Longest subject or actor token read (ours are well under 2 KiB).
pub const MAX_TOKEN_CHARS: usize = 8192;
/// Most exchanges that may lead to one token: its `act` chain is at most
/// this deep, and every use of it checks at most this many ancestors.
pub const MAX_CHAIN: usize = 4;

fn invalid_target(why: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, why)
}

fn invalid_scope(why: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidScope, why)
}

/// A token parameter and its type: present, not oversized, an access token.
fn token_param<'a>(token: Option<&'a str>, kind: Option<&str>, name: &str) -> Result<&'a str, OAuthError> {
    let token = token.ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))?;
    let kind = kind.ok_or_else(|| OAuthError::invalid_request(format!("{name}_type is required")))?;
    if kind != ACCESS_TOKEN_TYPE && kind != JWT_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(format!("{name}_type must be {ACCESS_TOKEN_TYPE} (or {JWT_TOKEN_TYPE}): only latchkey's access tokens are exchanged")));
    }
    if token.len() > MAX_TOKEN_CHARS {
        return Err(OAuthError::invalid_request(format!("{name} is longer than any token of ours")));
    }
    Ok(token)
}

/// One of our access tokens, fully verified (signature, `typ`, issuer,
/// expiry, revocation); anything else is `invalid_grant`.
async fn verified(ctx: &GrantContext<'_>, token: &str, name: &str) -> Result<AccessTokenClaims, OAuthError> {
    match ctx.tokens.verify_access_token(token).await {
        Ok(claims) => Ok(claims),
        Err(TokenError::Store(e)) => Err(e.into()),
        Err(_) => Err(OAuthError::invalid_grant(format!("the {name} is not a valid, unexpired and unrevoked access token of this issuer"))),
    }
}

pub(crate) async fn grant(ctx: &GrantContext<'_>, client: &Client, req: TokenRequest, dpop_jkt: Option<String>) -> Result<TokenResponse, OAuthError> {
    if client.kind() != ClientKind::Confidential || !client.token_exchange.enabled() {
        return Err(super::unauthorized_client("token exchange"));
    }
    let subject_token = token_param(req.subject_token.as_deref(), req.subject_token_type.as_deref(), "subject_token")?;
    let actor_token = match (req.actor_token.as_deref(), req.actor_token_type.as_deref()) {
        (None, None) => None,
        (Some(token), Some(kind)) => Some(token_param(Some(token), Some(kind), "actor_token")?),
        (Some(_), None) => return Err(OAuthError::invalid_request("actor_token_type is required with actor_token")),
        (None, Some(_)) => return Err(OAuthError::invalid_request("actor_token_type without actor_token")),
    };
    if let Some(kind) = req.requested_token_type.as_deref() {
        if kind != ACCESS_TOKEN_TYPE && kind != JWT_TOKEN_TYPE {
            return Err(OAuthError::invalid_request(format!("token exchange issues access tokens only (requested_token_type {ACCESS_TOKEN_TYPE})")));
        }
    }
    let requested = match req.scope.as_deref() {
        Some(s) => Some(ScopeSet::parse_tokens(s).map_err(|_| invalid_scope("malformed scope"))?),
        None => None,
    };

    // The target: in the client's policy (checked first: what is outside
    // it is refused alike, registered or not), then registered.
    let audience = match (req.resource.as_deref(), req.audience.as_deref()) {
        (Some(r), Some(a)) if r != a => return Err(invalid_target("resource and audience name different APIs: an access token has one audience")),
        (Some(named), _) | (None, Some(named)) => named,
        (None, None) => return Err(OAuthError::invalid_request("name the API the token is for with resource or audience")),
    };
    if !client.token_exchange.allows(audience) {
        return Err(invalid_target("this client may not exchange tokens for that audience"));
    }
    let apis = ctx.apis_for(&[audience], &ScopeSet::default(), client).await?;
    let api = crate::apis::resource(&apis, Some(audience))?.ok_or_else(|| invalid_target("the audience is not a registered API"))?;

    // The subject token, and the user and session behind it.
    let subject = verified(ctx, subject_token, "subject_token").await?;
    if subject.sub == subject.client_id {
        return Err(OAuthError::invalid_grant("the subject_token is a client's own token: only a user's access token is exchanged"));
    }
    let chain = subject.exchanged_from.as_ref().map_or(0, |f| f.jti.len());
    if chain >= MAX_CHAIN || subject.act.as_ref().is_some_and(|a| a.depth() >= MAX_CHAIN) {
        return Err(OAuthError::invalid_request(format!("the subject_token was exchanged {MAX_CHAIN} times already: start again from the user's token")));
    }
    if subject.may_act.as_ref().is_some_and(|m| !m.names(&client.id.0)) {
        return Err(OAuthError::invalid_request("the subject_token's may_act does not name this client (RFC 8693 §4.4)"));
    }
    let now = ctx.clock.now();
    if let Some(sid) = subject.sid.clone() {
        let (idle, absolute) = (ctx.session_idle, ctx.session_absolute);
        let session = ctx.db.run(move |c| session_repo::find_by_sid(c, &sid)).await?;
        if !session.is_some_and(|s| s.is_live(now, idle, absolute)) {
            return Err(OAuthError::invalid_grant("the session the subject_token was issued in has ended"));
        }
    }
    let uid = UserId(subject.sub.clone());
    let user = ctx.db.run(move |c| user_repo::find_by_id(c, &uid)).await?;
    let user = user.filter(|u| u.disabled_at.is_none()).ok_or_else(|| OAuthError::invalid_grant("the subject_token's user no longer exists or is disabled"))?;

    // The actor: the calling client, proven by its own token if it sent one.
    if let Some(token) = actor_token {
        let actor = verified(ctx, token, "actor_token").await?;
        if actor.sub != client.id.0 || actor.client_id != client.id.0 {
            return Err(OAuthError::invalid_request("the actor_token must be an access token this client got for itself (client_credentials)"));
        }
    }
    let impersonation = client.token_exchange.impersonation && actor_token.is_none() && subject.act.is_none();

    // The scope: the target API's own, never wider than what the user gave.
    // The subject token's scopes; and, when a first-hand token (not itself
    // exchanged) is traded for another API, what the user consented to for
    // that API when granting the token's app: an access token carries only
    // its own API's scopes. Down a chain, only the token's: a narrowed
    // link narrows the rest.
    let mut held = ScopeSet::parse_lenient(&subject.scope);
    if subject.exchanged_from.is_none() && subject.aud != api.audience {
        let (consent_user, consent_client) = (user.id.clone(), ClientId(subject.client_id.clone()));
        let consented = ctx.db.run(move |c| grant_repo::find(c, &consent_user, &consent_client)).await?.map(|g| g.scopes).unwrap_or_default();
        held = held.union(&ScopeSet::from_api_names(consented.api_names().filter(|n| api.has_scope(n))));
    }
    let scope = match requested {
        Some(wanted) => {
            if !wanted.is_subset(&held) {
                return Err(invalid_scope("the requested scope exceeds what the user gave: the subject_token's scopes and the user's consent to the app"));
            }
            if !wanted.oidc_only().is_empty() || wanted.api_names().any(|n| !api.has_scope(n)) {
                return Err(invalid_scope("the requested scope is not a scope of that API"));
            }
            wanted
        }
        None => ScopeSet::from_api_names(held.api_names().filter(|n| api.has_scope(n))),
    };

    let mut from = subject.exchanged_from.clone().unwrap_or_else(|| ExchangedFrom { client_id: subject.client_id.clone(), jti: Vec::new() });
    from.jti.push(subject.jti.clone());
    let act = (!impersonation).then(|| Actor { sub: client.id.0.clone(), act: subject.act.clone().map(Box::new) });
    let auth = AuthContext {
        scope: scope.to_string(),
        auth_time: subject.auth_time,
        acr: subject.acr.clone(),
        amr: subject.amr.clone(),
        sid: subject.sid.clone(),
        nonce: None,
        dpop_jkt,
        delegation: Some(Delegation { act, from }),
    };
    // Groups only if the subject token carried them; roles are the user's at the target API.
    let granted = if subject.groups.is_some() { scope.union(&ScopeSet::from_iter([Scope::Groups])) } else { scope.clone() };
    let mut target = ctx.with_user_claims(ctx.target(&scope, Some(api)), &user.id.0, &granted).await?;
    // Never outlives the token it was exchanged from.
    target.ttl = target.ttl.min(subject.exp - now);
    let minted = ctx.mint(client, &user.id.0, None, &auth, &target, uuid::Uuid::new_v4().to_string(), now)?;
    let event = SecurityEvent::TokenExchanged { user: user.id.clone(), client: client.id.clone(), subject_client: ClientId(subject.client_id.clone()), audience: api.audience.clone(), impersonation };
    ctx.record(&Audited::Client(client.id.clone()), event).await;
    let mut response = minted.into_response(None);
    response.issued_token_type = Some(ACCESS_TOKEN_TYPE.into());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_parameters_are_checked_before_anything_is_verified() {
        let ok = token_param(Some("eyJ.x.y"), Some(ACCESS_TOKEN_TYPE), "subject_token");
        assert_eq!(ok.ok(), Some("eyJ.x.y"));
        assert!(token_param(Some("eyJ.x.y"), Some(JWT_TOKEN_TYPE), "subject_token").is_ok(), "a JWT names the same token");
        for (token, kind) in [
            (None, Some(ACCESS_TOKEN_TYPE)),
            (Some("eyJ.x.y"), None),
            (Some("eyJ.x.y"), Some("urn:ietf:params:oauth:token-type:refresh_token")),
            (Some("eyJ.x.y"), Some("urn:ietf:params:oauth:token-type:id_token")),
            (Some("eyJ.x.y"), Some("")),
        ] {
            assert_eq!(token_param(token, kind, "subject_token").err().and_then(crate::grants::tests::code), Some(ErrorCode::InvalidRequest), "{token:?} {kind:?}");
        }
        let huge = "a".repeat(MAX_TOKEN_CHARS + 1);
        assert_eq!(token_param(Some(&huge), Some(ACCESS_TOKEN_TYPE), "subject_token").err().and_then(crate::grants::tests::code), Some(ErrorCode::InvalidRequest));
    }
}
