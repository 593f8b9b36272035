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
use webauthn_rs_proto::PublicKeyCredentialHints;

use super::see_other;
use crate::browser::{check_form_post, client_info, current_session};
use crate::error::WebError;
use crate::guards::may_change_credentials;
use crate::json_post::{check_json_post, json_error, redirect_as_json};
use crate::limits::rate;
use crate::pending::load_pending;
use crate::sign_in::{complete_sign_in, local_next, second_factor_answered, second_factor_due};
use crate::state::AppState;

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

/// What a ceremony's page knows the person wants (issue #29): WebAuthn
/// `hints` ("Use a security key", "Use your phone"), passed to the browser
/// to pick its dialog; nothing is enforced by them.
#[derive(Deserialize, Default)]
pub struct CeremonyHint {
    #[serde(default)]
    hint: Option<PublicKeyCredentialHints>,
}

impl CeremonyHint {
    fn hints(&self) -> Option<Vec<PublicKeyCredentialHints>> {
        self.hint.clone().map(|h| vec![h])
    }
}

pub async fn register_start(req: HttpRequest, state: web::Data<AppState>, body: web::Json<CeremonyHint>) -> Result<HttpResponse, WebError> {
    or_return!(check_json_post(&req, &state));
    let Some(session) = current_session(&req, &state).await? else {
        return Ok(json_error(StatusCode::UNAUTHORIZED, "sign in first"));
    };
    let user = state.authn.user(&session.user_id).await?.ok_or_else(WebError::expired_request)?;
    if !may_change_credentials(&state, &session, &user).await? {
        return Ok(json_error(StatusCode::FORBIDDEN, "sign in again to add a passkey (recent sign-in required)"));
    }
    let (ceremony, mut options) = match state.passkeys.start_registration(&user, &session.sid).await {
        Ok(started) => started,
        Err(AuthnError::PasskeyRefused(r)) => return Ok(refused(crate::lang::tr(&req), r)),
        Err(e) => return Err(e.into()),
    };
    options.public_key.hints = body.hints();
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
    let first_second_factor = user.password_hash.is_some() && !state.has_second_factor(&user).await?;
    match state.passkeys.finish_registration(&user, &session.sid, &body.ceremony, &body.credential, &body.name).await {
        Ok((info, _)) => {
            let added = |others_ended| SecurityEvent::PasskeyAdded { user: user.id.clone(), passkey: info.id.clone(), via: PasskeyAddedVia::Account { name: info.name.clone(), others_ended } };
            state
                .credential_added(&user, &session, added, latchkey_app::sessions::Added::Passkey { name: &info.name, provider: info.provider.as_ref().map(|p| p.name.as_str()) }, crate::lang::tr(&req))
                .await?;
            let backup_codes = if first_second_factor && state.mfa.unused_backup_codes(&user).await? == 0 {
                let codes = state.mfa.regenerate_backup_codes(&user).await?;
                state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::BackupCodesRegenerated { user: user.id.clone(), cause: CodesCause::FirstPasskey }).await;
                Some(codes)
            } else {
                None
            };
            // A passkey-only account's password goes with its first passkey (issue #29).
            let password_removed = state.drop_password_if_passkey_only(&user, crate::lang::tr(&req)).await?;
            let mut out = serde_json::to_value(&info).map_err(|e| WebError::Internal(e.to_string()))?;
            out["backup_codes"] = json!(backup_codes);
            out["password_removed"] = json!(password_removed);
            Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(out))
        }
        Err(AuthnError::InvalidInput(m)) => Ok(json_error(StatusCode::BAD_REQUEST, &m)),
        Err(AuthnError::PasskeyRefused(r)) => Ok(refused(crate::lang::tr(&req), r)),
        Err(e) => Err(e.into()),
    }
}

/// A passkey the authenticator policy does not allow (issue #29): 403 with
/// the policy in plain words ("Your organisation only allows security keys
/// for administrators").
pub(crate) fn refused(t: latchkey_i18n::Tr, r: latchkey_authn::authenticator_policy::Refusal) -> HttpResponse {
    json_error(StatusCode::FORBIDDEN, &t.get(r.message_id()))
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
    /// "Use your phone": the `hybrid` hint.
    #[serde(flatten)]
    hint: CeremonyHint,
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
        (Some(m), _) => Some(second_factor_due(&state, m, &csrf).await?.user()),
        (None, Some(name)) => state.authn.find_by_username(name).await?.map(|u| u.id),
        (None, None) => None,
    };
    let context = serde_json::to_string(&SignInContext { browser: csrf.binding(&state), authz, next: local_next(body.next), second_factor }).map_err(|e| WebError::Internal(e.to_string()))?;
    // An unknown username gets a usernameless challenge: the answer does not say who exists.
    let (ceremony, mut options) = state.passkeys.start_authentication(user.as_ref(), body.conditional, &context, &ip).await?;
    options.public_key.hints = body.hint.hints();
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
        Err(AuthnError::UnknownPasskey) => {
            // Issue #29: the script tells the password manager to forget it
            // (WebAuthn `signalUnknownCredential`), and the person why it failed.
            state.oauth.record(&Actor::Anonymous, SecurityEvent::PasskeySignInFailed { user: None, reason: PasskeyRefusal::AssertionRefused }).await;
            let t = crate::lang::tr(&req);
            let body = json!({ "error": "unknown_credential", "message": t.get("passkey-js-unknown"), "rp_id": state.passkeys.rp_id() });
            return Ok(HttpResponse::Unauthorized().insert_header((header::CACHE_CONTROL, "no-store")).json(body));
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
            second_factor_answered(&req, &state, &csrf, m, &user, done.amr).await?
        }
        None => {
            let pending = match &context.authz {
                Some(id) => Some(load_pending(&state, id, &csrf).await?),
                None => None,
            };
            state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::PasskeySignIn { user: user.id.clone() }).await;
            complete_sign_in(&req, &state, &user, done.amr, pending, local_next(context.next), false).await.map(|(resp, _)| resp)?
        }
    };
    Ok(redirect_as_json(&resp))
}

/// What an icon may do when opened on its own: nothing but draw (an SVG's
/// scripts, links and fetches are all refused, and it runs sandboxed).
pub const ICON_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// `GET /passkey-icons/{aaguid}/{light|dark}`: a passkey provider's icon from
/// the list in force, SVG or PNG only (checked when the list was read), under
/// a policy that lets it do nothing but draw. Its address carries the icon's
/// fingerprint (`?v=`), so it may be kept a day.
pub async fn icon(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    let (aaguid, variant) = path.into_inner();
    let dark = match variant.as_str() {
        "light" => false,
        "dark" => true,
        _ => return Ok(HttpResponse::NotFound().finish()),
    };
    let Some(icon) = state.passkeys.providers.icon(&aaguid, dark).await? else {
        return Ok(HttpResponse::NotFound().insert_header((header::CACHE_CONTROL, "public, max-age=300")).finish());
    };
    Ok(HttpResponse::Ok()
        .content_type(icon.content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, ICON_CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header(("Cross-Origin-Resource-Policy", "same-origin"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(icon.bytes))
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
        state.credentials_changed(&user.id, &session, |others_ended| SecurityEvent::PasskeyRemoved { user: user.id.clone(), others_ended }).await?;
    }
    Ok(see_other("/account"))
}

pub async fn rename(req: HttpRequest, state: web::Data<AppState>, form: web::Form<PasskeyForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let Some(session) = current_session(&req, &state).await? else { return Ok(see_other("/login")) };
    state.passkeys.rename(&session.user_id, &form.id, form.name.as_deref().unwrap_or("")).await?;
    Ok(see_other("/account"))
}
