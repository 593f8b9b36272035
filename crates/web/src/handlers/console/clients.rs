//! Clients: the list (type, grants, users, last use), a client's page
//! (URIs, scopes, policies with their forms, grants), registration and the
//! actions on a client — each destructive one confirmed first, naming how
//! much goes ("Revoke 12 grants of My app?").

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use latchkey_domain::{Client, GrantType};
use latchkey_i18n::Tr;
use serde::Deserialize;

use super::*;
use crate::browser::{check_form_post, CsrfCookie};
use crate::error::WebError;
use crate::format::format_time;
use crate::guards::{AdminSession, RecentAdminSession};
use crate::handlers::see_other;
use crate::plain_words::ago;
use crate::state::AppState;
use latchkey_app::directory::clients::new_client;

/// A grant type in words ("Sign-in (authorization code)").
fn grant_words(t: Tr, g: GrantType) -> String {
    t.get(match g {
        GrantType::AuthorizationCode => "console-grant-authorization-code",
        GrantType::RefreshToken => "console-grant-refresh-token",
        GrantType::ClientCredentials => "console-grant-client-credentials",
        GrantType::DeviceCode => "console-grant-device-code",
        GrantType::TokenExchange => "console-grant-token-exchange",
    })
}

/// What kind of client, in words: public or confidential, and how it was registered.
fn kind_words(t: Tr, c: &Client) -> String {
    let kind = t.get(if c.secret_hash.is_none() { "console-client-public" } else { "console-client-confidential" });
    if latchkey_app::client_metadata::document_host(c).is_some() {
        format!("{kind} · {}", t.get("console-client-metadata-document"))
    } else if c.self_registered {
        format!("{kind} · {}", t.get("console-client-self-registered"))
    } else {
        kind
    }
}

struct ClientRow {
    id: String,
    short_id: String,
    name: String,
    kind: String,
    disabled: bool,
    grants: String,
    users: i64,
    last_used: Option<(String, String)>,
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
    let frame = Frame::new(req, Section::Clients, None);
    let t = frame.t;
    let list = latchkey_app::directory::clients::list(&state.stores.db).await?;
    let usage = state.stores.db.run(latchkey_store::repo::grants::usage_by_client).await?;
    let now = state.clock.now();
    let clients = list
        .into_iter()
        .map(|c| {
            let used = usage.get(&c.id.0).cloned().unwrap_or_default();
            ClientRow {
                short_id: short_id(&c.id.0),
                kind: kind_words(t, &c),
                disabled: c.disabled_at.is_some(),
                grants: c.grant_types.iter().map(|g| grant_words(t, *g)).collect::<Vec<_>>().join(", "),
                users: used.users,
                last_used: used.last_used_at.map(|at| (ago(t, now, at), format_time(at))),
                name: c.name,
                id: c.id.0,
            }
        })
        .collect();
    let csrf = CsrfCookie::from_request(req);
    page(&ClientsPage { frame, created, clients, csrf_token: csrf.form_token(state) }, &csrf)
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

/// A client's scope as the page lists it: an API's scopes with the API's words.
struct ScopeRow {
    name: String,
    words: String,
}

#[derive(Template)]
#[template(path = "admin/client.html")]
struct ClientPage {
    frame: Frame,
    new_secret: Option<String>,
    id: String,
    name: String,
    kind: String,
    public: bool,
    disabled: bool,
    /// The host of its client ID metadata document, when it is one.
    metadata_host: Option<String>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: String,
    /// Shown on the consent page: logo, privacy policy, terms.
    links: latchkey_domain::ClientLinks,
    grant_types: Vec<String>,
    scopes: Vec<ScopeRow>,
    require_par: bool,
    require_dpop: bool,
    jwks_uri: String,
    registered_keys: bool,
    private_key_jwt: bool,
    token_exchange_to: Vec<String>,
    grants: Vec<GrantRow>,
    csrf_token: String,
}

async fn client_page(req: &HttpRequest, state: &AppState, id: &str, notice: Option<String>, new_secret: Option<String>) -> Result<HttpResponse, WebError> {
    let c = state.oauth.client(id).await?.ok_or_else(|| WebError::Page { status: StatusCode::NOT_FOUND, title: "Not found", message: "No such client.".into() })?;
    let frame = Frame::new(req, Section::Clients, notice);
    let t = frame.t;
    let grants = state
        .oauth
        .client_grants(id)
        .await
        .map_err(WebError::from_oauth_on_page)?
        .unwrap_or_default()
        .into_iter()
        .map(|g| GrantRow { username: g.username, scope: g.scope, families: g.families })
        .collect();
    let apis = state.oauth.apis().await?;
    let mut scopes: Vec<ScopeRow> = c.allowed_scopes.iter().map(|s| ScopeRow { name: s.as_str().to_string(), words: t.get(crate::plain_words::scope_key(s)) }).collect();
    scopes.extend(
        c.allowed_scopes
            .api_names()
            .map(|n| ScopeRow { name: n.to_string(), words: latchkey_oauth::apis::owner_of(&apis, n).map(|a| format!("{}: {}", a.name, a.describe(n).unwrap_or(n))).unwrap_or_default() }),
    );
    let csrf = CsrfCookie::from_request(req);
    let p = ClientPage {
        new_secret,
        id: c.id.0.clone(),
        name: c.name.clone(),
        kind: kind_words(t, &c),
        public: c.secret_hash.is_none(),
        disabled: c.disabled_at.is_some(),
        metadata_host: latchkey_app::client_metadata::document_host(&c),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        backchannel_logout_uri: c.backchannel_logout_uri.clone().unwrap_or_default(),
        links: c.links.clone(),
        grant_types: c.grant_types.iter().map(|g| grant_words(t, *g)).collect(),
        scopes,
        require_par: c.require_par,
        require_dpop: c.require_dpop,
        jwks_uri: c.jwks_uri.clone().unwrap_or_default(),
        registered_keys: c.jwks.is_some(),
        private_key_jwt: c.require_private_key_jwt,
        token_exchange_to: c.token_exchange.to.clone(),
        grants,
        csrf_token: csrf.form_token(state),
        frame,
    };
    page(&p, &csrf)
}

pub async fn client(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>, path: web::Path<String>, query: web::Query<NoticeQuery>) -> Result<HttpResponse, WebError> {
    client_page(&req, &state, &path, notice_text(crate::lang::tr(&req), query.notice.as_deref()), None).await
}

/// The confirmation page of a destructive action on `c`, or `None` when
/// `action` is not destructive.
async fn confirmation(req: &HttpRequest, state: &AppState, c: &Client, form: &ActionForm) -> Result<Option<ConfirmPage>, WebError> {
    let t = crate::lang::tr(req);
    let grants = state.oauth.client_grants(&c.id.0).await.map_err(WebError::from_oauth_on_page)?.unwrap_or_default();
    let users = grants.len();
    let name = c.name.as_str();
    let (question, consequences, label) = match form.action.as_str() {
        "revoke-all" => (t.arg2("console-confirm-revoke-all", "count", users, "client", name), vec![t.get("console-confirm-revoke-all-detail")], t.arg("console-revoke-all-count", "count", users)),
        "disable" => (t.arg("console-confirm-disable-client", "client", name), vec![t.arg("console-confirm-client-grants-end", "count", users)], t.get("console-disable-client")),
        "delete" => (
            t.arg("console-confirm-delete-client", "client", name),
            vec![t.arg("console-confirm-client-grants-end", "count", users), t.get("console-confirm-delete-client-detail")],
            t.get("console-delete-client"),
        ),
        "rotate-secret" => (t.arg("console-confirm-rotate-secret", "client", name), vec![t.get("console-confirm-rotate-secret-detail")], t.get("console-rotate-secret")),
        _ => return Ok(None),
    };
    Ok(Some(ConfirmPage {
        frame: Frame::new(req, Section::Clients, None),
        question,
        consequences,
        action_url: format!("/admin/clients/{}/action", c.id.0),
        fields: vec![("csrf_token".into(), form.csrf_token.clone()), ("action".into(), form.action.clone())],
        confirm_label: label,
        back: format!("/admin/clients/{}", c.id.0),
    }))
}

/// Form checkbox/select values: `on`/`yes` is true, anything else false.
fn yes(v: Option<&str>) -> bool {
    matches!(v, Some("on" | "yes" | "true"))
}

pub async fn client_action(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, path: web::Path<String>, form: web::Form<ActionForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let id = path.into_inner();
    let back = format!("/admin/clients/{id}");
    let c = state.oauth.client(&id).await?.ok_or_else(|| WebError::bad_request("No such client."))?;
    if !confirmed(form.confirmed.as_deref()) {
        if let Some(p) = confirmation(&req, &state, &c, &form).await? {
            return confirm(&p, &CsrfCookie::from_request(&req));
        }
    }
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
            let t = crate::lang::tr(&req);
            return client_page(&req, &state, &id, Some(t.get("console-secret-rotated")), Some(secret.expose().to_string())).await;
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
            return Ok(see_other(&notice_url("/admin/clients", "client-deleted")));
        }
        "policies" => {
            let jwks_uri = form.jwks_uri.clone().map(|u| Some(u.trim().to_string()).filter(|u| !u.is_empty()));
            ops.set_client_policies(&id, Some(yes(form.require_par.as_deref())), Some(yes(form.require_dpop.as_deref())), jwks_uri).await?;
            "client-policies-updated"
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
