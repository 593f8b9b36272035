//! Groups of users: the `groups` claim, and the roles APIs map to groups.

use latchkey_domain::scope::valid_scope_token;
use latchkey_domain::SecurityEvent;
use latchkey_domain::UserId;
use latchkey_store::repo::groups as repo;
use latchkey_store::StoreError;

use crate::audit::caller;
use crate::error::OAuthError;
use crate::service::OAuthService;

impl OAuthService {
    pub async fn create_group(&self, name: &str) -> Result<(), OAuthError> {
        if !valid_scope_token(name) || name.len() > 64 {
            return Err(OAuthError::invalid_request("a group name is 1-64 printable characters without spaces"));
        }
        let (id, n, now) = (uuid::Uuid::new_v4().to_string(), name.to_string(), self.clock.now());
        self.db.run(move |c| repo::create(c, &id, &n, now)).await.map_err(|e| match e {
            StoreError::Conflict(_) => OAuthError::Conflict("that group exists".into()),
            other => other.into(),
        })?;
        self.record(&caller(), SecurityEvent::GroupCreated { group: name.into() }).await;
        Ok(())
    }

    pub async fn remove_group(&self, name: &str) -> Result<bool, OAuthError> {
        let n = name.to_string();
        let removed = self.db.run(move |c| repo::remove(c, &n)).await?;
        self.forget_cached_apis();
        if removed {
            self.record(&caller(), SecurityEvent::GroupRemoved { group: name.into() }).await;
        }
        Ok(removed)
    }

    /// Every group with its members' usernames.
    pub async fn list_groups(&self) -> Result<Vec<(String, Vec<String>)>, OAuthError> {
        Ok(self.db.run(repo::list).await?)
    }

    async fn group_id(&self, name: &str) -> Result<String, OAuthError> {
        let n = name.to_string();
        self.db.run(move |c| repo::find_id(c, &n)).await?.ok_or(OAuthError::NotFound("group"))
    }

    pub async fn add_group_member(&self, group: &str, user: &UserId) -> Result<(), OAuthError> {
        let (gid, uid) = (self.group_id(group).await?, user.0.clone());
        self.db.run(move |c| repo::add_member(c, &gid, &uid)).await?;
        self.record(&caller(), SecurityEvent::GroupMemberAdded { group: group.into(), user: user.clone() }).await;
        Ok(())
    }

    pub async fn remove_group_member(&self, group: &str, user: &UserId) -> Result<bool, OAuthError> {
        let (gid, uid) = (self.group_id(group).await?, user.0.clone());
        let removed = self.db.run(move |c| repo::remove_member(c, &gid, &uid)).await?;
        if removed {
            self.record(&caller(), SecurityEvent::GroupMemberRemoved { group: group.into(), user: user.clone() }).await;
        }
        Ok(removed)
    }
}
