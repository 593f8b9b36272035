//! The signed-in user's own page, and signing out.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::see_other;
use crate::browser::{check_form_post, current_session, expired_session_cookie, CsrfCookie};
use crate::error::WebError;
use crate::pages::{render, AccountPage, SignedOutPage};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf_token: String,
}

#[derive(Deserialize)]
pub struct DisconnectForm {
    csrf_token: String,
    client_id: String,
}

pub async fn account_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let Some(session) = current_session(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    let user = state.authn.user(&session.user_id).await?.ok_or_else(|| WebError::forbidden("Your account no longer exists."))?;
    let csrf = CsrfCookie::from_request(&req);
    let page = AccountPage {
        username: user.username,
        email: user.email,
        signed_in: format_time(session.auth_time),
        methods: session.amr.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", "),
        apps: state.oauth.connected_apps(&session.user_id).await?,
        csrf_token: csrf.form_token(&state),
    };
    let mut resp = render(StatusCode::OK, &page);
    if let Some(c) = &csrf.new {
        resp.add_cookie(c).map_err(|e| WebError::Internal(e.to_string()))?;
    }
    Ok(resp)
}

pub async fn logout(req: HttpRequest, state: web::Data<AppState>, form: web::Form<LogoutForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    if let Some(session) = current_session(&req, &state).await? {
        state.sessions.revoke(&session.key).await?;
        state.oauth.end_session_tokens(&session.sid).await.map_err(WebError::from_oauth_on_page)?;
        tracing::info!(target: "security", event = "sign_out", user_id = %session.user_id.0, sid = %session.sid);
    }
    let mut resp = render(StatusCode::OK, &SignedOutPage);
    resp.add_cookie(&expired_session_cookie()).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(resp)
}

/// The user takes an app's access away: its grant, refresh tokens and access tokens.
pub async fn disconnect_app(req: HttpRequest, state: web::Data<AppState>, form: web::Form<DisconnectForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let Some(session) = current_session(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    state.oauth.disconnect_app(&session.user_id, &form.client_id).await.map_err(WebError::from_oauth_on_page)?;
    Ok(see_other("/account"))
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM UTC`, without a date crate.
fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (H. Hinnant), proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, (rem % 3600) / 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_epoch_times() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::format_time(1_795_000_000), "2026-11-18 11:06 UTC");
    }
}
