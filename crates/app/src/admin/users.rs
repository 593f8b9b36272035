//! Administering users: disable, enable, end everything, reset the second
//! factor, mail a recovery link, grant or take away admin rights, delete.

use latchkey_authn::{Notice, Purpose};
use latchkey_domain::admin::UserAction;
use latchkey_domain::User;
use latchkey_domain::{EndedSessions, SecurityEvent};
use latchkey_i18n::Tr;

use super::Admin;
use crate::sessions::mail_language;
use crate::AppError;

impl Admin<'_> {
    /// Marks `user` passkey-only or not (issue #29); audited. A marked
    /// account that already has a passkey loses its password at once.
    pub async fn set_passkey_only(&self, user: &User, passkey_only: bool, t: Tr) -> Result<(), AppError> {
        if !self.app.authn.set_passkey_only(&user.id, passkey_only).await? {
            return Err(AppError::NotFound("user"));
        }
        self.app.oauth.record(&self.actor.audited(), SecurityEvent::PasskeyOnlySet { user: user.id.clone(), passkey_only }).await;
        if passkey_only {
            let marked = User { passkey_only, ..user.clone() };
            self.app.drop_password_if_passkey_only(&marked, t).await?;
        }
        Ok(())
    }

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
        app.oauth.record(&self.actor.audited(), SecurityEvent::SessionsEnded { user: user.id.clone(), ended: EndedSessions::Everything { sessions: ended.len() } }).await;
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
            app.oauth.ssf_signal_user(&user.id, &latchkey_oauth::ssf::Signal::AccountDisabled).await?;
            app.end_user_sessions(&user.id, None).await?;
            app.oauth.revoke_user_tokens(&user.id).await?;
            app.links.revoke_for_user(&user.id, None).await?;
        }
        let u = user.id.clone();
        app.oauth.record(&self.actor.audited(), if disabled { SecurityEvent::UserDisabled { user: u } } else { SecurityEvent::UserEnabled { user: u } }).await;
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
        app.oauth.record(&self.actor.audited(), SecurityEvent::MfaResetByAdmin { user: user.id.clone() }).await;
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
        app.oauth.record(&self.actor.audited(), SecurityEvent::RecoveryLinkSentByAdmin { user: user.id.clone() }).await;
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
        // Told before the grants go with the account (issue #30).
        app.oauth.ssf_signal_user(&user.id, &latchkey_oauth::ssf::Signal::AccountPurged).await?;
        app.end_user_sessions(&user.id, None).await?;
        app.oauth.revoke_user_tokens(&user.id).await?;
        if !app.authn.delete_user(&user.id).await? {
            return Err(AppError::NotFound("user"));
        }
        app.oauth.record(&self.actor.audited(), SecurityEvent::UserDeleted { user: user.id.clone(), username: user.username.clone() }).await;
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
        let (u, was_admin) = (user.id.clone(), user.admin);
        app.oauth.record(&self.actor.audited(), if admin { SecurityEvent::AdminGranted { user: u, was_admin } } else { SecurityEvent::AdminRevoked { user: u, was_admin } }).await;
        Ok(())
    }
}

/// The most users one bulk action takes (a page of the console's list is 50).
pub const MAX_BULK_USERS: usize = 100;

/// Why a bulk action left a selected user alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// The acting administrator themself (never disabled or signed out by their own bulk action).
    Yourself,
    /// The last enabled administrator.
    LastAdmin,
    /// Already disabled (a bulk disable).
    AlreadyDisabled,
}

/// What a bulk action did.
#[derive(Debug, Default)]
pub struct BulkOutcome {
    /// The users it was done to, in the order given.
    pub done: Vec<User>,
    /// The users it left alone, and why.
    pub skipped: Vec<(User, Skipped)>,
    /// Sessions ended (ending sessions; disabling ends them too).
    pub sessions_ended: usize,
}

impl Admin<'_> {
    /// One page of the user list: users whose username or email contains
    /// `q`, in `order`, with the facts of their badges (two queries).
    pub async fn list_users(&self, q: &str, order: latchkey_store::repo::users::ListOrder, descending: bool, offset: i64, limit: i64) -> Result<latchkey_store::repo::users::ListPage, AppError> {
        let q = q.to_string();
        Ok(self.app.stores.db.scan(move |c| latchkey_store::repo::users::list_page(c, &q, order, descending, offset, limit)).await?)
    }

    /// When `user` last signed in (their newest session's start), if ever.
    pub async fn last_sign_in(&self, user: &User) -> Result<Option<i64>, AppError> {
        let id = user.id.clone();
        Ok(self.app.stores.db.run(move |c| latchkey_store::repo::users::last_sign_in(c, &id)).await?)
    }

    /// The users with these ids that exist (at most [`MAX_BULK_USERS`]), by username.
    pub async fn users_by_ids(&self, ids: &[String]) -> Result<Vec<User>, AppError> {
        if ids.len() > MAX_BULK_USERS {
            return Err(AppError::Invalid(format!("at most {MAX_BULK_USERS} users at once")));
        }
        let ids = ids.to_vec();
        Ok(self.app.stores.db.run(move |c| latchkey_store::repo::users::find_by_ids(c, &ids)).await?)
    }

    /// Who a bulk `action` would skip before trying (the actor; for
    /// disabling, those already disabled). Whether someone is the last
    /// administrator is only known when the action runs.
    pub fn bulk_skips(&self, user: &User, action: UserAction) -> Option<Skipped> {
        if self.actor.is(&user.id) {
            return Some(Skipped::Yourself);
        }
        (action == UserAction::Disable && user.disabled_at.is_some()).then_some(Skipped::AlreadyDisabled)
    }

    /// Ends the sessions of, or disables, each of `users` (at most
    /// [`MAX_BULK_USERS`]), under the same rules as one at a time: never the
    /// actor, never the last enabled administrator; those are skipped and
    /// named in the outcome. Other actions are refused.
    pub async fn bulk_user_action(&self, users: Vec<User>, action: UserAction) -> Result<BulkOutcome, AppError> {
        if !matches!(action, UserAction::EndSessions | UserAction::Disable) {
            return Err(AppError::Invalid(format!("{} is not a bulk action", action.as_str())));
        }
        if users.len() > MAX_BULK_USERS {
            return Err(AppError::Invalid(format!("at most {MAX_BULK_USERS} users at once")));
        }
        let mut out = BulkOutcome::default();
        for user in users {
            if let Some(why) = self.bulk_skips(&user, action) {
                out.skipped.push((user, why));
                continue;
            }
            if action == UserAction::EndSessions {
                out.sessions_ended += self.end_everything(&user).await?;
                out.done.push(user);
                continue;
            }
            let sessions = self.app.sessions.list(&user.id).await?.len();
            match self.set_disabled(&user, true).await {
                Ok(()) => {
                    out.sessions_ended += sessions;
                    out.done.push(user);
                }
                Err(AppError::Refused(crate::Refusal::LastAdmin)) => out.skipped.push((user, Skipped::LastAdmin)),
                Err(AppError::Refused(crate::Refusal::NotYourself(_))) => out.skipped.push((user, Skipped::Yourself)),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}
