//! What the web layer knows about a browser: its session cookie, its CSRF
//! cookie, and the checks every state-changing form POST goes through.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use latchkey_authn::sessions::Resolution;
use latchkey_authn::ClientInfo;
use latchkey_domain::{Actor, SecurityEvent};
use latchkey_domain::{Session, UserId};
use latchkey_token::crypto::random_token;

use crate::error::WebError;
use crate::state::AppState;

/// `__Host-` prefix: the browser only accepts it with Secure, Path=/ and no
/// Domain, so no subdomain can plant or overwrite it.
pub const SESSION_COOKIE: &str = "__Host-latchkey-session";
pub const CSRF_COOKIE: &str = "__Host-latchkey-csrf";
/// "Keep me signed in": the remember-me device token.
pub const DEVICE_COOKIE: &str = "__Host-latchkey-device";

/// OWASP's lockout "device cookie": a browser that signed in to an account
/// holds one, and its failed passwords count against itself, not against the
/// account's limit for unknown devices (`latchkey_authn::throttle`). It
/// carries no name and grants nothing: it is `<nonce>.<MAC of the user id and
/// nonce>`, worthless without the password.
pub const KNOWN_DEVICE_COOKIE: &str = "__Host-latchkey-known";
/// How long a browser stays "known" after its last sign-in: half a year, so a
/// person who signs in a few times a year is not treated as a stranger when
/// someone is spraying passwords at their account.
pub const KNOWN_DEVICE_LIFETIME_SECS: i64 = 180 * 24 * 3600;

/// Every cookie latchkey sets: HttpOnly (no script access), Secure, SameSite=Lax
/// (sent on top-level navigations back from a relying party, not on cross-site
/// subrequests or POSTs), Path=/ (required by `__Host-`).
fn cookie(name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value).http_only(true).secure(true).same_site(SameSite::Lax).path("/").finish()
}

pub fn session_cookie(value: String) -> Cookie<'static> {
    cookie(SESSION_COOKIE, value)
}

pub fn expired_session_cookie() -> Cookie<'static> {
    removal(SESSION_COOKIE)
}

fn removal(name: &'static str) -> Cookie<'static> {
    let mut c = cookie(name, String::new());
    c.make_removal();
    c
}

/// The device cookie outlives the browser session: it is the one persistent cookie.
pub fn device_cookie(value: String, max_age_secs: i64) -> Cookie<'static> {
    let mut c = cookie(DEVICE_COOKIE, value);
    c.set_max_age(actix_web::cookie::time::Duration::seconds(max_age_secs));
    c
}

pub fn expired_device_cookie() -> Cookie<'static> {
    removal(DEVICE_COOKIE)
}

/// An upstream account waiting to be linked once this browser signs in to
/// the account with its email (issue #26): the pending link's id, for
/// `latchkey_app::federation::flow::LINK_TTL`.
pub const LINK_COOKIE: &str = "__Host-latchkey-link";

pub fn link_cookie(value: String) -> Cookie<'static> {
    let mut c = cookie(LINK_COOKIE, value);
    c.set_max_age(actix_web::cookie::time::Duration::seconds(latchkey_app::federation::flow::LINK_TTL.as_secs() as i64));
    c
}

pub fn expired_link_cookie() -> Cookie<'static> {
    removal(LINK_COOKIE)
}

/// The MAC input of a known-device cookie: the account's id, never its name
/// (a case variant or a rename would otherwise get a cookie, and a fresh
/// failure budget, of its own; issue #24 item 2).
fn known_device_tag(state: &AppState, user: &UserId, nonce: &str) -> String {
    state.csrf.tag_b64(&known_device_input(user, nonce))
}

fn known_device_input(user: &UserId, nonce: &str) -> String {
    format!("known-device:id:{}:{nonce}", user.0)
}

/// A new known-device cookie for `user`, set at every sign-in.
pub fn known_device_cookie(state: &AppState, user: &UserId) -> Cookie<'static> {
    let nonce = random_token("");
    let mut c = cookie(KNOWN_DEVICE_COOKIE, format!("{nonce}.{}", known_device_tag(state, user, &nonce)));
    c.set_max_age(actix_web::cookie::time::Duration::seconds(KNOWN_DEVICE_LIFETIME_SECS));
    c
}

/// The id of this browser's known-device cookie when it was issued for
/// `user` (checked in constant time); `None` for an unknown device, a
/// cookie of another account, or a forged one.
pub fn known_device(req: &HttpRequest, state: &AppState, user: &UserId) -> Option<String> {
    let cookie = req.cookie(KNOWN_DEVICE_COOKIE)?;
    let (nonce, tag) = cookie.value().split_once('.')?;
    let valid = nonce.len() <= 64 && state.csrf.verify_b64(&known_device_input(user, nonce), tag);
    valid.then(|| nonce.to_string())
}

/// The browser's CSRF secret: the existing cookie, or a new one the response
/// must set (`Some` in the second field).
pub struct CsrfCookie {
    pub value: String,
    pub new: Option<Cookie<'static>>,
}

impl CsrfCookie {
    pub fn from_request(req: &HttpRequest) -> CsrfCookie {
        match req.cookie(CSRF_COOKIE).map(|c| c.value().to_string()).filter(|v| v.len() >= 32) {
            Some(value) => CsrfCookie { value, new: None },
            None => {
                let value = random_token("");
                CsrfCookie { new: Some(cookie(CSRF_COOKIE, value.clone())), value }
            }
        }
    }

    /// A new CSRF secret, replacing the browser's: at sign-in and sign-out, so
    /// a form token never outlives the session (or its absence) it was made in.
    pub fn fresh() -> CsrfCookie {
        let value = random_token("");
        CsrfCookie { new: Some(cookie(CSRF_COOKIE, value.clone())), value }
    }

    /// The token embedded in forms: a keyed MAC of the cookie, so a page cannot
    /// be answered by a browser that does not hold the cookie.
    pub fn form_token(&self, state: &AppState) -> String {
        state.csrf.tag_b64(&format!("form:{}", self.value))
    }

    /// Binds a pending authorization request to this browser.
    pub fn binding(&self, state: &AppState) -> String {
        state.csrf.tag_b64(&format!("browser:{}", self.value))
    }

    /// Whether a binding made by [`CsrfCookie::binding`] is this browser's
    /// (constant-time comparison).
    pub fn owns(&self, state: &AppState, binding: &str) -> bool {
        state.csrf.verify_b64(&format!("browser:{}", self.value), binding)
    }
}

/// Checks a form POST: the `Origin` header, when present, must be the issuer's;
/// the CSRF cookie must be there and the form token must match it.
pub fn check_form_post(req: &HttpRequest, state: &AppState, form_token: &str) -> Result<CsrfCookie, WebError> {
    check_origin(req, state)?;
    let cookie = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string()).ok_or_else(WebError::cookie_missing_on_form)?;
    let csrf = CsrfCookie { value: cookie, new: None };
    if !state.csrf.verify_b64(&format!("form:{}", csrf.value), form_token) {
        tracing::info!(target: "security", event = "csrf_rejected", path = %req.path());
        return Err(WebError::forbidden("The form has expired or did not come from this site. Go back, reload the page and try again."));
    }
    Ok(csrf)
}

pub fn check_origin(req: &HttpRequest, state: &AppState) -> Result<(), WebError> {
    match req.headers().get(header::ORIGIN).map(|v| v.to_str().unwrap_or("")) {
        None => Ok(()),
        Some(origin) if origin == state.issuer_origin => Ok(()),
        Some(origin) => {
            tracing::info!(target: "security", event = "origin_rejected", origin = %origin, path = %req.path());
            Err(WebError::forbidden("This form was submitted from another site."))
        }
    }
}

/// Adds cookies to a response (the one way handlers set cookies). A server
/// error never carries cookies: whatever failed must not leave a session behind.
pub fn with_cookies<'a>(mut resp: HttpResponse, cookies: impl IntoIterator<Item = &'a Cookie<'static>>) -> Result<HttpResponse, WebError> {
    if resp.status().is_server_error() {
        return Ok(resp);
    }
    for c in cookies {
        resp.add_cookie(c).map_err(|e| WebError::Internal(e.to_string()))?;
    }
    Ok(resp)
}

/// The browser's live session, if any.
pub async fn current_session(req: &HttpRequest, state: &AppState) -> Result<Option<Session>, WebError> {
    match req.cookie(SESSION_COOKIE) {
        Some(c) if !c.value().is_empty() => match state.sessions.resolve_detailed(c.value(), &client_info(req)).await? {
            Resolution::Live(s) => {
                latchkey_oauth::audit::set_caller(Actor::User(s.user_id.clone()), Some(session_hash(state, &s.sid)));
                Ok(Some(s))
            }
            Resolution::Moved(s) => {
                // Ended for moving: its devices, tokens and relying parties go too.
                if let Some(device) = &s.device_id {
                    state.devices.forget(device).await?;
                }
                state.oauth.sessions_ended(std::slice::from_ref(&s)).await.map_err(WebError::from_oauth_on_page)?;
                state.oauth.record(&Actor::Anonymous, SecurityEvent::SessionMoved { user: s.user_id.clone(), session: s.sid.clone() }).await;
                Ok(None)
            }
            Resolution::None => Ok(None),
        },
        _ => Ok(None),
    }
}

/// What the audit trail keeps of a session: a keyed hash of its id, so
/// events of one session can be linked without exposing it.
pub fn session_hash(state: &AppState, sid: &str) -> String {
    state.csrf.tag_b64(&format!("audit-sid:{sid}")).chars().take(16).collect()
}

/// IP and user agent, recorded with sessions and used by rate limits. The
/// peer address, or the forwarded client address when the peer is one of
/// `LATCHKEY_TRUSTED_PROXIES` (trusting proxies is a deployment decision).
pub fn client_info(req: &HttpRequest) -> ClientInfo {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let none = crate::client_ip::Proxies::default();
    let proxies = req.app_data::<actix_web::web::Data<AppState>>().map(|s| &s.trusted_proxies).unwrap_or(&none);
    ClientInfo {
        ip: req.peer_addr().map(|a| crate::client_ip::client_ip(a.ip(), header(proxies.header.name()), proxies).to_string()),
        user_agent: req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
    }
}
