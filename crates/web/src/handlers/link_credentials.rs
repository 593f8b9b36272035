//! Choosing a credential from a mailed link: account set-up (invitation or
//! sign-up, `/setup`) and recovery (`/recover/continue`). The page offers
//! "Create a passkey" first and "Use a password instead"; recovery of an
//! account with a second factor asks for it before anything else.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::rate_limit::LINKS_PER_IP;
use latchkey_authn::ways_in::RecoveryGate;
use latchkey_authn::{AuthnError, Purpose};
use latchkey_domain::{Actor, FactorFailure, PasskeyAddedVia, RecoveryFactor, SecurityEvent};
use latchkey_domain::{Amr, Secret, User, UserId};
use latchkey_store::repo::links::Link;
use serde::Deserialize;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::see_other;
use crate::browser::{check_form_post, client_info, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::json_post::{check_json_post, json_error, redirect_as_json};
use crate::lang::tr;
use crate::limits::rate;
use crate::pages::{render, SetupPage};
use crate::sign_in::complete_sign_in;
use crate::state::AppState;

/// Which link flow a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Setup,
    Recovery,
}

impl Flow {
    fn purpose(self) -> Purpose {
        match self {
            Flow::Setup => Purpose::Setup,
            Flow::Recovery => Purpose::Recovery,
        }
    }

    fn base(self) -> &'static str {
        match self {
            Flow::Setup => "/setup",
            Flow::Recovery => "/recover",
        }
    }

    /// The message id of the page's title.
    fn title(self) -> &'static str {
        match self {
            Flow::Setup => "setup-title",
            Flow::Recovery => "setup-recover-title",
        }
    }
}

fn expired() -> WebError {
    WebError::Page { status: StatusCode::BAD_REQUEST, title: "Link expired", message: "This link has expired, was already used, or was replaced by a newer one. Ask for a new one.".into() }
}

#[derive(Deserialize)]
pub struct LinkQuery {
    t: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf_token: String,
    t: String,
    new_password: String,
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf_token: String,
    t: String,
    code: String,
}

#[derive(Deserialize)]
pub struct StartBody {
    t: String,
}

#[derive(Deserialize)]
pub struct FinishBody {
    t: String,
    ceremony: String,
    #[serde(default)]
    name: String,
    credential: RegisterPublicKeyCredential,
}

/// The usable link of this flow behind `t`, and its user.
async fn open(state: &AppState, flow: Flow, t: &str) -> Result<Option<(Link, User)>, WebError> {
    let Some(link) = state.links.open(t, flow.purpose()).await? else { return Ok(None) };
    let user = state.authn.user(&UserId(link.user_id.clone())).await?.filter(|u| u.disabled_at.is_none());
    Ok(user.map(|u| (link, u)))
}

/// Recovery never bypasses the strongest control: an account with a second
/// factor (an authenticator app, backup codes, or a passkey besides its
/// password) must present one, in this browser, before a credential can be
/// set. The factors still due, or `None`.
async fn factor_due(state: &AppState, flow: Flow, link: &Link, user: &User, csrf: &CsrfCookie) -> Result<Option<RecoveryGate>, WebError> {
    if flow != Flow::Recovery {
        return Ok(None);
    }
    let gate = state.mfa.recovery_gate(user).await?;
    if !gate.required() {
        return Ok(None);
    }
    let passed = link.factor_at.is_some() && link.factor_browser.as_deref().is_some_and(|b| csrf.owns(state, b));
    Ok((!passed).then_some(gate))
}

#[allow(clippy::too_many_arguments)] // the page's inputs, each needed
fn page(req: &HttpRequest, state: &AppState, flow: Flow, user: &User, token: &str, due: Option<RecoveryGate>, error: Option<String>, csrf: &CsrfCookie) -> SetupPage {
    let t = tr(req);
    SetupPage {
        t,
        title: t.get(flow.title()),
        base: flow.base(),
        username: user.username.clone(),
        token: token.to_string(),
        needs_factor: due.is_some(),
        factor_code: due.is_some_and(|g| g.code),
        factor_passkey: due.is_some_and(|g| g.passkey),
        min_chars: state.authn.policy.min_chars,
        password_allowed: !state.authn.is_passkey_only(user),
        error,
        csrf_token: csrf.form_token(state),
    }
}

async fn show(req: HttpRequest, state: web::Data<AppState>, query: web::Query<LinkQuery>, flow: Flow) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(&req);
    let Some((link, user)) = open(&state, flow, &query.t).await? else { return Err(expired()) };
    let due = factor_due(&state, flow, &link, &user, &csrf).await?;
    with_cookies(render(StatusCode::OK, &page(&req, &state, flow, &user, &query.t, due, None, &csrf)), &csrf.new)
}

pub async fn setup_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<LinkQuery>) -> Result<HttpResponse, WebError> {
    show(req, state, query, Flow::Setup).await
}

pub async fn recovery_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<LinkQuery>) -> Result<HttpResponse, WebError> {
    show(req, state, query, Flow::Recovery).await
}

/// The recovery gate: a TOTP or backup code for this link, in this browser.
pub async fn recovery_verify(req: HttpRequest, state: web::Data<AppState>, form: web::Form<CodeForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let ip = client_info(&req).ip.unwrap_or_default();
    rate(&state, LINKS_PER_IP, &ip, false).await?;
    let Some((link, user)) = open(&state, Flow::Recovery, &form.t).await? else { return Err(expired()) };
    let known = crate::browser::known_device(&req, &state, &user.id);
    match state.mfa.verify(&user, &form.code, Some(&ip), known.as_deref()).await {
        Ok(_) => {
            state.links.record_factor(&link, &csrf.binding(&state)).await?;
            state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::RecoveryFactorPassed { user: user.id.clone(), factor: RecoveryFactor::Code }).await;
            Ok(see_other(&format!("/recover/continue?t={}", form.t)))
        }
        Err(e @ (AuthnError::InvalidCredentials | AuthnError::Throttled)) => {
            let throttled = matches!(e, AuthnError::Throttled);
            let why = if throttled { FactorFailure::Throttled } else { FactorFailure::WrongCode };
            state.oauth.record(&Actor::Anonymous, SecurityEvent::RecoveryFactorFailed { user: user.id.clone(), why }).await;
            let (status, msg) = if throttled { (StatusCode::TOO_MANY_REQUESTS, "too-many-attempts") } else { (StatusCode::UNAUTHORIZED, "mfa-code-wrong") };
            let due = Some(state.mfa.recovery_gate(&user).await?);
            Ok(render(status, &page(&req, &state, Flow::Recovery, &user, &form.t, due, Some(tr(&req).get(msg)), &csrf)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The link is spent and the credential set: sign the user in; for a
/// recovery, end everything else first.
async fn complete(req: &HttpRequest, state: &AppState, flow: Flow, link: &Link, user: &User, amr: Vec<Amr>) -> Result<HttpResponse, WebError> {
    match flow {
        Flow::Setup => {
            state.authn.set_email(&user.id, &link.email, true).await?;
            state.links.revoke_for_user(&user.id, Some(Purpose::Setup)).await?;
            state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::AccountSetUp { user: user.id.clone(), methods: amr.clone() }).await;
            let (resp, _) = complete_sign_in(req, state, user, amr, None, Some("/account/recovery-codes".into()), false).await?;
            Ok(resp)
        }
        Flow::Recovery => {
            // Whatever was added in the last days (perhaps by whoever made
            // the recovery necessary) is offered for removal first.
            let next = if super::review::anything_to_review(state, user).await? { "/account/review" } else { "/account" };
            let (resp, session) = complete_sign_in(req, state, user, amr, None, Some(next.into()), false).await?;
            state.finish_recovery(user, &session, tr(req)).await?;
            Ok(resp)
        }
    }
}

async fn set_password(req: HttpRequest, state: web::Data<AppState>, form: web::Form<PasswordForm>, flow: Flow) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    rate(&state, LINKS_PER_IP, &client_info(&req).ip.unwrap_or_default(), false).await?;
    let Some((link, user)) = open(&state, flow, &form.t).await? else { return Err(expired()) };
    if factor_due(&state, flow, &link, &user, &csrf).await?.is_some() {
        return Err(WebError::forbidden("Present your second factor first: your passkey, authenticator app or a backup code."));
    }
    if state.authn.is_passkey_only(&user) {
        // Checked before the link is spent: the page offers a passkey only (issue #29).
        let error = Some(tr(&req).get("password-passkey-only"));
        return Ok(render(StatusCode::BAD_REQUEST, &page(&req, &state, flow, &user, &form.t, None, error, &csrf)));
    }
    let password = Secret::new(form.new_password);
    if let Err(AuthnError::InvalidInput(why)) = state.authn.policy.check(&password, &user.username, &user.email) {
        let error = Some(format!("That password cannot be used: {why}."));
        return Ok(render(StatusCode::BAD_REQUEST, &page(&req, &state, flow, &user, &form.t, None, error, &csrf)));
    }
    if !state.links.consume(&link).await? {
        return Err(expired());
    }
    state.authn.set_password(&user, password).await?;
    complete(&req, &state, flow, &link, &user, vec![Amr::Pwd]).await
}

pub async fn setup_password(req: HttpRequest, state: web::Data<AppState>, form: web::Form<PasswordForm>) -> Result<HttpResponse, WebError> {
    set_password(req, state, form, Flow::Setup).await
}

pub async fn recovery_password(req: HttpRequest, state: web::Data<AppState>, form: web::Form<PasswordForm>) -> Result<HttpResponse, WebError> {
    set_password(req, state, form, Flow::Recovery).await
}

/// The ceremony is bound to the link, not to a session (there is none yet).
fn ceremony_binding(link: &Link) -> String {
    format!("link:{}", link.id)
}

/// The checks both passkey steps of a link make: CSRF, the per-address
/// limit, a live link, and the second factor the flow may ask for first.
/// `Err` is the JSON refusal to send.
async fn passkey_link(req: &HttpRequest, state: &AppState, flow: Flow, t: &str) -> Result<Result<(Link, User), HttpResponse>, WebError> {
    let csrf = match check_json_post(req, state) {
        Ok(c) => c,
        Err(resp) => return Ok(Err(resp)),
    };
    rate(state, LINKS_PER_IP, &client_info(req).ip.unwrap_or_default(), true).await?;
    let Some((link, user)) = open(state, flow, t).await? else {
        return Ok(Err(json_error(StatusCode::BAD_REQUEST, "the link has expired or was already used")));
    };
    if factor_due(state, flow, &link, &user, &csrf).await?.is_some() {
        return Ok(Err(json_error(StatusCode::FORBIDDEN, "present your second factor first: your passkey, authenticator app or a backup code")));
    }
    Ok(Ok((link, user)))
}

async fn passkey_start(req: HttpRequest, state: web::Data<AppState>, body: web::Json<StartBody>, flow: Flow) -> Result<HttpResponse, WebError> {
    let (link, user) = match passkey_link(&req, &state, flow, &body.t).await? {
        Ok(opened) => opened,
        Err(refusal) => return Ok(refusal),
    };
    let (ceremony, options) = match state.passkeys.start_registration(&user, &ceremony_binding(&link)).await {
        Ok(started) => started,
        Err(AuthnError::PasskeyRefused(r)) => return Ok(super::passkeys::refused(tr(&req), r)),
        Err(e) => return Err(e.into()),
    };
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(serde_json::json!({ "ceremony": ceremony, "options": options })))
}

pub async fn setup_passkey_start(req: HttpRequest, state: web::Data<AppState>, body: web::Json<StartBody>) -> Result<HttpResponse, WebError> {
    passkey_start(req, state, body, Flow::Setup).await
}

pub async fn recovery_passkey_start(req: HttpRequest, state: web::Data<AppState>, body: web::Json<StartBody>) -> Result<HttpResponse, WebError> {
    passkey_start(req, state, body, Flow::Recovery).await
}

async fn passkey_finish(req: HttpRequest, state: web::Data<AppState>, body: web::Json<FinishBody>, flow: Flow) -> Result<HttpResponse, WebError> {
    let (link, user) = match passkey_link(&req, &state, flow, &body.t).await? {
        Ok(opened) => opened,
        Err(refusal) => return Ok(refusal),
    };
    let (info, kind) = match state.passkeys.finish_registration(&user, &ceremony_binding(&link), &body.ceremony, &body.credential, &body.name).await {
        Ok(done) => done,
        Err(AuthnError::InvalidInput(m)) => return Ok(json_error(StatusCode::BAD_REQUEST, &m)),
        Err(AuthnError::PasskeyRefused(r)) => return Ok(super::passkeys::refused(tr(&req), r)),
        Err(e) => return Err(e.into()),
    };
    if !state.links.consume(&link).await? {
        // Another use of the link won the race: this registration is undone.
        state.passkeys.discard(&user.id, &info.id).await?;
        return Ok(json_error(StatusCode::BAD_REQUEST, "the link has expired or was already used"));
    }
    let via = PasskeyAddedVia::Link { purpose: flow.purpose().as_str().into() };
    state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::PasskeyAdded { user: user.id.clone(), passkey: info.id.clone(), via }).await;
    state.drop_password_if_passkey_only(&user, tr(&req)).await?;
    let resp = complete(&req, &state, flow, &link, &user, vec![kind, Amr::User, Amr::Mfa]).await?;
    Ok(redirect_as_json(&resp))
}

pub async fn setup_passkey_finish(req: HttpRequest, state: web::Data<AppState>, body: web::Json<FinishBody>) -> Result<HttpResponse, WebError> {
    passkey_finish(req, state, body, Flow::Setup).await
}

pub async fn recovery_passkey_finish(req: HttpRequest, state: web::Data<AppState>, body: web::Json<FinishBody>) -> Result<HttpResponse, WebError> {
    passkey_finish(req, state, body, Flow::Recovery).await
}

#[derive(Deserialize)]
pub struct FactorFinishBody {
    t: String,
    ceremony: String,
    credential: PublicKeyCredential,
}

/// What a recovery's passkey ceremony is bound to: the link and the browser.
#[derive(serde::Serialize, Deserialize)]
struct FactorContext {
    link: String,
    browser: String,
}

/// The recovery gate's passkey path, step 1: a challenge for this account's
/// passkeys (only those), bound to the link and this browser.
pub async fn recovery_factor_passkey_start(req: HttpRequest, state: web::Data<AppState>, body: web::Json<StartBody>) -> Result<HttpResponse, WebError> {
    let csrf = match check_json_post(&req, &state) {
        Ok(c) => c,
        Err(resp) => return Ok(resp),
    };
    let ip = client_info(&req).ip.unwrap_or_default();
    rate(&state, LINKS_PER_IP, &ip, true).await?;
    let Some((link, user)) = open(&state, Flow::Recovery, &body.t).await? else {
        return Ok(json_error(StatusCode::BAD_REQUEST, "the link has expired or was already used"));
    };
    if !state.mfa.recovery_gate(&user).await?.passkey {
        return Ok(json_error(StatusCode::BAD_REQUEST, "this account has no passkey to present"));
    }
    let context = serde_json::to_string(&FactorContext { link: link.id.clone(), browser: csrf.binding(&state) }).map_err(|e| WebError::Internal(e.to_string()))?;
    let (ceremony, options) = state.passkeys.start_authentication(Some(&user.id), false, &context, &ip).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(serde_json::json!({ "ceremony": ceremony, "options": options })))
}

/// Step 2: the assertion of one of the account's passkeys passes the gate
/// for this link in this browser (the ceremony is single-use: a replayed
/// assertion finds nothing).
pub async fn recovery_factor_passkey_finish(req: HttpRequest, state: web::Data<AppState>, body: web::Json<FactorFinishBody>) -> Result<HttpResponse, WebError> {
    let csrf = match check_json_post(&req, &state) {
        Ok(c) => c,
        Err(resp) => return Ok(resp),
    };
    rate(&state, LINKS_PER_IP, &client_info(&req).ip.unwrap_or_default(), true).await?;
    let Some((link, user)) = open(&state, Flow::Recovery, &body.t).await? else {
        return Ok(json_error(StatusCode::BAD_REQUEST, "the link has expired or was already used"));
    };
    let done = match state.passkeys.finish_authentication(&body.ceremony, &body.credential).await {
        Ok(d) => d,
        Err(AuthnError::InvalidCredentials) => {
            state.oauth.record(&Actor::Anonymous, SecurityEvent::RecoveryFactorFailed { user: user.id.clone(), why: FactorFailure::PasskeyRefused }).await;
            return Ok(json_error(StatusCode::UNAUTHORIZED, "that passkey did not work"));
        }
        Err(AuthnError::InvalidInput(m)) => return Ok(json_error(StatusCode::BAD_REQUEST, &m)),
        Err(e) => return Err(e.into()),
    };
    let bound = serde_json::from_str::<FactorContext>(&done.context).ok().is_some_and(|c| c.link == link.id && csrf.owns(&state, &c.browser));
    if !bound || done.user_id != user.id {
        state.oauth.record(&Actor::Anonymous, SecurityEvent::RecoveryFactorFailed { user: user.id.clone(), why: FactorFailure::ForeignCeremony }).await;
        return Ok(json_error(StatusCode::FORBIDDEN, "the passkey check started for another link or in another browser"));
    }
    state.links.record_factor(&link, &csrf.binding(&state)).await?;
    state.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::RecoveryFactorPassed { user: user.id.clone(), factor: RecoveryFactor::Passkey }).await;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(serde_json::json!({ "redirect": format!("/recover/continue?t={}", body.t) })))
}
