//! Talking to one upstream OpenID Connect provider, with the `openidconnect`
//! crate: discovery (cached a few minutes per provider), the authorization
//! URL, the code exchange and the ID token's verification.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use latchkey_domain::{Provider, ProviderKind};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};

use super::{FederationError, UPSTREAM_TIMEOUT};

/// A client of a discovered provider: an authorization endpoint, and maybe
/// a token and a userinfo endpoint (checked when used).
type Client = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// How long a provider's discovery document (and the keys it names) is
/// reused before it is fetched again; a key the cached set lacks fetches
/// it again at once.
const DISCOVERY_TTL: Duration = Duration::from_secs(5 * 60);

/// What the upstream said of the user, verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    /// The stable subject (`sub`): with the provider, the only key of a link.
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
    /// The methods the upstream says it used (`amr`), as it wrote them.
    pub amr: Vec<String>,
    /// The upstream's session (the ID token's `sid`), for its back-channel logout.
    pub sid: Option<String>,
}

impl UpstreamIdentity {
    /// What the account page shows of the upstream account.
    pub fn display(&self) -> String {
        self.email.clone().or_else(|| self.name.clone()).or_else(|| self.preferred_username.clone()).unwrap_or_else(|| self.subject.clone())
    }
}

/// A started authorization request: where to send the browser, and what
/// the callback needs to check the answer.
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The upstream providers' HTTP client and discovery cache.
pub struct Upstreams {
    http: reqwest::Client,
    discovered: Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>,
}

impl Default for Upstreams {
    fn default() -> Self {
        Self::new()
    }
}

impl Upstreams {
    pub fn new() -> Upstreams {
        // No redirects: the provider's endpoints answer, they do not send
        // latchkey elsewhere (the openidconnect crate's advice against SSRF).
        let http = latchkey_oauth::http::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(UPSTREAM_TIMEOUT)
            .build()
            // Startup only; see latchkey_oauth::http.
            .expect("the upstream HTTP client builds");
        Upstreams { http, discovered: Mutex::new(HashMap::new()) }
    }

    /// The provider's signing keys (JWKS), as JSON, from its cached
    /// discovery (`fresh`: fetched again).
    pub(crate) async fn jwks_json(&self, p: &Provider, fresh: bool) -> Result<serde_json::Value, FederationError> {
        let m = self.metadata(p, fresh).await?;
        serde_json::to_value(m.jwks()).map_err(|e| invalid(p, format!("keys: {e}")))
    }

    /// The provider's `end_session_endpoint` (RP-initiated logout), from its
    /// discovery document (not part of the crate's core metadata); `None`
    /// when it has none or does not answer.
    pub(crate) async fn end_session_endpoint(&self, p: &Provider) -> Option<String> {
        let url = format!("{}/.well-known/openid-configuration", p.issuer.trim_end_matches('/'));
        let doc: serde_json::Value = match self.http.get(url).send().await {
            Ok(r) if r.status().is_success() => r.json().await.ok()?,
            Ok(_) => return None,
            Err(e) => {
                tracing::warn!(provider = %p.id, error = %e, "upstream discovery for sign-out failed");
                return None;
            }
        };
        let endpoint = doc.get("end_session_endpoint")?.as_str()?;
        let parsed = url::Url::parse(endpoint).ok()?;
        matches!(parsed.scheme(), "https" | "http").then(|| endpoint.to_string())
    }

    /// Drops what is cached of a provider (after it was changed or removed).
    pub fn forget(&self, provider_id: &str) {
        if let Ok(mut d) = self.discovered.lock() {
            d.remove(provider_id);
        }
    }

    async fn metadata(&self, p: &Provider, fresh: bool) -> Result<CoreProviderMetadata, FederationError> {
        if !fresh {
            if let Some((at, m)) = self.discovered.lock().ok().and_then(|d| d.get(&p.id).cloned()) {
                if at.elapsed() < DISCOVERY_TTL {
                    return Ok(m);
                }
            }
        }
        let issuer = IssuerUrl::new(p.issuer.clone()).map_err(|e| invalid(p, format!("issuer: {e}")))?;
        let m = CoreProviderMetadata::discover_async(issuer, &self.http).await.map_err(|e| {
            tracing::warn!(provider = %p.id, error = %e, "upstream discovery failed");
            FederationError::UpstreamUnavailable(p.name.clone())
        })?;
        if let Ok(mut d) = self.discovered.lock() {
            d.insert(p.id.clone(), (Instant::now(), m.clone()));
        }
        Ok(m)
    }

    fn client(p: &Provider, m: CoreProviderMetadata, secret: &str, redirect_uri: &str) -> Result<Client, FederationError> {
        let redirect = RedirectUrl::new(redirect_uri.to_string()).map_err(|e| invalid(p, format!("redirect URI: {e}")))?;
        Ok(CoreClient::from_provider_metadata(m, ClientId::new(p.client_id.clone()), Some(ClientSecret::new(secret.to_string()))).set_redirect_uri(redirect))
    }

    /// The authorization URL for `p` with a fresh `state`, `nonce` and PKCE
    /// (S256) verifier.
    pub async fn start(&self, p: &Provider, secret: &str, redirect_uri: &str, login_hint: Option<&str>) -> Result<Started, FederationError> {
        if p.kind == ProviderKind::Github {
            return super::github::start(p, secret, redirect_uri, login_hint);
        }
        let m = self.metadata(p, false).await?;
        let client = Self::client(p, m, secret, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random).set_pkce_challenge(challenge);
        for scope in p.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint.to_string());
        }
        let (url, state, nonce) = request.url();
        Ok(Started { url: url.to_string(), state: state.secret().clone(), nonce: nonce.secret().clone(), pkce_verifier: verifier.secret().clone() })
    }

    /// Redeems `code` and verifies the ID token against `nonce`; asks the
    /// userinfo endpoint for the email when the ID token has none.
    pub async fn finish(&self, p: &Provider, secret: &str, redirect_uri: &str, code: &str, pkce_verifier: &str, nonce: &str) -> Result<UpstreamIdentity, FederationError> {
        if p.kind == ProviderKind::Github {
            return super::github::finish(&self.http, p, secret, redirect_uri, code, pkce_verifier).await;
        }
        let m = self.metadata(p, false).await?;
        let client = Self::client(p, m, secret, redirect_uri)?;
        let exchange = client.exchange_code(AuthorizationCode::new(code.to_string())).map_err(|e| invalid(p, format!("token endpoint: {e}")))?;
        let token = exchange.set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string())).request_async(&self.http).await.map_err(|e| {
            use openidconnect::RequestTokenError as R;
            match e {
                R::Request(e) => {
                    tracing::warn!(provider = %p.id, error = %e, "upstream token endpoint unreachable");
                    FederationError::UpstreamUnavailable(p.name.clone())
                }
                other => invalid(p, format!("token endpoint: {other}")),
            }
        })?;
        let id_token = token.id_token().ok_or_else(|| invalid(p, "no ID token"))?;
        let nonce = Nonce::new(nonce.to_string());
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(c) => c.clone(),
            // A key the cached set lacks: the provider rotated; fetch its keys again, once.
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                let fresh = Self::client(p, self.metadata(p, true).await?, secret, redirect_uri)?;
                let verified = id_token.claims(&fresh.id_token_verifier(), &nonce).map_err(|e| invalid(p, format!("ID token: {e}")))?.clone();
                verified
            }
            Err(e) => return Err(invalid(p, format!("ID token: {e}"))),
        };
        let mut identity = UpstreamIdentity {
            subject: claims.subject().as_str().to_string(),
            email: claims.email().map(|e| e.as_str().to_string()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string()),
            preferred_username: claims.preferred_username().map(|u| u.as_str().to_string()),
            amr: claims.auth_method_refs().map(|l| l.iter().map(|a| a.as_str().to_string()).collect()).unwrap_or_default(),
            sid: verified_sid(&id_token.to_string()),
        };
        if identity.email.is_none() {
            if let Some(info) = self.userinfo(p, &client, token.access_token().clone(), claims.subject().clone()).await {
                identity.email = info.email().map(|e| e.as_str().to_string());
                identity.email_verified = info.email_verified().unwrap_or(false);
                identity.name = identity.name.or_else(|| info.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string()));
            }
        }
        Ok(identity)
    }

    /// The userinfo claims, when the provider has the endpoint and answers;
    /// its `sub` must be the ID token's (the crate checks).
    async fn userinfo(&self, p: &Provider, client: &Client, token: AccessToken, subject: openidconnect::SubjectIdentifier) -> Option<CoreUserInfoClaims> {
        let request = client.user_info(token, Some(subject)).ok()?;
        match request.request_async(&self.http).await {
            Ok(info) => Some(info),
            Err(e) => {
                tracing::warn!(provider = %p.id, error = %e, "upstream userinfo failed");
                None
            }
        }
    }
}

/// The `sid` of an ID token whose signature and claims were just verified
/// (the `openidconnect` crate's standard claims do not carry it).
fn verified_sid(jwt: &str) -> Option<String> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sid")?.as_str().filter(|s| !s.is_empty() && s.len() <= 255).map(str::to_string)
}

fn invalid(p: &Provider, reason: impl Into<String>) -> FederationError {
    FederationError::InvalidResponse { provider: p.name.clone(), reason: reason.into() }
}
