//! The consent page: the user allows or denies a client's requested scopes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_domain::Scope;
use latchkey_oauth::authorize::session_satisfies;
use latchkey_oauth::Next;
use serde::Deserialize;

use super::authorize::load_pending;
use super::see_other;
use crate::browser::{check_form_post, current_session, CsrfCookie};
use crate::error::WebError;
use crate::pages::{render, ConsentPage};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ConsentQuery {
    authz: String,
}

#[derive(Deserialize)]
pub struct ConsentForm {
    csrf_token: String,
    authz: String,
    decision: String,
}

/// What each scope means, in the words the consent page uses.
fn describe(scope: Scope) -> &'static str {
    match scope {
        Scope::OpenId => "Sign you in with your latchkey account",
        Scope::Profile => "See your username",
        Scope::Email => "See your email address",
        Scope::OfflineAccess => "Stay connected when you are not using it",
        Scope::Admin => "Administer latchkey",
        Scope::Groups => "See the groups you belong to",
    }
}

/// Every scope of a request as the consent page words it: OIDC scopes in our
/// words, API scopes in the API's ("Orders: Read your orders").
pub(crate) async fn describe_all(state: &AppState, scopes: &latchkey_domain::ScopeSet) -> Result<Vec<String>, WebError> {
    describe_with(state, scopes, describe, false).await
}

/// [`describe_all`] in other words (`words` for the OIDC scopes); with
/// `unregistered`, scopes no API owns are listed by name instead of dropped.
pub(crate) async fn describe_with(state: &AppState, scopes: &latchkey_domain::ScopeSet, words: fn(Scope) -> &'static str, unregistered: bool) -> Result<Vec<String>, WebError> {
    let apis = state.oauth.apis().await?;
    let mut out: Vec<String> = scopes.iter().map(words).map(str::to_string).collect();
    for name in scopes.api_names() {
        match latchkey_oauth::apis::owner_of(&apis, name) {
            Some(api) => out.push(format!("{}: {}", api.name, api.describe(name).unwrap_or(name))),
            None if unregistered => out.push(name.to_string()),
            None => {}
        }
    }
    Ok(out)
}

pub async fn consent_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<ConsentQuery>) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(&req);
    let pending = load_pending(&state, &query.authz, &csrf).await?;
    let Some(session) = current_session(&req, &state).await? else {
        return Ok(see_other(&format!("/login?authz={}", pending.id)));
    };
    // The request may ask for more than this session has (prompt=login,
    // max_age, acr_values): then sign in first, whatever link led here.
    if !session_satisfies(&pending, &session, state.clock.now()) {
        return Ok(see_other(&format!("/login?authz={}", pending.id)));
    }
    let client = state.oauth.client(&pending.client_id).await?.ok_or_else(WebError::expired_request)?;
    let user = state.authn.user(&session.user_id).await?.ok_or_else(WebError::expired_request)?;
    let page = ConsentPage {
        client_name: client.name,
        username: user.username,
        scopes: describe_all(&state, &pending.scopes()).await?,
        action: "/consent",
        field: ("authz", pending.id.clone()),
        note: None,
        csrf_token: csrf.form_token(&state),
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn consent_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<ConsentForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let pending = load_pending(&state, &form.authz, &csrf).await?;
    let Some(session) = current_session(&req, &state).await? else {
        return Ok(see_other(&format!("/login?authz={}", pending.id)));
    };
    let allow = match form.decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return Err(WebError::bad_request("Choose Allow or Deny.")),
    };
    tracing::info!(target: "security", event = "consent", client_id = %pending.client_id, user_id = %session.user_id.0, allow);
    state.oauth.audit_event(if allow { "consent_given" } else { "consent_denied" }, Some(&session.user_id.0), Some(&pending.client_id), &pending.scope).await;
    let location = match state.oauth.consent(&pending, &session, allow).await? {
        Next::Redirect(url) => url,
        Next::Login | Next::Consent => format!("/login?authz={}", pending.id),
    };
    Ok(see_other(&location))
}
