//! The password from the account page: change it, set one on a passwordless
//! account, or remove it once passkeys can carry the account alone
//! ([`latchkey_authn::ways_in`] says when). Setting and removing are
//! sign-in-method changes like adding a second factor: a recent sign-in
//! (with the second factor, if any), then every other session and
//! remembered device ends, the user's tokens are revoked, and a mail says so.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::ways_in::PasswordOutcome;
use latchkey_authn::{AuthnError, Notice};
use latchkey_domain::SecurityEvent;
use latchkey_domain::{Secret, Session, User};
use latchkey_i18n::Tr;
use serde::Deserialize;

use super::see_other;
use crate::browser::{check_form_post, client_info, current_session, session_cookie, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::guards::recent_session;
use crate::lang::{for_user, tr};
use crate::pages::{render, PasswordPage};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf_token: String,
    current_password: String,
    new_password: String,
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    csrf_token: String,
    new_password: String,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: String,
}

fn page(state: &AppState, t: Tr, user: &User, error: Option<String>, csrf: &CsrfCookie) -> PasswordPage {
    PasswordPage { t, has_password: user.password_hash.is_some(), min_chars: state.authn.policy.min_chars, error, csrf_token: csrf.form_token(state) }
}

/// "Change password", or "Set a password" for an account without one.
pub async fn password_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let Some(session) = current_session(&req, &state).await? else { return Ok(see_other("/login")) };
    let user = state.authn.user(&session.user_id).await?.ok_or_else(|| WebError::forbidden("Your account no longer exists."))?;
    let csrf = CsrfCookie::from_request(&req);
    with_cookies(render(StatusCode::OK, &page(&state, tr(&req), &user, None, &csrf)), &csrf.new)
}

/// Changes the password, then ends every other session and all of the
/// user's refresh-token families and access tokens; this session gets a new id.
pub async fn change_password(req: HttpRequest, state: web::Data<AppState>, form: web::Form<PasswordForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let Some(session) = current_session(&req, &state).await? else { return Ok(see_other("/login")) };
    let user = state.authn.user(&session.user_id).await?.ok_or_else(|| WebError::forbidden("Your account no longer exists."))?;
    let info = client_info(&req);
    let known = crate::browser::known_device(&req, &state, &user.id);
    let t = tr(&req);
    let changed = state.authn.change_password(&user, Secret::new(form.current_password), Secret::new(form.new_password), info.ip.as_deref(), known.as_deref()).await;
    let error = match changed {
        Ok(()) => None,
        Err(AuthnError::InvalidCredentials) => Some(t.get("password-wrong")),
        Err(AuthnError::InvalidInput(m)) => Some(t.arg("password-unusable", "reason", m)),
        Err(AuthnError::Throttled) => Some(t.get("too-many-attempts")),
        Err(AuthnError::PasskeyOnly) => Some(t.get("password-passkey-only")),
        Err(e) => return Err(e.into()),
    };
    if let Some(error) = error {
        return Ok(render(StatusCode::BAD_REQUEST, &page(&state, t, &user, Some(error), &csrf)));
    }
    changed_everywhere(&state, t, &user, &session, |others_ended| SecurityEvent::PasswordChanged { user: user.id.clone(), others_ended }, Notice::PasswordChanged { username: &user.username }).await?;
    // A new cookie id, but not a new sign-in: knowing the password is not
    // re-authentication for changes that need a recent sign-in or a second factor.
    let rotated = state.sessions.rotate_id(&session).await?;
    with_cookies(see_other("/account"), &[session_cookie(rotated.cookie_value)])
}

/// "Set a password": only for an account that has none, after a recent sign-in.
pub async fn set_password(req: HttpRequest, state: web::Data<AppState>, form: web::Form<NewPasswordForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let (user, session) = recent_session(&req, &state, "/account/password").await?;
    let t = tr(&req);
    let outcome = state.authn.set_first_password(&user, Secret::new(form.new_password)).await;
    if let Some(error) = refusal(t, outcome)? {
        return Ok(render(StatusCode::BAD_REQUEST, &page(&state, t, &user, Some(error), &csrf)));
    }
    changed_everywhere(&state, t, &user, &session, |others_ended| SecurityEvent::PasswordSet { user: user.id.clone(), others_ended }, Notice::PasswordSet { username: &user.username }).await?;
    Ok(see_other("/account"))
}

/// "Remove password": only when a passkey and a second way in stay, after a recent sign-in.
pub async fn remove_password(req: HttpRequest, state: web::Data<AppState>, form: web::Form<CsrfForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let (user, session) = recent_session(&req, &state, "/account").await?;
    let t = tr(&req);
    if let Some(error) = refusal(t, state.authn.remove_password(&user).await)? {
        return Ok(render(StatusCode::BAD_REQUEST, &page(&state, t, &user, Some(error), &csrf)));
    }
    changed_everywhere(&state, t, &user, &session, |others_ended| SecurityEvent::PasswordRemoved { user: user.id.clone(), others_ended }, Notice::PasswordRemoved { username: &user.username }).await?;
    Ok(see_other("/account"))
}

/// The words of a refusal (by the rule or the password policy), or `None` when it was done.
fn refusal(t: Tr, outcome: PasswordOutcome) -> Result<Option<String>, WebError> {
    match outcome {
        Ok(Ok(())) => Ok(None),
        Ok(Err(refused)) => Ok(Some(capitalised(&refused.to_string()))),
        Err(AuthnError::InvalidInput(m)) => Ok(Some(t.arg("password-unusable", "reason", m))),
        Err(AuthnError::PasskeyOnly) => Ok(Some(t.get("password-passkey-only"))),
        Err(e) => Err(e.into()),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// What follows any password change: other sessions, remembered devices,
/// recovery links and tokens end; the change is audited and mailed (in the
/// user's language, else the request's).
async fn changed_everywhere(state: &AppState, t: Tr, user: &User, session: &Session, kind: impl FnOnce(usize) -> SecurityEvent, notice: Notice<'_>) -> Result<(), WebError> {
    state.credentials_changed(&user.id, session, kind).await?;
    state.oauth.revoke_user_tokens(&user.id).await.map_err(WebError::from_oauth_on_page)?;
    state.notify(&user.email, for_user(user, t), notice).await;
    Ok(())
}
