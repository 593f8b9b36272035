//! GitHub (and GitHub Enterprise Server): OAuth 2.0 without OpenID Connect.
//! Who the user is comes from its API: `/user` for the stable numeric `id`
//! (the subject; never the renamable `login`), `/user/emails` for the
//! address, of which only the primary one, and only when GitHub verified
//! it, counts.
//!
//! The provider's issuer is the web base (`https://github.com`, or an
//! Enterprise host); the API is `https://api.github.com` for the first and
//! `<issuer>/api/v3` for the others.

use latchkey_domain::Provider;
use latchkey_oauth::trace::SendTraced;
use oauth2::basic::BasicClient;
use oauth2::{AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl};
use serde::Deserialize;

use super::upstream::{Started, UpstreamIdentity};
use super::FederationError;

/// GitHub's own web base.
pub const GITHUB: &str = "https://github.com";

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

fn invalid(p: &Provider, reason: impl Into<String>) -> FederationError {
    FederationError::InvalidResponse { provider: p.name.clone(), reason: reason.into() }
}

fn unavailable(p: &Provider, what: &str, e: impl std::fmt::Display) -> FederationError {
    tracing::warn!(provider = %p.id, error = %e, "{what} failed");
    FederationError::UpstreamUnavailable(p.name.clone())
}

/// The API base of a GitHub provider.
pub fn api_base(issuer: &str) -> String {
    if issuer.trim_end_matches('/') == GITHUB {
        "https://api.github.com".into()
    } else {
        format!("{}/api/v3", issuer.trim_end_matches('/'))
    }
}

fn client(p: &Provider, secret: &str, redirect_uri: &str) -> Result<Client, FederationError> {
    let url = |path: &str| format!("{}{path}", p.issuer.trim_end_matches('/'));
    Ok(BasicClient::new(ClientId::new(p.client_id.clone()))
        .set_client_secret(ClientSecret::new(secret.to_string()))
        .set_auth_type(AuthType::RequestBody)
        .set_auth_uri(AuthUrl::new(url("/login/oauth/authorize")).map_err(|e| invalid(p, e.to_string()))?)
        .set_token_uri(TokenUrl::new(url("/login/oauth/access_token")).map_err(|e| invalid(p, e.to_string()))?)
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_string()).map_err(|e| invalid(p, e.to_string()))?))
}

/// The authorization URL, with `state` and PKCE (S256); no nonce (no ID token).
pub fn start(p: &Provider, secret: &str, redirect_uri: &str, login_hint: Option<&str>) -> Result<Started, FederationError> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client = client(p, secret, redirect_uri)?;
    let mut request = client.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge);
    for scope in &p.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    if let Some(hint) = login_hint {
        request = request.add_extra_param("login", hint.to_string());
    }
    let (url, state) = request.url();
    Ok(Started { url: url.to_string(), state: state.secret().clone(), nonce: String::new(), pkce_verifier: verifier.secret().clone() })
}

#[derive(Deserialize)]
struct GithubUser {
    id: u64,
    login: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

/// Redeems `code`, then asks the API who the user is.
pub async fn finish(http: &reqwest::Client, p: &Provider, secret: &str, redirect_uri: &str, code: &str, pkce_verifier: &str) -> Result<UpstreamIdentity, FederationError> {
    let client = client(p, secret, redirect_uri)?;
    let exchange = client.exchange_code(AuthorizationCode::new(code.to_string())).set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()));
    let token = exchange.request_async(&super::traced::Traced(http)).await.map_err(|e| match e {
        oauth2::RequestTokenError::Request(e) => unavailable(p, "GitHub token endpoint", e),
        other => invalid(p, format!("token endpoint: {other}")),
    })?;
    let api = api_base(&p.issuer);
    let get = |path: &str| {
        http.get(format!("{api}{path}"))
            .bearer_auth(token.access_token().secret())
            .header("accept", "application/vnd.github+json")
            .header("user-agent", "latchkey")
            .header("x-github-api-version", "2022-11-28")
    };
    let user: GithubUser = match get("/user").send_traced().await {
        Ok(r) if r.status().is_success() => r.json().await.map_err(|e| invalid(p, format!("/user: {e}")))?,
        Ok(r) => return Err(invalid(p, format!("/user answered {}", r.status()))),
        Err(e) => return Err(unavailable(p, "GitHub /user", e)),
    };
    // Only the primary address, and only if GitHub verified it: a
    // secondary or unverified address proves nothing about who this is.
    let emails: Vec<GithubEmail> = match get("/user/emails").send_traced().await {
        Ok(r) if r.status().is_success() => r.json().await.map_err(|e| invalid(p, format!("/user/emails: {e}")))?,
        Ok(_) => Vec::new(),
        Err(e) => return Err(unavailable(p, "GitHub /user/emails", e)),
    };
    let email = emails.into_iter().find(|e| e.primary && e.verified).map(|e| e.email);
    Ok(UpstreamIdentity { subject: user.id.to_string(), email_verified: email.is_some(), email, name: user.name, preferred_username: Some(user.login), amr: Vec::new(), sid: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_is_found_from_the_web_base() {
        assert_eq!(api_base("https://github.com"), "https://api.github.com");
        assert_eq!(api_base("https://github.com/"), "https://api.github.com");
        assert_eq!(api_base("https://git.corp.example"), "https://git.corp.example/api/v3");
    }
}
