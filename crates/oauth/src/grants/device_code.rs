//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628
//! §3.4, §3.5): the device polls; once the user approved at `/device`,
//! exactly one poll gets the tokens (bound to `dpop_jkt`, the key of that
//! poll's DPoP proof, if any). The rest of the device flow (the device
//! authorization endpoint, user codes, the user's answer) is in
//! [`crate::device`].

use latchkey_domain::{Client, GrantType};
use latchkey_store::{StoreError, SPENT_PREFIX};

use super::GrantContext;
use crate::device::{answer_key, device_request, still_pending, store_ttl, DeviceAnswer};
use crate::error::{ErrorCode, OAuthError};
use crate::issue::{AuthContext, UserGrant};
use crate::token::{TokenRequest, TokenResponse};

pub(crate) async fn grant(ctx: &GrantContext<'_>, client: &Client, req: TokenRequest, dpop_jkt: Option<String>) -> Result<TokenResponse, OAuthError> {
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(super::unauthorized_client("the device authorization grant"));
    }
    let code = req.device_code.as_deref().ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
    let hash = ctx.device_codes.hash(code);
    let now = ctx.clock.now();
    let request = device_request(ctx.fast, &hash).await?.ok_or_else(|| OAuthError::invalid_grant("the device code is unknown"))?;
    // Another client's code is unknown to this one: nothing about it is
    // told or changed (its polling state included).
    if request.client_id != client.id.0 {
        tracing::warn!(target: "security", event = "device_code_client_mismatch", client_id = %client.id.0);
        return Err(OAuthError::invalid_grant("the device code is unknown"));
    }
    if request.expires_at <= now {
        return Err(OAuthError::new(ErrorCode::ExpiredToken, "the device code has expired; start over"));
    }
    let used = || OAuthError::invalid_grant("the device code was already used");
    match ctx.fast.single_use().get(&answer_key(&hash)).await? {
        None => return Err(still_pending(ctx.fast, &hash, now).await?),
        Some(a) if a.starts_with(SPENT_PREFIX) => return Err(used()),
        Some(a) => {
            if let DeviceAnswer::Denied = serde_json::from_str::<DeviceAnswer>(&a).map_err(StoreError::from)? {
                return Err(OAuthError::new(ErrorCode::AccessDenied, "the user denied the request"));
            }
        }
    }
    // Spend the approval in one atomic step: of racing polls (on any
    // node), exactly one gets the tokens. (An answer never changes once
    // written, so what is spent here is the approval just read.)
    let jti = uuid::Uuid::new_v4().to_string();
    let earlier = ctx.fast.single_use().spend(&answer_key(&hash), &format!("{SPENT_PREFIX}{jti}"), store_ttl()).await?.ok_or_else(used)?;
    if earlier.starts_with(SPENT_PREFIX) {
        return Err(used());
    }
    let DeviceAnswer::Approved { user_id, sid, auth_time, amr, acr } = serde_json::from_str::<DeviceAnswer>(&earlier).map_err(StoreError::from)? else {
        return Err(used());
    };
    let auth = AuthContext { scope: request.scope.clone(), auth_time: Some(auth_time), acr: Some(acr), amr, sid: Some(sid), nonce: None, dpop_jkt, delegation: None };
    let grant = UserGrant { user_id: &user_id, ctx: auth, resource: request.resource.as_deref(), resources: &[] };
    let (minted, refresh) = ctx.redeem_user_grant(client, grant, req.resource.as_deref(), jti, uuid::Uuid::new_v4().to_string(), now).await?;
    Ok(minted.into_response(refresh))
}
