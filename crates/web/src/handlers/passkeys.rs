//! Passkeys over JSON for `static/passkeys.js`: registration from the account
//! page, sign-in with a passkey (button or autofill), and managing them.
//!
//! The JSON endpoints take the CSRF token in `X-CSRF-Token` and require an
//! `Origin` header equal to the issuer's (every browser sends it on fetch POSTs).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::rate_limit::PASSKEY_START_PER_IP;
use latchkey_authn::AuthnError;
use latchkey_domain::{Actor, CodesCause, PasskeyAddedVia, PasskeyRefusal, SecurityEvent};
use serde::{Deserialize, Serialize};
use serde_json::json;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::authorize::load_pending;
use super::login::{complete_sign_in, second_factor_by_passkey, second_factor_user};
use super::mfa_settings::may_change_credentials;
use super::see_other;
use crate::account_links::rate;
use crate::browser::{check_form_post, client_info, current_session, CsrfCookie, CSRF_COOKIE};
use crate::error::WebError;
use crate::session_ops::{credential_added, credentials_changed, Added};
use crate::state::AppState;

pub(crate) fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::CACHE_CONTROL, "no-store")).json(json!({ "error": message }))
}

/// The JSON twin of the form checks: same-origin `Origin`, and the form token in a header.
#[allow(clippy::result_large_err)] // the refusal is the response itself, built once per refused request
pub(crate) fn check_json_post(req: &HttpRequest, state: &AppState) -> Result<CsrfCookie, HttpResponse> {
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin != Some(state.issuer_origin.as_str()) {
        return Err(json_error(StatusCode::FORBIDDEN, "cross-origin request refused"));
    }
    let token = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    let cookie = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    let csrf = CsrfCookie { value: cookie, new: None };
    if csrf.value.is_empty() || !state.csrf.verify_b64(&format!("form:{}", csrf.value), token) {
        return Err(json_error(StatusCode::FORBIDDEN, "the page has expired; reload it"));
    }
    Ok(csrf)
}

macro_rules! or_return {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(resp) => return Ok(resp),
        }
    };
}

#[derive(Deserialize)]
pub struct RegisterFinish {
    ceremony: String,
    #[serde(default)]
    name: String,
    credential: RegisterPublicKeyCredential,
}

pub async fn register_start(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    or_return!(check_json_post(&req, &state));
    let Some(session) = current_session(&req, &state).await? else {
        return Ok(json_error(StatusCode::UNAUTHORIZED, "sign in first"));
    };
    let user = state.authn.user(&session.user_id).await?.ok_or_else(WebError::expired_request)?;
    if !may_change_credentials(&state, &session, &user).await? {
        return Ok(json_error(StatusCode::FORBIDDEN, "sign in again to add a passkey (recent sign-in required)"));
    }
    let (ceremony, options) = state.passkeys.start_registration(&user, &session.sid).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(json!({ "ceremony": ceremony, "options": options })))
}

pub async fn register_finish(req: HttpRequest, state: web::Data<AppState>, body: web::Json<RegisterFinish>) -> Result<HttpResponse, WebError> {
    or_return!(check_json_post(&req, &state));
    let Some(session) = current_session(&req, &state).await? else {
        return Ok(json_error(StatusCode::UNAUTHORIZED, "sign in first"));
    };
    let user = state.authn.user(&session.user_id).await?.ok_or_else(WebError::expired_request)?;
    // A password account's first passkey is its first second factor: recovery
    // will ask for it, so backup codes are made now (if it has none) and shown once.
    let first_second_factor = user.password_hash.is_some() && !super::login::has_second_factor(&state, &user).await?;
    match state.passkeys.finish_registration(&user, &session.sid, &body.ceremony, &body.credential, &body.name).await {
        Ok((info, _)) => {
            let added = |others_ended| SecurityEvent::PasskeyAdded { user: user.id.clone(), passkey: info.id.clone(), via: PasskeyAddedVia::Account { name: info.name.clone(), others_ended } };
            credential_added(&state, &user, &session, added, Added::Passkey(&info.name), crate::lang::tr(&req)).await?;
            let backup_codes = if first_second_factor && state.mfa.unused_backup_codes(&user).await? == 0 {
                let codes = state.mfa.regenerate_backup_codes(&user).await?;
                state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::BackupCodesRegenerated { user: user.id.clone(), cause: CodesCause::FirstPasskey }).await;
                Some(codes)
            } else {
                None
            };
            let mut out = serde_json::to_value(&info).map_err(|e| WebError::Internal(e.to_string()))?;
            out["backup_codes"] = json!(backup_codes);
            Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(out))
        }
        Err(AuthnError::InvalidInput(m)) => Ok(json_error(StatusCode::BAD_REQUEST, &m)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct SignInStart {
    username: Option<String>,
    authz: Option<String>,
    /// Where to go after signing in (as the password form's `next`).
    #[serde(default)]
    next: Option<String>,
    /// The pending second step (`m`) this passkey answers, after a password.
    second_factor: Option<String>,
    #[serde(default)]
    conditional: bool,
}

/// What a sign-in ceremony is bound to: the browser, and the authorization request.
#[derive(Serialize, Deserialize)]
struct SignInContext {
    browser: String,
    authz: Option<String>,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    second_factor: Option<String>,
}

pub async fn sign_in_start(req: HttpRequest, state: web::Data<AppState>, body: web::Json<SignInStart>) -> Result<HttpResponse, WebError> {
    let csrf = or_return!(check_json_post(&req, &state));
    // Every start parks a ceremony anyone can create: counted per address.
    let ip = client_info(&req).ip.unwrap_or_default();
    rate(&state, PASSKEY_START_PER_IP, &ip, true).await?;
    let body = body.into_inner();
    let authz = body.authz.filter(|a| !a.is_empty());
    if let Some(id) = &authz {
        load_pending(&state, id, &csrf).await?;
    }
    let second_factor = body.second_factor.filter(|m| !m.is_empty());
    let user = match (&second_factor, body.username.as_deref().map(str::trim).filter(|u| !u.is_empty())) {
        (Some(m), _) => Some(second_factor_user(&state, m, &csrf).await?),
        (None, Some(name)) => state.authn.find_by_username(name).await?.map(|u| u.id),
        (None, None) => None,
    };
    let context =
        serde_json::to_string(&SignInContext { browser: csrf.binding(&state), authz, next: super::login::local_next(body.next), second_factor }).map_err(|e| WebError::Internal(e.to_string()))?;
    // An unknown username gets a usernameless challenge: the answer does not say who exists.
    let (ceremony, options) = state.passkeys.start_authentication(user.as_ref(), body.conditional, &context, &ip).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(json!({ "ceremony": ceremony, "options": options })))
}

#[derive(Deserialize)]
pub struct SignInFinish {
    ceremony: String,
    credential: PublicKeyCredential,
}

pub async fn sign_in_finish(req: HttpRequest, state: web::Data<AppState>, body: web::Json<SignInFinish>) -> Result<HttpResponse, WebError> {
    let csrf = or_return!(check_json_post(&req, &state));
    let done = match state.passkeys.finish_authentication(&body.ceremony, &body.credential).await {
        Ok(d) => d,
        Err(AuthnError::InvalidCredentials) => {
            state.oauth.record(&Actor::Anonymous, SecurityEvent::PasskeySignInFailed { user: None, reason: PasskeyRefusal::AssertionRefused }).await;
            return Ok(json_error(StatusCode::UNAUTHORIZED, "that passkey did not work"));
        }
        Err(AuthnError::InvalidInput(m)) => return Ok(json_error(StatusCode::BAD_REQUEST, &m)),
        Err(e) => return Err(e.into()),
    };
    let context: SignInContext = serde_json::from_str(&done.context).map_err(|e| WebError::Internal(e.to_string()))?;
    if !csrf.owns(&state, &context.browser) {
        return Ok(json_error(StatusCode::FORBIDDEN, "the sign-in started in another browser"));
    }
    let user = state.authn.user(&done.user_id).await?.ok_or_else(WebError::expired_request)?;
    if user.disabled_at.is_some() {
        // Said in the page's words, not as a status code (issue #24, finding 28).
        let pending = match &context.authz {
            Some(id) => state.oauth.pending(id).await?,
            None => None,
        };
        let t = crate::lang::tr_for(&req, pending.as_ref());
        state.oauth.record(&Actor::Anonymous, SecurityEvent::PasskeySignInFailed { user: Some(user.id.clone()), reason: PasskeyRefusal::AccountDisabled }).await;
        return Ok(HttpResponse::Forbidden().insert_header((header::CACHE_CONTROL, "no-store")).json(json!({ "error": "account_disabled", "message": t.get("passkey-js-disabled") })));
    }
    // The same completion as any sign-in; its redirect becomes JSON for the script.
    let resp = match &context.second_factor {
        Some(m) => {
            state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::PasskeySecondFactor { user: user.id.clone() }).await;
            second_factor_by_passkey(&req, &state, &csrf, m, &user, done.amr).await?
        }
        None => {
            let pending = match &context.authz {
                Some(id) => Some(load_pending(&state, id, &csrf).await?),
                None => None,
            };
            state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::PasskeySignIn { user: user.id.clone() }).await;
            complete_sign_in(&req, &state, &user, done.amr, pending, super::login::local_next(context.next), false).await?
        }
    };
    Ok(redirect_as_json(&resp))
}

/// A sign-in's redirect, as JSON for the script (cookies kept).
pub(crate) fn redirect_as_json(resp: &HttpResponse) -> HttpResponse {
    let location = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("/account").to_string();
    let mut out = HttpResponse::Ok();
    out.insert_header((header::CACHE_CONTROL, "no-store"));
    for c in resp.cookies() {
        out.cookie(c.into_owned());
    }
    out.json(json!({ "redirect": location }))
}

#[derive(Deserialize)]
pub struct PasskeyForm {
    csrf_token: String,
    id: String,
    name: Option<String>,
}

pub async fn remove(req: HttpRequest, state: web::Data<AppState>, form: web::Form<PasskeyForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let Some(session) = current_session(&req, &state).await? else { return Ok(see_other("/login")) };
    let user = state.authn.user(&session.user_id).await?.ok_or_else(WebError::expired_request)?;
    if !may_change_credentials(&state, &session, &user).await? {
        return Ok(see_other("/login?next=/account"));
    }
    if state.passkeys.remove(&user, &form.id).await? {
        credentials_changed(&state, &user.id, &session, |others_ended| SecurityEvent::PasskeyRemoved { user: user.id.clone(), others_ended }).await?;
    }
    Ok(see_other("/account"))
}

pub async fn rename(req: HttpRequest, state: web::Data<AppState>, form: web::Form<PasskeyForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let Some(session) = current_session(&req, &state).await? else { return Ok(see_other("/login")) };
    state.passkeys.rename(&session.user_id, &form.id, form.name.as_deref().unwrap_or("")).await?;
    Ok(see_other("/account"))
}
