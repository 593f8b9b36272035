//! The sign-in state machine, whatever the method (password, passkey,
//! mailed link, later an upstream provider):
//!
//! 1. the first factor names a user; if they have a second factor, a
//!    [`SecondFactorDue`] step is kept for 5 minutes, bound to the browser
//!    ([`App::owe_second_factor`]);
//! 2. the second factor answers that step once ([`App::second_factor_due`],
//!    [`App::take_second_factor_step`]);
//! 3. the user is known: [`App::start_session`] starts (or elevates) the
//!    session, remembers the device when asked, audits the sign-in and tells
//!    the user about a new device.
//!
//! What the browser gets (cookies, the redirect back to the relying party)
//! is the web crate's business.

use std::time::Duration;

use latchkey_authn::ClientInfo;
use latchkey_domain::{Actor, ClientId, SecurityEvent};
use latchkey_domain::{Amr, Session, SignInRisk, User, UserId};
use latchkey_i18n::Tr;
use serde::{Deserialize, Serialize};

use crate::{App, AppError};

/// The second step must follow the first within 5 minutes.
pub const SECOND_FACTOR_TTL: Duration = Duration::from_secs(5 * 60);

/// A user who passed the first factor (or has a session) and owes a second.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondFactorDue {
    pub user_id: String,
    /// The authorization request the sign-in belongs to.
    pub authz: Option<String>,
    /// A local page to go to afterwards.
    pub next: Option<String>,
    /// "Keep me signed in".
    pub remember: bool,
    /// Keyed to the browser that started it.
    pub browser: String,
    /// What the first step proved: a password, or an upstream provider
    /// (`fed`). Steps kept before this field existed were passwords.
    #[serde(default = "password_first")]
    pub first: Vec<Amr>,
    /// The upstream provider's session, when the first step was one.
    #[serde(default)]
    pub upstream: Option<crate::federation::flow::UpstreamSession>,
    /// The first step's risk (issue #32), for the sign-in's audit event.
    #[serde(default)]
    pub risk: Option<SignInRisk>,
}

fn password_first() -> Vec<Amr> {
    vec![Amr::Pwd]
}

impl SecondFactorDue {
    pub fn user(&self) -> UserId {
        UserId(self.user_id.clone())
    }
}

fn second_factor_key(step: &str) -> String {
    format!("second-factor:{step}")
}

/// A sign-in to complete: who, how, from where.
pub struct SignIn<'a> {
    pub user: &'a User,
    /// What the user proved (password, one-time code, passkey kind…).
    pub amr: Vec<Amr>,
    /// The browser's address and user agent.
    pub client: ClientInfo,
    /// The session the browser already has, if any.
    pub current: Option<Session>,
    /// "Keep me signed in": a remembered device.
    pub remember: bool,
    /// The relying party the sign-in is for (audited).
    pub client_id: Option<&'a str>,
    /// The language of a new-device notice.
    pub language: Tr,
}

/// What the risk assessment adds to a sign-in (issue #32).
#[derive(Debug, Clone, Default)]
pub struct Assessed {
    /// The sign-in's risk; `None` with the policy off.
    pub risk: Option<SignInRisk>,
    /// The session id to start, when it was named in advance.
    pub sid: Option<String>,
}

/// A started (or elevated) session.
pub struct SignedIn {
    pub session: Session,
    /// The session cookie's value (the session id is never sent).
    pub cookie_value: String,
    /// The remember-me device's token, when the user asked to be remembered.
    pub device_token: Option<String>,
}

impl App {
    /// A second factor is a confirmed authenticator app or a passkey.
    pub async fn has_second_factor(&self, user: &User) -> Result<bool, AppError> {
        Ok(self.mfa.has_second_factor(user).await? || self.passkeys.has_passkey(&user.id).await?)
    }

    /// Keeps a second-factor step for `user`, who proved `first`, bound to
    /// `browser`; returns its id.
    pub async fn owe_second_factor(&self, user: &User, first: Vec<Amr>, authz: Option<String>, next: Option<String>, remember: bool, browser: String) -> Result<String, AppError> {
        self.owe_second_factor_upstream(user, first, None, authz, next, remember, browser).await
    }

    /// [`App::owe_second_factor`] after an upstream provider's sign-in
    /// (`upstream`: its session, recorded once the second step is answered).
    #[allow(clippy::too_many_arguments)]
    pub async fn owe_second_factor_upstream(
        &self,
        user: &User,
        first: Vec<Amr>,
        upstream: Option<crate::federation::flow::UpstreamSession>,
        authz: Option<String>,
        next: Option<String>,
        remember: bool,
        browser: String,
    ) -> Result<String, AppError> {
        self.owe_second_factor_assessed(user, first, upstream, authz, next, remember, browser, None).await
    }

    /// [`App::owe_second_factor_upstream`] with the first step's risk
    /// (issue #32), carried to the sign-in's audit event.
    #[allow(clippy::too_many_arguments)]
    pub async fn owe_second_factor_assessed(
        &self,
        user: &User,
        first: Vec<Amr>,
        upstream: Option<crate::federation::flow::UpstreamSession>,
        authz: Option<String>,
        next: Option<String>,
        remember: bool,
        browser: String,
        risk: Option<SignInRisk>,
    ) -> Result<String, AppError> {
        let step = latchkey_token::crypto::random_token("");
        let due = SecondFactorDue { user_id: user.id.0.clone(), authz, next, remember, browser, first, upstream, risk };
        let json = serde_json::to_string(&due).map_err(|e| AppError::Invalid(e.to_string()))?;
        self.stores.fast.single_use().put(&second_factor_key(&step), &json, SECOND_FACTOR_TTL).await?;
        Ok(step)
    }

    /// The step `step`, if it is still due and `owned_by_browser` says the
    /// browser asking started it; else [`AppError::Expired`].
    pub async fn second_factor_due(&self, step: &str, owned_by_browser: impl FnOnce(&str) -> bool) -> Result<SecondFactorDue, AppError> {
        let json = self.stores.fast.single_use().get(&second_factor_key(step)).await?.ok_or(AppError::Expired)?;
        let due: SecondFactorDue = serde_json::from_str(&json).map_err(|_| AppError::Expired)?;
        if !owned_by_browser(&due.browser) {
            return Err(AppError::Expired);
        }
        Ok(due)
    }

    /// Uses the step up: of two answers to the same step, one wins.
    pub async fn take_second_factor_step(&self, step: &str) -> Result<(), AppError> {
        self.stores.fast.single_use().take(&second_factor_key(step)).await?.ok_or(AppError::Expired).map(|_| ())
    }

    /// The user is known: starts their session, or elevates the current
    /// one when it is already theirs. Session fixation: the browser never
    /// keeps its cookie id across a sign-in; anyone else's session in this
    /// browser ends.
    pub async fn start_session(&self, sign_in: SignIn<'_>) -> Result<SignedIn, AppError> {
        self.start_session_assessed(sign_in, Assessed::default()).await
    }

    /// [`App::start_session`] of a sign-in whose risk was assessed (issue
    /// #32): the risk goes into its audit event, the sign-in is remembered
    /// for the next assessment, and a session named in advance (a mailed
    /// code's "This wasn't me" link) gets that name.
    pub async fn start_session_assessed(&self, sign_in: SignIn<'_>, assessed: Assessed) -> Result<SignedIn, AppError> {
        let SignIn { user, amr, client: info, current, remember, client_id, language: t } = sign_in;
        let Assessed { risk, sid } = assessed;
        if user.disabled_at.is_some() {
            // Whatever the method (a passkey too): a disabled account signs in nowhere.
            return Err(latchkey_authn::AuthnError::Disabled.into());
        }
        let new_device = self.sessions.is_new_device(&user.id, &info).await?;
        let device = if remember { Some(self.devices.remember(&user.id, &amr, latchkey_authn::device_name::friendly_name(info.user_agent.as_deref())).await?) } else { None };
        let new = match current {
            Some(old) if old.user_id == user.id && device.is_none() && sid.is_none() => self.sessions.elevate(&old, amr.clone()).await?,
            old => {
                if let Some(old) = old {
                    self.end_sessions(vec![old.sid]).await?;
                }
                self.sessions.create_named(&user.id, amr.clone(), info.clone(), device.as_ref().map(|(id, _)| id.clone()), sid).await?
            }
        };
        latchkey_oauth::audit::set_caller(Actor::User(user.id.clone()), Some(self.session_hash(&new.session.sid)));
        let signed_in = SecurityEvent::SignIn { user: user.id.clone(), client: client_id.map(|c| ClientId(c.into())), methods: amr.clone(), remembered: remember, new_device, risk: risk.clone() };
        self.oauth.record(&Actor::User(user.id.clone()), signed_in).await;
        if let Some(risk) = &risk {
            self.remember_sign_in(&user.id, risk, &info).await;
        }
        // A mailed code already told the owner where this sign-in came from.
        if new_device && !amr.contains(&Amr::Mca) {
            if let Err(e) = self.notify_new_device(user, &new.session, t).await {
                tracing::error!(error = %e, "could not send the new-device notice");
            }
        }
        Ok(SignedIn { session: new.session, cookie_value: new.cookie_value, device_token: device.map(|(_, token)| token) })
    }

    /// What the audit trail records of a session id: a keyed hash, so the
    /// trail never holds a live session id.
    pub fn session_hash(&self, sid: &str) -> String {
        self.audit_sessions.tag_b64(&format!("audit-sid:{sid}")).chars().take(16).collect()
    }
}
