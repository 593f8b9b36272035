//! What relying parties hold for users, and taking it back: grants,
//! refresh-token families and the access tokens issued from them.

use latchkey_oauth::admin::{GrantSummary, RevokeReport};

use super::Admin;
use crate::AppError;

impl Admin<'_> {
    /// The grants users gave a client.
    pub async fn client_grants(&self, client_id: &str) -> Result<Vec<GrantSummary>, AppError> {
        self.app.oauth.client_grants(client_id).await?.ok_or(AppError::NotFound("client"))
    }

    /// Revokes a client's grants, for every user or for the one named (by
    /// username or id).
    pub async fn revoke_client_grants(&self, client_id: &str, user: Option<&str>) -> Result<RevokeReport, AppError> {
        let user = match user {
            Some(name) => Some(self.user(name).await?),
            None => None,
        };
        let named = user.as_ref().map(|u| (&u.id, u.username.as_str()));
        self.app.oauth.revoke_client_grants(client_id, named, &self.actor.audited(), &self.actor.audit_name()).await?.ok_or(AppError::NotFound("client"))
    }

    /// Revokes everything a user (by username or id) granted, to every client.
    pub async fn revoke_user_grants(&self, user: &str) -> Result<RevokeReport, AppError> {
        let user = self.user(user).await?;
        Ok(self.app.oauth.revoke_user_grants(&user.id, &user.username, &self.actor.audited(), &self.actor.audit_name()).await?)
    }
}
