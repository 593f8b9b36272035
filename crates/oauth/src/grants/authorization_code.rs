//! `grant_type=authorization_code` (RFC 6749 §4.1.3): a code from
//! `/authorize`, redeemed once, by the client it was issued to, with the same
//! `redirect_uri`, its PKCE verifier (RFC 7636) and, for a bound code, a DPoP
//! proof of its key (RFC 9449 §10). A code presented twice revokes what its
//! first redemption issued (RFC 6749 §4.1.2, RFC 9700 §4.5).

use latchkey_domain::{Actor, SecurityEvent};
use std::time::Duration;

use latchkey_domain::{Client, GrantType};
use latchkey_store::repo::refresh as refresh_repo;
use latchkey_store::{StoreError, SPENT_PREFIX};

use super::GrantContext;
use crate::code::{code_key, replayed_key, CodeGrant, Redemption};
use crate::error::OAuthError;
use crate::issue::{AuthContext, UserGrant};
use crate::pkce;
use crate::token::{TokenRequest, TokenResponse};

pub(crate) async fn grant(ctx: &GrantContext<'_>, client: &Client, req: TokenRequest, dpop_jkt: Option<String>) -> Result<TokenResponse, OAuthError> {
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(super::unauthorized_client("authorization_code"));
    }
    let code = req.code.as_deref().ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let hash = ctx.codes.hash(code);
    let now = ctx.clock.now();
    let jti = uuid::Uuid::new_v4().to_string();
    let family_id = uuid::Uuid::new_v4().to_string();
    // The API (and so the token's lifetime) is known only once the code is
    // read: record the longest lifetime any access token can have.
    let access_exp = now + ctx.tokens.longest_access_token_ttl();
    // Spend the code in one atomic step: it becomes the record of this
    // redemption (what it will issue), so a replay, however close, finds
    // what to revoke, and exactly one redemption gets the grant.
    let redemption = Redemption { access_jtis: vec![(jti.clone(), access_exp)], family_id: Some(family_id.clone()) };
    let spent = format!("{SPENT_PREFIX}{}", serde_json::to_string(&redemption).map_err(StoreError::from)?);
    let ttl = Duration::from_secs(ctx.tokens.longest_access_token_ttl() as u64 + 60);
    let grant: CodeGrant = match ctx.fast.single_use().spend(&code_key(&hash), &spent, ttl).await? {
        None => return Err(OAuthError::invalid_grant("the code is unknown or has expired")),
        Some(earlier) => match earlier.strip_prefix(SPENT_PREFIX) {
            Some(first) => return Err(reject_reused_code(ctx, &hash, first, client).await),
            None => serde_json::from_str(&earlier).map_err(StoreError::from)?,
        },
    };
    if grant.client_id != client.id.0 {
        return Err(OAuthError::invalid_grant("the code was issued to another client"));
    }
    if grant.expires_at <= now {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    if req.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request"));
    }
    pkce::verify(grant.pkce.as_deref(), req.code_verifier.as_deref()).map_err(OAuthError::invalid_grant)?;
    // RFC 9449 §10: a code bound to a key (dpop_jkt, or the proof sent to
    // /par) is redeemed only with a proof of that key.
    if let Some(bound) = grant.dpop_jkt.as_deref() {
        if dpop_jkt.as_deref() != Some(bound) {
            tracing::warn!(target: "security", event = "code_dpop_key_mismatch", client_id = %client.id.0, "a DPoP-bound code was presented without a proof of its key");
            return Err(OAuthError::invalid_grant("the code is bound to a DPoP key: redeem it with a DPoP proof of that key"));
        }
    }
    let auth = AuthContext {
        scope: grant.scope.clone(),
        auth_time: Some(grant.auth_time),
        acr: Some(grant.acr.clone()),
        amr: grant.amr.clone(),
        sid: Some(grant.sid.clone()),
        nonce: grant.nonce.clone(),
        dpop_jkt,
        delegation: None,
    };
    let user_grant = UserGrant { user_id: &grant.user_id, ctx: auth, resource: grant.resource.as_deref(), resources: &grant.resources };
    let (minted, refresh) = ctx.redeem_user_grant(client, user_grant, req.resource.as_deref(), jti.clone(), family_id.clone(), now).await?;
    // A replay that raced this redemption marked the code before it
    // revoked; if the family did not exist yet then, it is revoked here:
    // a family is never handed out once its code was replayed. (Without a
    // family there is nothing the replay could have missed: it revoked the
    // access token's `jti`, reserved in the spent code before minting.)
    if refresh.is_some() && ctx.fast.single_use().get(&replayed_key(&hash)).await?.is_some() {
        revoke_redemption(ctx, &redemption).await?;
        return Err(OAuthError::invalid_grant("the code was used twice; tokens issued for it are revoked"));
    }
    Ok(minted.into_response(refresh))
}

/// A code presented again after it was spent: a replay. Mark it (so a
/// redemption still in flight revokes what it issues) and revoke
/// everything the first redemption issued.
async fn reject_reused_code(ctx: &GrantContext<'_>, hash: &str, first: &str, client: &Client) -> OAuthError {
    let result: Result<(), OAuthError> = async {
        let ttl = Duration::from_secs(ctx.tokens.config.access_token_ttl as u64 + 60);
        ctx.fast.single_use().put(&replayed_key(hash), "1", ttl).await?;
        let r: Redemption = serde_json::from_str(first).map_err(StoreError::from)?;
        revoke_redemption(ctx, &r).await
    }
    .await;
    match result {
        Ok(()) => {
            ctx.record(&Actor::Client(client.id.clone()), SecurityEvent::CodeReuse { client: client.id.clone() }).await;
            OAuthError::invalid_grant("the code has already been used; tokens issued for it are revoked")
        }
        Err(e) => e,
    }
}

/// Revokes what a redemption issued: its access tokens and refresh family.
async fn revoke_redemption(ctx: &GrantContext<'_>, r: &Redemption) -> Result<(), OAuthError> {
    ctx.tokens.revoke_jtis(&r.access_jtis).await?;
    if let Some(family) = r.family_id.clone() {
        let now = ctx.clock.now();
        let jtis = ctx.db.run(move |c| refresh_repo::revoke_family(c, &family, now, "authorization code replayed")).await?;
        ctx.tokens.revoke_jtis(&jtis).await?;
    }
    Ok(())
}
