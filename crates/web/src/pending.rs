//! An authorization request parked while the user signs in or consents:
//! loading it for the browser it belongs to, and moving it on.

use actix_web::HttpResponse;
use latchkey_domain::Session;
use latchkey_oauth::{Next, PendingAuthorization};

use crate::browser::CsrfCookie;
use crate::error::WebError;
use crate::handlers::{found, see_other};
use crate::state::AppState;

/// Moves a parked request on: to the sign-in page, the consent page, or back to
/// the client. `after_post` picks 303 (after a form) over 302.
pub async fn proceed(state: &AppState, pending: &PendingAuthorization, session: Option<&Session>, after_post: bool) -> Result<HttpResponse, WebError> {
    let next = state.oauth.next_step(pending, session).await?;
    Ok(respond(pending, next, after_post))
}

/// Answers a request `/authorize` just validated (see
/// `OAuthService::answer_new`: parked only when it goes to a page).
pub async fn answer_new(state: &AppState, pending: &PendingAuthorization, session: Option<&Session>) -> Result<HttpResponse, WebError> {
    let next = state.oauth.answer_new(pending, session).await?;
    Ok(respond(pending, next, false))
}

fn respond(pending: &PendingAuthorization, next: Next, after_post: bool) -> HttpResponse {
    let location = match next {
        Next::Login => format!("/login?authz={}", pending.id),
        Next::Consent => format!("/consent?authz={}", pending.id),
        Next::Redirect(url) => url,
    };
    if after_post {
        see_other(&location)
    } else {
        found(&location)
    }
}

/// Loads a parked request and checks it belongs to this browser.
pub async fn load_pending(state: &AppState, id: &str, csrf: &CsrfCookie) -> Result<PendingAuthorization, WebError> {
    if csrf.new.is_some() {
        // No cookie at all: not an expired request, a browser that drops ours.
        tracing::info!(target: "security", event = "authz_without_cookie");
        return Err(WebError::cookie_missing());
    }
    let pending = state.oauth.pending(id).await?.ok_or_else(WebError::expired_request)?;
    if !csrf.owns(state, &pending.browser) {
        tracing::info!(target: "security", event = "authz_browser_mismatch");
        return Err(WebError::expired_request());
    }
    Ok(pending)
}
