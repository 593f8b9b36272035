//! The sign-in page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::AuthnError;
use latchkey_domain::{Amr, Secret};
use serde::Deserialize;

use super::authorize::{load_pending, proceed};
use super::see_other;
use crate::browser::{check_form_post, client_info, current_session, session_cookie, CsrfCookie, SESSION_COOKIE};
use crate::error::WebError;
use crate::pages::{render, LoginPage};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct LoginQuery {
    authz: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf_token: String,
    authz: Option<String>,
    username: String,
    password: String,
}

pub async fn login_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<LoginQuery>) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(&req);
    let authz = query.into_inner().authz.filter(|a| !a.is_empty());
    let (client_name, username) = match &authz {
        Some(id) => {
            let pending = load_pending(&state, id, &csrf).await?;
            let client = state.oauth.client(&pending.client_id).await?;
            (client.map(|c| c.name), pending.login_hint.clone().unwrap_or_default())
        }
        None => (None, String::new()),
    };
    let page = LoginPage { client_name, error: None, authz, username, csrf_token: csrf.form_token(&state) };
    let mut resp = render(StatusCode::OK, &page);
    if let Some(c) = &csrf.new {
        resp.add_cookie(c).map_err(|e| WebError::Internal(e.to_string()))?;
    }
    Ok(resp)
}

pub async fn login_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<LoginForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let authz = form.authz.filter(|a| !a.is_empty());
    // Check the request is still there before spending an argon2 verification on it.
    let pending = match &authz {
        Some(id) => Some(load_pending(&state, id, &csrf).await?),
        None => None,
    };
    let info = client_info(&req);
    let user = match state.authn.authenticate_password(form.username.trim(), Secret::new(form.password), info.ip.as_deref()).await {
        Ok(u) => u,
        Err(e @ (AuthnError::InvalidCredentials | AuthnError::Throttled)) => {
            let status = if matches!(e, AuthnError::Throttled) { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::UNAUTHORIZED };
            let client_name = match &pending {
                Some(p) => state.oauth.client(&p.client_id).await?.map(|c| c.name),
                None => None,
            };
            let page = LoginPage {
                client_name,
                error: Some(match e {
                    AuthnError::Throttled => "Too many attempts. Wait a few minutes and try again.".to_string(),
                    _ => "Invalid username or password.".to_string(),
                }),
                authz,
                username: form.username,
                csrf_token: csrf.form_token(&state),
            };
            return Ok(render(status, &page));
        }
        Err(e) => return Err(e.into()),
    };
    // Session fixation: whatever session this browser had ends here; the new one gets a new id.
    if let Some(old) = current_session(&req, &state).await? {
        state.sessions.revoke(&old.key).await?;
    }
    let new = state.sessions.create(&user.id, vec![Amr::Pwd], info).await?;
    tracing::info!(target: "security", event = "sign_in", user_id = %user.id.0, sid = %new.session.sid, method = "pwd");
    let mut resp = match &pending {
        Some(p) => proceed(&state, p, Some(&new.session), true).await?,
        None => see_other("/account"),
    };
    resp.add_cookie(&session_cookie(new.cookie_value)).map_err(|e| WebError::Internal(e.to_string()))?;
    debug_assert!(SESSION_COOKIE.starts_with("__Host-"));
    Ok(resp)
}
