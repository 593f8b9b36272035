//! What happens around a browser session beyond one handler: restoring one
//! from a remember-me device, and ending sessions with everything tied to them.

use actix_web::cookie::Cookie;
use actix_web::HttpRequest;
use latchkey_authn::{Notice, Restore};
use latchkey_domain::{Actor, SecurityEvent};
use latchkey_domain::{Session, User, UserId};
use latchkey_i18n::Tr;

use crate::browser::{client_info, current_session, device_cookie, expired_device_cookie, session_cookie, DEVICE_COOKIE};
use crate::error::WebError;
use crate::lang;
use crate::state::AppState;

/// The browser's session, or a new one restored from its remember-me device
/// token; `cookies` must go on the response.
pub struct Resolved {
    pub session: Option<Session>,
    pub cookies: Vec<Cookie<'static>>,
}

pub async fn session_or_restore(req: &HttpRequest, state: &AppState) -> Result<Resolved, WebError> {
    if let Some(session) = current_session(req, state).await? {
        return Ok(Resolved { session: Some(session), cookies: Vec::new() });
    }
    let Some(token) = req.cookie(DEVICE_COOKIE).map(|c| c.value().to_string()).filter(|v| !v.is_empty()) else {
        return Ok(Resolved { session: None, cookies: Vec::new() });
    };
    match state.devices.restore(&token).await? {
        Restore::Restored { user_id, amr, device_id, auth_time, token } => {
            // Not a sign-in: `auth_time` and `amr` stay those of the
            // interactive sign-in that created the device, and `restored`
            // keeps the session from counting as fresh or stepped up.
            let new = state.sessions.restore(&user_id, amr, client_info(req), device_id.clone(), auth_time).await?;
            state.oauth.record(&Actor::User(user_id.clone()), SecurityEvent::SessionRestored { user: user_id.clone() }).await;
            let mut cookies = vec![session_cookie(new.cookie_value)];
            cookies.extend(token.map(|t| device_cookie(t, state.devices.lifetime)));
            Ok(Resolved { session: Some(new.session), cookies })
        }
        Restore::Replayed { device_id, user_id } => {
            let sids = state.sessions.sids_for_device(&device_id).await?;
            end_sessions(state, sids).await?;
            state.oauth.record(&Actor::Anonymous, SecurityEvent::DeviceTokenReplayed { user: user_id.clone(), device: device_id.clone() }).await;
            Ok(Resolved { session: None, cookies: vec![expired_device_cookie()] })
        }
        Restore::Invalid => Ok(Resolved { session: None, cookies: vec![expired_device_cookie()] }),
    }
}

/// Ends sessions and everything tied to them: their remember-me devices, their
/// session-bound refresh families and access tokens, and (back-channel) the
/// relying parties they signed in to.
pub async fn end_sessions(state: &AppState, sids: Vec<String>) -> Result<Vec<Session>, WebError> {
    let ended = state.sessions.end(sids).await?;
    for s in &ended {
        if let Some(device) = &s.device_id {
            state.devices.forget(device).await?;
        }
    }
    state.oauth.sessions_ended(&ended).await.map_err(WebError::from_oauth_on_page)?;
    Ok(ended)
}

/// Ends every session and remembered device of a user, except `keep` (this
/// browser's session and its device). Devices go too even when their browser
/// session already expired: otherwise a lost laptop would come back.
pub async fn end_user_sessions(state: &AppState, user: &UserId, keep: Option<&Session>) -> Result<Vec<Session>, WebError> {
    let keep_sid = keep.map(|s| s.sid.as_str());
    let sids = state.sessions.list(user).await?.into_iter().map(|s| s.sid).filter(|sid| Some(sid.as_str()) != keep_sid).collect();
    let ended = end_sessions(state, sids).await?;
    state.devices.forget_all_except(user, keep.and_then(|s| s.device_id.as_deref())).await?;
    Ok(ended)
}

/// After a credential change (password, second factor added or removed,
/// passkey removed): every other session and remembered device of the user
/// ends, and the change is audited.
/// `what` makes the event from the number of other sessions ended.
pub async fn credentials_changed(state: &AppState, user: &UserId, current: &Session, what: impl FnOnce(usize) -> SecurityEvent) -> Result<(), WebError> {
    let ended = end_user_sessions(state, user, Some(current)).await?;
    // No recovery link from before the change still works.
    state.links.revoke_for_user(user, Some(latchkey_authn::Purpose::Recovery)).await?;
    state.oauth.record(&Actor::User(user.clone()), what(ended.len())).await;
    Ok(())
}

/// What was added, for [`credential_added`]'s mail.
#[derive(Debug, Clone, Copy)]
pub enum Added<'a> {
    Passkey(&'a str),
    AuthenticatorApp,
    BackupCodes,
}

/// After a sign-in method was added (passkey, authenticator app, backup
/// codes): a credential change like any other (other sessions and devices
/// end, recovery links die, audited as `what` makes it), and the user is
/// mailed, in their language (else `t`), with a "This wasn't me" link that
/// ends the session that added it and offers to remove what it added.
pub async fn credential_added(state: &AppState, user: &User, current: &Session, what: impl FnOnce(usize) -> SecurityEvent, added: Added<'_>, t: Tr) -> Result<(), WebError> {
    credentials_changed(state, &user.id, current, what).await?;
    let not_me_url = not_me_link(state, &current.sid);
    let (passkey, app) = match added {
        Added::Passkey(name) => (Some(name), false),
        Added::AuthenticatorApp => (None, true),
        Added::BackupCodes => (None, false),
    };
    let notice = Notice::CredentialAdded { username: &user.username, passkey, app, not_me_url: &not_me_url };
    crate::account_links::notify(state, &user.email, lang::for_user(user, t), notice).await;
    Ok(())
}

/// A link that ends one session: `sid` and expiry, MACed with the mail-link key.
pub fn not_me_link(state: &AppState, sid: &str) -> String {
    let exp = state.clock.now() + NOT_ME_LINK_TTL;
    let payload = format!("{sid}.{exp}");
    format!("{}/account/not-me?t={}.{}", state.issuer, payload, state.mail_links.tag_b64(&payload))
}

/// The session a "This wasn't me" link points at, if the link is genuine and unexpired.
pub fn parse_not_me(state: &AppState, token: &str) -> Option<String> {
    let (payload, tag) = token.rsplit_once('.')?;
    if !state.mail_links.verify_b64(payload, tag) {
        return None;
    }
    let (sid, exp) = payload.rsplit_once('.')?;
    (exp.parse::<i64>().ok()? > state.clock.now()).then(|| sid.to_string())
}

/// "This wasn't me" links work for 7 days: longer than anyone takes to read mail.
const NOT_ME_LINK_TTL: i64 = 7 * 24 * 3600;

/// Tells the user about a sign-in from a device their recent sessions did
/// not come from, in their language (else `t`, the sign-in page's), the
/// time in words in their `zoneinfo` (else UTC).
pub async fn notify_new_device(state: &AppState, user: &User, session: &Session, t: Tr) -> Result<(), WebError> {
    let not_me_url = not_me_link(state, &session.sid);
    let notice = Notice::NewDevice { username: &user.username, device: session.device_name.as_deref(), at: session.created_at, ip: session.ip.as_deref(), not_me_url: &not_me_url };
    state.mailer.send(&notice.compose(&user.email, lang::for_user(user, t), user.profile.zoneinfo.as_deref(), &state.brand.for_mail())).await?;
    let new_device = SecurityEvent::NewDeviceSignIn { user: user.id.clone(), session: session.sid.clone(), device: session.device_name.clone() };
    state.oauth.record(&Actor::User(user.id.clone()), new_device).await;
    Ok(())
}
