//! The consent page: the user allows or denies a client's requested scopes,
//! seeing who the client is (name, logo, policy, terms), where the answer
//! sends them, and who they are signed in as ("Not you?" switches user).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_domain::Scope;
use latchkey_domain::{Actor, ClientId, SecurityEvent};
use latchkey_i18n::Tr;
use latchkey_oauth::authorize::session_satisfies;
use latchkey_oauth::Next;
use serde::Deserialize;

use super::see_other;
use crate::browser::{check_form_post, current_session, expired_device_cookie, expired_session_cookie, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::lang::tr_for;
use crate::pages::{render, ConsentPage};
use crate::pending::load_pending;
use crate::plain_words;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ConsentQuery {
    authz: String,
}

#[derive(Deserialize)]
pub struct SwitchUserForm {
    csrf_token: String,
    authz: String,
}

#[derive(Deserialize)]
pub struct ConsentForm {
    csrf_token: String,
    authz: String,
    decision: String,
}

/// Every scope of a request as the consent page words it: OIDC scopes in our
/// words (in `t`'s language), API scopes in the API's ("Orders: Read your
/// orders", as registered).
pub(crate) async fn describe_all(state: &AppState, t: Tr, scopes: &latchkey_domain::ScopeSet) -> Result<Vec<String>, WebError> {
    describe_with(state, t, scopes, plain_words::scope_key, false).await
}

/// [`describe_all`] in other words (`words`: the message id for each OIDC
/// scope); with `unregistered`, scopes no API owns are listed by name
/// instead of dropped.
pub(crate) async fn describe_with(state: &AppState, t: Tr, scopes: &latchkey_domain::ScopeSet, words: fn(Scope) -> &'static str, unregistered: bool) -> Result<Vec<String>, WebError> {
    let apis = state.oauth.apis().await?;
    let mut out: Vec<String> = scopes.iter().map(|s| t.get(words(s))).collect();
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
    let client = state.oauth.client_for_page(&pending.client_id).await?.ok_or_else(WebError::expired_request)?;
    let user = state.authn.user(&session.user_id).await?.ok_or_else(WebError::expired_request)?;
    let t = tr_for(&req, Some(&pending));
    let metadata_host = latchkey_app::client_metadata::document_host(&client);
    let page = ConsentPage {
        metadata_host,
        t,
        client_name: client.name,
        links: client.links,
        self_registered: client.self_registered,
        username: user.username,
        scopes: describe_all(&state, t, &pending.scopes()).await?,
        delegations: delegations(&state, t, &client.token_exchange.may_act).await?,
        destination: destination(&pending.redirect_uri),
        switch_user: true,
        action: "/consent",
        field: ("authz", pending.id.clone()),
        note: None,
        csrf_token: csrf.form_token(&state),
    };
    Ok(render_consent(&state, &page))
}

/// "<actor> may act on your behalf at <APIs>", for each client of `may_act`
/// (the consenting client's RFC 8693 `may_act`) that exists, is enabled
/// and may exchange tokens into at least one registered API (named).
pub(crate) async fn delegations(state: &AppState, t: Tr, may_act: &[String]) -> Result<Vec<String>, WebError> {
    if may_act.is_empty() {
        return Ok(Vec::new());
    }
    let apis = state.oauth.apis().await?;
    let mut out = Vec::new();
    for id in may_act {
        let Some(actor) = state.oauth.client(id).await?.filter(|c| c.disabled_at.is_none()) else { continue };
        let names: Vec<&str> = actor.token_exchange.to.iter().filter_map(|aud| latchkey_oauth::apis::by_audience(&apis, aud)).map(|a| a.name.as_str()).collect();
        if !names.is_empty() {
            out.push(t.arg2("consent-may-act", "actor", actor.name.as_str(), "apis", names.join(", ")));
        }
    }
    Ok(out)
}

/// Where an answer to `redirect_uri` goes, as the user can check it: the
/// host, or a native app's private-use scheme (`com.example.app:/cb`).
fn destination(redirect_uri: &str) -> Option<String> {
    let u = url::Url::parse(redirect_uri).ok()?;
    Some(u.host_str().map(str::to_string).unwrap_or_else(|| u.scheme().to_string()))
}

/// The consent page, whose `img-src` also allows the client's logo host.
pub(crate) fn render_consent(state: &AppState, page: &ConsentPage) -> HttpResponse {
    let mut resp = render(StatusCode::OK, page);
    crate::csp::allow_logos(&mut resp, state, [page.links.logo_uri.clone()]);
    resp
}

/// `POST /consent/switch-user` ("Not you?"): signs this browser out (its
/// session and remembered device), then shows the sign-in page of the same
/// authorization request. A form POST with the CSRF token, for this
/// browser's request only; the CSRF secret is renewed, so the form works once.
pub async fn switch_user(req: HttpRequest, state: web::Data<AppState>, form: web::Form<SwitchUserForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let pending = load_pending(&state, &form.authz, &csrf).await?;
    if let Some(session) = current_session(&req, &state).await? {
        state.end_sessions(vec![session.sid.clone()]).await?;
        let user = session.user_id.clone();
        state.oauth.record(&Actor::User(user.clone()), SecurityEvent::SignOut { user, client: Some(ClientId(pending.client_id.clone())) }).await;
    }
    let fresh = CsrfCookie::fresh();
    let pending = state.oauth.rebind(&pending, fresh.binding(&state)).await?;
    let cookies = [expired_session_cookie(), expired_device_cookie()];
    with_cookies(see_other(&format!("/login?authz={}", pending.id)), cookies.iter().chain(&fresh.new))
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
    let (user, client, scope) = (session.user_id.clone(), ClientId(pending.client_id.clone()), pending.scope.clone());
    let answer = if allow { SecurityEvent::ConsentGiven { user, client, scope } } else { SecurityEvent::ConsentDenied { user, client, scope } };
    state.oauth.record(&Actor::User(session.user_id.clone()), answer).await;
    let location = match state.oauth.consent(&pending, &session, allow).await? {
        Next::Redirect(url) => url,
        Next::Login | Next::Consent => format!("/login?authz={}", pending.id),
    };
    Ok(see_other(&location))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_destination_is_the_host_or_the_app() {
        assert_eq!(super::destination("https://app.example:8443/cb?x=1").as_deref(), Some("app.example"));
        assert_eq!(super::destination("com.example.app:/oauth").as_deref(), Some("com.example.app"));
        assert_eq!(super::destination("not a url"), None);
    }
}
