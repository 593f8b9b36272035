//! Signing keys: their state, and rotation.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use latchkey_domain::SecurityEvent;

use super::*;
use crate::browser::{check_form_post, CsrfCookie};
use crate::error::WebError;
use crate::format::format_time;
use crate::guards::{AdminSession, RecentAdminSession};
use crate::handlers::see_other;
use crate::state::AppState;

struct KeyRow {
    kid: String,
    alg: &'static str,
    /// The message id of its state (signing now, next, published, retired).
    state_key: &'static str,
    created: String,
    created_words: String,
}

fn state_key(state: &str) -> &'static str {
    match state {
        "active" => "console-key-active",
        "next" => "console-key-next",
        "retired" => "console-key-retired",
        _ => "console-key-published",
    }
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct KeysPage {
    frame: Frame,
    keys: Vec<KeyRow>,
    csrf_token: String,
}

pub async fn keys(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>, query: web::Query<NoticeQuery>) -> Result<HttpResponse, WebError> {
    let keys = state.tokens.key_status().await.map_err(|e| WebError::Internal(e.to_string()))?;
    let csrf = CsrfCookie::from_request(&req);
    let frame = Frame::new(&req, Section::Keys, notice_text(crate::lang::tr(&req), query.notice.as_deref()));
    let now = state.clock.now();
    let keys = keys
        .into_iter()
        .map(|k| KeyRow { state_key: state_key(k.state), created_words: crate::plain_words::ago(frame.t, now, k.created_at), created: format_time(k.created_at), kid: k.kid, alg: k.alg })
        .collect();
    page(&KeysPage { frame, keys, csrf_token: csrf.form_token(&state) }, &csrf)
}

pub async fn rotate_keys(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, form: web::Form<CsrfOnly>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let kids = state.tokens.rotate_keys(&latchkey_domain::SigningAlg::ALL).await.map_err(|e| WebError::Internal(e.to_string()))?;
    state.oauth.record(&admin.0.actor().audited(), SecurityEvent::KeysRotated { new_keys: kids.len() }).await;
    Ok(see_other(&notice_url("/admin/keys", "keys-rotated")))
}
