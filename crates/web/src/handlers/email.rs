//! Changing the account's email address: a link to the new address makes
//! the change; the old address is told and can undo it (and sign everyone
//! out) for 7 days.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::links::{EMAIL_REVERT_TTL, VERIFY_TTL};
use latchkey_authn::rate_limit::{EMAIL_CHANGE_PER_ACCOUNT, LINKS_PER_IP};
use latchkey_authn::service::valid_email;
use latchkey_authn::{Notice, Purpose};
use latchkey_domain::UserId;
use latchkey_domain::{Actor, SecurityEvent};
use latchkey_i18n::Tr;
use serde::Deserialize;

use crate::browser::{check_form_post, client_info, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::guards::recent_session;
use crate::lang::{for_user, tr};
use crate::limits::rate;
use crate::pages::{render, ConfirmLinkPage, EmailPage, NoticePage};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct EmailForm {
    csrf_token: String,
    email: String,
}

#[derive(Deserialize)]
pub struct LinkQuery {
    t: String,
}

#[derive(Deserialize)]
pub struct LinkForm {
    csrf_token: String,
    t: String,
}

fn expired() -> WebError {
    WebError::Page { status: StatusCode::BAD_REQUEST, title: "Link expired", message: "This link has expired, was already used, or was replaced by a newer one.".into() }
}

fn notice(t: Tr, title: &str, message: String) -> HttpResponse {
    render(StatusCode::OK, &NoticePage { t, title: t.get(title), message, link: Some(("/account".into(), t.get("your-account"))) })
}

/// The signed-in user, if they may make a sensitive change now.
async fn recent_user(req: &HttpRequest, state: &AppState) -> Result<latchkey_domain::User, WebError> {
    Ok(recent_session(req, state, "/account/email").await?.0)
}

/// Whether an account other than `me` has `email` (case-insensitive). A
/// sign-up abandoned past its link's expiry gives the address back first.
async fn used_by_another(state: &AppState, me: &UserId, email: &str) -> Result<bool, WebError> {
    for other in state.authn.find_by_email(email).await? {
        if other.id != *me && !state.authn.release_abandoned_signup(&other.id).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

pub async fn email_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let user = recent_user(&req, &state).await?;
    let csrf = CsrfCookie::from_request(&req);
    with_cookies(render(StatusCode::OK, &EmailPage { t: tr(&req), current: user.email, error: None, csrf_token: csrf.form_token(&state) }), &csrf.new)
}

pub async fn email_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<EmailForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let user = recent_user(&req, &state).await?;
    let email = form.email.trim().to_string();
    let t = tr(&req);
    let error = if !valid_email(&email) {
        Some("email-invalid")
    } else if email.eq_ignore_ascii_case(&user.email) {
        Some("email-same")
    } else {
        None
    };
    if let Some(e) = error {
        return Ok(render(StatusCode::BAD_REQUEST, &EmailPage { t, current: user.email, error: Some(t.get(e)), csrf_token: csrf.form_token(&state) }));
    }
    // Counted before the address is looked up: the answer says whether an
    // address is taken (never by whom), so asking is limited like changing.
    rate(&state, EMAIL_CHANGE_PER_ACCOUNT, &user.id.0, false).await?;
    if used_by_another(&state, &user.id, &email).await? {
        state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::EmailChangeRefused { user: user.id.clone() }).await;
        return Ok(render(StatusCode::CONFLICT, &EmailPage { t, current: user.email, error: Some(t.get("email-taken")), csrf_token: csrf.form_token(&state) }));
    }
    let token = state.links.issue(Purpose::EmailChange, &user.id, &email, VERIFY_TTL).await?;
    let url = state.link_url("/account/email/confirm", &token);
    state.notify(&email, for_user(&user, t), Notice::EmailConfirm { username: &user.username, url: &url, hours: VERIFY_TTL / 3600 }).await;
    state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::EmailChangeRequested { user: user.id.clone() }).await;
    Ok(notice(t, "email-check-inbox-title", t.get("email-check-inbox")))
}

pub async fn confirm_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<LinkQuery>) -> Result<HttpResponse, WebError> {
    let link = state.links.open(&query.t, Purpose::EmailChange).await?.ok_or_else(expired)?;
    let csrf = CsrfCookie::from_request(&req);
    let t = tr(&req);
    let page = ConfirmLinkPage {
        t,
        title: t.get("email-confirm-title"),
        message: t.arg("email-confirm-message", "email", &link.email),
        action: "/account/email/confirm",
        button: t.get("email-confirm-button"),
        token: query.t.clone(),
        csrf_token: csrf.form_token(&state),
    };
    with_cookies(render(StatusCode::OK, &page), &csrf.new)
}

pub async fn confirm_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<LinkForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    rate(&state, LINKS_PER_IP, &client_info(&req).ip.unwrap_or_default(), false).await?;
    let link = state.links.open(&form.t, Purpose::EmailChange).await?.ok_or_else(expired)?;
    let user = state.authn.user(&UserId(link.user_id.clone())).await?.ok_or_else(expired)?;
    if !state.links.consume(&link).await? {
        return Err(expired());
    }
    // Taken since the link was sent: refused as at the request.
    if used_by_another(&state, &user.id, &link.email).await? {
        state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::EmailChangeRefused { user: user.id.clone() }).await;
        let t = tr(&req);
        return Ok(render(StatusCode::CONFLICT, &NoticePage { t, title: t.get("email-title"), message: t.get("email-taken"), link: Some(("/account/email".into(), t.get("email-title"))) }));
    }
    let old = user.email.clone();
    state.authn.set_email(&user.id, &link.email, true).await?;
    // Links mailed to the old address (recovery, a set-up or another change)
    // must not outlive it (issue #24 item 8). Revert links stay: they are
    // the old address's way back from a change it did not make.
    for purpose in [Purpose::Recovery, Purpose::Setup, Purpose::EmailChange] {
        state.links.revoke_for_user(&user.id, Some(purpose)).await?;
    }
    let revert = state.links.issue(Purpose::EmailRevert, &user.id, &old, EMAIL_REVERT_TTL).await?;
    let url = state.link_url("/account/email/revert", &revert);
    let t = tr(&req);
    let days = EMAIL_REVERT_TTL / 86_400;
    state.notify(&old, for_user(&user, t), Notice::EmailChanged { username: &user.username, new_email: &link.email, revert_url: &url, days }).await;
    state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::EmailChanged { user: user.id.clone() }).await;
    Ok(notice(t, "email-changed-title", t.arg("email-changed", "email", &link.email)))
}

pub async fn revert_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<LinkQuery>) -> Result<HttpResponse, WebError> {
    let link = state.links.open(&query.t, Purpose::EmailRevert).await?.ok_or_else(expired)?;
    let csrf = CsrfCookie::from_request(&req);
    let t = tr(&req);
    let page = ConfirmLinkPage {
        t,
        title: t.get("email-revert-title"),
        message: t.arg("email-revert-message", "email", &link.email),
        action: "/account/email/revert",
        button: t.get("email-revert-button"),
        token: query.t.clone(),
        csrf_token: csrf.form_token(&state),
    };
    with_cookies(render(StatusCode::OK, &page), &csrf.new)
}

pub async fn revert_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<LinkForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    rate(&state, LINKS_PER_IP, &client_info(&req).ip.unwrap_or_default(), false).await?;
    let link = state.links.open(&form.t, Purpose::EmailRevert).await?.ok_or_else(expired)?;
    let user = state.authn.user(&UserId(link.user_id.clone())).await?.ok_or_else(expired)?;
    if !state.links.consume(&link).await? {
        return Err(expired());
    }
    state.authn.set_email(&user.id, &link.email, true).await?;
    state.lock_out_everyone(&user.id).await?;
    state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::EmailChangeReverted { user: user.id.clone() }).await;
    let t = tr(&req);
    let recover_url = format!("{}/recover", state.issuer);
    state.notify(&link.email, for_user(&user, t), Notice::EmailRestored { username: &user.username, recover_url: &recover_url }).await;
    Ok(render(StatusCode::OK, &NoticePage { t, title: t.get("email-restored-title"), message: t.arg("email-restored", "email", &link.email), link: Some(("/recover".into(), t.get("recover-title"))) }))
}
