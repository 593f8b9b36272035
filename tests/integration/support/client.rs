//! Clients to register, built from defaults: a test names only what it is
//! about (`TestClient::web_app("Shop").post_logout(URI).register(&app)`)
//! instead of writing out every field of [`NewClient`].

use latchkey_app::directory::clients::NewClient;
use latchkey_domain::ClientLinks;
use latchkey_domain::{GrantType, ScopeSet, SigningAlg};

use super::app::{service_client, TestApp, REDIRECT_URI};

/// A [`NewClient`] under construction.
#[must_use]
pub struct TestClient(NewClient);

impl TestClient {
    /// A confidential client_credentials service, no redirect URI.
    pub fn service(name: &str) -> TestClient {
        TestClient(service_client(name))
    }

    /// A confidential web app redirecting to [`REDIRECT_URI`], with the
    /// default grants (authorization code and refresh token).
    pub fn web_app(name: &str) -> TestClient {
        TestClient(NewClient { redirect_uris: vec![REDIRECT_URI.into()], grant_types: vec![], ..service_client(name) })
    }

    /// A public client (no secret; PKCE).
    pub fn public(mut self) -> TestClient {
        self.0.public = true;
        self
    }

    pub fn redirect_uris(mut self, uris: Vec<String>) -> TestClient {
        self.0.redirect_uris = uris;
        self
    }

    pub fn post_logout(mut self, uri: &str) -> TestClient {
        self.0.post_logout_redirect_uris.push(uri.into());
        self
    }

    pub fn grants(mut self, grants: Vec<GrantType>) -> TestClient {
        self.0.grant_types = grants;
        self
    }

    pub fn scopes(mut self, scopes: ScopeSet) -> TestClient {
        self.0.scopes = Some(scopes);
        self
    }

    pub fn admin(mut self) -> TestClient {
        self.0.admin = true;
        self
    }

    pub fn id_token_alg(mut self, alg: SigningAlg) -> TestClient {
        self.0.id_token_alg = alg;
        self
    }

    pub fn backchannel_logout(mut self, uri: Option<String>) -> TestClient {
        self.0.backchannel_logout_uri = uri;
        self
    }

    pub fn require_par(mut self, require: bool) -> TestClient {
        self.0.require_par = require;
        self
    }

    pub fn require_dpop(mut self, require: bool) -> TestClient {
        self.0.require_dpop = require;
        self
    }

    /// private_key_jwt only, with these keys (a JWK Set, JSON).
    pub fn private_key_jwt(mut self, jwks: String) -> TestClient {
        self.0.jwks = Some(jwks);
        self.0.require_private_key_jwt = true;
        self
    }

    /// private_key_jwt only, with the keys published at `url`.
    pub fn private_key_jwt_at(mut self, url: &str) -> TestClient {
        self.0.jwks_uri = Some(url.into());
        self.0.require_private_key_jwt = true;
        self
    }

    pub fn links(mut self, links: ClientLinks) -> TestClient {
        self.0.links = links;
        self
    }

    pub fn logo(mut self, uri: Option<&str>) -> TestClient {
        self.0.links.logo_uri = uri.map(str::to_string);
        self
    }

    pub fn build(self) -> NewClient {
        self.0
    }

    /// Registers it; returns its id and secret (`None` for a public client).
    pub async fn register(self, app: &TestApp) -> (String, Option<String>) {
        app.register(self.0).await
    }

    /// Registers a confidential client; returns its id and secret.
    pub async fn register_confidential(self, app: &TestApp) -> (String, String) {
        let (id, secret) = app.register(self.0).await;
        (id, secret.expect("a confidential client has a secret"))
    }
}
