//! Clients: the list, a client's page, registration and the actions on a client.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::*;
use crate::browser::{check_form_post, CsrfCookie};
use crate::error::WebError;
use crate::guards::{AdminSession, RecentAdminSession};
use crate::handlers::see_other;
use crate::state::AppState;
use latchkey_app::directory::clients::new_client;

struct ClientRow {
    id: String,
    name: String,
    public: bool,
    disabled: bool,
    /// Registered by itself (RFC 7591), not by an operator.
    self_registered: bool,
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
struct ClientsPage {
    frame: Frame,
    created: Option<(String, Option<String>)>,
    clients: Vec<ClientRow>,
    csrf_token: String,
}

async fn clients_page(req: &HttpRequest, state: &AppState, created: Option<(String, Option<String>)>) -> Result<HttpResponse, WebError> {
    let list = latchkey_app::directory::clients::list(&state.stores.db).await?;
    let csrf = CsrfCookie::from_request(req);
    let clients = list.into_iter().map(|c| ClientRow { public: c.secret_hash.is_none(), disabled: c.disabled_at.is_some(), self_registered: c.self_registered, id: c.id.0, name: c.name }).collect();
    page(&ClientsPage { frame: Frame::new(req, Section::Clients, None), created, clients, csrf_token: csrf.form_token(state) }, &csrf)
}

pub async fn clients(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    clients_page(&req, &state, None).await
}

#[derive(Deserialize)]
pub struct ClientForm {
    csrf_token: String,
    name: String,
    #[serde(default)]
    redirect_uris: String,
    public: Option<String>,
    #[serde(default)]
    grant_types: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    post_logout_redirect_uris: String,
    #[serde(default)]
    backchannel_logout_uri: String,
}

pub async fn create_client(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, form: web::Form<ClientForm>) -> Result<HttpResponse, WebError> {
    let f = form.into_inner();
    check_form_post(&req, &state, &f.csrf_token)?;
    let new = new_client(f.name, lines(&f.redirect_uris), lines(&f.post_logout_redirect_uris), f.public.is_some(), &lines(&f.grant_types), Some(&f.scope), Some(f.backchannel_logout_uri), None)
        .map_err(|e| WebError::bad_request(e.to_string()))?;
    let (client, secret) = state.admin(admin.0.actor()).create_client(new).await.map_err(|e| WebError::bad_request(e.to_string()))?;
    // The secret is shown on this response only (never in a URL).
    clients_page(&req, &state, Some((client.id.0, secret.map(|s| s.expose().to_string())))).await
}

struct GrantRow {
    username: String,
    scope: String,
    families: i64,
}

#[derive(Template)]
#[template(path = "admin/client.html")]
struct ClientPage {
    frame: Frame,
    new_secret: Option<String>,
    id: String,
    name: String,
    public: bool,
    disabled: bool,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: String,
    /// Shown on the consent page: logo, privacy policy, terms.
    links: latchkey_domain::ClientLinks,
    grant_types: String,
    scope: String,
    grants: Vec<GrantRow>,
    actions: Vec<(&'static str, &'static str)>,
    csrf_token: String,
}

async fn client_page(req: &HttpRequest, state: &AppState, id: &str, notice: Option<String>, new_secret: Option<String>) -> Result<HttpResponse, WebError> {
    let c = state.oauth.client(id).await?.ok_or_else(|| WebError::Page { status: StatusCode::NOT_FOUND, title: "Not found", message: "No such client.".into() })?;
    let grants = state
        .oauth
        .client_grants(id)
        .await
        .map_err(WebError::from_oauth_on_page)?
        .unwrap_or_default()
        .into_iter()
        .map(|g| GrantRow { username: g.username, scope: g.scope, families: g.families })
        .collect();
    let mut actions = vec![("revoke-all", "Revoke all grants")];
    if c.secret_hash.is_some() {
        actions.push(("rotate-secret", "Rotate secret"));
    }
    actions.push(if c.disabled_at.is_some() { ("enable", "Enable client") } else { ("disable", "Disable client") });
    actions.push(("delete", "Delete client"));
    let csrf = CsrfCookie::from_request(req);
    let p = ClientPage {
        frame: Frame::new(req, Section::Clients, notice),
        new_secret,
        id: c.id.0.clone(),
        name: c.name.clone(),
        public: c.secret_hash.is_none(),
        disabled: c.disabled_at.is_some(),
        redirect_uris: c.redirect_uris.join(" "),
        post_logout_redirect_uris: c.post_logout_redirect_uris.join(" "),
        backchannel_logout_uri: c.backchannel_logout_uri.clone().unwrap_or_default(),
        links: c.links.clone(),
        grant_types: c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(" "),
        scope: c.allowed_scopes.to_string(),
        grants,
        actions,
        csrf_token: csrf.form_token(state),
    };
    page(&p, &csrf)
}

pub async fn client(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>, path: web::Path<String>, query: web::Query<NoticeQuery>) -> Result<HttpResponse, WebError> {
    client_page(&req, &state, &path, notice_text(query.notice.as_deref()), None).await
}

pub async fn client_action(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, path: web::Path<String>, form: web::Form<ActionForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let id = path.into_inner();
    let back = format!("/admin/clients/{id}");
    let ops = state.admin(admin.0.actor());
    let notice = match form.action.as_str() {
        "revoke-all" => {
            ops.revoke_client_grants(&id, None).await?;
            "grants-revoked"
        }
        "revoke-user" => {
            let user = form.username.clone().unwrap_or_default();
            ops.revoke_client_grants(&id, Some(&user)).await?;
            "user-grant-revoked"
        }
        "rotate-secret" => {
            let secret = ops.rotate_client_secret(&id).await?;
            return client_page(&req, &state, &id, Some("Secret rotated; the old one no longer works.".into()), Some(secret.expose().to_string())).await;
        }
        "disable" | "enable" => {
            ops.set_client_disabled(&id, form.action == "disable").await?;
            if form.action == "disable" {
                "client-disabled"
            } else {
                "client-enabled"
            }
        }
        "delete" => {
            ops.delete_client(&id).await?;
            return Ok(see_other("/admin/clients"));
        }
        "edit" => {
            let update = latchkey_app::directory::clients::ClientUpdate {
                name: form.name.clone().unwrap_or_default(),
                redirect_uris: lines(form.redirect_uris.as_deref().unwrap_or("")),
                post_logout_redirect_uris: lines(form.post_logout_redirect_uris.as_deref().unwrap_or("")),
                backchannel_logout_uri: form.backchannel_logout_uri.clone().filter(|s| !s.trim().is_empty()),
            };
            // The form always carries the three links: empty removes one.
            let links = latchkey_app::directory::clients::LinksUpdate { logo_uri: form.logo_uri.clone(), policy_uri: form.policy_uri.clone(), tos_uri: form.tos_uri.clone() };
            links.check()?;
            ops.update_client(&id, update).await?;
            if !links.is_empty() {
                ops.update_client_links(&id, links).await?;
            }
            "client-updated"
        }
        _ => return Err(WebError::bad_request("Unknown action.")),
    };
    Ok(see_other(&notice_url(&back, notice)))
}
