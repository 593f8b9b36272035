//! "Continue with …": the browser's side of a sign-in through an upstream
//! provider (issue #26). The flow, its checks and the linking rules are
//! `latchkey_app::federation`'s; the user, once known, signs in through
//! `crate::sign_in` like with a password or a passkey.

use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_app::federation::flow::{Arrival, Callback};
use latchkey_domain::Acr;
use serde::Deserialize;

use latchkey_authn::rate_limit::FEDERATION_PER_IP;

use crate::browser::{client_info, link_cookie, with_cookies, CsrfCookie};
use crate::error::WebError;
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
    let url = state.federation_start(&path, csrf.binding(&state), authz, local_next(query.next), hint.as_deref()).await?;
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
        Arrival::SignIn { user, amr, authz, next } => {
            // The upstream is one factor. An account with a second factor of
            // its own asks for it, unless the provider is trusted for
            // multi-factor and asserted it (issue #26: never a silent pass).
            if Acr::from_methods(&amr) < Acr::MultiFactor && state.has_second_factor(&user).await? {
                return owe_second_factor_after(&state, &csrf, &user, amr, authz, next, false).await;
            }
            let pending = pending_of(&state, &authz, &csrf).await?;
            Ok(complete_sign_in(&req, &state, &user, amr, pending, next, false).await?.0)
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
    }
}
