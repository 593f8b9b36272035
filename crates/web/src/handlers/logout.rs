//! RP-Initiated Logout 1.0 (`end_session_endpoint`) and the "This wasn't me"
//! link of new-device mails.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::added::AddedKind;
use latchkey_domain::{Actor, Disowned, SecurityEvent};
use latchkey_oauth::logout::EndSessionRequest;
use serde::Deserialize;

use super::account::signed_out;
use super::{form_pairs, found, param};
use crate::browser::{check_form_post, current_session, expired_device_cookie, expired_session_cookie, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::lang::tr;
use crate::pages::{render, ConfirmLogoutPage, NotMePage, SignedOutPage};
use crate::state::AppState;

pub async fn end_session_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let pairs = form_pairs(req.query_string().as_bytes()).ok_or_else(|| WebError::bad_request("The logout request is malformed."))?;
    end_session(&req, &state, pairs).await
}

pub async fn end_session_post(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let pairs = form_pairs(&body).ok_or_else(|| WebError::bad_request("The logout request is malformed."))?;
    end_session(&req, &state, pairs).await
}

async fn end_session(req: &HttpRequest, state: &AppState, pairs: Vec<(String, String)>) -> Result<HttpResponse, WebError> {
    let get = |k: &str| param(&pairs, k).filter(|v| !v.is_empty()).map(str::to_string);
    let request = EndSessionRequest { id_token_hint: get("id_token_hint"), client_id: get("client_id"), post_logout_redirect_uri: get("post_logout_redirect_uri"), state: get("state") };
    let plan = state.oauth.plan_end_session(&request).await.map_err(WebError::from_oauth_on_page)?;
    let session = current_session(req, state).await?;
    let Some(hint) = plan.hint else {
        // Not proven to come from a relying party of this user: ask, never redirect.
        return match session {
            Some(_) => {
                let csrf = CsrfCookie::from_request(req);
                with_cookies(render(StatusCode::OK, &ConfirmLogoutPage { t: tr(req), client_name: None, csrf_token: csrf.form_token(state) }), &csrf.new)
            }
            // No session to end; a remembered device stays remembered.
            None => Ok(render(StatusCode::OK, &SignedOutPage { t: tr(req) })),
        };
    };
    // The hint names the user (and session) the relying party signed in.
    // Anyone can hold a valid ID token of their own and send a victim's
    // browser here: only a hint naming this browser's user, and its session
    // when the hint has a `sid`, ends anything or clears a cookie.
    match session {
        Some(s) if hint_names(&hint, &s) => {
            state.end_sessions(vec![s.sid.clone()]).await?;
            tracing::info!(target: "security", event = "rp_logout", client_id = %hint.aud, sid = %s.sid);
            match plan.redirect {
                Some(location) => with_cookies(found(&location), &[expired_session_cookie(), expired_device_cookie()]),
                None => signed_out(req),
            }
        }
        Some(_) => {
            // Another user's (or another session's) token: the person decides.
            tracing::info!(target: "security", event = "rp_logout_hint_mismatch", client_id = %hint.aud);
            let csrf = CsrfCookie::from_request(req);
            with_cookies(render(StatusCode::OK, &ConfirmLogoutPage { t: tr(req), client_name: plan.client_name, csrf_token: csrf.form_token(state) }), &csrf.new)
        }
        // Nothing to end here: back to the relying party, cookies untouched
        // (a remembered device stays remembered).
        None => match plan.redirect {
            Some(location) => Ok(found(&location)),
            None => Ok(render(StatusCode::OK, &SignedOutPage { t: tr(req) })),
        },
    }
}

/// The verified hint names this browser's session: its user, and the
/// session itself when the ID token carries a `sid` (tokens issued without a
/// browser session carry none).
fn hint_names(hint: &latchkey_token::IdTokenClaims, session: &latchkey_domain::Session) -> bool {
    hint.sub == session.user_id.0 && (hint.sid.is_empty() || hint.sid == session.sid)
}

#[derive(Deserialize)]
pub struct NotMeQuery {
    t: String,
}

#[derive(Deserialize)]
pub struct NotMeForm {
    csrf_token: String,
    t: String,
}

fn invalid_link() -> WebError {
    WebError::bad_request("This link is invalid or has expired. Sign in and review your sessions on your account page.")
}

/// The mail link: a page with a button (a GET must not change anything;
/// mail scanners follow links).
pub async fn not_me_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<NotMeQuery>) -> Result<HttpResponse, WebError> {
    let sid = state.parse_not_me(&query.t).ok_or_else(invalid_link)?;
    // The session, or (a mailed sign-in code's link, issue #32) the sign-in
    // still waiting for its code, which would start that session.
    let device = match state.sessions.find_by_sid(&sid).await? {
        Some(target) => target.device_name,
        None => Some(state.pending_code_device(&sid).await?.ok_or_else(invalid_link)?),
    };
    let csrf = CsrfCookie::from_request(&req);
    let t = tr(&req);
    let page = NotMePage { device: device.unwrap_or_else(|| t.get("unknown-device")), token: query.t.clone(), ..NotMePage::new(t, csrf.form_token(&state)) };
    with_cookies(render(StatusCode::OK, &page), &csrf.new)
}

/// The page after the session ended: what was added to the account in the
/// last days, each with a remove button authorised by the same link.
async fn not_me_done(req: &HttpRequest, state: &AppState, csrf: &CsrfCookie, t_link: &str, sid: &str, error: Option<String>) -> Result<HttpResponse, WebError> {
    let t = tr(req);
    let user = match state.sessions.find_by_sid(sid).await? {
        Some(s) => state.authn.user(&s.user_id).await?,
        None => None,
    };
    let added = match &user {
        Some(u) => super::review::rows(t, &super::review::offered_to_link(state, u).await?),
        None => Vec::new(),
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let page = NotMePage { done: true, ended: true, added, link_token: t_link.to_string(), error, ..NotMePage::new(t, csrf.form_token(state)) };
    with_cookies(render(status, &page), &csrf.new)
}

pub async fn not_me_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<NotMeForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let sid = state.parse_not_me(&form.t).ok_or_else(invalid_link)?;
    let ended = state.end_sessions(vec![sid.clone()]).await?;
    // No session yet: a sign-in waiting for its mailed code stops (issue #32).
    let disowner = match ended.first() {
        Some(s) => Some(s.user_id.clone()),
        None => state.stop_code_step(&sid).await?,
    };
    if let Some(user) = disowner {
        state.oauth.record(&Actor::User(user.clone()), SecurityEvent::NotMe { user, disowned: Disowned::Session { session: sid.clone() } }).await;
    }
    not_me_done(&req, &state, &csrf, &form.t, &sid, None).await
}

#[derive(Deserialize)]
pub struct NotMeRemoveForm {
    csrf_token: String,
    t: String,
    kind: String,
    #[serde(default)]
    id: String,
}

/// A remove button of the page above: the link (unexpired, genuine) names
/// the account; only what was added in the last days can go this way.
pub async fn not_me_remove(req: HttpRequest, state: web::Data<AppState>, form: web::Form<NotMeRemoveForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let sid = state.parse_not_me(&form.t).ok_or_else(invalid_link)?;
    let kind = AddedKind::parse(&form.kind).ok_or_else(|| WebError::bad_request("Unknown kind of sign-in method."))?;
    let session = state.sessions.find_by_sid(&sid).await?.ok_or_else(invalid_link)?;
    let user = state.authn.user(&session.user_id).await?.ok_or_else(invalid_link)?;
    let error = super::review::remove_for_link(&state, &user, kind, &form.id).await?.err();
    not_me_done(&req, &state, &csrf, &form.t, &sid, error).await
}
