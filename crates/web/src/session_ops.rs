//! Restoring a browser session from a remember-me device.

use actix_web::cookie::Cookie;
use actix_web::HttpRequest;
use latchkey_authn::Restore;
use latchkey_domain::Session;
use latchkey_domain::{Actor, SecurityEvent};

use crate::browser::{client_info, current_session, device_cookie, expired_device_cookie, known_device, session_cookie, DEVICE_COOKIE};
use crate::error::WebError;
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
            // Issue #32: a restore that looks risky is a fresh sign-in (the
            // device stays, with its rotated token; the password decides).
            let known = known_device(req, state, &user_id).is_some();
            if !state.may_restore(&user_id, &client_info(req), known).await? {
                return Ok(Resolved { session: None, cookies: token.map(|t| device_cookie(t, state.devices.lifetime)).into_iter().collect() });
            }
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
            state.end_sessions(sids).await?;
            state.oauth.record(&Actor::Anonymous, SecurityEvent::DeviceTokenReplayed { user: user_id.clone(), device: device_id.clone() }).await;
            Ok(Resolved { session: None, cookies: vec![expired_device_cookie()] })
        }
        Restore::Invalid => Ok(Resolved { session: None, cookies: vec![expired_device_cookie()] }),
    }
}
