//! "Continue with …": the browser's side of a sign-in through an upstream
//! provider (issue #26). The flow, its checks and the linking rules are
//! `latchkey_app::federation`'s; the user, once known, signs in through
//! `crate::sign_in` like with a password or a passkey.

use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_app::federation::flow::{Arrival, Callback};
use latchkey_domain::Acr;
use serde::Deserialize;

use latchkey_authn::rate_limit::FEDERATION_PER_IP;

use crate::browser::{check_form_post, client_info, current_session, link_cookie, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::guards::recent_session;
use crate::handlers::see_other;
use crate::limits::rate;
use crate::sign_in::{complete_sign_in, local_next, owe_second_factor_after, pending_of};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct StartQuery {
    authz: Option<String>,
    next: Option<String>,
    /// An email typed on the sign-in page (home-realm discovery), passed on.
    login_hint: Option<String>,
}

/// To the provider's sign-in page, with a flow bound to this browser.
pub async fn start(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, query: web::Query<StartQuery>) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(&req);
    rate(&state, FEDERATION_PER_IP, &client_info(&req).ip.unwrap_or_default(), false).await?;
    let query = query.into_inner();
    let authz = query.authz.filter(|a| !a.is_empty());
    // The request must exist and be this browser's before anyone is sent away.
    pending_of(&state, &authz, &csrf).await?;
    let hint = query.login_hint.filter(|h| h.len() <= 254 && !h.chars().any(char::is_control));
    let url = state.federation_start(&path, csrf.binding(&state), authz, local_next(query.next), hint.as_deref(), None).await?;
    with_cookies(see_other(&url), &csrf.new)
}

/// The provider's answer: a user signed in (or owing latchkey's own second
/// factor), or sent to sign in to the account that has their email to link it.
pub async fn callback(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, query: web::Query<Callback>) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(&req);
    rate(&state, FEDERATION_PER_IP, &client_info(&req).ip.unwrap_or_default(), false).await?;
    let t = crate::lang::tr_for(&req, None);
    let arrival = state.federation_callback(&path, query.into_inner(), |browser| csrf.new.is_none() && csrf.owns(&state, browser), t).await?;
    match arrival {
        Arrival::SignIn { user, amr, authz, next, upstream } => {
            // The upstream is one factor. An account with a second factor of
            // its own asks for it, unless the provider is trusted for
            // multi-factor and asserted it (issue #26: never a silent pass).
            if Acr::from_methods(&amr) < Acr::MultiFactor && state.has_second_factor(&user).await? {
                return owe_second_factor_after(&state, &csrf, &user, amr, Some(upstream), authz, next, false).await;
            }
            let pending = pending_of(&state, &authz, &csrf).await?;
            let (resp, session) = complete_sign_in(&req, &state, &user, amr, pending, next, false).await?;
            state.record_upstream_session(&session.sid, &upstream).await?;
            Ok(resp)
        }
        // Not the account's username as a hint: whoever controls the
        // upstream account would learn which account has that email.
        Arrival::ConfirmLink { link, authz, next, .. } => {
            let mut to = url::form_urlencoded::Serializer::new(String::new());
            to.append_pair("link", "1");
            if let Some(a) = &authz {
                to.append_pair("authz", a);
            }
            if let Some(n) = &next {
                to.append_pair("next", n);
            }
            with_cookies(see_other(&format!("/login?{}", to.finish())), &[link_cookie(link)])
        }
        // "Link another" finished: only for the browser still signed in as
        // the user who started it.
        Arrival::Linked { user, .. } => match current_session(&req, &state).await? {
            Some(session) if session.user_id == user => Ok(see_other("/account#linked")),
            _ => Err(WebError::expired_request()),
        },
    }
}

#[derive(Deserialize)]
pub struct LinkedForm {
    csrf_token: String,
    provider: String,
}

/// "Link your … account" on the account page: a sensitive change, so only
/// with a recent sign-in (and its second factor); then to the provider.
pub async fn link_another(req: HttpRequest, state: web::Data<AppState>, form: web::Form<LinkedForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    rate(&state, FEDERATION_PER_IP, &client_info(&req).ip.unwrap_or_default(), false).await?;
    let (user, _) = recent_session(&req, &state, "/account").await?;
    let url = state.federation_start(&form.provider, csrf.binding(&state), None, Some("/account".into()), None, Some(&user.id)).await?;
    Ok(see_other(&url))
}

/// "Unlink": never the last way in; other sessions end; mailed.
pub async fn unlink(req: HttpRequest, state: web::Data<AppState>, form: web::Form<LinkedForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let (user, session) = recent_session(&req, &state, "/account").await?;
    state.unlink_identity(&user, &form.provider, &session, crate::lang::tr(&req)).await?;
    Ok(see_other("/account#linked"))
}

#[derive(Deserialize)]
pub struct LogoutTokenForm {
    logout_token: String,
}

/// The provider's back-channel logout (server to server, no cookies): a
/// logout token it signed ends the sessions its account or session signed
/// in. 200 when it verified (also when no session was left to end), 400
/// otherwise (Back-Channel Logout 1.0 §2.8).
pub async fn backchannel_logout(state: web::Data<AppState>, path: web::Path<String>, form: web::Form<LogoutTokenForm>) -> HttpResponse {
    let token = &form.logout_token;
    if token.len() > 16 * 1024 {
        return logout_refused("logout token too large");
    }
    match state.upstream_logout(&path, token).await {
        Ok(_) => HttpResponse::Ok().insert_header(("cache-control", "no-store")).finish(),
        Err(e) => {
            tracing::info!(target: "security", provider = ?path.as_str(), error = %e, "back-channel logout refused");
            logout_refused("the logout token did not verify")
        }
    }
}

fn logout_refused(description: &str) -> HttpResponse {
    HttpResponse::BadRequest().insert_header(("cache-control", "no-store")).json(serde_json::json!({ "error": "invalid_request", "error_description": description }))
}

/// Back from signing out at the provider: the signed-out page (cookies
/// cleared again, which changes nothing if they already were).
pub async fn signed_out(req: HttpRequest) -> Result<HttpResponse, WebError> {
    crate::handlers::account::signed_out(&req)
}
