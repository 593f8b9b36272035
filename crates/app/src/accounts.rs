//! Accounts that start and recover through mailed links: invitations,
//! sign-up, recovery. What their pages share: building and mailing links
//! and the completion of a recovery.

use latchkey_authn::links::VERIFY_TTL;
use latchkey_authn::{AuthnError, Notice, Purpose};
use latchkey_domain::{Actor, Invitation, SecurityEvent};
use latchkey_domain::{Session, User};
use latchkey_i18n::Tr;

use crate::sessions::mail_language;
use crate::{App, AppError};

/// The username of the administrator the first set-up link creates (who
/// can then invite others, and be removed once they are in).
pub const FIRST_ADMIN_USERNAME: &str = "admin";
/// Its placeholder address (`.invalid`: mail goes nowhere until they change it on
/// their account page).
pub const FIRST_ADMIN_EMAIL: &str = "admin@example.invalid";
/// The first administrator's set-up link works an hour: it grants every
/// right, so it is short-lived; run `latchkey admin setup-link` for a new one.
pub const FIRST_ADMIN_LINK_TTL: i64 = 3600;

impl App {
    /// `{issuer}{path}?t={token}`.
    pub fn link_url(&self, path: &str, token: &str) -> String {
        format!("{}{path}?t={token}", self.issuer)
    }

    /// Sends a notification in `t`'s language (see [`mail_language`]);
    /// failing to send does not fail the use case (it is logged, and the
    /// outbox keeps what SMTP refused).
    pub async fn notify(&self, to: &str, t: Tr, notice: Notice<'_>) {
        let mail = notice.compose(to, t, None, &self.mail_brand);
        if let Err(e) = self.mailer.send(&mail).await {
            tracing::error!(error = %e, subject = %mail.subject, "could not send a notification");
        }
    }

    /// Invites a user: an account without credentials and a set-up link,
    /// mailed (in English: nothing tells the invitee's language yet).
    /// Returns the user and the link (for the CLI and the admin API).
    pub async fn invite(&self, by: &Actor, username: &str, email: &str, admin: bool) -> Result<(User, String), AppError> {
        let user = self.authn.create_without_credentials(username, email, admin).await?;
        let token = self.links.issue(Purpose::Setup, &user.id, email, self.invite_ttl).await?;
        let url = self.link_url("/setup", &token);
        let hours = self.invite_ttl / 3600;
        self.notify(email, Tr::default(), Notice::Invitation { username, url: &url, hours }).await;
        self.oauth.record(by, SecurityEvent::UserInvited { user: user.id.clone(), via: Invitation::Mailed { username: username.into(), hours } }).await;
        Ok((user, url))
    }

    /// A set-up link for the first administrator (`FIRST_ADMIN_USERNAME`),
    /// valid [`FIRST_ADMIN_LINK_TTL`], while no administrator can sign in
    /// (none has a password, a passkey or a linked upstream account);
    /// `None` once one can. Each call supersedes the previous link, so only
    /// the newest one printed works. Nothing is mailed: whoever runs the
    /// server sees it.
    pub async fn first_admin_setup_link(&self) -> Result<Option<String>, AppError> {
        for admin in self.authn.list_users().await?.into_iter().filter(|u| u.admin) {
            if admin.password_hash.is_some() || self.passkeys.has_passkey(&admin.id).await? || !self.linked_identities(&admin.id).await?.is_empty() {
                return Ok(None);
            }
        }
        let user = match self.authn.find_by_username(FIRST_ADMIN_USERNAME).await? {
            Some(u) if u.admin && u.password_hash.is_none() => u,
            Some(_) => {
                return Err(AppError::Conflict(format!(
                    "a user named {FIRST_ADMIN_USERNAME} exists and is not a pending administrator; make an administrator with `latchkey user invite <name> --email <address> --admin`"
                )))
            }
            None => self.authn.create_without_credentials(FIRST_ADMIN_USERNAME, FIRST_ADMIN_EMAIL, true).await?,
        };
        let token = self.links.issue(Purpose::Setup, &user.id, &user.email, FIRST_ADMIN_LINK_TTL).await?;
        self.oauth.record(&Actor::System, SecurityEvent::UserInvited { user: user.id.clone(), via: Invitation::FirstAdmin { hours: FIRST_ADMIN_LINK_TTL / 3600 } }).await;
        Ok(Some(self.link_url("/setup", &token)))
    }

    /// Sign-up in the background (the answer is the same whatever happens
    /// here): a taken address is told someone tried; a taken username is told
    /// to the address; otherwise an account without credentials and a set-up
    /// link. A sign-up never completed holds its username and address only
    /// until its link expires; an invitation's username is held for good
    /// (issue #24 item 9). Mail goes out in `t`, the sign-up page's language.
    pub async fn sign_up(&self, username: &str, email: &str, t: Tr) -> Result<(), AppError> {
        let mut holders = Vec::new();
        for existing in self.authn.find_by_email(email).await? {
            if !self.authn.release_abandoned_signup(&existing.id).await? {
                holders.push(existing);
            }
        }
        if !holders.is_empty() {
            self.notify(email, t, Notice::SignupAddressTaken { recover_url: &format!("{}/recover", self.issuer) }).await;
            self.oauth.record(&Actor::Anonymous, SecurityEvent::SignupAddressTaken).await;
            return Ok(());
        }
        if let Some(existing) = self.authn.find_by_username(username).await? {
            if !self.authn.release_abandoned_signup(&existing.id).await? {
                self.notify(email, t, Notice::SignupUsernameTaken { username, signup_url: &format!("{}/signup", self.issuer) }).await;
                return Ok(());
            }
        }
        let user = match self.authn.create_signup(username, email, self.clock.now() + VERIFY_TTL).await {
            Ok(u) => u,
            Err(AuthnError::UserExists) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let token = self.links.issue(Purpose::Setup, &user.id, email, VERIFY_TTL).await?;
        let url = self.link_url("/setup", &token);
        self.notify(email, t, Notice::SignupConfirm { username, url: &url, hours: VERIFY_TTL / 3600 }).await;
        self.oauth.record(&Actor::Anonymous, SecurityEvent::SignupRequested { user: user.id.clone() }).await;
        Ok(())
    }

    /// Recovery request in the background: a link for the account a
    /// "username or email" names, if any, mailed to its address with a
    /// notice (in the user's language, else `t`, the recovery page's).
    pub async fn request_recovery(&self, login: &str, t: Tr) -> Result<(), AppError> {
        let Some(user) = self.authn.find_by_login(login).await? else {
            self.oauth.record(&Actor::Anonymous, SecurityEvent::RecoveryRequestedUnknown).await;
            return Ok(());
        };
        let token = self.links.issue(Purpose::Recovery, &user.id, &user.email, self.recovery_ttl).await?;
        let url = self.link_url("/recover/continue", &token);
        let minutes = self.recovery_ttl / 60;
        self.notify(&user.email, mail_language(&user, t), Notice::Recovery { username: &user.username, url: &url, minutes }).await;
        self.oauth.record(&Actor::Anonymous, SecurityEvent::RecoveryRequested { user: user.id.clone() }).await;
        Ok(())
    }

    /// After a recovery set a new credential: every session, remembered
    /// device, refresh-token family and link of the user ends; the user is
    /// told, with a "This wasn't me" link for the new session (in the user's
    /// language, else `t`).
    pub async fn finish_recovery(&self, user: &User, new_session: &Session, t: Tr) -> Result<(), AppError> {
        let ended = self.end_user_sessions(&user.id, Some(new_session)).await?;
        self.oauth.revoke_user_tokens(&user.id).await?;
        self.links.revoke_for_user(&user.id, None).await?;
        self.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::AccountRecovered { user: user.id.clone(), sessions_ended: ended.len() }).await;
        let not_me_url = self.not_me_link(&new_session.sid);
        self.notify(&user.email, mail_language(user, t), Notice::Recovered { username: &user.username, not_me_url: &not_me_url }).await;
        Ok(())
    }
}
