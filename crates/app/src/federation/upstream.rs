//! Talking to one upstream OpenID Connect provider, with the `openidconnect`
//! crate: discovery (cached a few minutes per provider), the authorization
//! URL, the code exchange and the ID token's verification.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use latchkey_domain::{Provider, ProviderKind};
use latchkey_oauth::trace::SendTraced;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreJsonWebKeySet, CoreProviderMetadata, CoreUserInfoClaims};
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

/// What discovery found of a provider, and when.
#[derive(Clone)]
struct Discovered {
    at: Instant,
    metadata: CoreProviderMetadata,
    /// A multi-tenant provider's issuer template (Microsoft Entra ID's
    /// `common`/`organizations`: `https://login.microsoftonline.com/{tenantid}/v2.0`).
    issuer_template: Option<String>,
}

/// The placeholder a multi-tenant provider's discovered issuer carries.
const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// A tenant id as it may stand in an issuer: Entra's are GUIDs.
fn tenant_shaped(tid: &str) -> bool {
    !tid.is_empty() && tid.len() <= 64 && tid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// The upstream providers' HTTP client and discovery cache.
pub struct Upstreams {
    http: reqwest::Client,
    discovered: Mutex<HashMap<String, Discovered>>,
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
        let doc: serde_json::Value = match self.http.get(url).send_traced().await {
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
        Ok(self.discovered(p, fresh).await?.metadata)
    }

    async fn discovered(&self, p: &Provider, fresh: bool) -> Result<Discovered, FederationError> {
        if !fresh {
            if let Some(d) = self.discovered.lock().ok().and_then(|d| d.get(&p.id).cloned()) {
                if d.at.elapsed() < DISCOVERY_TTL {
                    return Ok(d);
                }
            }
        }
        let issuer = IssuerUrl::new(p.issuer.clone()).map_err(|e| invalid(p, format!("issuer: {e}")))?;
        let found = match CoreProviderMetadata::discover_async(issuer, &self.http).await {
            Ok(metadata) => Discovered { at: Instant::now(), metadata, issuer_template: None },
            // The crate insists the document's issuer is the configured one;
            // a multi-tenant provider's is a template. Anything else is an outage.
            Err(openidconnect::DiscoveryError::Validation(e)) => match self.discover_multi_tenant(p).await {
                Some(d) => d,
                None => {
                    tracing::warn!(provider = %p.id, error = %e, "upstream discovery document does not verify");
                    return Err(FederationError::UpstreamUnavailable(p.name.clone()));
                }
            },
            Err(e) => {
                tracing::warn!(provider = %p.id, error = %e, "upstream discovery failed");
                return Err(FederationError::UpstreamUnavailable(p.name.clone()));
            }
        };
        if let Ok(mut d) = self.discovered.lock() {
            d.insert(p.id.clone(), found.clone());
        }
        Ok(found)
    }

    /// Discovery of a multi-tenant provider: its document names the issuer
    /// as a template with [`TENANT_PLACEHOLDER`]. The template must be on
    /// the configured issuer's origin; the ID token's `iss` is then checked
    /// against it with the token's own `tid` ([`Upstreams::finish`]).
    async fn discover_multi_tenant(&self, p: &Provider) -> Option<Discovered> {
        let url = format!("{}/.well-known/openid-configuration", p.issuer.trim_end_matches('/'));
        let mut doc: serde_json::Value = self.http.get(url).send_traced().await.ok()?.json().await.ok()?;
        let template = doc.get("issuer")?.as_str()?.to_string();
        let example = url::Url::parse(&template.replace(TENANT_PLACEHOLDER, "tenant")).ok()?;
        if !template.contains(TENANT_PLACEHOLDER) || example.origin() != url::Url::parse(&p.issuer).ok()?.origin() {
            return None;
        }
        doc["issuer"] = serde_json::Value::String(p.issuer.clone());
        let metadata: CoreProviderMetadata = serde_json::from_value(doc).ok()?;
        let jwks: CoreJsonWebKeySet = self.http.get(metadata.jwks_uri().url().clone()).send_traced().await.ok()?.json().await.ok()?;
        Some(Discovered { at: Instant::now(), metadata: metadata.set_jwks(jwks), issuer_template: Some(template) })
    }

    /// Whether `iss` (RFC 9207, in an authorization response) names `p`:
    /// its issuer, or for a multi-tenant provider its template with a tenant.
    pub(crate) fn issuer_names(&self, p: &Provider, iss: &str) -> bool {
        if iss == p.issuer {
            return true;
        }
        let template = self.discovered.lock().ok().and_then(|d| d.get(&p.id).and_then(|d| d.issuer_template.clone()));
        template.is_some_and(|t| tenant_of(&t, iss).is_some())
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
        let found = self.discovered(p, false).await?;
        let template = found.issuer_template.clone();
        let client = Self::client(p, found.metadata, secret, redirect_uri)?;
        let exchange = client.exchange_code(AuthorizationCode::new(code.to_string())).map_err(|e| invalid(p, format!("token endpoint: {e}")))?;
        let token = exchange.set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string())).request_async(&super::traced::Traced(&self.http)).await.map_err(|e| {
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
        // A multi-tenant provider's `iss` is checked below, against its template.
        let multi = template.is_some();
        let claims = match id_token.claims(&client.id_token_verifier().require_issuer_match(!multi), &nonce) {
            Ok(c) => c.clone(),
            // A key the cached set lacks: the provider rotated; fetch its keys again, once.
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                let fresh = Self::client(p, self.metadata(p, true).await?, secret, redirect_uri)?;
                let verified = id_token.claims(&fresh.id_token_verifier().require_issuer_match(!multi), &nonce).map_err(|e| invalid(p, format!("ID token: {e}")))?.clone();
                verified
            }
            Err(e) => return Err(invalid(p, format!("ID token: {e}"))),
        };
        if let Some(template) = &template {
            // The token's own tenant (`tid`), put in the template, must give its `iss`.
            let tid = verified_claim(&id_token.to_string(), "tid").filter(|t| tenant_shaped(t));
            let expected = tid.map(|t| template.replace(TENANT_PLACEHOLDER, &t));
            if expected.as_deref() != Some(claims.issuer().as_str()) {
                return Err(invalid(p, "ID token: iss is not the issuer of its own tenant"));
            }
        }
        let mut identity = UpstreamIdentity {
            subject: claims.subject().as_str().to_string(),
            email: claims.email().map(|e| e.as_str().to_string()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string()),
            preferred_username: claims.preferred_username().map(|u| u.as_str().to_string()),
            amr: claims.auth_method_refs().map(|l| l.iter().map(|a| a.as_str().to_string()).collect()).unwrap_or_default(),
            sid: verified_claim(&id_token.to_string(), "sid"),
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
        match request.request_async(&super::traced::Traced(&self.http)).await {
            Ok(info) => Some(info),
            Err(e) => {
                tracing::warn!(provider = %p.id, error = %e, "upstream userinfo failed");
                None
            }
        }
    }
}

/// A string claim (`sid`, `tid`) of an ID token whose signature and claims
/// were just verified (the `openidconnect` crate's standard claims do not
/// carry them).
fn verified_claim(jwt: &str, name: &str) -> Option<String> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get(name)?.as_str().filter(|s| !s.is_empty() && s.len() <= 255).map(str::to_string)
}

/// The tenant `iss` names under `template`, if it is the template with a
/// tenant-shaped segment in the placeholder's place.
fn tenant_of(template: &str, iss: &str) -> Option<String> {
    let (before, after) = template.split_once(TENANT_PLACEHOLDER)?;
    let tid = iss.strip_prefix(before)?.strip_suffix(after)?;
    tenant_shaped(tid).then(|| tid.to_string())
}

fn invalid(p: &Provider, reason: impl Into<String>) -> FederationError {
    FederationError::InvalidResponse { provider: p.name.clone(), reason: reason.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_tenant_issuer_names_one_tenant() {
        let t = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert_eq!(tenant_of(t, "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0").as_deref(), Some("9188040d-6c67-4c5b-b112-36a304b66dad"));
        assert_eq!(tenant_of(t, "https://login.microsoftonline.com/evil.example/v2.0"), None, "not tenant-shaped");
        assert_eq!(tenant_of(t, "https://login.microsoftonline.com/a/b/v2.0"), None);
        assert_eq!(tenant_of(t, "https://evil.example/9188040d/v2.0"), None);
        assert!(!tenant_shaped("") && !tenant_shaped("../x") && tenant_shaped("abc-123"));
    }
}
