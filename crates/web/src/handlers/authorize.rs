//! The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2), GET and POST.

use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_oauth::{AuthorizeError, AuthorizeParams, ResponseMode};

use super::{form_pairs, found};
use crate::browser::{with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::pending::answer_new;
use crate::session_ops::session_or_restore;
use crate::state::AppState;

pub async fn authorize_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let pairs = form_pairs(req.query_string().as_bytes()).ok_or_else(|| WebError::bad_request("The request's query string is malformed."))?;
    authorize(&req, &state, pairs).await
}

pub async fn authorize_post(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let pairs = form_pairs(&body).ok_or_else(|| WebError::bad_request("The request's form body is malformed."))?;
    authorize(&req, &state, pairs).await
}

async fn authorize(req: &HttpRequest, state: &AppState, pairs: Vec<(String, String)>) -> Result<HttpResponse, WebError> {
    let params = AuthorizeParams::from_pairs(pairs);
    let csrf = CsrfCookie::from_request(req);
    let ip = crate::browser::client_info(req).ip;
    if let Some(client_id) = params.get("client_id") {
        state.resolve_client_id_metadata(client_id, ip.as_deref().unwrap_or_default()).await.map_err(|e| WebError::metadata(e, false))?;
    }
    let pending = match state.oauth.start_authorization(&params, csrf.binding(state), ip.as_deref()).await {
        Ok(p) => p,
        Err(AuthorizeError::Redirect { redirect_uri, state: st, code, description }) => {
            let url = latchkey_oauth::authorize::error_redirect(&redirect_uri, st.as_deref(), code, &description, &state.issuer);
            if ResponseMode::parse(params.get("response_mode")) == Some(ResponseMode::FormPost) {
                return Ok(form_post_page(crate::lang::tr_with(req, params.get("ui_locales")), &redirect_uri, &url));
            }
            return Ok(found(&url));
        }
        Err(e) => return Err(e.into()),
    };
    let resolved = session_or_restore(req, state).await?;
    let resp = answer_new(state, &pending, resolved.session.as_ref()).await?;
    with_cookies(resp, resolved.cookies.iter().chain(&csrf.new))
}

/// `GET /authorize/respond?r=…`: the page that POSTs a `form_post` answer to
/// the client, once, to the browser the request belongs to.
pub async fn respond(req: HttpRequest, state: web::Data<AppState>, query: web::Query<RespondQuery>) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(&req);
    let answer = state.oauth.take_form_post(&query.r).await?.ok_or_else(WebError::expired_request)?;
    if !csrf.owns(&state, &answer.browser) {
        tracing::info!(target: "security", event = "form_post_browser_mismatch");
        return Err(WebError::expired_request());
    }
    Ok(form_post_page(crate::lang::tr(&req), &answer.redirect_uri, &answer.url))
}

#[derive(serde::Deserialize)]
pub struct RespondQuery {
    r: String,
}

/// The answer in `url` (a query redirect to `redirect_uri`) as a form that
/// posts itself to `redirect_uri`. Its CSP allows that one inline script and
/// a form action to the client's origin, and nothing else.
fn form_post_page(t: latchkey_i18n::Tr, redirect_uri: &str, url: &str) -> HttpResponse {
    let pairs = |u: &str| url::Url::parse(u).map(|u| u.query_pairs().into_owned().collect::<Vec<_>>()).unwrap_or_default();
    let mut fields = pairs(url);
    for registered in pairs(redirect_uri) {
        if let Some(i) = fields.iter().position(|f| *f == registered) {
            fields.remove(i);
        }
    }
    let target = match url::Url::parse(redirect_uri) {
        Ok(u) if u.origin().is_tuple() => u.origin().ascii_serialization(),
        Ok(u) => format!("{}:", u.scheme()),
        Err(_) => "'none'".into(),
    };
    let nonce = latchkey_token::crypto::random_token("");
    let mut resp = crate::pages::render(actix_web::http::StatusCode::OK, &crate::pages::FormPostPage { t, action: redirect_uri.to_string(), fields, nonce: nonce.clone() });
    let csp = format!("default-src 'none'; script-src 'nonce-{nonce}'; form-action {target}; frame-ancestors 'none'; base-uri 'none'");
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&csp) {
        resp.headers_mut().insert(actix_web::http::header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}
