//! The admin API (`/admin/api/v1/`): bearer access tokens with the `admin`
//! scope, obtained with `client_credentials` by an admin client. Described by
//! the OpenAPI document at `/admin/api/v1/openapi.json`.

use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_domain::{Scope, ScopeSet};
use latchkey_oauth::{ErrorCode, OAuthError};
use latchkey_token::AccessTokenClaims;
use serde::Deserialize;
use serde_json::json;

use super::userinfo::bearer;
use crate::error::WebError;
use crate::state::AppState;

const OPENAPI: &str = include_str!("../../openapi.json");

/// The caller: a valid access token with scope `admin`, issued to an admin client.
async fn admin(req: &HttpRequest, state: &AppState) -> Result<AccessTokenClaims, WebError> {
    let token = bearer(req)?;
    let claims = state.tokens.verify_access_token(token).await.map_err(|e| match e {
        latchkey_token::TokenError::Store(s) => WebError::Store(s),
        other => WebError::Bearer(OAuthError::new(ErrorCode::InvalidToken, other.to_string())),
    })?;
    let insufficient = || WebError::Bearer(OAuthError::new(ErrorCode::InsufficientScope, "the admin scope is required"));
    if !ScopeSet::parse_lenient(&claims.scope).contains(Scope::Admin) {
        return Err(insufficient());
    }
    match state.oauth.client(&claims.client_id).await? {
        Some(c) if c.admin => Ok(claims),
        _ => Err(insufficient()),
    }
}

fn actor(claims: &AccessTokenClaims) -> String {
    format!("admin client {}", claims.client_id)
}

pub async fn list_clients(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let clients = latchkey_oauth::clients::list(&state.stores.db).await.map_err(WebError::Json)?;
    let body: Vec<_> = clients
        .iter()
        .map(|c| {
            json!({
                "client_id": c.id.0, "name": c.name, "public": c.secret_hash.is_none(), "redirect_uris": c.redirect_uris,
                "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(), "scope": c.allowed_scopes.to_string(),
                "admin": c.admin, "created_at": c.created_at,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body))
}

pub async fn client_grants(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    admin(&req, &state).await?;
    let grants = state.oauth.client_grants(&path).await.map_err(WebError::Json)?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(grants))
}

#[derive(Deserialize)]
pub struct UserFilter {
    user: Option<String>,
}

pub async fn revoke_client_grants(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, query: web::Query<UserFilter>) -> Result<HttpResponse, WebError> {
    let claims = admin(&req, &state).await?;
    let report = state.oauth.revoke_client_grants(&path, query.user.as_deref().filter(|u| !u.is_empty()), &actor(&claims)).await.map_err(WebError::Json)?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(report))
}

pub async fn revoke_user_grants(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let claims = admin(&req, &state).await?;
    let report = state.oauth.revoke_user_grants(&path, &actor(&claims)).await.map_err(WebError::Json)?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(report))
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}
