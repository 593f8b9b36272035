//! Self-service sign-up (`LATCHKEY_SIGNUP=open`): username and email, then a
//! verification link. The answer is always "Check your email", whether or
//! not the address or the username is taken.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::rate_limit::{SIGNUP_PER_ADDRESS, SIGNUP_PER_IP};
use latchkey_authn::service::validate_identity;
use serde::Deserialize;

use crate::browser::{check_form_post, client_info, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::lang::tr;
use crate::limits::rate;
use crate::pages::{render, NoticePage, SignupPage};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct SignupForm {
    csrf_token: String,
    username: String,
    email: String,
}

fn closed() -> WebError {
    WebError::Page { status: StatusCode::NOT_FOUND, title: "Not found", message: "Accounts are created by an administrator here.".into() }
}

pub async fn signup_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    if !state.signup_open {
        return Err(closed());
    }
    let csrf = CsrfCookie::from_request(&req);
    let page = SignupPage { t: tr(&req), error: None, username: String::new(), email: String::new(), csrf_token: csrf.form_token(&state) };
    with_cookies(render(StatusCode::OK, &page), &csrf.new)
}

pub async fn signup_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<SignupForm>) -> Result<HttpResponse, WebError> {
    if !state.signup_open {
        return Err(closed());
    }
    let form = form.into_inner();
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let (username, email) = (form.username.trim().to_string(), form.email.trim().to_string());
    // Only the shape is judged here (that reveals nothing about who exists).
    if let Err(e) = validate_identity(&username, &email) {
        let page =
            SignupPage { t: tr(&req), error: Some(format!("{e}.")), username: username.chars().take(64).collect(), email: email.chars().take(254).collect(), csrf_token: csrf.form_token(&state) };
        return Ok(render(StatusCode::BAD_REQUEST, &page));
    }
    rate(&state, SIGNUP_PER_IP, &client_info(&req).ip.unwrap_or_default(), false).await?;
    rate(&state, SIGNUP_PER_ADDRESS, &email, false).await?;
    let background = state.clone();
    let t = tr(&req);
    tokio::spawn(async move {
        if let Err(e) = background.sign_up(&username, &email, t).await {
            tracing::error!(error = %e, "sign-up failed");
        }
    });
    Ok(render(StatusCode::OK, &NoticePage { t, title: t.get("signup-sent-title"), message: t.get("signup-sent"), link: None }))
}
