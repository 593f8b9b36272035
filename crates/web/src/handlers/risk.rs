//! "Confirm it's you" (issue #32): the page of a risky password sign-in.
//! At medium risk it asks for the code mailed to the account's verified
//! address; at high risk, for an account with no second factor, it says the
//! sign-in was stopped and what to do. Whatever made the sign-in risky, the
//! page reads the same: it never names a signal (a new country, failures,
//! a blocklisted address) to whoever is typing.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use latchkey_app::risk::{CodeRefused, CodeStep};
use latchkey_app::sign_in::Assessed;
use latchkey_domain::{Amr, UserId};
use latchkey_i18n::Tr;
use latchkey_oauth::PendingAuthorization;
use serde::Deserialize;

use crate::browser::{check_form_post, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::lang::tr_for;
use crate::pages::render;
use crate::sign_in::{complete_sign_in_assessed, pending_of};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub t: Tr,
    /// The code step's id (the form's `c`).
    pub c: String,
    pub csrf_token: String,
    pub error: Option<String>,
    /// The sign-in was stopped (high risk, nothing else to ask for).
    pub refused: bool,
    /// The code step is gone (too many wrong codes): sign in again.
    pub start_over: bool,
    /// The sign-in page, with the request the sign-in belongs to.
    pub sign_in_href: String,
}

/// `/login` carrying the authorization request or the local page.
fn sign_in_href(authz: &Option<String>, next: &Option<String>) -> String {
    super::login::carrying_sign_in("/login", authz, next)
}

impl ConfirmPage {
    fn new(t: Tr, csrf_token: String, authz: &Option<String>, next: &Option<String>) -> ConfirmPage {
        ConfirmPage { t, c: String::new(), csrf_token, error: None, refused: false, start_over: false, sign_in_href: sign_in_href(authz, next) }
    }
}

/// The page of a refused high-risk sign-in (the owner has been mailed).
pub fn refused(req: &HttpRequest, state: &AppState, pending: Option<&PendingAuthorization>, authz: Option<String>, next: Option<String>) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(req);
    let page = ConfirmPage { refused: true, ..ConfirmPage::new(tr_for(req, pending), csrf.form_token(state), &authz, &next) };
    with_cookies(render(StatusCode::FORBIDDEN, &page), &csrf.new)
}

#[derive(Deserialize)]
pub struct ConfirmQuery {
    c: String,
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf_token: String,
    c: String,
    code: String,
}

/// The step `c` of this browser, or "this request has expired" (unknown,
/// used, expired, or another browser's).
async fn due(state: &AppState, c: &str, csrf: &CsrfCookie) -> Result<CodeStep, WebError> {
    Ok(state.code_step_due(c, |browser| csrf.owns(state, browser)).await?)
}

/// The page in the language of the authorization request the step belongs
/// to (its `ui_locales`), else the browser's.
async fn page_for(req: &HttpRequest, state: &AppState, step: &CodeStep, c: String, csrf: &CsrfCookie) -> ConfirmPage {
    let pending = pending_of(state, &step.authz, csrf).await.ok().flatten();
    let t = tr_for(req, pending.as_ref());
    ConfirmPage { c, ..ConfirmPage::new(t, csrf.form_token(state), &step.authz, &step.next) }
}

pub async fn confirm_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<ConfirmQuery>) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(&req);
    let step = due(&state, &query.c, &csrf).await?;
    Ok(render(StatusCode::OK, &page_for(&req, &state, &step, query.c.clone(), &csrf).await))
}

pub async fn confirm_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<ConfirmForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let step = due(&state, &form.c, &csrf).await?;
    let answered = state.answer_code_step(&form.c, &form.code, |browser| csrf.owns(&state, browser)).await?;
    let step = match answered {
        Ok(step) => step,
        Err(refused) => {
            let mut page = page_for(&req, &state, &step, form.c, &csrf).await;
            let (status, key) = match refused {
                CodeRefused::Wrong => (StatusCode::UNAUTHORIZED, "confirm-code-wrong"),
                CodeRefused::TooMany => (StatusCode::TOO_MANY_REQUESTS, "confirm-too-many"),
            };
            page.error = Some(page.t.get(key));
            page.start_over = refused == CodeRefused::TooMany;
            return Ok(render(status, &page));
        }
    };
    let user = state.authn.user(&UserId(step.user_id.clone())).await?.ok_or_else(WebError::expired_request)?;
    let pending = pending_of(&state, &step.authz, &csrf).await?;
    // The password, then a code through a second channel (RFC 8176 `mca`):
    // not a second factor of the account, so no `mfa` and no higher `acr`.
    let assessed = Assessed { risk: Some(step.risk.clone()), sid: Some(step.sid.clone()) };
    complete_sign_in_assessed(&req, &state, &user, vec![Amr::Pwd, Amr::Mca], pending, step.next.clone(), step.remember, assessed).await.map(|(resp, _)| resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_link_keeps_the_request() {
        assert_eq!(sign_in_href(&None, &None), "/login");
        assert_eq!(sign_in_href(&Some("a b".into()), &None), "/login?authz=a+b");
        assert_eq!(sign_in_href(&None, &Some("/account".into())), "/login?next=%2Faccount");
    }
}
