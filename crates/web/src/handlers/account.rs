//! The signed-in user's own actions from the account page: sessions
//! (devices), connected apps, profile, deleting the account, signing out.
//! The page itself is `account_page`; the password, `account_password`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::AuthnError;
use latchkey_domain::Session;
use latchkey_domain::{Actor, SecurityEvent};
use serde::Deserialize;

use super::see_other;
use crate::browser::{check_form_post, current_session, expired_device_cookie, expired_session_cookie, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::lang::{for_user, tr};
use crate::pages::{render, DeleteAccountPage, ProfilePage, SignedOutPage};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: String,
}

#[derive(Deserialize)]
pub struct DisconnectForm {
    csrf_token: String,
    client_id: String,
}

#[derive(Deserialize)]
pub struct EndSessionForm {
    csrf_token: String,
    sid: String,
}

#[derive(Deserialize)]
pub struct ForgetDeviceForm {
    csrf_token: String,
    device_id: String,
}

#[derive(Deserialize)]
pub struct ProfileForm {
    csrf_token: String,
    name: String,
    given_name: String,
    family_name: String,
    locale: String,
    /// Absent from a form of before the field existed.
    #[serde(default)]
    zoneinfo: String,
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf_token: String,
    confirm: String,
}

/// The signed-in user's session, or a redirect to the sign-in page.
async fn signed_in(req: &HttpRequest, state: &AppState) -> Result<Result<Session, HttpResponse>, WebError> {
    Ok(current_session(req, state).await?.ok_or_else(|| see_other("/login")))
}

pub async fn logout(req: HttpRequest, state: web::Data<AppState>, form: web::Form<CsrfForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let mut upstream = None;
    if let Some(session) = current_session(&req, &state).await? {
        // Asked before the session ends; a provider that does not answer
        // does not keep anyone signed in here.
        upstream = state.upstream_sign_out_url(&session.sid).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not plan the sign-out at the upstream provider");
            None
        });
        state.end_sessions(vec![session.sid.clone()]).await?;
        state.oauth.record(&Actor::User(session.user_id.clone()), SecurityEvent::SignOut { user: session.user_id.clone(), client: None }).await;
    }
    match upstream {
        // Signed out here; now at the provider, which sends the browser back
        // to /federation/<id>/signed-out.
        Some(url) => {
            let csrf = CsrfCookie::fresh();
            with_cookies(see_other(&url), [expired_session_cookie(), expired_device_cookie()].iter().chain(&csrf.new))
        }
        None => signed_out(&req),
    }
}

/// The signed-out page: session and device cookies removed, and a new CSRF
/// secret so no form token from the session works after it.
pub(crate) fn signed_out(req: &HttpRequest) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::fresh();
    with_cookies(render(StatusCode::OK, &SignedOutPage { t: tr(req) }), [expired_session_cookie(), expired_device_cookie()].iter().chain(&csrf.new))
}

/// Ends one of the user's other sessions.
pub async fn end_session(req: HttpRequest, state: web::Data<AppState>, form: web::Form<EndSessionForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let session = match signed_in(&req, &state).await? {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    // Only the user's own sessions: look it up and compare owners.
    match state.sessions.find_by_sid(&form.sid).await? {
        Some(target) if target.user_id == session.user_id => {
            state.end_sessions(vec![target.sid]).await?;
        }
        _ => return Err(WebError::bad_request("No such session.")),
    }
    Ok(see_other("/account"))
}

/// Forgets one remembered device of the user, and ends its sessions.
pub async fn forget_device(req: HttpRequest, state: web::Data<AppState>, form: web::Form<ForgetDeviceForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let session = match signed_in(&req, &state).await? {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    match state.devices.find(&form.device_id).await? {
        Some(d) if d.user_id == session.user_id.0 => {
            state.devices.forget(&d.id).await?;
            let sids = state.sessions.sids_for_device(&d.id).await?;
            state.end_sessions(sids).await?;
            let user = latchkey_domain::UserId(d.user_id.clone());
            state.oauth.record(&Actor::User(user.clone()), SecurityEvent::DeviceForgotten { user, device: d.id.clone() }).await;
        }
        _ => return Err(WebError::bad_request("No such device.")),
    }
    Ok(see_other("/account"))
}

/// "Sign out everywhere else": every session but this one.
pub async fn end_other_sessions(req: HttpRequest, state: web::Data<AppState>, form: web::Form<CsrfForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let session = match signed_in(&req, &state).await? {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    state.end_user_sessions(&session.user_id, Some(&session)).await?;
    Ok(see_other("/account"))
}

/// "Sign out everywhere": every session, this one too, and every remembered device.
pub async fn end_all_sessions(req: HttpRequest, state: web::Data<AppState>, form: web::Form<CsrfForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let session = match signed_in(&req, &state).await? {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    state.end_user_sessions(&session.user_id, None).await?;
    signed_out(&req)
}

/// The user takes an app's access away: its grant, refresh tokens and access tokens.
pub async fn disconnect_app(req: HttpRequest, state: web::Data<AppState>, form: web::Form<DisconnectForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let session = match signed_in(&req, &state).await? {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    state.oauth.disconnect_app(&session.user_id, &form.client_id).await.map_err(WebError::from_oauth_on_page)?;
    Ok(see_other("/account"))
}

fn profile_page(t: latchkey_i18n::Tr, p: &latchkey_domain::Profile, error: Option<String>, csrf_token: String) -> ProfilePage {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    ProfilePage { t, name: v(&p.name), given_name: v(&p.given_name), family_name: v(&p.family_name), locale: v(&p.locale), zoneinfo: v(&p.zoneinfo), error, csrf_token }
}

pub async fn profile_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let session = match signed_in(&req, &state).await? {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    let user = state.authn.user(&session.user_id).await?.ok_or_else(|| WebError::forbidden("Your account no longer exists."))?;
    let csrf = CsrfCookie::from_request(&req);
    with_cookies(render(StatusCode::OK, &profile_page(tr(&req), &user.profile, None, csrf.form_token(&state))), &csrf.new)
}

/// The user edits their profile claims (name, given and family name, locale).
pub async fn profile_post(req: HttpRequest, state: web::Data<AppState>, form: web::Form<ProfileForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let session = match signed_in(&req, &state).await? {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    let profile = latchkey_domain::Profile {
        name: Some(form.name),
        given_name: Some(form.given_name),
        family_name: Some(form.family_name),
        locale: Some(form.locale),
        zoneinfo: Some(form.zoneinfo),
        updated_at: None,
    };
    match state.authn.set_profile(&session.user_id, profile.clone()).await {
        Ok(_) => {
            state.oauth.record(&Actor::User(session.user_id.clone()), SecurityEvent::ProfileChanged { user: session.user_id.clone(), by_admin: false }).await;
            Ok(see_other("/account"))
        }
        Err(AuthnError::InvalidInput(m)) => Ok(render(StatusCode::BAD_REQUEST, &profile_page(tr(&req), &profile, Some(format!("{m}.")), csrf.form_token(&state)))),
        Err(e) => Err(e.into()),
    }
}

pub async fn delete_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let (user, _) = crate::guards::recent_session(&req, &state, "/account/delete").await?;
    let csrf = CsrfCookie::from_request(&req);
    with_cookies(render(StatusCode::OK, &DeleteAccountPage { t: tr(&req), username: user.username, error: None, csrf_token: csrf.form_token(&state) }), &csrf.new)
}

/// Deletes the signed-in user's own account: every session ends (relying
/// parties are told), tokens are revoked, and the user's data goes. The audit
/// trail keeps a tombstone with the user id.
pub async fn delete_account(req: HttpRequest, state: web::Data<AppState>, form: web::Form<DeleteForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let (user, _) = crate::guards::recent_session(&req, &state, "/account/delete").await?;
    if form.confirm.trim() != user.username {
        let t = tr(&req);
        let page = DeleteAccountPage { t, username: user.username, error: Some(t.get("delete-mismatch")), csrf_token: csrf.form_token(&state) };
        return Ok(render(StatusCode::BAD_REQUEST, &page));
    }
    state.end_user_sessions(&user.id, None).await?;
    state.oauth.revoke_user_tokens(&user.id).await.map_err(WebError::from_oauth_on_page)?;
    state.authn.delete_user(&user.id).await?;
    state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::AccountDeleted { user: user.id.clone() }).await;
    state.notify(&user.email, for_user(&user, tr(&req)), latchkey_authn::Notice::AccountDeleted { username: &user.username }).await;
    signed_out(&req)
}

/// "Not now" on the passkey prompt hides it for 30 days.
const PASSKEY_PROMPT_SNOOZE: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

pub(crate) fn passkey_prompt_key(user_id: &str) -> String {
    format!("passkey-prompt-dismissed:{user_id}")
}

pub async fn dismiss_passkey_prompt(req: HttpRequest, state: web::Data<AppState>, form: web::Form<CsrfForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let session = match signed_in(&req, &state).await? {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    state.stores.fast.single_use().put(&passkey_prompt_key(&session.user_id.0), "1", PASSKEY_PROMPT_SNOOZE).await?;
    Ok(see_other("/account"))
}
