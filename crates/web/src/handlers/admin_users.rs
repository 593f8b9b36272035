//! Admin API: users, clients, the audit trail and signing keys — the same
//! operations as the console (`crate::admin_ops`).

use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_domain::SecurityEvent;
use latchkey_domain::{ClientLinks, GrantType, ScopeSet, SigningAlg, User};
use latchkey_oauth::clients::{LinksUpdate, NewClient};
use latchkey_oauth::OAuthError;
use latchkey_store::repo::audit::Filter;
use serde::Deserialize;
use serde_json::json;

use super::admin::admin;
use crate::admin_ops;
use crate::error::WebError;
use crate::state::AppState;

fn ok(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body)
}

fn not_found(what: &'static str) -> WebError {
    WebError::Json(OAuthError::NotFound(what))
}

pub fn user_json(u: &User) -> serde_json::Value {
    json!({
        "user_id": u.id.0, "username": u.username, "email": u.email, "email_verified": u.email_verified, "admin": u.admin,
        "has_password": u.password_hash.is_some(), "disabled": u.disabled_at.is_some(), "created_at": u.created_at,
        "name": u.profile.name, "given_name": u.profile.given_name, "family_name": u.profile.family_name, "locale": u.profile.locale, "zoneinfo": u.profile.zoneinfo,
    })
}

async fn user(state: &AppState, name_or_id: &str) -> Result<User, WebError> {
    admin_ops::find_user(state, name_or_id).await?.ok_or_else(|| not_found("user"))
}

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
}

pub async fn list_users(req: HttpRequest, state: web::Data<AppState>, query: web::Query<Search>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let users = state.authn.search_users(query.q.as_deref().unwrap_or(""), 200).await?;
    Ok(ok(json!(users.iter().map(user_json).collect::<Vec<_>>())))
}

pub async fn get_user(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let u = user(&state, &path).await?;
    let mut out = user_json(&u);
    out["passkeys"] = json!(state.passkeys.list(&u.id).await?.len());
    out["authenticator_app"] = json!(state.mfa.has_second_factor(&u).await?);
    out["backup_codes_left"] = json!(state.mfa.unused_backup_codes(&u).await?);
    out["sessions"] = json!(state.sessions.list(&u.id).await?.len());
    Ok(ok(out))
}

/// `POST /users/{username}/{action}`: disable, enable, reset-mfa,
/// recovery-link, end-sessions.
pub async fn user_action(req: HttpRequest, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    let claims = admin(&req, &state).await?;
    let (name, action) = path.into_inner();
    let u = user(&state, &name).await?;
    match action.as_str() {
        "disable" if claims.sub == u.id.0 => return Err(WebError::Json(OAuthError::Conflict("you cannot disable yourself".into()))),
        "disable" => admin_ops::set_disabled(&state, &u, true).await?,
        "enable" => admin_ops::set_disabled(&state, &u, false).await?,
        "reset-mfa" => admin_ops::reset_mfa(&state, &u).await?,
        "recovery-link" => admin_ops::send_recovery_link(&state, &u).await?,
        "end-sessions" => {
            admin_ops::end_everything(&state, &u).await?;
        }
        "grant-admin" => set_admin(&state, &claims, &u, true).await?,
        "revoke-admin" => set_admin(&state, &claims, &u, false).await?,
        _ => return Err(not_found("action")),
    }
    Ok(ok(json!({ "user_id": u.id.0, "done": action })))
}

/// Grants or takes away admin rights through the API: never one's own
/// (a token the caller got for themself as a user), never the last
/// administrator's (issue #24 item 25).
pub(crate) async fn set_admin(state: &AppState, claims: &latchkey_token::AccessTokenClaims, u: &User, admin: bool) -> Result<(), WebError> {
    if !admin && claims.sub == u.id.0 {
        return Err(WebError::Json(OAuthError::Conflict("you cannot remove your own admin rights".into())));
    }
    match admin_ops::set_admin(state, u, admin).await {
        Err(e @ latchkey_authn::AuthnError::LastAdmin) => Err(WebError::Json(OAuthError::Conflict(e.to_string()))),
        other => Ok(other?),
    }
}

pub async fn delete_user(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let u = user(&state, &path).await?;
    admin_ops::delete_user(&state, &u).await?;
    Ok(ok(json!({ "deleted": u.id.0 })))
}

#[derive(Deserialize)]
pub struct NewClientBody {
    name: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    grant_types: Vec<String>,
    scope: Option<String>,
    backchannel_logout_uri: Option<String>,
    id_token_alg: Option<String>,
    /// RFC 9126 §5: authorization requests only through `/par`.
    #[serde(default)]
    require_par: bool,
    /// private_key_jwt: the client's public keys (a JWK Set object).
    jwks: Option<serde_json::Value>,
    /// Only private_key_jwt authenticates this client.
    #[serde(default)]
    require_private_key_jwt: bool,
    /// RFC 9449: only DPoP-bound tokens for this client.
    #[serde(default)]
    require_dpop: bool,
    /// The consent page's logo, privacy policy and terms (RFC 7591 §2).
    logo_uri: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
}

/// Turns a client form or body into a [`NewClient`].
#[allow(clippy::too_many_arguments)] // the form's fields; a typed request struct comes with issue #25's admin API
pub fn new_client(
    name: String,
    redirect_uris: Vec<String>,
    post_logout: Vec<String>,
    public: bool,
    grants: &[String],
    scope: Option<&str>,
    backchannel: Option<String>,
    alg: Option<&str>,
) -> Result<NewClient, OAuthError> {
    let grant_types = grants.iter().map(|g| GrantType::parse(g).ok_or_else(|| OAuthError::invalid_request(format!("unknown grant type {g}")))).collect::<Result<Vec<_>, _>>()?;
    let scopes = match scope.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(ScopeSet::parse_tokens(s).map_err(|bad| OAuthError::invalid_request(format!("malformed scope {bad}")))?),
        None => None,
    };
    let id_token_alg = match alg {
        Some(a) => SigningAlg::parse(a).ok_or_else(|| OAuthError::invalid_request("id_token_alg must be RS256, ES256 or EdDSA"))?,
        None => SigningAlg::RS256,
    };
    Ok(NewClient {
        name,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        public,
        grant_types,
        scopes,
        admin: false,
        id_token_alg,
        backchannel_logout_uri: backchannel.filter(|b| !b.is_empty()),
        require_par: false,
        jwks: None,
        require_private_key_jwt: false,
        require_dpop: false,
        jwks_uri: None,
        links: Default::default(),
    })
}

pub async fn create_client(req: HttpRequest, state: web::Data<AppState>, body: web::Json<NewClientBody>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let b = body.into_inner();
    let mut new =
        new_client(b.name, b.redirect_uris, b.post_logout_redirect_uris, b.public, &b.grant_types, b.scope.as_deref(), b.backchannel_logout_uri, b.id_token_alg.as_deref()).map_err(WebError::Json)?;
    new.require_par = b.require_par;
    new.jwks = b.jwks.filter(|j| !j.is_null()).map(|j| j.to_string());
    new.require_private_key_jwt = b.require_private_key_jwt;
    new.require_dpop = b.require_dpop;
    new.links = ClientLinks { logo_uri: b.logo_uri, policy_uri: b.policy_uri, tos_uri: b.tos_uri };
    let (client, secret) = admin_ops::create_client(&state, new).await.map_err(WebError::Json)?;
    let mut out = json!({ "client_id": client.id.0, "name": client.name, "scope": client.allowed_scopes.to_string() });
    if let Some(s) = secret {
        out["client_secret"] = json!(s.expose());
    }
    Ok(HttpResponse::Created().insert_header(("Cache-Control", "no-store")).json(out))
}

pub async fn get_client(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let c = state.oauth.client(&path).await?.ok_or_else(|| not_found("client"))?;
    Ok(ok(json!({
        "client_id": c.id.0, "name": c.name, "public": c.secret_hash.is_none(), "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris, "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "scope": c.allowed_scopes.to_string(), "admin": c.admin, "disabled": c.disabled_at.is_some(), "backchannel_logout_uri": c.backchannel_logout_uri,
        "id_token_alg": c.id_token_alg.as_str(), "created_at": c.created_at, "require_par": c.require_par,
        "require_dpop": c.require_dpop,
        "logo_uri": c.links.logo_uri, "policy_uri": c.links.policy_uri, "tos_uri": c.links.tos_uri,
    })))
}

/// `POST /clients/{id}/{action}`: rotate-secret, disable, enable.
pub async fn client_action(req: HttpRequest, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let (id, action) = path.into_inner();
    match action.as_str() {
        "rotate-secret" => {
            let secret = admin_ops::rotate_client_secret(&state, &id).await.map_err(WebError::Json)?;
            Ok(ok(json!({ "client_id": id, "client_secret": secret.expose() })))
        }
        "disable" | "enable" => {
            admin_ops::set_client_disabled(&state, &id, action == "disable").await.map_err(WebError::Json)?;
            Ok(ok(json!({ "client_id": id, "done": action })))
        }
        _ => Err(not_found("action")),
    }
}

#[derive(Deserialize)]
pub struct ClientUpdateBody {
    name: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    /// Absent: unchanged; "" or null: removed.
    #[serde(default, deserialize_with = "present")]
    logo_uri: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    policy_uri: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    tos_uri: Option<Option<String>>,
}

/// Tells an absent member (`None`) from a null one (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

pub async fn update_client(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, body: web::Json<ClientUpdateBody>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let b = body.into_inner();
    let update = latchkey_oauth::clients::ClientUpdate {
        name: b.name,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        backchannel_logout_uri: b.backchannel_logout_uri.filter(|s| !s.is_empty()),
    };
    let cleared = |v: Option<Option<String>>| v.map(Option::unwrap_or_default);
    let links = LinksUpdate { logo_uri: cleared(b.logo_uri), policy_uri: cleared(b.policy_uri), tos_uri: cleared(b.tos_uri) };
    // Checked before anything changes: a bad URL leaves the client as it was.
    links.check().map_err(WebError::Json)?;
    admin_ops::update_client(&state, &path, update).await.map_err(WebError::Json)?;
    if !links.is_empty() {
        admin_ops::update_client_links(&state, &path, links).await.map_err(WebError::Json)?;
    }
    Ok(ok(json!({ "client_id": path.into_inner(), "updated": true })))
}

pub async fn delete_client(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    admin_ops::delete_client(&state, &path).await.map_err(WebError::Json)?;
    Ok(ok(json!({ "deleted": path.into_inner() })))
}

#[derive(Deserialize)]
pub struct AuditQuery {
    user: Option<String>,
    client: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// An optional integer query parameter: absent or empty is `None`; anything
/// else must be an integer (a JSON 400 otherwise).
fn int_param(name: &str, v: &Option<String>) -> Result<Option<i64>, WebError> {
    match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| WebError::Json(latchkey_oauth::OAuthError::invalid_request(format!("{name} must be an integer")))),
    }
}

/// The filter of an audit query (`user` takes a username or a user id).
pub async fn audit_filter(state: &AppState, user: Option<&str>, client: Option<&str>, kind: Option<&str>, since: Option<i64>, until: Option<i64>) -> Result<Filter, WebError> {
    let user_id = match user.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => Some(admin_ops::find_user(state, u).await?.map(|u| u.id.0).unwrap_or_else(|| u.to_string())),
        None => None,
    };
    let nonempty = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    Ok(Filter { user_id, client_id: nonempty(client), kind: nonempty(kind), since, until, after: None })
}

pub async fn audit(req: HttpRequest, state: web::Data<AppState>, query: web::Query<AuditQuery>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let q = query.into_inner();
    let (since, until, limit) = (int_param("since", &q.since)?, int_param("until", &q.until)?, int_param("limit", &q.limit)?);
    let filter = audit_filter(&state, q.user.as_deref(), q.client.as_deref(), q.kind.as_deref(), since, until).await?;
    let cursor = q.cursor.as_deref().filter(|c| !c.is_empty());
    let page = state.oauth.audit_search(filter, cursor, limit.unwrap_or(50)).await?;
    Ok(ok(json!(page)))
}

pub async fn keys(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let keys = state.tokens.key_status().await.map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(ok(json!(keys)))
}

pub async fn rotate_keys(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let kids = state.tokens.rotate_keys(&SigningAlg::ALL).await.map_err(|e| WebError::Internal(e.to_string()))?;
    state.oauth.record(&latchkey_oauth::audit::caller(), SecurityEvent::KeysRotated { new_keys: kids.len() }).await;
    Ok(ok(json!({ "new_keys": kids })))
}
