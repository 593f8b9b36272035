//! The upstream accounts linked to a user: listed on the account page,
//! unlinked there (never the last way in).

use latchkey_authn::notice::Notice;
use latchkey_domain::{Provider, SecurityEvent, Session, User, UserId};
use latchkey_i18n::Tr;
use latchkey_store::repo::providers::{self as repo, IdentityRow};
use latchkey_store::repo::{passkeys, users};

use super::FederationError;
use crate::{App, AppError};

impl App {
    /// The upstream accounts linked to `user`, with their providers (a
    /// removed provider's links go with it).
    pub async fn linked_identities(&self, user: &UserId) -> Result<Vec<(IdentityRow, Option<Provider>)>, AppError> {
        let id = user.0.clone();
        let rows = self.stores.db.run(move |c| repo::for_user(c, &id)).await?;
        let providers = self.providers().await?;
        Ok(rows.into_iter().map(|r| (r.clone(), providers.iter().find(|p| p.id == r.provider_id).cloned())).collect())
    }

    /// Unlinks the user's account at `provider_id`, unless it is their last
    /// way in (no password, no passkey, no other link), checked in one
    /// transaction with the change so two unlinks at once cannot both pass.
    /// A credential change: other sessions end, the user is mailed.
    pub async fn unlink_identity(&self, user: &User, provider_id: &str, current: &Session, t: Tr) -> Result<(), AppError> {
        let (uid, pid) = (user.id.clone(), provider_id.to_string());
        let outcome = self
            .stores
            .db
            .run(move |c| {
                users::with_user_locked(c, &uid, |c| {
                    let links = repo::for_user(c, &uid.0)?;
                    if !links.iter().any(|l| l.provider_id == pid) {
                        return Ok(Err(AppError::NotFound("linked sign-in")));
                    }
                    let password = users::find_by_id(c, &uid)?.is_some_and(|u| u.password_hash.is_some());
                    let passkeys = passkeys::list_for_user(c, &uid.0)?.len();
                    if !password && passkeys == 0 && links.len() < 2 {
                        return Ok(Err(FederationError::LastWayIn.into()));
                    }
                    repo::unlink(c, &uid.0, &pid)?;
                    Ok(Ok(()))
                })
            })
            .await?;
        outcome?;
        let provider = provider_id.to_string();
        self.credentials_changed(&user.id, current, |others_ended| SecurityEvent::IdentityUnlinked { user: user.id.clone(), provider: provider.clone(), others_ended }).await?;
        let name = self.provider(provider_id).await.map(|p| p.name).unwrap_or_else(|_| provider_id.to_string());
        let notice = Notice::ProviderUnlinked { username: &user.username, provider: &name };
        self.notify(&user.email, crate::sessions::mail_language(user, t), notice).await;
        Ok(())
    }
}
