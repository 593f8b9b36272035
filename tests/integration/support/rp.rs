//! The relying party: the `openidconnect` crate, as a real client app uses it.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreTokenResponse};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};

use super::app::{TestApp, PASSWORD, REDIRECT_URI, USERNAME};
use super::browser::Browser;

pub type DiscoveredClient = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

pub struct Rp {
    pub client: DiscoveredClient,
    pub http: openidconnect::reqwest::Client,
    pub client_id: String,
    pub secret: Option<String>,
}

/// What the RP keeps between sending the user away and getting them back.
pub struct Pending {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: PkceCodeVerifier,
}

/// The query of the redirect back to the RP.
#[derive(Debug)]
pub struct AuthResponse {
    /// The whole redirect back to the client.
    pub location: String,
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

impl AuthResponse {
    pub fn parse(location: &str) -> AuthResponse {
        assert!(location.starts_with(REDIRECT_URI), "expected a redirect to the client, got {location}");
        let url = url::Url::parse(location).expect("redirect URL");
        let get = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
        AuthResponse { location: location.to_string(), code: get("code"), state: get("state"), iss: get("iss"), error: get("error") }
    }
}

impl Rp {
    pub async fn discover(app: &TestApp, client_id: &str, secret: Option<&str>) -> Rp {
        Self::discover_via(&app.issuer, app.http(), client_id, secret).await
    }

    /// Discovery and every later call through `http` (e.g. a client that
    /// reaches the issuer through a proxy).
    pub async fn discover_via(issuer: &str, http: openidconnect::reqwest::Client, client_id: &str, secret: Option<&str>) -> Rp {
        let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.to_string()).expect("issuer"), &http).await.expect("discovery");
        let mut client = CoreClient::from_provider_metadata(meta, ClientId::new(client_id.into()), secret.map(|s| ClientSecret::new(s.into())))
            .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).expect("redirect"));
        if secret.is_none() {
            // Public clients send client_id in the body and no secret.
            client = client.set_auth_type(AuthType::RequestBody);
        }
        Rp { client, http, client_id: client_id.into(), secret: secret.map(str::to_string) }
    }

    /// An authorization URL with PKCE (S256), state and nonce; `extra` adds parameters.
    pub fn authorize(&self, extra: &[(&str, &str)]) -> Pending {
        self.authorize_scopes(&["profile", "email"], extra)
    }

    /// Like [`Rp::authorize`], with these scopes besides `openid`.
    pub fn authorize_scopes(&self, scopes: &[&str], extra: &[(&str, &str)]) -> Pending {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = self.client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random).set_pkce_challenge(challenge);
        for s in scopes {
            req = req.add_scope(Scope::new((*s).into()));
        }
        for (k, v) in extra {
            req = req.add_extra_param(*k, *v);
        }
        let (url, state, nonce) = req.url();
        Pending { url: url.to_string(), state, nonce, verifier }
    }

    pub async fn exchange(&self, code: &str, verifier: PkceCodeVerifier) -> Result<CoreTokenResponse, String> {
        self.client.exchange_code(AuthorizationCode::new(code.into())).expect("token endpoint").set_pkce_verifier(verifier).request_async(&self.http).await.map_err(|e| match e {
            openidconnect::RequestTokenError::ServerResponse(r) => r.error().to_string(),
            other => format!("{other:?}"),
        })
    }
}

/// Drives the browser through sign-in and consent (whichever are shown) until
/// the redirect back to the client.
pub async fn sign_in(browser: &mut Browser, url: &str, username: &str, password: &str) -> AuthResponse {
    let mut page = browser.get(url).await;
    for _ in 0..4 {
        let Some(location) = page.location.clone() else {
            panic!("expected a redirect, got {} with {}", page.status, page.body);
        };
        if location.starts_with(REDIRECT_URI) {
            return AuthResponse::parse(&location);
        }
        let form = browser.get(&location).await;
        assert_eq!(form.status, 200, "{location}: {}", form.body);
        let csrf = form.field("csrf_token").expect("csrf token on the page");
        let authz = form.field("authz").expect("authz on the page");
        page = if location.starts_with("/login") {
            assert!(form.body.contains(r#"<label for="username">Username</label>"#) && form.body.contains(r#"<label for="password">Password</label>"#));
            assert!(form.body.contains(">Sign in</button>"));
            browser.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", username), ("password", password)]).await
        } else if location.starts_with("/consent") {
            assert!(form.body.contains(">Allow</button>") && form.body.contains(">Deny</button>"));
            browser.post_form("/consent", &[("csrf_token", &csrf), ("authz", &authz), ("decision", "allow")]).await
        } else {
            panic!("unexpected redirect to {location}");
        };
    }
    panic!("sign-in did not finish");
}

/// Opens the authorization request `url`, signs the default user in, and
/// returns the consent page it leads to (not yet answered).
pub async fn consent_page(browser: &mut Browser, url: &str) -> super::browser::Page {
    let login = browser.get(url).await.location.unwrap_or_default();
    let form = browser.get(&login).await;
    let signed = browser
        .post_form("/login", &[("csrf_token", &form.field("csrf_token").unwrap_or_default()), ("authz", &form.field("authz").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)])
        .await;
    browser.get(signed.location.as_deref().unwrap_or_default()).await
}

/// Sign in as the default user.
pub async fn sign_in_default(browser: &mut Browser, url: &str) -> AuthResponse {
    sign_in(browser, url, USERNAME, PASSWORD).await
}

/// A confidential client and the default user signed in through it with
/// `offline_access`: what most token tests start from.
pub struct OfflineTokens {
    pub rp: Rp,
    pub client_id: String,
    pub secret: String,
    pub browser: crate::support::Browser,
    pub access: String,
    pub refresh: String,
    pub id_token: String,
    /// The (spent) authorization code.
    pub code: String,
}

pub async fn offline_tokens(app: &crate::support::TestApp) -> OfflineTokens {
    use openidconnect::{OAuth2TokenResponse, TokenResponse};
    let (client_id, secret) = app.add_client(false, latchkey_domain::SigningAlg::RS256).await;
    let secret = secret.expect("confidential");
    let rp = Rp::discover(app, &client_id, Some(&secret)).await;
    let mut browser = app.browser();
    let req = rp.authorize_scopes(&["offline_access"], &[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let t = rp.exchange(&code, req.verifier).await.expect("exchange");
    let (access, id_token) = (t.access_token().secret().clone(), t.id_token().map(|i| i.to_string()).unwrap_or_default());
    let refresh = t.refresh_token().expect("refresh").secret().clone();
    OfflineTokens { rp, client_id, secret, browser, access, refresh, id_token, code }
}
