//! "Can't sign in?": asking for a recovery link. The answer is the same, in
//! the same time, whether or not the account exists: the work happens after
//! the response.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_authn::rate_limit::{RECOVERY_PER_ACCOUNT, RECOVERY_PER_IP};
use serde::Deserialize;

use crate::browser::{check_form_post, client_info, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::lang::tr;
use crate::limits::rate;
use crate::pages::{render, NoticePage, RecoverPage};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct RecoverForm {
    csrf_token: String,
    login: String,
}

pub async fn recover_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(&req);
    with_cookies(render(StatusCode::OK, &RecoverPage { t: tr(&req), minutes: state.recovery_ttl / 60, csrf_token: csrf.form_token(&state) }), &csrf.new)
}

pub async fn recover_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<RecoverForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let login: String = form.login.trim().chars().take(254).collect();
    rate(&state, RECOVERY_PER_IP, &client_info(&req).ip.unwrap_or_default(), false).await?;
    rate(&state, RECOVERY_PER_ACCOUNT, &login, false).await?;
    let t = tr(&req);
    if !login.is_empty() && !login.chars().any(char::is_control) {
        let background = state.clone();
        tokio::spawn(async move {
            if let Err(e) = background.request_recovery(&login, t).await {
                tracing::error!(error = %e, "recovery request failed");
            }
        });
    }
    let minutes = state.recovery_ttl / 60;
    Ok(render(StatusCode::OK, &NoticePage { t, title: t.get("recover-sent-title"), message: t.arg("recover-sent", "minutes", minutes), link: Some(("/login".into(), t.get("back-to-sign-in"))) }))
}
