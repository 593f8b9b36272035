//! The admin console (`/admin`): server-rendered pages over the same
//! use cases as the admin API (`latchkey_app::admin`). Admins only, with an
//! interactive multi-factor (or passkey) sign-in, never a session restored
//! from a remembered device; every action that changes anything needs that
//! sign-in to be within the last 5 minutes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use latchkey_domain::SecurityEvent;
use latchkey_domain::UserId;
use serde::Deserialize;

use super::see_other;
use crate::admin::audit::audit_filter;
use crate::browser::{check_form_post, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::format::format_time;
use crate::guards::{AdminSession, RecentAdminSession};
use crate::pages::render;
use crate::state::AppState;
use latchkey_app::admin::UserAction;
use latchkey_app::directory::clients::new_client;
use latchkey_app::AppError;

/// The status lines an action leaves for the page it redirects to, as
/// `?notice=<code>`: fixed codes with fixed texts, so a link cannot put its
/// own words on the console (an unknown code shows nothing). Counts and
/// names are in the audit trail.
const NOTICES: &[(&str, &str)] = &[
    ("sessions-ended", "Every session, remembered device and token of the user ended."),
    ("user-disabled", "User disabled; every session and token ended."),
    ("user-enabled", "User enabled."),
    ("admin-granted", "The user is now an admin."),
    ("admin-revoked", "Admin rights removed."),
    ("mfa-reset", "Authenticator app and backup codes removed; the user was told."),
    ("recovery-link-sent", "Recovery link sent."),
    ("user-deleted", "User deleted."),
    ("grants-revoked", "All grants revoked; their refresh tokens no longer work."),
    ("user-grant-revoked", "The user's grant revoked; its refresh tokens no longer work."),
    ("client-disabled", "Client disabled."),
    ("client-enabled", "Client enabled."),
    ("client-updated", "Client updated."),
    ("keys-rotated", "New keys published; they sign in 10 minutes."),
];

/// The fixed text of a notice code, if it is one.
fn notice_text(code: Option<&str>) -> Option<String> {
    let code = code?;
    NOTICES.iter().find(|(c, _)| *c == code).map(|(_, text)| (*text).to_string())
}

fn page<T: Template>(p: &T, csrf: &CsrfCookie) -> Result<HttpResponse, WebError> {
    with_cookies(render(StatusCode::OK, p), &csrf.new)
}

fn pct(n: usize, of: usize) -> usize {
    (n * 100).checked_div(of).unwrap_or(0)
}

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct OverviewPage {
    notice: Option<String>,
    users: usize,
    sessions: usize,
    with_passkey: usize,
    pct_passkey: usize,
    with_second_factor: usize,
    pct_second_factor: usize,
    password_only: usize,
    failures_24h: i64,
    reuse_24h: i64,
}

pub async fn overview(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let users = state.authn.list_users().await?;
    let (mut sessions, mut with_passkey, mut with_second_factor, mut password_only) = (0, 0, 0, 0);
    for u in &users {
        sessions += state.sessions.list(&u.id).await?.len();
        let passkey = state.passkeys.has_passkey(&u.id).await?;
        let totp = state.mfa.has_second_factor(u).await?;
        with_passkey += usize::from(passkey);
        with_second_factor += usize::from(passkey || totp);
        password_only += usize::from(u.password_hash.is_some() && !passkey && !totp);
    }
    let day_ago = state.clock.now() - 86_400;
    let failures_24h =
        state.oauth.audit_count_since(latchkey_domain::EventKind::LoginFailed, day_ago).await? + state.oauth.audit_count_since(latchkey_domain::EventKind::SecondFactorFailed, day_ago).await?;
    let reuse_24h = state.oauth.audit_count_since(latchkey_domain::EventKind::RefreshTokenReuse, day_ago).await?;
    let csrf = CsrfCookie::from_request(&req);
    let n = users.len();
    page(
        &OverviewPage {
            notice: None,
            users: n,
            sessions,
            with_passkey,
            pct_passkey: pct(with_passkey, n),
            with_second_factor,
            pct_second_factor: pct(with_second_factor, n),
            password_only,
            failures_24h,
            reuse_24h,
        },
        &csrf,
    )
}

struct UserRow {
    id: String,
    username: String,
    email: String,
    disabled: bool,
    admin: bool,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    notice: Option<String>,
    q: String,
    users: Vec<UserRow>,
    csrf_token: String,
}

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
    notice: Option<String>,
}

pub async fn users(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>, query: web::Query<Search>) -> Result<HttpResponse, WebError> {
    let q = query.q.clone().unwrap_or_default();
    let found = state.authn.search_users(&q, 200).await?;
    let csrf = CsrfCookie::from_request(&req);
    let users = found.into_iter().map(|u| UserRow { id: u.id.0, username: u.username, email: u.email, disabled: u.disabled_at.is_some(), admin: u.admin }).collect();
    page(&UsersPage { notice: notice_text(query.notice.as_deref()), q, users, csrf_token: csrf.form_token(&state) }, &csrf)
}

#[derive(Deserialize)]
pub struct InviteForm {
    csrf_token: String,
    username: String,
    email: String,
}

pub async fn invite(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, form: web::Form<InviteForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    match state.invite(&admin.0.actor().audited(), form.username.trim(), form.email.trim(), false).await {
        Ok((user, _)) => Ok(see_other(&format!("/admin/users/{}", user.id.0))),
        Err(AppError::Authn(e @ (latchkey_authn::AuthnError::UserExists | latchkey_authn::AuthnError::InvalidInput(_)))) => Err(WebError::bad_request(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

struct PasskeyRow {
    name: String,
    created: String,
    last_used: String,
}

struct SessionRow {
    device: String,
    ip: String,
    created: String,
    last_seen: String,
}

struct EventRow {
    time: String,
    kind: String,
    outcome: String,
    actor: String,
    user: String,
    client: String,
    ip: String,
    detail: String,
}

fn event_row(e: latchkey_store::repo::audit::AuditEvent) -> EventRow {
    EventRow {
        time: format_time(e.at),
        kind: e.kind,
        outcome: e.outcome,
        actor: e.actor.unwrap_or_else(|| "system".into()),
        user: e.user_id.unwrap_or_default(),
        client: e.client_id.unwrap_or_default(),
        ip: e.ip.unwrap_or_default(),
        detail: e.detail,
    }
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    notice: Option<String>,
    id: String,
    username: String,
    email: String,
    email_verified: bool,
    disabled: bool,
    admin: bool,
    has_password: bool,
    totp: bool,
    backup_codes: i64,
    passkeys: Vec<PasskeyRow>,
    sessions: Vec<SessionRow>,
    apps: Vec<String>,
    actions: Vec<(&'static str, &'static str)>,
    events: Vec<EventRow>,
    csrf_token: String,
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

pub async fn user(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>, path: web::Path<String>, query: web::Query<NoticeQuery>) -> Result<HttpResponse, WebError> {
    let u = state.authn.user(&UserId(path.into_inner())).await?.ok_or_else(|| WebError::Page { status: StatusCode::NOT_FOUND, title: "Not found", message: "No such user.".into() })?;
    let passkeys = state
        .passkeys
        .list(&u.id)
        .await?
        .into_iter()
        .map(|p| PasskeyRow { name: p.name, created: format_time(p.created_at), last_used: p.last_used_at.map_or_else(|| "never".into(), format_time) })
        .collect();
    let sessions = state
        .sessions
        .list(&u.id)
        .await?
        .into_iter()
        .map(|s| SessionRow { device: s.device_name.unwrap_or_default(), ip: s.ip.unwrap_or_default(), created: format_time(s.created_at), last_seen: format_time(s.last_seen_at) })
        .collect();
    let apps = state.oauth.connected_apps(&u.id).await?.into_iter().map(|a| format!("{} ({})", a.name, a.scope)).collect();
    let filter = latchkey_store::repo::audit::Filter { user_id: Some(u.id.0.clone()), ..Default::default() };
    let events = state.oauth.audit_search(filter, None, 20).await?.events.into_iter().map(event_row).collect();
    let mut actions = vec![("end-sessions", "End all sessions")];
    actions.push(if u.disabled_at.is_some() { ("enable", "Enable user") } else { ("disable", "Disable user") });
    actions.push(if u.admin { ("revoke-admin", "Remove admin rights") } else { ("grant-admin", "Make admin") });
    actions.extend([("reset-mfa", "Reset MFA"), ("recovery-link", "Send recovery link"), ("delete", "Delete user")]);
    let csrf = CsrfCookie::from_request(&req);
    let p = UserPage {
        notice: notice_text(query.notice.as_deref()),
        id: u.id.0.clone(),
        has_password: u.password_hash.is_some(),
        totp: state.mfa.has_second_factor(&u).await?,
        backup_codes: state.mfa.unused_backup_codes(&u).await?,
        username: u.username,
        email: u.email,
        email_verified: u.email_verified,
        disabled: u.disabled_at.is_some(),
        admin: u.admin,
        passkeys,
        sessions,
        apps,
        actions,
        events,
        csrf_token: csrf.form_token(&state),
    };
    page(&p, &csrf)
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf_token: String,
    action: String,
    username: Option<String>,
    name: Option<String>,
    redirect_uris: Option<String>,
    post_logout_redirect_uris: Option<String>,
    backchannel_logout_uri: Option<String>,
    logo_uri: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
}

/// `base` with a notice code (one of [`NOTICES`]).
fn notice_url(base: &str, code: &'static str) -> String {
    debug_assert!(NOTICES.iter().any(|(c, _)| *c == code), "unknown notice code {code}");
    format!("{base}?notice={code}")
}

pub async fn user_action(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, path: web::Path<String>, form: web::Form<ActionForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let id = path.into_inner();
    let back = format!("/admin/users/{id}");
    let u = state.authn.user(&UserId(id)).await?.ok_or_else(|| WebError::bad_request("No such user."))?;
    let ops = state.admin(admin.0.actor());
    if form.action == "delete" {
        ops.delete_user(&u).await?;
        return Ok(see_other(&notice_url("/admin/users", "user-deleted")));
    }
    let action = UserAction::parse(&form.action).ok_or_else(|| WebError::bad_request("Unknown action."))?;
    ops.user_action(&u, action).await?;
    let notice = match action {
        UserAction::EndSessions => "sessions-ended",
        UserAction::Disable => "user-disabled",
        UserAction::Enable => "user-enabled",
        UserAction::GrantAdmin => "admin-granted",
        UserAction::RevokeAdmin => "admin-revoked",
        UserAction::ResetMfa => "mfa-reset",
        UserAction::RecoveryLink => "recovery-link-sent",
    };
    Ok(see_other(&notice_url(&back, notice)))
}

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
    notice: Option<String>,
    created: Option<(String, Option<String>)>,
    clients: Vec<ClientRow>,
    csrf_token: String,
}

async fn clients_page(req: &HttpRequest, state: &AppState, created: Option<(String, Option<String>)>) -> Result<HttpResponse, WebError> {
    let list = latchkey_app::directory::clients::list(&state.stores.db).await?;
    let csrf = CsrfCookie::from_request(req);
    let clients = list.into_iter().map(|c| ClientRow { public: c.secret_hash.is_none(), disabled: c.disabled_at.is_some(), self_registered: c.self_registered, id: c.id.0, name: c.name }).collect();
    page(&ClientsPage { notice: None, created, clients, csrf_token: csrf.form_token(state) }, &csrf)
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

fn lines(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
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
    notice: Option<String>,
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
        notice,
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

#[derive(Deserialize)]
pub struct AuditQuery {
    user: Option<String>,
    client: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
}

impl AuditQuery {
    fn time(v: &Option<String>) -> Option<i64> {
        v.as_deref().and_then(|s| s.trim().parse().ok())
    }

    fn query_string(&self) -> String {
        let pairs = [("user", &self.user), ("client", &self.client), ("kind", &self.kind), ("since", &self.since), ("until", &self.until)];
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter().filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (*k, v)))).finish()
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    notice: Option<String>,
    user: String,
    client: String,
    kind: String,
    since: String,
    until: String,
    query: String,
    events: Vec<EventRow>,
    next_cursor: Option<String>,
}

pub async fn audit(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>, query: web::Query<AuditQuery>) -> Result<HttpResponse, WebError> {
    let q = query.into_inner();
    let filter = audit_filter(&state, q.user.as_deref(), q.client.as_deref(), q.kind.as_deref(), AuditQuery::time(&q.since), AuditQuery::time(&q.until)).await?;
    let found = state.oauth.audit_search(filter, q.cursor.as_deref(), 50).await?;
    let csrf = CsrfCookie::from_request(&req);
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let p = AuditPage {
        notice: None,
        user: v(&q.user),
        client: v(&q.client),
        kind: v(&q.kind),
        since: v(&q.since),
        until: v(&q.until),
        query: q.query_string(),
        events: found.events.into_iter().map(event_row).collect(),
        next_cursor: found.next_cursor.map(|c| url::form_urlencoded::byte_serialize(c.as_bytes()).collect()),
    };
    page(&p, &csrf)
}

/// The filtered trail as JSON lines (every page of it, up to 100,000 events).
pub async fn audit_export(_req: HttpRequest, admin: AdminSession, state: web::Data<AppState>, query: web::Query<AuditQuery>) -> Result<HttpResponse, WebError> {
    let q = query.into_inner();
    let filter = audit_filter(&state, q.user.as_deref(), q.client.as_deref(), q.kind.as_deref(), AuditQuery::time(&q.since), AuditQuery::time(&q.until)).await?;
    let mut out = String::new();
    let mut cursor: Option<String> = None;
    for _ in 0..500 {
        let found = state.oauth.audit_search(filter.clone(), cursor.as_deref(), latchkey_oauth::audit::MAX_PAGE).await?;
        for e in &found.events {
            out.push_str(&serde_json::to_string(e).map_err(|e| WebError::Internal(e.to_string()))?);
            out.push('\n');
        }
        match found.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    state.oauth.record(&admin.actor().audited(), SecurityEvent::AuditExported { filter: q.query_string() }).await;
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Content-Disposition", "attachment; filename=\"latchkey-audit.jsonl\""))
        .body(out))
}

struct KeyRow {
    kid: String,
    alg: &'static str,
    state: &'static str,
    created: String,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct KeysPage {
    notice: Option<String>,
    keys: Vec<KeyRow>,
    csrf_token: String,
}

pub async fn keys(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>, query: web::Query<NoticeQuery>) -> Result<HttpResponse, WebError> {
    let keys = state.tokens.key_status().await.map_err(|e| WebError::Internal(e.to_string()))?;
    let csrf = CsrfCookie::from_request(&req);
    let keys = keys.into_iter().map(|k| KeyRow { kid: k.kid, alg: k.alg, state: k.state, created: format_time(k.created_at) }).collect();
    page(&KeysPage { notice: notice_text(query.notice.as_deref()), keys, csrf_token: csrf.form_token(&state) }, &csrf)
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf_token: String,
}

pub async fn rotate_keys(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, form: web::Form<CsrfOnly>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let kids = state.tokens.rotate_keys(&latchkey_domain::SigningAlg::ALL).await.map_err(|e| WebError::Internal(e.to_string()))?;
    state.oauth.record(&admin.0.actor().audited(), SecurityEvent::KeysRotated { new_keys: kids.len() }).await;
    Ok(see_other(&notice_url("/admin/keys", "keys-rotated")))
}
