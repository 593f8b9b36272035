//! Setting up the authenticator app and backup codes from the account page.
//! Every change needs a recent sign-in (5 minutes).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::AuthnError;
use latchkey_domain::{CodesCause, SecurityEvent};
use latchkey_domain::{Session, User};
use latchkey_i18n::Tr;
use serde::Deserialize;

use super::see_other;
use crate::browser::{check_form_post, current_session, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::guards::{may_change_credentials, recent_session};
use crate::lang::tr;
use crate::pages::{render, RecoveryCodesPage, TotpPage};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct CodeForm {
    csrf_token: String,
    code: String,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: String,
}

async fn recent(req: &HttpRequest, state: &AppState) -> Result<(User, Session), WebError> {
    recent_session(req, state, "/account/totp").await
}

fn page(t: Tr, state: &AppState, csrf: &CsrfCookie) -> TotpPage {
    TotpPage { t, error: None, enrolled: false, unused_codes: 0, backup_codes: None, qr_svg: String::new(), secret: String::new(), csrf_token: csrf.form_token(state) }
}

async fn enrolment_page(t: Tr, state: &AppState, user: &User, csrf: &CsrfCookie, error: Option<String>) -> Result<TotpPage, WebError> {
    let enrolment = match state.mfa.pending_totp(user).await? {
        Some(e) => e,
        None => state.mfa.start_totp(user).await?,
    };
    Ok(TotpPage { error, qr_svg: crate::qr::svg(&enrolment.url).unwrap_or_default(), secret: enrolment.secret, ..page(t, state, csrf) })
}

pub async fn totp_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let (user, _) = recent(&req, &state).await?;
    let csrf = CsrfCookie::from_request(&req);
    let body = if state.mfa.has_second_factor(&user).await? {
        TotpPage { enrolled: true, unused_codes: state.mfa.unused_backup_codes(&user).await?, ..page(tr(&req), &state, &csrf) }
    } else {
        enrolment_page(tr(&req), &state, &user, &csrf, None).await?
    };
    with_cookies(render(StatusCode::OK, &body), &csrf.new)
}

pub async fn totp_verify(req: HttpRequest, state: web::Data<AppState>, form: web::Form<CodeForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let (user, session) = recent(&req, &state).await?;
    match state.mfa.confirm_totp(&user, &form.code).await {
        Ok(codes) => {
            // A security change: other sessions and devices end (this one
            // stays), and the user is told, with a "This wasn't me" link.
            state
                .credential_added(&user, &session, |others_ended| SecurityEvent::TotpEnrolled { user: user.id.clone(), others_ended }, latchkey_app::sessions::Added::AuthenticatorApp, tr(&req))
                .await?;
            Ok(render(StatusCode::OK, &TotpPage { enrolled: true, backup_codes: Some(codes), ..page(tr(&req), &state, &csrf) }))
        }
        Err(AuthnError::InvalidCredentials) => {
            let body = enrolment_page(tr(&req), &state, &user, &csrf, Some(tr(&req).get("totp-code-wrong"))).await?;
            Ok(render(StatusCode::BAD_REQUEST, &body))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn backup_codes(req: HttpRequest, state: web::Data<AppState>, form: web::Form<CsrfForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let (user, session) = recent(&req, &state).await?;
    if !state.mfa.has_second_factor(&user).await? {
        return Ok(see_other("/account/totp"));
    }
    let codes = state.mfa.regenerate_backup_codes(&user).await?;
    state
        .credential_added(
            &user,
            &session,
            |others_ended| SecurityEvent::BackupCodesRegenerated { user: user.id.clone(), cause: CodesCause::Asked { others_ended } },
            latchkey_app::sessions::Added::BackupCodes,
            tr(&req),
        )
        .await?;
    Ok(render(StatusCode::OK, &TotpPage { enrolled: true, backup_codes: Some(codes), ..page(tr(&req), &state, &csrf) }))
}

pub async fn totp_remove(req: HttpRequest, state: web::Data<AppState>, form: web::Form<CsrfForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let (user, session) = recent(&req, &state).await?;
    state.mfa.remove_totp(&user).await?;
    state.credentials_changed(&user.id, &session, |others_ended| SecurityEvent::TotpRemoved { user: user.id.clone(), others_ended }).await?;
    state.oauth.revoke_user_tokens(&user.id).await.map_err(WebError::from_oauth_on_page)?;
    Ok(see_other("/account"))
}

/// "Save your backup codes": offered right after an account's first
/// credential, so a passkey-only user has a second way in (recovery asks for one).
pub async fn recovery_codes_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    if current_session(&req, &state).await?.is_none() {
        return Ok(see_other("/login?next=/account/recovery-codes"));
    }
    let csrf = CsrfCookie::from_request(&req);
    with_cookies(render(StatusCode::OK, &RecoveryCodesPage { t: tr(&req), codes: None, csrf_token: csrf.form_token(&state) }), &csrf.new)
}

pub async fn recovery_codes_create(req: HttpRequest, state: web::Data<AppState>, form: web::Form<CsrfForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let Some(session) = current_session(&req, &state).await? else { return Ok(see_other("/login?next=/account/recovery-codes")) };
    let user = state.authn.user(&session.user_id).await?.ok_or_else(|| WebError::forbidden("Your account no longer exists."))?;
    if !may_change_credentials(&state, &session, &user).await? {
        return Ok(see_other("/login?next=/account/recovery-codes"));
    }
    let codes = state.mfa.regenerate_backup_codes(&user).await?;
    state
        .credential_added(
            &user,
            &session,
            |others_ended| SecurityEvent::BackupCodesRegenerated { user: user.id.clone(), cause: CodesCause::Asked { others_ended } },
            latchkey_app::sessions::Added::BackupCodes,
            tr(&req),
        )
        .await?;
    Ok(render(StatusCode::OK, &RecoveryCodesPage { t: tr(&req), codes: Some(codes), csrf_token: csrf.form_token(&state) }))
}
