//! "Webhooks" in the console (issue #30): each subscription, its state,
//! what waits, and its last 50 delivery attempts.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::*;
use serde::Deserialize;

use crate::browser::{check_form_post, CsrfCookie};
use crate::error::WebError;
use crate::format::format_time;
use crate::guards::{AdminSession, RecentAdminSession};
use crate::handlers::see_other;
use crate::state::AppState;

pub struct AttemptView {
    pub at: String,
    pub event_id: String,
    pub ok: bool,
    pub what: String,
    pub millis: i64,
}

pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: String,
    /// On, failing since …, or off.
    pub state: String,
    /// Turned off: the page offers to turn it on again.
    pub off: bool,
    pub pending: i64,
    pub attempts: Vec<AttemptView>,
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    frame: Frame,
    webhooks: Vec<WebhookView>,
    csrf_token: String,
}

/// `GET /admin/webhooks`.
pub async fn webhooks(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>, query: web::Query<NoticeQuery>) -> Result<HttpResponse, WebError> {
    let t = crate::lang::tr(&req);
    let mut views = Vec::new();
    for s in state.webhooks().await? {
        let (attempts, pending) = state.webhook_log(&s.id).await?;
        let status = match (s.disabled_at, s.failing_since) {
            (Some(_), _) => t.get("console-webhooks-off"),
            (None, Some(since)) => t.arg("console-webhooks-failing", "since", format_time(since)),
            (None, None) => t.get("console-webhooks-on"),
        };
        let attempts = attempts
            .into_iter()
            .map(|a| {
                let ok = a.status.is_some_and(|s| (200..300).contains(&s));
                let what = match (a.status, a.error) {
                    (_, Some(e)) => e,
                    (Some(s), None) => format!("HTTP {s}"),
                    (None, None) => String::new(),
                };
                AttemptView { at: format_time(a.at), event_id: a.event_id, ok, what, millis: a.millis }
            })
            .collect();
        let events = if s.events.is_empty() { t.get("console-webhooks-every-event") } else { s.events.join(", ") };
        views.push(WebhookView { id: s.id, url: s.url, events, state: status, off: s.disabled_at.is_some(), pending, attempts });
    }
    let csrf = CsrfCookie::from_request(&req);
    let frame = Frame::new(&req, Section::Webhooks, notice_text(t, query.notice.as_deref()));
    page(&WebhooksPage { frame, webhooks: views, csrf_token: csrf.form_token(&state) }, &csrf)
}

#[derive(Deserialize)]
pub struct WebhookForm {
    csrf_token: String,
    /// `enable` or `remove`.
    action: String,
}

/// `POST /admin/webhooks/{id}`: turn on again, or remove (audited).
pub async fn webhook_action(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, path: web::Path<String>, form: web::Form<WebhookForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let notice = match form.action.as_str() {
        "enable" => {
            state.enable_webhook(&path).await?;
            "webhook-enabled"
        }
        "remove" => {
            state.remove_webhook(&admin.0.actor(), &path).await?;
            "webhook-removed"
        }
        _ => return Err(WebError::bad_request("Unknown action.")),
    };
    Ok(see_other(&notice_url("/admin/webhooks", notice)))
}
