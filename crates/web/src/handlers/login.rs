//! The sign-in page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::AuthnError;
use latchkey_domain::{Amr, Secret};
use serde::Deserialize;

use super::authorize::{load_pending, proceed};
use super::see_other;
use crate::browser::{check_form_post, client_info, current_session, device_cookie, session_cookie, CsrfCookie, SESSION_COOKIE};
use crate::session_ops::{end_sessions, notify_new_device};
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
    /// "Keep me signed in".
    remember: Option<String>,
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
    let new_device = state.sessions.is_new_device(&user.id, &info).await?;
    // Session fixation: the browser never keeps its cookie id across a sign-in.
    // The same user signing in again keeps the session (and its sid) under a
    // new id; anyone else's session in this browser ends.
    let old = current_session(&req, &state).await?;
    let remember = form.remember.as_deref() == Some("yes");
    let device = if remember {
        Some(state.devices.remember(&user.id, &[Amr::Pwd], latchkey_authn::device_name::friendly_name(info.user_agent.as_deref())).await?)
    } else {
        None
    };
    let new = match old {
        Some(old) if old.user_id == user.id && device.is_none() => state.sessions.elevate(&old, vec![Amr::Pwd]).await?,
        old => {
            if let Some(old) = old {
                end_sessions(&state, vec![old.sid]).await?;
            }
            state.sessions.start(&user.id, vec![Amr::Pwd], info, device.as_ref().map(|(id, _)| id.clone()), false).await?
        }
    };
    tracing::info!(target: "security", event = "sign_in", user_id = %user.id.0, sid = %new.session.sid, method = "pwd", remember);
    if new_device {
        if let Err(e) = notify_new_device(&state, &user, &new.session).await {
            tracing::error!(error = %e, "could not send the new-device notice");
        }
    }
    let mut resp = match &pending {
        Some(p) => proceed(&state, p, Some(&new.session), true).await?,
        None => see_other("/account"),
    };
    resp.add_cookie(&session_cookie(new.cookie_value)).map_err(|e| WebError::Internal(e.to_string()))?;
    if let Some((_, token)) = device {
        resp.add_cookie(&device_cookie(token, state.devices.lifetime)).map_err(|e| WebError::Internal(e.to_string()))?;
    }
    debug_assert!(SESSION_COOKIE.starts_with("__Host-"));
    Ok(resp)
}
