//! Groups of users: the `groups` claim, and the roles APIs map to groups.

use latchkey_domain::scope::valid_scope_token;
use latchkey_domain::SecurityEvent;
use latchkey_domain::UserId;
use latchkey_store::repo::groups as repo;
use latchkey_store::StoreError;

use crate::admin::Admin;
use crate::AppError;

/// Group names: 1-64 printable characters without spaces (they travel in
/// the `groups` claim and in role mappings).
pub const MAX_GROUP_NAME: usize = 64;

impl Admin<'_> {
    pub async fn create_group(&self, name: &str) -> Result<(), AppError> {
        let app = self.app;
        if !valid_scope_token(name) || name.len() > MAX_GROUP_NAME {
            return Err(AppError::Invalid("a group name is 1-64 printable characters without spaces".into()));
        }
        let (id, n, now) = (uuid::Uuid::new_v4().to_string(), name.to_string(), app.clock.now());
        app.stores.db.run(move |c| repo::create(c, &id, &n, now)).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Conflict("that group exists".into()),
            other => other.into(),
        })?;
        app.oauth.record(&self.actor.audited(), SecurityEvent::GroupCreated { group: name.into() }).await;
        Ok(())
    }

    /// Removes a group; `false` when there was none of that name.
    pub async fn remove_group(&self, name: &str) -> Result<bool, AppError> {
        let app = self.app;
        let n = name.to_string();
        let removed = app.stores.db.run(move |c| repo::remove(c, &n)).await?;
        app.oauth.forget_cached_apis();
        if removed {
            app.oauth.record(&self.actor.audited(), SecurityEvent::GroupRemoved { group: name.into() }).await;
        }
        Ok(removed)
    }

    /// Every group with its members' usernames.
    pub async fn list_groups(&self) -> Result<Vec<(String, Vec<String>)>, AppError> {
        Ok(self.app.stores.db.run(repo::list).await?)
    }

    async fn group_id(&self, name: &str) -> Result<String, AppError> {
        let n = name.to_string();
        self.app.stores.db.run(move |c| repo::find_id(c, &n)).await?.ok_or(AppError::NotFound("group"))
    }

    pub async fn add_group_member(&self, group: &str, user: &UserId) -> Result<(), AppError> {
        let (gid, uid) = (self.group_id(group).await?, user.0.clone());
        self.app.stores.db.run(move |c| repo::add_member(c, &gid, &uid)).await?;
        self.app.oauth.record(&self.actor.audited(), SecurityEvent::GroupMemberAdded { group: group.into(), user: user.clone() }).await;
        Ok(())
    }

    /// Takes a user out of a group; `false` when they were not in it.
    pub async fn remove_group_member(&self, group: &str, user: &UserId) -> Result<bool, AppError> {
        let (gid, uid) = (self.group_id(group).await?, user.0.clone());
        let removed = self.app.stores.db.run(move |c| repo::remove_member(c, &gid, &uid)).await?;
        if removed {
            self.app.oauth.record(&self.actor.audited(), SecurityEvent::GroupMemberRemoved { group: group.into(), user: user.clone() }).await;
        }
        Ok(removed)
    }
}
