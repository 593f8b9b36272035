//! Administering clients: register, change, rotate the secret, disable,
//! delete. Each audited with who did it.

use crate::directory::clients::{self as directory, ClientUpdate, LinksUpdate, NewClient, CLIENT_SECRET_PREFIX};
use latchkey_domain::SecurityEvent;
use latchkey_domain::{Client, Secret};
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
        app.oauth.audit_event(SecurityEvent::ClientCreated, None, Some(&client.id.0), &format!("{}, by {}", client.name, self.actor.audit_name())).await;
        Ok((client, secret))
    }

    /// Changes a client's name and URIs.
    pub async fn update_client(&self, client_id: &str, update: ClientUpdate) -> Result<(), AppError> {
        let app = self.app;
        let before = self.existing_client(client_id).await?;
        let detail = format!("name {:?} -> {:?}; redirect URIs {:?} -> {:?}", before.name, update.name, before.redirect_uris, update.redirect_uris);
        directory::update(&app.stores.db, client_id, update).await?;
        app.oauth.forget_cached_clients();
        app.oauth.audit_event(SecurityEvent::ClientUpdated, None, Some(client_id), &format!("{detail}; by {}", self.actor.audit_name())).await;
        Ok(())
    }

    /// Changes some of a client's consent-page links (logo, policy, terms).
    pub async fn update_client_links(&self, client_id: &str, links: LinksUpdate) -> Result<(), AppError> {
        let app = self.app;
        let now = directory::update_links(&app.stores.db, client_id, links).await?;
        app.oauth.forget_cached_clients();
        let detail = format!("logo {:?}, policy {:?}, terms {:?}; by {}", now.logo_uri, now.policy_uri, now.tos_uri, self.actor.audit_name());
        app.oauth.audit_event(SecurityEvent::ClientUpdated, None, Some(client_id), &detail).await;
        Ok(())
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
        app.oauth.audit_event(SecurityEvent::ClientSecretRotated, None, Some(client_id), &format!("new secret issued by {}", self.actor.audit_name())).await;
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
            app.oauth.revoke_client_grants(client_id, None, "client disabled").await?;
        }
        let kind = if disabled { SecurityEvent::ClientDisabled } else { SecurityEvent::ClientEnabled };
        app.oauth.audit_event(kind, None, Some(client_id), &format!("by {}", self.actor.audit_name())).await;
        Ok(())
    }

    /// Deletes a client after revoking everything issued to it.
    pub async fn delete_client(&self, client_id: &str) -> Result<(), AppError> {
        let app = self.app;
        self.existing_client(client_id).await?;
        app.oauth.revoke_client_grants(client_id, None, "client deleted").await?;
        if !directory::remove(&app.stores.db, client_id).await? {
            return Err(AppError::NotFound("client"));
        }
        app.oauth.forget_cached_clients();
        app.oauth.audit_event(SecurityEvent::ClientDeleted, None, Some(client_id), &format!("by {}", self.actor.audit_name())).await;
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
        let detail = format!("{}; by {}", client.allowed_scopes, self.actor.audit_name());
        app.oauth.audit_event(SecurityEvent::ClientScopesChanged, None, Some(&client.id.0), &detail).await;
        Ok(client)
    }
}
