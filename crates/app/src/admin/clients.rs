//! Administering clients: register, change, rotate the secret, disable,
//! delete. Each audited with who did it.

use crate::directory::clients::{self as directory, ClientUpdate, LinksUpdate, NewClient, TokenExchangeUpdate, CLIENT_SECRET_PREFIX};
use latchkey_domain::{Client, ClientLinks, Secret, TokenExchangePolicy};
use latchkey_domain::{ClientChange, ClientId, SecurityEvent};
use latchkey_token::crypto::{random_token, KeyPurpose};

use super::Admin;
use crate::AppError;

impl Admin<'_> {
    async fn existing_client(&self, client_id: &str) -> Result<Client, AppError> {
        self.app.oauth.client(client_id).await?.ok_or(AppError::NotFound("client"))
    }

    /// Registers a client; the secret is returned once.
    pub async fn create_client(&self, new: NewClient) -> Result<(Client, Option<Secret>), AppError> {
        let app = self.app;
        let (client, secret) = directory::register(&app.stores.db, &app.stores.master, new, app.clock.now()).await?;
        app.oauth.record(&self.actor.audited(), SecurityEvent::ClientCreated { client: client.id.clone(), name: client.name.clone() }).await;
        Ok((client, secret))
    }

    /// Changes a client's name and URIs.
    pub async fn update_client(&self, client_id: &str, update: ClientUpdate) -> Result<(), AppError> {
        let app = self.app;
        let before = self.existing_client(client_id).await?;
        let change = ClientChange::Settings { name_before: before.name, name: update.name.clone(), redirect_uris_before: before.redirect_uris, redirect_uris: update.redirect_uris.clone() };
        directory::update(&app.stores.db, client_id, update).await?;
        app.oauth.forget_cached_clients();
        app.oauth.record(&self.actor.audited(), SecurityEvent::ClientUpdated { client: ClientId(client_id.into()), change }).await;
        Ok(())
    }

    /// Changes some of a client's consent-page links (logo, policy, terms);
    /// returns all three as they now are.
    pub async fn update_client_links(&self, client_id: &str, links: LinksUpdate) -> Result<ClientLinks, AppError> {
        let app = self.app;
        let now = directory::update_links(&app.stores.db, client_id, links).await?;
        app.oauth.forget_cached_clients();
        let change = ClientChange::Links { logo_uri: now.logo_uri.clone(), policy_uri: now.policy_uri.clone(), tos_uri: now.tos_uri.clone() };
        app.oauth.record(&self.actor.audited(), SecurityEvent::ClientUpdated { client: ClientId(client_id.into()), change }).await;
        Ok(now)
    }

    /// Changes a client's token exchange policy (RFC 8693): where it may
    /// exchange tokens into, whether it may impersonate, who may act with
    /// its tokens; returns the policy as it now is.
    pub async fn update_client_token_exchange(&self, client_id: &str, change: TokenExchangeUpdate) -> Result<TokenExchangePolicy, AppError> {
        let app = self.app;
        let now = directory::update_token_exchange(&app.stores.db, client_id, change).await?;
        app.oauth.forget_cached_clients();
        let change = ClientChange::TokenExchange { to: now.to.clone(), impersonation: now.impersonation, may_act: now.may_act.clone() };
        app.oauth.record(&self.actor.audited(), SecurityEvent::ClientUpdated { client: ClientId(client_id.into()), change }).await;
        Ok(now)
    }

    /// Changes what a client must do (`None`: as it was): push its
    /// authorization requests (PAR, RFC 9126), bind its tokens (DPoP, RFC
    /// 9449), where it publishes its keys (`jwks_uri`; `Some(None)` removes
    /// it). Audited with the policies as they now are.
    pub async fn set_client_policies(&self, client_id: &str, require_par: Option<bool>, require_dpop: Option<bool>, jwks_uri: Option<Option<String>>) -> Result<Client, AppError> {
        let app = self.app;
        self.existing_client(client_id).await?;
        if let Some(uri) = &jwks_uri {
            directory::set_jwks_uri(&app.stores.db, client_id, uri.as_deref()).await?;
        }
        if let Some(par) = require_par {
            directory::set_require_par(&app.stores.db, client_id, par).await?;
        }
        if let Some(dpop) = require_dpop {
            directory::set_require_dpop(&app.stores.db, client_id, dpop).await?;
        }
        app.oauth.forget_cached_clients();
        let now = self.existing_client(client_id).await?;
        let change = ClientChange::Policies { require_par: now.require_par, require_dpop: now.require_dpop, jwks_uri: now.jwks_uri.clone() };
        app.oauth.record(&self.actor.audited(), SecurityEvent::ClientUpdated { client: ClientId(client_id.into()), change }).await;
        Ok(now)
    }

    /// A new secret for a confidential client; the old one stops working at
    /// once on this node, within the client cache's 5 seconds on others.
    pub async fn rotate_client_secret(&self, client_id: &str) -> Result<Secret, AppError> {
        let app = self.app;
        let client = self.existing_client(client_id).await?;
        if client.secret_hash.is_none() {
            return Err(AppError::Invalid("a public client has no secret".into()));
        }
        let secret = Secret::new(random_token(CLIENT_SECRET_PREFIX));
        let hash = app.stores.master.hasher(KeyPurpose::ClientSecret).hash(secret.expose());
        let id = client.id.0.clone();
        app.stores.db.run(move |c| latchkey_store::repo::clients::set_secret_hash(c, &id, &hash)).await?;
        app.oauth.forget_cached_clients();
        app.oauth.record(&self.actor.audited(), SecurityEvent::ClientSecretRotated { client: ClientId(client_id.into()) }).await;
        Ok(secret)
    }

    /// Disabling a client refuses its authentication and authorization
    /// requests and revokes everything issued to it.
    pub async fn set_client_disabled(&self, client_id: &str, disabled: bool) -> Result<(), AppError> {
        let app = self.app;
        let (id, at) = (client_id.to_string(), disabled.then(|| app.clock.now()));
        if !app.stores.db.run(move |c| latchkey_store::repo::clients::set_disabled(c, &id, at)).await? {
            return Err(AppError::NotFound("client"));
        }
        app.oauth.forget_cached_clients();
        if disabled {
            app.oauth.revoke_client_grants(client_id, None, &self.actor.audited(), "client disabled").await?;
        }
        let client = ClientId(client_id.into());
        app.oauth.record(&self.actor.audited(), if disabled { SecurityEvent::ClientDisabled { client } } else { SecurityEvent::ClientEnabled { client } }).await;
        Ok(())
    }

    /// Deletes a client after revoking everything issued to it.
    pub async fn delete_client(&self, client_id: &str) -> Result<(), AppError> {
        let app = self.app;
        self.existing_client(client_id).await?;
        app.oauth.revoke_client_grants(client_id, None, &self.actor.audited(), "client deleted").await?;
        if !directory::remove(&app.stores.db, client_id).await? {
            return Err(AppError::NotFound("client"));
        }
        app.oauth.forget_cached_clients();
        app.oauth.record(&self.actor.audited(), SecurityEvent::ClientDeleted { client: ClientId(client_id.into()) }).await;
        Ok(())
    }
}

impl Admin<'_> {
    /// Replaces the API scopes a client may be granted (its OpenID Connect
    /// scopes stay).
    pub async fn set_client_api_scopes(&self, client_id: &str, names: &[String]) -> Result<Client, AppError> {
        let app = self.app;
        let client = directory::set_api_scopes(&app.stores.db, client_id, names).await?;
        app.oauth.forget_cached_clients();
        app.oauth.record(&self.actor.audited(), SecurityEvent::ClientScopesChanged { client: client.id.clone(), scope: client.allowed_scopes.to_string() }).await;
        Ok(client)
    }
}
