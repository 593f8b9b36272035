//! Ending sessions and everything that hangs on them, and what a credential
//! change does to the other sessions of its user.

use latchkey_authn::{Notice, Purpose};
use latchkey_domain::{Actor, SecurityEvent};
use latchkey_domain::{Session, User, UserId};
use latchkey_i18n::Tr;

use crate::{App, AppError};

/// "This wasn't me" links work for 7 days: longer than anyone takes to read mail.
const NOT_ME_LINK_TTL: i64 = 7 * 24 * 3600;

/// What was added, for [`App::credential_added`]'s mail.
#[derive(Debug, Clone, Copy)]
pub enum Added<'a> {
    /// A passkey, its name and its provider (when a list knows its AAGUID).
    Passkey {
        name: &'a str,
        provider: Option<&'a str>,
    },
    AuthenticatorApp,
    BackupCodes,
}

impl App {
    /// Ends sessions and everything tied to them: their remember-me devices,
    /// their session-bound refresh families and access tokens, and
    /// (back-channel) the relying parties they signed in to.
    pub async fn end_sessions(&self, sids: Vec<String>) -> Result<Vec<Session>, AppError> {
        let ended = self.sessions.end(sids).await?;
        for s in &ended {
            if let Some(device) = &s.device_id {
                self.devices.forget(device).await?;
            }
        }
        self.oauth.sessions_ended(&ended).await?;
        Ok(ended)
    }

    /// Ends every session and remembered device of a user, except `keep`
    /// (this browser's session and its device). Devices go too even when
    /// their browser session already expired: otherwise a lost laptop would
    /// come back.
    pub async fn end_user_sessions(&self, user: &UserId, keep: Option<&Session>) -> Result<Vec<Session>, AppError> {
        let keep_sid = keep.map(|s| s.sid.as_str());
        let sids = self.sessions.list(user).await?.into_iter().map(|s| s.sid).filter(|sid| Some(sid.as_str()) != keep_sid).collect();
        let ended = self.end_sessions(sids).await?;
        self.devices.forget_all_except(user, keep.and_then(|s| s.device_id.as_deref())).await?;
        Ok(ended)
    }

    /// Ends every session, remembered device, token and mailed link of a
    /// user (an email change reverted, an account taken back).
    pub async fn lock_out_everyone(&self, user: &UserId) -> Result<usize, AppError> {
        let ended = self.end_user_sessions(user, None).await?;
        self.oauth.revoke_user_tokens(user).await?;
        self.links.revoke_for_user(user, None).await?;
        Ok(ended.len())
    }

    /// After a credential change (password, second factor added or removed,
    /// passkey removed): every other session and remembered device of the
    /// user ends, and the change is audited.
    /// `what` words the change, given how many other sessions ended.
    pub async fn credentials_changed(&self, user: &UserId, current: &Session, what: impl FnOnce(usize) -> SecurityEvent) -> Result<(), AppError> {
        let ended = self.end_user_sessions(user, Some(current)).await?;
        // No recovery link from before the change still works.
        self.links.revoke_for_user(user, Some(Purpose::Recovery)).await?;
        let event = what(ended.len());
        if let Some(signal) = credential_change(&event) {
            self.oauth.ssf_signal_user(user, &signal).await?;
        }
        self.oauth.record(&Actor::User(user.clone()), event).await;
        Ok(())
    }

    /// After a sign-in method was added (passkey, authenticator app, backup
    /// codes): a credential change like any other (other sessions and
    /// devices end, recovery links die, audited as `what` with `detail`), and
    /// the user is mailed, in their language (else `t`), with a "This wasn't
    /// me" link that ends the session that added it and offers to remove
    /// what it added.
    /// After a passkey was added to `user`: a passkey-only account's
    /// password goes (issue #29), audited and mailed like any removal.
    /// Whether it went.
    pub async fn drop_password_if_passkey_only(&self, user: &User, t: Tr) -> Result<bool, AppError> {
        if user.password_hash.is_none() || !self.authn.is_passkey_only(user) {
            return Ok(false);
        }
        if self.authn.drop_password_for_passkeys(user).await?.is_err() {
            return Ok(false);
        }
        self.oauth.record(&Actor::User(user.id.clone()), SecurityEvent::PasswordRemoved { user: user.id.clone(), others_ended: 0 }).await;
        self.notify(&user.email, mail_language(user, t), Notice::PasswordRemoved { username: &user.username }).await;
        Ok(true)
    }

    pub async fn credential_added(&self, user: &User, current: &Session, what: impl FnOnce(usize) -> SecurityEvent, added: Added<'_>, t: Tr) -> Result<(), AppError> {
        self.credentials_changed(&user.id, current, what).await?;
        let not_me_url = self.not_me_link(&current.sid);
        let (passkey, provider, app) = match added {
            Added::Passkey { name, provider } => (Some(name), provider, false),
            Added::AuthenticatorApp => (None, None, true),
            Added::BackupCodes => (None, None, false),
        };
        let notice = Notice::CredentialAdded { username: &user.username, passkey, provider, app, not_me_url: &not_me_url };
        self.notify(&user.email, mail_language(user, t), notice).await;
        Ok(())
    }

    /// A link that ends one session: `sid` and expiry, MACed with the mail-link key.
    pub fn not_me_link(&self, sid: &str) -> String {
        let exp = self.clock.now() + NOT_ME_LINK_TTL;
        let payload = format!("{sid}.{exp}");
        format!("{}/account/not-me?t={}.{}", self.issuer, payload, self.mail_links.tag_b64(&payload))
    }

    /// The session a "This wasn't me" link points at, if the link is genuine and unexpired.
    pub fn parse_not_me(&self, token: &str) -> Option<String> {
        let (payload, tag) = token.rsplit_once('.')?;
        if !self.mail_links.verify_b64(payload, tag) {
            return None;
        }
        let (sid, exp) = payload.rsplit_once('.')?;
        (exp.parse::<i64>().ok()? > self.clock.now()).then(|| sid.to_string())
    }

    /// Tells the user about a sign-in from a device their recent sessions
    /// did not come from, in their language (else `t`, the sign-in page's),
    /// the time in words in their `zoneinfo` (else UTC).
    pub async fn notify_new_device(&self, user: &User, session: &Session, t: Tr) -> Result<(), AppError> {
        let not_me_url = self.not_me_link(&session.sid);
        // A passkey sign-in names the passkey's provider (issue #29): the
        // passkey used for this sign-in is the one last used at its moment.
        let passkey = match session.amr.iter().any(|a| matches!(a, latchkey_domain::Amr::Hwk | latchkey_domain::Amr::Swk)) {
            true => self.passkeys.used_at(&user.id, session.auth_time).await.ok().flatten().map(|p| p.provider.map(|pr| pr.name).unwrap_or(p.name)),
            false => None,
        };
        let notice = Notice::NewDevice {
            username: &user.username,
            device: session.device_name.as_deref(),
            passkey: passkey.as_deref(),
            at: session.created_at,
            ip: session.ip.as_deref(),
            not_me_url: &not_me_url,
        };
        self.mailer.send(&notice.compose(&user.email, mail_language(user, t), user.profile.zoneinfo.as_deref(), &self.mail_brand)).await?;
        let new_device = SecurityEvent::NewDeviceSignIn { user: user.id.clone(), session: session.sid.clone(), device: session.device_name.clone() };
        self.oauth.record(&Actor::User(user.id.clone()), new_device).await;
        Ok(())
    }
}

/// The language of mail to `user`: their profile's `locale` if we speak
/// it, else the language of the request that caused the mail.
pub fn mail_language(user: &User, request: Tr) -> Tr {
    user.profile.locale.as_deref().and_then(latchkey_i18n::Locale::from_tag).map(Tr::new).unwrap_or(request)
}

/// The CAEP `credential-change` a credential event is, if it is one (issue #30).
fn credential_change(event: &SecurityEvent) -> Option<latchkey_oauth::ssf::Signal> {
    use latchkey_oauth::ssf::Signal;
    let (credential_type, change_type) = match event {
        SecurityEvent::PasswordChanged { .. } => ("password", "update"),
        SecurityEvent::PasswordSet { .. } => ("password", "create"),
        SecurityEvent::PasswordRemoved { .. } => ("password", "revoke"),
        SecurityEvent::PasskeyAdded { .. } => ("fido2-platform", "create"),
        SecurityEvent::PasskeyRemoved { .. } => ("fido2-platform", "revoke"),
        SecurityEvent::TotpEnrolled { .. } => ("app", "create"),
        SecurityEvent::TotpRemoved { .. } => ("app", "revoke"),
        _ => return None,
    };
    Some(Signal::CredentialChange { credential_type, change_type })
}
