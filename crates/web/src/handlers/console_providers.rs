//! The console's sign-in providers page (`/admin/providers`, issue #26):
//! the same audited use cases as the admin API and `latchkey provider`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use latchkey_app::federation::providers::ProviderSettings;
use latchkey_app::AppError;
use latchkey_domain::{LinkRule, ProviderKind};
use serde::Deserialize;

use super::console::{Frame, Section};
use super::see_other;
use crate::browser::{check_form_post, with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::guards::{AdminSession, RecentAdminSession};
use crate::pages::render;
use crate::state::AppState;

struct ProviderRow {
    id: String,
    name: String,
    issuer: String,
    domains: String,
    link: &'static str,
    signup: bool,
    enabled: bool,
    redirect_uri: String,
}

#[derive(Template)]
#[template(path = "admin/providers.html")]
struct ProvidersPage {
    frame: Frame,
    error: Option<String>,
    providers: Vec<ProviderRow>,
    csrf_token: String,
}

async fn render_page(req: &HttpRequest, state: &AppState, status: StatusCode, error: Option<String>) -> Result<HttpResponse, WebError> {
    let csrf = CsrfCookie::from_request(req);
    let providers = state
        .providers()
        .await?
        .into_iter()
        .map(|p| ProviderRow {
            redirect_uri: state.provider_redirect_uri(&p.id),
            enabled: p.enabled(),
            link: p.link.as_str(),
            domains: p.domains.join(" "),
            id: p.id,
            name: p.name,
            issuer: p.issuer,
            signup: p.signup,
        })
        .collect();
    let page = ProvidersPage { frame: Frame::new(req, Section::Providers, None), error, providers, csrf_token: csrf.form_token(state) };
    with_cookies(render(status, &page), &csrf.new)
}

pub async fn providers(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    render_page(&req, &state, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct NewProviderForm {
    csrf_token: String,
    name: String,
    issuer: String,
    client_id: String,
    client_secret: String,
    #[serde(default)]
    domains: String,
    link: String,
    signup: Option<String>,
    trust_upstream_mfa: Option<String>,
    upstream_logout: Option<String>,
}

pub async fn create(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, form: web::Form<NewProviderForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    check_form_post(&req, &state, &form.csrf_token)?;
    let settings = ProviderSettings {
        name: form.name,
        kind: ProviderKind::Oidc,
        issuer: form.issuer,
        client_id: form.client_id,
        client_secret: Some(form.client_secret),
        scopes: vec![],
        domains: form.domains.split_whitespace().map(str::to_string).collect(),
        link: LinkRule::parse(&form.link).unwrap_or(LinkRule::ExistingSignIn),
        signup: form.signup.as_deref() == Some("on"),
        trust_upstream_mfa: form.trust_upstream_mfa.as_deref() == Some("on"),
        upstream_logout: form.upstream_logout.as_deref() == Some("on"),
    };
    match state.admin(admin.0.actor()).add_provider(settings).await {
        Ok(_) => Ok(see_other("/admin/providers")),
        // Said on the page, with the list, rather than a bare error page.
        Err(AppError::Invalid(m) | AppError::Conflict(m)) => render_page(&req, &state, StatusCode::BAD_REQUEST, Some(m)).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ProviderActionForm {
    csrf_token: String,
    action: String,
}

pub async fn action(req: HttpRequest, admin: RecentAdminSession, state: web::Data<AppState>, path: web::Path<String>, form: web::Form<ProviderActionForm>) -> Result<HttpResponse, WebError> {
    check_form_post(&req, &state, &form.csrf_token)?;
    let ops = state.admin(admin.0.actor());
    match form.action.as_str() {
        "disable" => ops.set_provider_disabled(&path, true).await?,
        "enable" => ops.set_provider_disabled(&path, false).await?,
        "remove" => ops.remove_provider(&path).await?,
        _ => return Err(WebError::bad_request("unknown action")),
    }
    Ok(see_other("/admin/providers"))
}
