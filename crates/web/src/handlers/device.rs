//! The device authorization grant (RFC 8628) on the web: the device's
//! `POST /device_authorization`, and the pages where the user enters the
//! code (`/device`), allows or denies the device (`/device/approve`), and is
//! told to go back to it. The protocol is in `latchkey_oauth::device`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_i18n::Tr;
use latchkey_oauth::device::{format_user_code, normalize_user_code, AnswerOutcome, DeviceApproval, UserCodeLookup, WRONG_USER_CODE_WINDOW};
use serde::Deserialize;

use super::consent::describe_all;
use super::see_other;
use super::token::{no_store, ClientForm};
use crate::browser::{check_form_post, client_info, current_session, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::lang::tr;
use crate::pages::{render, ConsentPage, DevicePage, NoticePage};
use crate::session_ops::session_or_restore;
use crate::state::AppState;

/// `POST /device_authorization` (RFC 8628 §3.1, §3.2): client
/// authentication and rate limits as at `/token`; JSON answers.
pub async fn device_authorization(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = ClientForm::parse(&req, &body)?.rate_limited(&req, &state, "device_authorization");
    let ip = client_info(&req).ip;
    let resource = form.one_resource()?;
    let answer = state.oauth.device_authorization(&form.creds, form.get("scope").as_deref(), resource.as_deref(), ip.as_deref()).await.map_err(WebError::Json)?;
    Ok(no_store().json(answer))
}

#[derive(Deserialize)]
pub struct DeviceQuery {
    user_code: Option<String>,
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf_token: String,
    user_code: String,
}

#[derive(Deserialize)]
pub struct AnswerForm {
    csrf_token: String,
    user_code: String,
    decision: String,
}

/// The sign-in page, coming back to `/device` (with the code, if it is one) afterwards.
fn sign_in_first(user_code: Option<&str>) -> HttpResponse {
    let back = match user_code.and_then(normalize_user_code) {
        Some(code) => format!("/device?user_code={}", format_user_code(&code)),
        None => "/device".to_string(),
    };
    see_other(&format!("/login?next={}", url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()))
}

/// `GET /device[?user_code=…]`: the code field (filled in from
/// `verification_uri_complete`); the user presses Continue, so a code in a
/// link is never answered by opening it.
pub async fn device_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<DeviceQuery>) -> Result<HttpResponse, WebError> {
    let resolved = session_or_restore(&req, &state).await?;
    if resolved.session.is_none() {
        return with_cookies(sign_in_first(query.user_code.as_deref()), &resolved.cookies);
    }
    let csrf = CsrfCookie::from_request(&req);
    let user_code = query.user_code.as_deref().and_then(normalize_user_code).map(|c| format_user_code(&c)).unwrap_or_default();
    let page = DevicePage { t: tr(&req), user_code, error: None, csrf_token: csrf.form_token(&state) };
    with_cookies(render(StatusCode::OK, &page), resolved.cookies.iter().chain(&csrf.new))
}

/// `POST /device`: the code typed; the consent page for its device.
pub async fn device_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<CodeForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let Some(session) = current_session(&req, &state).await? else { return Ok(sign_in_first(Some(&form.user_code))) };
    let device = match find(&req, &state, &csrf, &form.user_code).await? {
        Ok(d) => d,
        Err(resp) => return Ok(resp),
    };
    let client = live_client(&state, &device).await?;
    let user = state.authn.user(&session.user_id).await?.ok_or_else(expired)?;
    let t = tr(&req);
    let metadata_host = latchkey_app::client_metadata::document_host(&client);
    let page = ConsentPage {
        metadata_host,
        t,
        client_name: client.name,
        links: client.links,
        self_registered: client.self_registered,
        username: user.username,
        scopes: describe_all(&state, t, &device.scopes()).await?,
        delegations: super::consent::delegations(&state, t, &client.token_exchange.may_act).await?,
        destination: None,
        switch_user: false,
        action: "/device/approve",
        field: ("user_code", device.user_code.clone()),
        // RFC 8628 §5.4: someone may have sent this code to trick the user
        // into connecting the sender's device to the user's account.
        note: Some(t.arg("consent-device-note", "code", device.user_code.as_str())),
        csrf_token: csrf.form_token(&state),
    };
    Ok(super::consent::render_consent(&state, &page))
}

/// `POST /device/approve`: Allow or Deny, then "go back to your device".
pub async fn device_answer(req: HttpRequest, state: web::Data<AppState>, form: web::Form<AnswerForm>) -> Result<HttpResponse, WebError> {
    let csrf = check_form_post(&req, &state, &form.csrf_token)?;
    let Some(session) = current_session(&req, &state).await? else { return Ok(sign_in_first(Some(&form.user_code))) };
    let allow = match form.decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return Err(WebError::bad_request("Choose Allow or Deny.")),
    };
    let device = match find(&req, &state, &csrf, &form.user_code).await? {
        Ok(d) => d,
        Err(resp) => return Ok(resp),
    };
    // A client removed or disabled since the device asked gets no answer.
    live_client(&state, &device).await?;
    Ok(match state.oauth.answer_device(&device, &session, allow).await? {
        AnswerOutcome::Recorded => done(tr(&req), allow),
        AnswerOutcome::AlreadyAnswered => already_answered(tr(&req)),
        AnswerOutcome::Expired => return Err(expired()),
    })
}

/// The device request a typed code names, or the page to show instead.
async fn find(req: &HttpRequest, state: &AppState, csrf: &CsrfCookie, typed: &str) -> Result<Result<DeviceApproval, HttpResponse>, WebError> {
    let ip = client_info(req).ip;
    let t = tr(req);
    Ok(match state.oauth.lookup_user_code(typed, ip.as_deref()).await? {
        UserCodeLookup::Found(d) => Ok(d),
        UserCodeLookup::AlreadyAnswered => Err(already_answered(t)),
        UserCodeLookup::Unknown => {
            let page = DevicePage { t, user_code: typed.chars().take(20).collect(), error: Some(t.get("device-code-wrong")), csrf_token: csrf.form_token(state) };
            Err(render(StatusCode::BAD_REQUEST, &page))
        }
        UserCodeLookup::TooManyAttempts => {
            let minutes = WRONG_USER_CODE_WINDOW.as_secs() / 60;
            let mut resp = render(StatusCode::TOO_MANY_REQUESTS, &NoticePage { t, title: t.get("device-too-many-title"), message: t.arg("device-too-many", "minutes", minutes), link: None });
            resp.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(WRONG_USER_CODE_WINDOW.as_secs()));
            Err(resp)
        }
    })
}

/// The device's client, unless it was removed or disabled meanwhile.
async fn live_client(state: &AppState, device: &DeviceApproval) -> Result<latchkey_domain::Client, WebError> {
    state.oauth.client(&device.client_id).await?.filter(|c| c.disabled_at.is_none()).ok_or_else(expired)
}

fn expired() -> WebError {
    WebError::Page { status: StatusCode::BAD_REQUEST, title: "Code expired", message: "This code has expired. Start again on your device to get a new one.".into() }
}

fn already_answered(t: Tr) -> HttpResponse {
    render(StatusCode::BAD_REQUEST, &NoticePage { t, title: t.get("device-used-title"), message: t.get("device-used"), link: None })
}

fn done(t: Tr, allow: bool) -> HttpResponse {
    let (title, message) = if allow { ("device-allowed-title", "device-allowed") } else { ("device-denied-title", "device-denied") };
    render(StatusCode::OK, &NoticePage { t, title: t.get(title), message: t.get(message), link: Some(("/account".into(), t.get("your-account"))) })
}
