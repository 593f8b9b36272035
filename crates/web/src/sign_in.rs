//! Finishing a sign-in in the browser, whatever proved who the user is
//! (password, second factor, passkey, mailed link, later an upstream
//! provider): the application's sign-in state machine
//! (`latchkey_app::sign_in`) does the work; this module adds the browser's
//! side — the second-factor step bound to this browser, cookies, a fresh
//! CSRF secret, and the way back to the relying party or the local page.

use actix_web::{HttpRequest, HttpResponse};
use latchkey_app::federation::flow::UpstreamSession;
use latchkey_app::sign_in::{Assessed, SecondFactorDue, SignIn};
use latchkey_domain::{Acr, Amr, Session, SignInRisk, User};
use latchkey_oauth::{ErrorCode, PendingAuthorization};

use crate::browser::{client_info, current_session, device_cookie, expired_link_cookie, known_device_cookie, session_cookie, with_cookies, CsrfCookie, LINK_COOKIE};
use crate::error::WebError;
use crate::handlers::see_other;
use crate::lang::tr_for;
use crate::pending::{load_pending, proceed};
use crate::state::AppState;

/// Only local account pages (and the device page) are allowed as a
/// post-sign-in destination: printable ASCII (it ends up in a `Location`
/// header), no `//` or `\\` (protocol-relative URLs), at most 256 characters.
pub fn local_next(next: Option<String>) -> Option<String> {
    next.filter(|n| {
        (n.starts_with("/account") || n.starts_with("/admin") || n == "/device" || n.starts_with("/device?"))
            && n.len() <= 256
            && !n.contains("//")
            && !n.contains('\\')
            && n.bytes().all(|b| b.is_ascii_graphic())
    })
}

/// The parked authorization request `authz` names, for this browser.
pub async fn pending_of(state: &AppState, authz: &Option<String>, csrf: &CsrfCookie) -> Result<Option<PendingAuthorization>, WebError> {
    match authz {
        Some(id) => Ok(Some(load_pending(state, id, csrf).await?)),
        None => Ok(None),
    }
}

/// The user passed the first factor (a password unless `first` says) and
/// owes a second: to the second-factor page.
pub async fn owe_second_factor(state: &AppState, csrf: &CsrfCookie, user: &User, authz: Option<String>, next: Option<String>, remember: bool) -> Result<HttpResponse, WebError> {
    owe_second_factor_after(state, csrf, user, vec![Amr::Pwd], None, authz, next, remember).await
}

/// `upstream`: the provider's session when the first step was one (kept
/// with the latchkey session once the second step is answered).
#[allow(clippy::too_many_arguments)]
pub async fn owe_second_factor_after(
    state: &AppState,
    csrf: &CsrfCookie,
    user: &User,
    first: Vec<Amr>,
    upstream: Option<UpstreamSession>,
    authz: Option<String>,
    next: Option<String>,
    remember: bool,
) -> Result<HttpResponse, WebError> {
    let step = state.owe_second_factor_upstream(user, first, upstream, authz, next, remember, csrf.binding(state)).await?;
    Ok(see_other(&format!("/login/mfa?m={step}")))
}

/// [`owe_second_factor`] after a password whose risk was assessed (issue
/// #32): the risk waits with the step for the sign-in's audit event.
pub async fn owe_second_factor_assessed(
    state: &AppState,
    csrf: &CsrfCookie,
    user: &User,
    authz: Option<String>,
    next: Option<String>,
    remember: bool,
    risk: Option<SignInRisk>,
) -> Result<HttpResponse, WebError> {
    let step = state.owe_second_factor_assessed(user, vec![Amr::Pwd], None, authz, next, remember, csrf.binding(state), risk).await?;
    Ok(see_other(&format!("/login/mfa?m={step}")))
}

/// The second-factor step `m`, if this browser started it and it is still due.
pub async fn second_factor_due(state: &AppState, m: &str, csrf: &CsrfCookie) -> Result<SecondFactorDue, WebError> {
    Ok(state.second_factor_due(m, |browser| csrf.owns(state, browser)).await?)
}

/// A second factor answered step `m` (`amr`: what it proved, beyond the
/// password): uses the step up, once, and finishes the sign-in it belongs to.
pub async fn second_factor_answered(req: &HttpRequest, state: &AppState, csrf: &CsrfCookie, m: &str, user: &User, proved: Vec<Amr>) -> Result<HttpResponse, WebError> {
    let due = second_factor_due(state, m, csrf).await?;
    if due.user_id != user.id.0 {
        return Err(WebError::forbidden("That passkey belongs to another account."));
    }
    state.take_second_factor_step(m).await?;
    let pending = pending_of(state, &due.authz, csrf).await?;
    let mut amr = due.first.clone();
    amr.extend(proved.into_iter().filter(|a| !due.first.contains(a) && *a != Amr::Pwd));
    let assessed = Assessed { risk: due.risk.clone(), sid: None };
    let (resp, session) = complete_sign_in_assessed(req, state, user, amr, pending, due.next, due.remember, assessed).await?;
    if let Some(upstream) = &due.upstream {
        state.record_upstream_session(&session.sid, upstream).await?;
    }
    Ok(resp)
}

/// The user is known: start (or elevate) the session and carry on. Also
/// returns the session it started. Its risk (issue #32) is assessed here,
/// recorded and never stepped up: what may be stepped up (a password, a
/// remembered device) was assessed before it got here.
pub async fn complete_sign_in(
    req: &HttpRequest,
    state: &AppState,
    user: &User,
    amr: Vec<Amr>,
    pending: Option<PendingAuthorization>,
    next: Option<String>,
    remember: bool,
) -> Result<(HttpResponse, Session), WebError> {
    complete_sign_in_assessed(req, state, user, amr, pending, next, remember, Assessed::default()).await
}

/// [`complete_sign_in`] with the risk assessed at the first step (and the
/// session id a mailed code named); without one, assessed now.
#[allow(clippy::too_many_arguments)]
pub async fn complete_sign_in_assessed(
    req: &HttpRequest,
    state: &AppState,
    user: &User,
    amr: Vec<Amr>,
    pending: Option<PendingAuthorization>,
    next: Option<String>,
    remember: bool,
    mut assessed: Assessed,
) -> Result<(HttpResponse, Session), WebError> {
    let current = current_session(req, state).await?;
    let client_id = pending.as_ref().map(|p| p.client_id.clone());
    let info = client_info(req);
    if assessed.risk.is_none() {
        let known = crate::browser::known_device(req, state, &user.id).is_some();
        assessed.risk = state.assess_sign_in(&user.id, &info, known).await?.map(|a| a.risk);
    }
    let sign_in = SignIn { user, amr: amr.clone(), client: info, current, remember, client_id: client_id.as_deref(), language: tr_for(req, pending.as_ref()) };
    let signed_in = state.start_session_assessed(sign_in, assessed).await?;
    // An upstream account waiting for this sign-in to be linked (issue #26):
    // linked only if it waited for this account, in this browser.
    let waiting_link = req.cookie(LINK_COOKIE).map(|c| c.value().to_string());
    if let Some(link) = &waiting_link {
        let before = CsrfCookie::from_request(req);
        let owns = |browser: &str| before.new.is_none() && before.owns(state, browser);
        state.finish_pending_link(link, user, &signed_in.session, owns, tr_for(req, pending.as_ref())).await?;
    }
    // A new CSRF secret for the new session: no form token from before the
    // sign-in (or from another user's session) works after it. The request
    // being answered moves to the new secret with the browser.
    let csrf = CsrfCookie::fresh();
    let pending = match pending {
        Some(p) => Some(state.oauth.rebind(&p, csrf.binding(state)).await?),
        None => None,
    };
    let resp = match &pending {
        // The relying party asked for more than this user can give (no second factor).
        Some(p) if p.requested_acr().is_some_and(|want| Acr::from_methods(&amr) < want) => {
            let location = state.oauth.fail_request(p, ErrorCode::UnmetAuthenticationRequirements, "the user has no second factor set up").await?;
            see_other(&location)
        }
        Some(p) => proceed(state, p, Some(&signed_in.session), true).await?,
        None => see_other(next.as_deref().unwrap_or("/account")),
    };
    let mut cookies = vec![session_cookie(signed_in.cookie_value), known_device_cookie(state, &user.id)];
    cookies.extend(signed_in.device_token.map(|token| device_cookie(token, state.devices.lifetime)));
    cookies.extend(csrf.new);
    cookies.extend(waiting_link.map(|_| expired_link_cookie()));
    Ok((with_cookies(resp, &cookies)?, signed_in.session))
}
