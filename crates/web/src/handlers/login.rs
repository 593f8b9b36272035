//! Signing in with a password: the password page and the second-factor
//! page. What happens once the user is known is `crate::sign_in`'s.

use latchkey_domain::{Actor, SecurityEvent};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_app::sign_in::{Assessed, SecondFactorDue};
use latchkey_authn::risk::Decision;
use latchkey_authn::{AuthnError, SignInRefused};
use latchkey_domain::{Amr, Secret, StepUp, UserId};
use latchkey_oauth::authorize::needs_only_stronger_acr;
use serde::Deserialize;

use crate::browser::{check_form_post, client_info, current_session, known_device, with_cookies, CsrfCookie, LINK_COOKIE};
use crate::error::WebError;
use crate::handlers::see_other;
use crate::lang::tr_for;
use crate::pages::{render, LoginPage, MfaPage};
use crate::sign_in::{complete_sign_in_assessed, local_next, owe_second_factor_after, owe_second_factor_assessed, pending_of, second_factor_due};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct LoginQuery {
    authz: Option<String>,
    next: Option<String>,
    /// Set after a sign-in through a provider found an account with its
    /// email: the page says what signing in here will link.
    link: Option<String>,
}

/// The sign-in page's "Continue with …" buttons: each enabled provider's
/// start URL (carrying the authorization request or the local page) and label.
async fn provider_buttons(state: &AppState, t: latchkey_i18n::Tr, authz: &Option<String>, next: &Option<String>) -> Result<Vec<(String, String)>, WebError> {
    let providers = state.enabled_providers().await?;
    Ok(providers.into_iter().map(|p| (carrying_sign_in(&format!("/federation/{}/start", p.id), authz, next), t.arg("login-continue-with", "provider", p.name.as_str()))).collect())
}

/// `path` carrying a sign-in's authorization request and local page, if any
/// (`/login?authz=…&next=…`): where a sign-in goes on or starts over.
pub(crate) fn carrying_sign_in(path: &str, authz: &Option<String>, next: &Option<String>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(a) = authz {
        query.append_pair("authz", a);
    }
    if let Some(n) = next {
        query.append_pair("next", n);
    }
    match query.finish() {
        q if q.is_empty() => path.to_string(),
        q => format!("{path}?{q}"),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf_token: String,
    authz: Option<String>,
    next: Option<String>,
    username: String,
    password: String,
    /// "Keep me signed in".
    remember: Option<String>,
}

#[derive(Deserialize)]
pub struct MfaQuery {
    m: String,
}

#[derive(Deserialize)]
pub struct MfaForm {
    csrf_token: String,
    m: String,
    code: String,
}

pub async fn login_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<LoginQuery>) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(&req);
    let query = query.into_inner();
    let authz = query.authz.filter(|a| !a.is_empty());
    let next = local_next(query.next);
    let pending = pending_of(&state, &authz, &csrf).await?;
    // Step-up: a signed-in user who only lacks a factor is asked for that factor.
    if let (Some(p), Some(session)) = (&pending, current_session(&req, &state).await?) {
        if needs_only_stronger_acr(p, &session, state.clock.now()) {
            if let Some(user) = state.authn.user(&session.user_id).await? {
                if state.has_second_factor(&user).await? {
                    // The session's first factor (a password, or an upstream provider) stands.
                    let first: Vec<Amr> = session.amr.iter().copied().filter(|a| matches!(a, Amr::Pwd | Amr::Fed)).collect();
                    let first = if first.is_empty() { vec![Amr::Pwd] } else { first };
                    return owe_second_factor_after(&state, &csrf, &user, first, None, authz, next, false).await;
                }
            }
        }
    }
    let (client_name, username) = match &pending {
        Some(p) => (state.oauth.client_for_page(&p.client_id).await?.map(|c| c.name), p.login_hint.clone().unwrap_or_default()),
        None => (None, String::new()),
    };
    let t = tr_for(&req, pending.as_ref());
    let link_notice = match (query.link.is_some(), req.cookie(LINK_COOKIE)) {
        (true, Some(c)) => state.pending_link_provider(c.value()).await?.map(|p| t.arg("login-link-notice", "provider", p.as_str())),
        _ => None,
    };
    let providers = provider_buttons(&state, t, &authz, &next).await?;
    let page = LoginPage { t, client_name, error: None, authz, next, username, csrf_token: csrf.form_token(&state), signup_open: state.signup_open, providers, link_notice };
    with_cookies(render(StatusCode::OK, &page), &csrf.new)
}

pub async fn login_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<LoginForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let authz = form.authz.filter(|a| !a.is_empty());
    let next = local_next(form.next);
    // Check the request is still there before spending an argon2 verification on it.
    let pending = pending_of(&state, &authz, &csrf).await?;
    let username = form.username.trim();
    // Home-realm discovery: an email of a provider's domain signs in there
    // (the password, if one was typed, is not looked at).
    if username.contains('@') {
        if let Some(provider) = state.provider_for_email(username).await? {
            let url = state.federation_start(&provider.id, csrf.binding(&state), authz, next, Some(username), None).await?;
            return Ok(see_other(&url));
        }
    }
    let info = client_info(&req);
    let user = match state.authn.sign_in_password(username, Secret::new(form.password), info.ip.as_deref(), |id| known_device(&req, &state, id)).await {
        Ok(u) => u,
        Err(refused @ SignInRefused { error: AuthnError::InvalidCredentials | AuthnError::Throttled, .. }) => {
            let throttled = matches!(refused.error, AuthnError::Throttled);
            // Attributed to the account the name names (its owner and the
            // admins can see it is being attacked); never the typed name:
            // people type passwords into it.
            let (user, known_device) = (refused.target.clone(), refused.known_device);
            let event = if throttled { SecurityEvent::LoginThrottled { user, known_device } } else { SecurityEvent::LoginFailed { user, known_device } };
            state.oauth.record(&Actor::Anonymous, event).await;
            let status = if throttled { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::UNAUTHORIZED };
            let client_name = match &pending {
                Some(p) => state.oauth.client_for_page(&p.client_id).await?.map(|c| c.name),
                None => None,
            };
            let t = tr_for(&req, pending.as_ref());
            let providers = provider_buttons(&state, t, &authz, &next).await?;
            let page = LoginPage {
                t,
                providers,
                client_name,
                error: Some(t.get(if throttled { "too-many-attempts" } else { "login-wrong" })),
                authz,
                next,
                username: form.username,
                csrf_token: csrf.form_token(&state),
                signup_open: state.signup_open,
                link_notice: None,
            };
            return Ok(render(status, &page));
        }
        Err(refused) => return Err(refused.error.into()),
    };
    let remember = form.remember.as_deref() == Some("yes");
    // Issue #32: how risky the sign-in looks decides what else it needs.
    let known = known_device(&req, &state, &user.id).is_some();
    let risk = state.assess_sign_in(&user.id, &info, known).await?.map(|a| a.risk);
    if let Some(risk) = &risk {
        match state.password_step_up(&user, risk).await? {
            Decision::Allow => {}
            Decision::SecondFactor => state.stepped_up(&user.id, StepUp::SecondFactor, risk).await,
            Decision::MailedCode => {
                let t = tr_for(&req, pending.as_ref());
                let step = state.start_code_step(&user, risk.clone(), &info, authz, next, remember, csrf.binding(&state), t).await?;
                return Ok(see_other(&format!("/login/confirm?c={step}")));
            }
            Decision::Refuse | Decision::FreshSignIn => {
                let t = tr_for(&req, pending.as_ref());
                state.refuse_risky_sign_in(&user, risk, &info, t).await;
                return super::risk::refused(&req, &state, pending.as_ref(), authz, next);
            }
        }
    }
    if state.has_second_factor(&user).await? {
        return owe_second_factor_assessed(&state, &csrf, &user, authz, next, remember, risk).await;
    }
    let assessed = Assessed { risk, sid: None };
    complete_sign_in_assessed(&req, &state, &user, vec![Amr::Pwd], pending, next, remember, assessed).await.map(|(resp, _)| resp)
}

/// The second-factor page, in the language of the authorization request
/// it belongs to (its `ui_locales`), else the browser's.
async fn mfa_page_for(req: &HttpRequest, state: &AppState, due: &SecondFactorDue, m: String, error: Option<&str>, csrf: &CsrfCookie) -> Result<MfaPage, WebError> {
    let user = state.authn.user(&UserId(due.user_id.clone())).await?.ok_or_else(WebError::expired_request)?;
    // Only the language depends on it: a request gone by now is the
    // submit's problem, not this page's.
    let pending = pending_of(state, &due.authz, csrf).await.ok().flatten();
    let t = tr_for(req, pending.as_ref());
    Ok(MfaPage { t, error: error.map(|key| t.get(key)), m, totp: state.mfa.has_second_factor(&user).await?, passkey: state.passkeys.has_passkey(&user.id).await?, csrf_token: csrf.form_token(state) })
}

pub async fn mfa_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<MfaQuery>) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(&req);
    let due = second_factor_due(&state, &query.m, &csrf).await?;
    Ok(render(StatusCode::OK, &mfa_page_for(&req, &state, &due, query.m.clone(), None, &csrf).await?))
}

pub async fn mfa_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<MfaForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let due = second_factor_due(&state, &form.m, &csrf).await?;
    let user = state.authn.user(&UserId(due.user_id.clone())).await?.ok_or_else(WebError::expired_request)?;
    let info = client_info(&req);
    let known = known_device(&req, &state, &user.id);
    match state.mfa.verify(&user, &form.code, info.ip.as_deref(), known.as_deref()).await {
        Ok(_) => {}
        Err(e @ (AuthnError::InvalidCredentials | AuthnError::Throttled)) => {
            let throttled = matches!(e, AuthnError::Throttled);
            state.oauth.record(&Actor::Anonymous, SecurityEvent::SecondFactorFailed { user: user.id.clone(), throttled }).await;
            let error = if throttled { "too-many-attempts" } else { "mfa-code-wrong" };
            let status = if throttled { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::UNAUTHORIZED };
            return Ok(render(status, &mfa_page_for(&req, &state, &due, form.m, Some(error), &csrf).await?));
        }
        Err(e) => return Err(e.into()),
    }
    // Single use: a second submission of the same step finds nothing.
    state.take_second_factor_step(&form.m).await?;
    let pending = pending_of(&state, &due.authz, &csrf).await?;
    // What the first step proved (a password, or an upstream provider), then the code.
    let mut amr = due.first.clone();
    amr.extend([Amr::Otp, Amr::Mfa]);
    let assessed = Assessed { risk: due.risk.clone(), sid: None };
    let (resp, session) = complete_sign_in_assessed(&req, &state, &user, amr, pending, due.next.clone(), due.remember, assessed).await?;
    if let Some(upstream) = &due.upstream {
        state.record_upstream_session(&session.sid, upstream).await?;
    }
    Ok(resp)
}
