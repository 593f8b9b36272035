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
    let location = match state.oauth.next_step(pending, session).await? {
        Next::Login => format!("/login?authz={}", pending.id),
        Next::Consent => format!("/consent?authz={}", pending.id),
        Next::Redirect(url) => url,
    };
    Ok(if after_post { see_other(&location) } else { found(&location) })
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
