//! Administering users: disable, enable, end everything, reset the second
//! factor, mail a recovery link, grant or take away admin rights, delete.

use latchkey_authn::{Notice, Purpose};
use latchkey_domain::admin::UserAction;
use latchkey_domain::SecurityEvent;
use latchkey_domain::User;
use latchkey_i18n::Tr;

use super::Admin;
use crate::sessions::mail_language;
use crate::AppError;

impl Admin<'_> {
    /// Does `action` to `user`.
    pub async fn user_action(&self, user: &User, action: UserAction) -> Result<(), AppError> {
        match action {
            UserAction::EndSessions => self.end_everything(user).await.map(|_| ()),
            UserAction::Disable => self.set_disabled(user, true).await,
            UserAction::Enable => self.set_disabled(user, false).await,
            UserAction::GrantAdmin => self.set_admin(user, true).await,
            UserAction::RevokeAdmin => self.set_admin(user, false).await,
            UserAction::ResetMfa => self.reset_mfa(user).await,
            UserAction::RecoveryLink => self.send_recovery_link(user).await,
        }
    }

    /// Ends every session, remembered device and token of the user.
    pub async fn end_everything(&self, user: &User) -> Result<usize, AppError> {
        let app = self.app;
        let ended = app.end_user_sessions(&user.id, None).await?;
        app.oauth.revoke_user_tokens(&user.id).await?;
        let detail = format!("{} session(s), every device and token, by {}", ended.len(), self.actor.audit_name());
        app.oauth.audit_event(SecurityEvent::SessionsEnded, Some(&user.id.0), None, &detail).await;
        Ok(ended.len())
    }

    /// Disabling ends every session, token and mailed link at once; sign-in
    /// is refused until the user is enabled again. Never oneself, never the
    /// last enabled administrator.
    pub async fn set_disabled(&self, user: &User, disabled: bool) -> Result<(), AppError> {
        let app = self.app;
        if disabled {
            self.not_yourself(user, "disable")?;
        }
        if !app.authn.set_disabled(&user.id, disabled).await? {
            return Err(AppError::NotFound("user"));
        }
        if disabled {
            app.end_user_sessions(&user.id, None).await?;
            app.oauth.revoke_user_tokens(&user.id).await?;
            app.links.revoke_for_user(&user.id, None).await?;
        }
        let kind = if disabled { SecurityEvent::UserDisabled } else { SecurityEvent::UserEnabled };
        app.oauth.audit_event(kind, Some(&user.id.0), None, &format!("by {}", self.actor.audit_name())).await;
        Ok(())
    }

    /// For a user who lost every factor: removes the authenticator app and
    /// backup codes, ends every session, tells the user.
    pub async fn reset_mfa(&self, user: &User) -> Result<(), AppError> {
        let app = self.app;
        app.mfa.remove_totp(user).await?;
        app.end_user_sessions(&user.id, None).await?;
        app.oauth.revoke_user_tokens(&user.id).await?;
        app.links.revoke_for_user(&user.id, Some(Purpose::Recovery)).await?;
        let detail = format!("authenticator app and backup codes removed; sessions ended; by {}", self.actor.audit_name());
        app.oauth.audit_event(SecurityEvent::MfaResetByAdmin, Some(&user.id.0), None, &detail).await;
        let recover_url = format!("{}/recover", app.issuer);
        app.notify(&user.email, mail_language(user, Tr::default()), Notice::MfaReset { username: &user.username, recover_url: &recover_url }).await;
        Ok(())
    }

    /// Mails the user a recovery link (as "Can't sign in?" would).
    pub async fn send_recovery_link(&self, user: &User) -> Result<(), AppError> {
        let app = self.app;
        let token = app.links.issue(Purpose::Recovery, &user.id, &user.email, app.recovery_ttl).await?;
        let url = app.link_url("/recover/continue", &token);
        let notice = Notice::AdminRecovery { username: &user.username, url: &url, minutes: app.recovery_ttl / 60 };
        app.notify(&user.email, mail_language(user, Tr::default()), notice).await;
        app.oauth.audit_event(SecurityEvent::RecoveryLinkSentByAdmin, Some(&user.id.0), None, &format!("recovery link mailed by {}", self.actor.audit_name())).await;
        Ok(())
    }

    /// Deletes a user: sessions end (relying parties told), tokens revoked,
    /// data gone. Never oneself, never the last enabled administrator.
    pub async fn delete_user(&self, user: &User) -> Result<(), AppError> {
        let app = self.app;
        self.not_yourself(user, "delete")?;
        if user.admin && user.disabled_at.is_none() && app.authn.enabled_admins().await? <= 1 {
            // Checked again, atomically, by the deletion itself; checked here
            // first so that a refused deletion ends nobody's sessions.
            return Err(crate::Refusal::LastAdmin.into());
        }
        app.end_user_sessions(&user.id, None).await?;
        app.oauth.revoke_user_tokens(&user.id).await?;
        if !app.authn.delete_user(&user.id).await? {
            return Err(AppError::NotFound("user"));
        }
        app.oauth.audit_event(SecurityEvent::UserDeleted, Some(&user.id.0), None, &format!("{} deleted by {}", user.username, self.actor.audit_name())).await;
        Ok(())
    }

    /// Grants or takes away admin rights. Never one's own, never the last
    /// enabled administrator's.
    pub async fn set_admin(&self, user: &User, admin: bool) -> Result<(), AppError> {
        let app = self.app;
        if !admin {
            self.not_yourself(user, "demote")?;
        }
        if !app.authn.set_admin(&user.id, admin).await? {
            return Err(AppError::NotFound("user"));
        }
        let kind = if admin { SecurityEvent::AdminGranted } else { SecurityEvent::AdminRevoked };
        app.oauth.audit_event(kind, Some(&user.id.0), None, &format!("admin: {} -> {admin}, by {}", user.admin, self.actor.audit_name())).await;
        Ok(())
    }
}
