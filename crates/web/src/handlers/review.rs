//! "Added recently": the passkeys and authenticator app added in the last
//! days, each with a remove button. Offered after a recovery, and by "This
//! wasn't me" (the mail link's page lists them itself; it is authorised by
//! the link, the browser may not be signed in).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::added::{recently_added, remove_added, AddedCredential, AddedKind, RECENTLY_ADDED_SECS, SAME_SIGN_IN_SECS};
use latchkey_authn::AuthnError;
use latchkey_domain::{Actor, Removal, SecurityEvent};
use latchkey_domain::{Session, User};
use latchkey_i18n::Tr;
use serde::Deserialize;

use super::see_other;
use crate::browser::{check_form_post, current_session, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::format::format_time;
use crate::guards::RECENT_AUTH_SECS;
use crate::lang::tr;
use crate::pages::{render, AddedRow, ReviewPage};
use crate::state::AppState;

pub(crate) fn rows(t: Tr, added: &[AddedCredential]) -> Vec<AddedRow> {
    added
        .iter()
        .map(|c| AddedRow {
            kind: c.kind.as_str(),
            id: c.id.clone(),
            label: match c.kind {
                AddedKind::Passkey => t.arg("review-passkey", "name", c.name.as_str()),
                AddedKind::AuthenticatorApp => t.get("review-app"),
            },
            added: format_time(c.added_at),
        })
        .collect()
}

/// What the signed-in user is offered: added in the window and before this
/// sign-in (what this very sign-in set, e.g. a recovery's new passkey, is
/// not a suspect).
async fn offered(state: &AppState, user: &User, session: &Session) -> Result<Vec<AddedCredential>, WebError> {
    Ok(recently_added(&state.passkeys, &state.mfa, user, state.clock.now() - RECENTLY_ADDED_SECS, session.auth_time - SAME_SIGN_IN_SECS).await?)
}

/// Whether a sign-in now (a recovery's) will have anything to review.
pub(crate) async fn anything_to_review(state: &AppState, user: &User) -> Result<bool, WebError> {
    let now = state.clock.now();
    Ok(!recently_added(&state.passkeys, &state.mfa, user, now - RECENTLY_ADDED_SECS, now - SAME_SIGN_IN_SECS).await?.is_empty())
}

/// The signed-in user, if this session signed in interactively in the last
/// 5 minutes (not restored from a remembered device); else a redirect to sign in.
async fn signed_in_recently(req: &HttpRequest, state: &AppState) -> Result<(User, Session), WebError> {
    let again = || WebError::SignInAgain { back: "/account/review".into() };
    let Some(session) = current_session(req, state).await? else {
        return Err(again());
    };
    if session.restored || state.clock.now() - session.auth_time > RECENT_AUTH_SECS {
        return Err(again());
    }
    let user = state.authn.user(&session.user_id).await?.ok_or_else(|| WebError::forbidden("Your account no longer exists."))?;
    Ok((user, session))
}

async fn show(req: &HttpRequest, state: &AppState, user: &User, session: &Session, csrf: &CsrfCookie, error: Option<String>) -> Result<HttpResponse, WebError> {
    let t = tr(req);
    let added = rows(t, &offered(state, user, session).await?);
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    with_cookies(
        render(status, &ReviewPage { t, added, days: RECENTLY_ADDED_SECS / 86_400, error, csrf_token: csrf.form_token(state), remove_action: "/account/review/remove", link_token: String::new() }),
        &csrf.new,
    )
}

pub async fn page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let (user, session) = signed_in_recently(&req, &state).await?;
    show(&req, &state, &user, &session, &CsrfCookie::from_request(&req), None).await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    csrf_token: String,
    kind: String,
    #[serde(default)]
    id: String,
}

pub async fn remove(req: HttpRequest, state: web::Data<AppState>, form: web::Form<RemoveForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let (user, session) = signed_in_recently(&req, &state).await?;
    let kind = AddedKind::parse(&form.kind).ok_or_else(|| WebError::bad_request("Unknown kind of sign-in method."))?;
    let offered = offered(&state, &user, &session).await?;
    match remove_added(&state.passkeys, &state.mfa, &user, &offered, kind, &form.id).await {
        Ok(true) => {
            state.credentials_changed(&user.id, &session, |others_ended| SecurityEvent::RecentCredentialRemoved { user: user.id.clone(), removal: Removal::Account { others_ended } }).await?;
            state.oauth.revoke_user_tokens(&user.id).await.map_err(WebError::from_oauth_on_page)?;
            Ok(see_other("/account/review"))
        }
        Ok(false) => Ok(see_other("/account/review")),
        Err(AuthnError::InvalidInput(m)) => show(&req, &state, &user, &session, &csrf, Some(m)).await,
        Err(e) => Err(e.into()),
    }
}

/// For "This wasn't me" from a mail (authorised by the link, whoever's browser):
/// what was added in the window, up to now.
pub(crate) async fn offered_to_link(state: &AppState, user: &User) -> Result<Vec<AddedCredential>, WebError> {
    let now = state.clock.now();
    Ok(recently_added(&state.passkeys, &state.mfa, user, now - RECENTLY_ADDED_SECS, now + 1).await?)
}

/// Removes one offered credential for the mail link's page; then every
/// session, device, token and recovery link of the user ends (whoever added
/// it may hold any of them). `Err(message)`: refused (the last way in).
pub(crate) async fn remove_for_link(state: &AppState, user: &User, kind: AddedKind, id: &str) -> Result<Result<bool, String>, WebError> {
    let offered = offered_to_link(state, user).await?;
    match remove_added(&state.passkeys, &state.mfa, user, &offered, kind, id).await {
        Ok(true) => {
            let ended = state.end_user_sessions(&user.id, None).await?;
            state.oauth.revoke_user_tokens(&user.id).await.map_err(WebError::from_oauth_on_page)?;
            state.links.revoke_for_user(&user.id, Some(latchkey_authn::Purpose::Recovery)).await?;
            let removal = Removal::MailLink { credential: kind.as_str().into(), sessions_ended: ended.len() };
            state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::RecentCredentialRemoved { user: user.id.clone(), removal }).await;
            Ok(Ok(true))
        }
        Ok(false) => Ok(Ok(false)),
        Err(AuthnError::InvalidInput(m)) => Ok(Err(m)),
        Err(e) => Err(e.into()),
    }
}
