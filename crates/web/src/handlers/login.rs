//! Signing in: the password page, the second-factor page, and what happens
//! once the user is known (session, remember-me, new-device notice, and back
//! to the authorization request).

use latchkey_domain::{Actor, ClientId, SecurityEvent};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::{AuthnError, SignInRefused};
use latchkey_domain::{Acr, Amr, Secret, Session, User, UserId};
use latchkey_oauth::authorize::needs_only_stronger_acr;
use latchkey_oauth::{ErrorCode, PendingAuthorization};
use serde::{Deserialize, Serialize};

use super::authorize::{load_pending, proceed};
use super::see_other;
use crate::browser::{check_form_post, client_info, current_session, device_cookie, known_device, known_device_cookie, session_cookie, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::lang::tr_for;
use crate::pages::{render, LoginPage, MfaPage};
use crate::session_ops::{end_sessions, notify_new_device};
use crate::state::AppState;

/// The second step must follow the first within 5 minutes.
const SECOND_FACTOR_TTL: Duration = Duration::from_secs(5 * 60);

#[derive(Deserialize)]
pub struct LoginQuery {
    authz: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf_token: String,
    authz: Option<String>,
    next: Option<String>,
    username: String,
    password: String,
    /// "Keep me signed in".
    remember: Option<String>,
}

#[derive(Deserialize)]
pub struct MfaQuery {
    m: String,
}

#[derive(Deserialize)]
pub struct MfaForm {
    csrf_token: String,
    m: String,
    code: String,
}

/// A user who passed the first factor (or has a session) and owes a second.
#[derive(Serialize, Deserialize)]
struct SecondFactorDue {
    user_id: String,
    authz: Option<String>,
    next: Option<String>,
    remember: bool,
    /// Keyed to the browser that started it.
    browser: String,
}

fn second_factor_key(id: &str) -> String {
    format!("second-factor:{id}")
}

/// Only local account pages (and the device page) are allowed as a
/// post-sign-in destination: printable ASCII (it ends up in a `Location`
/// header), no `//` or `\\` (protocol-relative URLs), at most 256 characters.
pub(crate) fn local_next(next: Option<String>) -> Option<String> {
    next.filter(|n| {
        (n.starts_with("/account") || n.starts_with("/admin") || n == "/device" || n.starts_with("/device?"))
            && n.len() <= 256
            && !n.contains("//")
            && !n.contains('\\')
            && n.bytes().all(|b| b.is_ascii_graphic())
    })
}

async fn pending_of(state: &AppState, authz: &Option<String>, csrf: &CsrfCookie) -> Result<Option<PendingAuthorization>, WebError> {
    match authz {
        Some(id) => Ok(Some(load_pending(state, id, csrf).await?)),
        None => Ok(None),
    }
}

async fn owe_second_factor(state: &AppState, csrf: &CsrfCookie, user: &User, authz: Option<String>, next: Option<String>, remember: bool) -> Result<HttpResponse, WebError> {
    let id = latchkey_token::crypto::random_token("");
    let due = SecondFactorDue { user_id: user.id.0.clone(), authz, next, remember, browser: csrf.binding(state) };
    let json = serde_json::to_string(&due).map_err(|e| WebError::Internal(e.to_string()))?;
    state.stores.fast.put(&second_factor_key(&id), &json, SECOND_FACTOR_TTL).await?;
    Ok(see_other(&format!("/login/mfa?m={id}")))
}

pub async fn login_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<LoginQuery>) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(&req);
    let query = query.into_inner();
    let authz = query.authz.filter(|a| !a.is_empty());
    let next = local_next(query.next);
    let pending = pending_of(&state, &authz, &csrf).await?;
    // Step-up: a signed-in user who only lacks a factor is asked for that factor.
    if let (Some(p), Some(session)) = (&pending, current_session(&req, &state).await?) {
        if needs_only_stronger_acr(p, &session, state.clock.now()) {
            if let Some(user) = state.authn.user(&session.user_id).await? {
                if has_second_factor(&state, &user).await? {
                    return owe_second_factor(&state, &csrf, &user, authz, next, false).await;
                }
            }
        }
    }
    let (client_name, username) = match &pending {
        Some(p) => (state.oauth.client(&p.client_id).await?.map(|c| c.name), p.login_hint.clone().unwrap_or_default()),
        None => (None, String::new()),
    };
    let page = LoginPage { t: tr_for(&req, pending.as_ref()), client_name, error: None, authz, next, username, csrf_token: csrf.form_token(&state), signup_open: state.signup_open };
    with_cookies(render(StatusCode::OK, &page), &csrf.new)
}

pub async fn login_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<LoginForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let authz = form.authz.filter(|a| !a.is_empty());
    let next = local_next(form.next);
    // Check the request is still there before spending an argon2 verification on it.
    let pending = pending_of(&state, &authz, &csrf).await?;
    let info = client_info(&req);
    let username = form.username.trim();
    let user = match state.authn.sign_in_password(username, Secret::new(form.password), info.ip.as_deref(), |id| known_device(&req, &state, id)).await {
        Ok(u) => u,
        Err(refused @ SignInRefused { error: AuthnError::InvalidCredentials | AuthnError::Throttled, .. }) => {
            let throttled = matches!(refused.error, AuthnError::Throttled);
            // Attributed to the account the name names (its owner and the
            // admins can see it is being attacked); never the typed name:
            // people type passwords into it.
            let (user, known_device) = (refused.target.clone(), refused.known_device);
            let event = if throttled { SecurityEvent::LoginThrottled { user, known_device } } else { SecurityEvent::LoginFailed { user, known_device } };
            state.oauth.record(&Actor::Anonymous, event).await;
            let status = if throttled { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::UNAUTHORIZED };
            let client_name = match &pending {
                Some(p) => state.oauth.client(&p.client_id).await?.map(|c| c.name),
                None => None,
            };
            let t = tr_for(&req, pending.as_ref());
            let page = LoginPage {
                t,
                client_name,
                error: Some(t.get(if throttled { "too-many-attempts" } else { "login-wrong" })),
                authz,
                next,
                username: form.username,
                csrf_token: csrf.form_token(&state),
                signup_open: state.signup_open,
            };
            return Ok(render(status, &page));
        }
        Err(refused) => return Err(refused.error.into()),
    };
    let remember = form.remember.as_deref() == Some("yes");
    if has_second_factor(&state, &user).await? {
        return owe_second_factor(&state, &csrf, &user, authz, next, remember).await;
    }
    complete_sign_in(&req, &state, &user, vec![Amr::Pwd], pending, next, remember).await
}

/// A second factor is a confirmed authenticator app or a passkey.
pub(crate) async fn has_second_factor(state: &AppState, user: &User) -> Result<bool, WebError> {
    Ok(state.mfa.has_second_factor(user).await? || state.passkeys.has_passkey(&user.id).await?)
}

/// The second-factor page, in the language of the authorization request
/// it belongs to (its `ui_locales`), else the browser's.
async fn mfa_page_for(req: &HttpRequest, state: &AppState, due: &SecondFactorDue, m: String, error: Option<&str>, csrf: &CsrfCookie) -> Result<MfaPage, WebError> {
    let user = state.authn.user(&UserId(due.user_id.clone())).await?.ok_or_else(WebError::expired_request)?;
    // Only the language depends on it: a request gone by now is the
    // submit's problem, not this page's.
    let pending = pending_of(state, &due.authz, csrf).await.ok().flatten();
    let t = tr_for(req, pending.as_ref());
    Ok(MfaPage { t, error: error.map(|key| t.get(key)), m, totp: state.mfa.has_second_factor(&user).await?, passkey: state.passkeys.has_passkey(&user.id).await?, csrf_token: csrf.form_token(state) })
}

pub async fn mfa_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<MfaQuery>) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(&req);
    let due = load_due(&state, &query.m, &csrf).await?;
    Ok(render(StatusCode::OK, &mfa_page_for(&req, &state, &due, query.m.clone(), None, &csrf).await?))
}

/// A passkey answered the second step `m`: finish the sign-in it belongs to.
/// `passkey_amr` is what the passkey proved (key kind, user verification).
pub(crate) async fn second_factor_by_passkey(req: &HttpRequest, state: &AppState, csrf: &CsrfCookie, m: &str, user: &User, passkey_amr: Vec<Amr>) -> Result<HttpResponse, WebError> {
    let due = load_due(state, m, csrf).await?;
    if due.user_id != user.id.0 {
        return Err(WebError::forbidden("That passkey belongs to another account."));
    }
    if state.stores.fast.take(&second_factor_key(m)).await?.is_none() {
        return Err(WebError::expired_request());
    }
    let pending = pending_of(state, &due.authz, csrf).await?;
    let mut amr = vec![Amr::Pwd];
    amr.extend(passkey_amr.into_iter().filter(|a| *a != Amr::Pwd));
    complete_sign_in(req, state, user, amr, pending, due.next, due.remember).await
}

pub(crate) async fn second_factor_user(state: &AppState, m: &str, csrf: &CsrfCookie) -> Result<UserId, WebError> {
    Ok(UserId(load_due(state, m, csrf).await?.user_id))
}

async fn load_due(state: &AppState, id: &str, csrf: &CsrfCookie) -> Result<SecondFactorDue, WebError> {
    let json = state.stores.fast.get(&second_factor_key(id)).await?.ok_or_else(WebError::expired_request)?;
    let due: SecondFactorDue = serde_json::from_str(&json).map_err(|e| WebError::Internal(e.to_string()))?;
    if !csrf.owns(state, &due.browser) {
        return Err(WebError::expired_request());
    }
    Ok(due)
}

pub async fn mfa_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<MfaForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let due = load_due(&state, &form.m, &csrf).await?;
    let user = state.authn.user(&UserId(due.user_id.clone())).await?.ok_or_else(WebError::expired_request)?;
    let info = client_info(&req);
    let known = known_device(&req, &state, &user.id);
    match state.mfa.verify(&user, &form.code, info.ip.as_deref(), known.as_deref()).await {
        Ok(_) => {}
        Err(e @ (AuthnError::InvalidCredentials | AuthnError::Throttled)) => {
            let throttled = matches!(e, AuthnError::Throttled);
            state.oauth.record(&Actor::Anonymous, SecurityEvent::SecondFactorFailed { user: user.id.clone(), throttled }).await;
            let error = if throttled { "too-many-attempts" } else { "mfa-code-wrong" };
            let status = if throttled { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::UNAUTHORIZED };
            return Ok(render(status, &mfa_page_for(&req, &state, &due, form.m, Some(error), &csrf).await?));
        }
        Err(e) => return Err(e.into()),
    }
    // Single use: a second submission of the same step finds nothing.
    if state.stores.fast.take(&second_factor_key(&form.m)).await?.is_none() {
        return Err(WebError::expired_request());
    }
    let pending = pending_of(&state, &due.authz, &csrf).await?;
    complete_sign_in(&req, &state, &user, vec![Amr::Pwd, Amr::Otp, Amr::Mfa], pending, due.next, due.remember).await
}

/// The user is known: start (or elevate) the session and carry on.
pub(crate) async fn complete_sign_in(
    req: &HttpRequest,
    state: &AppState,
    user: &User,
    amr: Vec<Amr>,
    pending: Option<PendingAuthorization>,
    next: Option<String>,
    remember: bool,
) -> Result<HttpResponse, WebError> {
    Ok(complete_sign_in_session(req, state, user, amr, pending, next, remember).await?.0)
}

/// [`complete_sign_in`], also returning the session it started.
pub(crate) async fn complete_sign_in_session(
    req: &HttpRequest,
    state: &AppState,
    user: &User,
    amr: Vec<Amr>,
    pending: Option<PendingAuthorization>,
    next: Option<String>,
    remember: bool,
) -> Result<(HttpResponse, Session), WebError> {
    if user.disabled_at.is_some() {
        // Whatever the method (a passkey too): a disabled account signs in nowhere.
        return Err(AuthnError::Disabled.into());
    }
    let info = client_info(req);
    let new_device = state.sessions.is_new_device(&user.id, &info).await?;
    // Session fixation: the browser never keeps its cookie id across a sign-in.
    // The same user signing in again keeps the session (and its sid) under a
    // new id; anyone else's session in this browser ends.
    let old = current_session(req, state).await?;
    let device = if remember { Some(state.devices.remember(&user.id, &amr, latchkey_authn::device_name::friendly_name(info.user_agent.as_deref())).await?) } else { None };
    let new = match old {
        Some(old) if old.user_id == user.id && device.is_none() => state.sessions.elevate(&old, amr.clone()).await?,
        old => {
            if let Some(old) = old {
                end_sessions(state, vec![old.sid]).await?;
            }
            state.sessions.create(&user.id, amr.clone(), info, device.as_ref().map(|(id, _)| id.clone())).await?
        }
    };
    latchkey_oauth::audit::set_caller(Actor::User(user.id.clone()), Some(crate::browser::session_hash(state, &new.session.sid)));
    let client = pending.as_ref().map(|p| ClientId(p.client_id.clone()));
    let signed_in = SecurityEvent::SignIn { user: user.id.clone(), client, methods: amr.clone(), remembered: remember, new_device };
    state.oauth.record(&Actor::User(user.id.clone()), signed_in).await;
    if new_device {
        if let Err(e) = notify_new_device(state, user, &new.session, tr_for(req, pending.as_ref())).await {
            tracing::error!(error = %e, "could not send the new-device notice");
        }
    }
    // A new CSRF secret for the new session: no form token from before the
    // sign-in (or from another user's session) works after it. The request
    // being answered moves to the new secret with the browser.
    let csrf = CsrfCookie::fresh();
    let pending = match pending {
        Some(p) => Some(state.oauth.rebind(&p, csrf.binding(state)).await?),
        None => None,
    };
    let resp = match &pending {
        // The relying party asked for more than this user can give (no second factor).
        Some(p) if p.requested_acr().is_some_and(|want| Acr::from_methods(&amr) < want) => {
            let location = state.oauth.fail_request(p, ErrorCode::UnmetAuthenticationRequirements, "the user has no second factor set up").await?;
            see_other(&location)
        }
        Some(p) => proceed(state, p, Some(&new.session), true).await?,
        None => see_other(next.as_deref().unwrap_or("/account")),
    };
    let mut cookies = vec![session_cookie(new.cookie_value), known_device_cookie(state, &user.id)];
    cookies.extend(device.map(|(_, token)| device_cookie(token, state.devices.lifetime)));
    cookies.extend(csrf.new);
    Ok((with_cookies(resp, &cookies)?, new.session))
}
