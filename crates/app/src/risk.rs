//! Risky sign-ins (issue #32), the application's side of them: assessing a
//! sign-in with `latchkey_authn::risk`, the code mailed for a medium-risk
//! password sign-in of an account without a second factor, the refusal
//! (with a mail to the owner) of a high-risk one, and the remembered
//! device that must sign in afresh.
//!
//! The mailed code is a step like the second factor's ([`crate::sign_in`]):
//! kept [`CODE_TTL_SECS`] bound to the browser that asked, stored as a keyed
//! hash, answered once, and after [`MAX_CODE_ATTEMPTS`] wrong answers gone
//! (the sign-in starts over, with its password). Its mail says where the
//! attempt came from and carries "This wasn't me": the session the sign-in
//! would start is named in advance, so the link stops the attempt before it
//! completes and ends the session after.

use std::time::Duration;

use latchkey_authn::risk::{decide, Account, Assessment, Decision, RiskPolicy, SignInMethod};
use latchkey_authn::{ClientInfo, Notice};
use latchkey_domain::{Actor, SecurityEvent, SignInRisk, StepUp, User, UserId};
use latchkey_i18n::Tr;
use serde::{Deserialize, Serialize};

use crate::sessions::mail_language;
use crate::{App, AppError};

/// A mailed code works for 10 minutes: long enough to open a mailbox on
/// another device, short enough that a code found later is dead.
pub const CODE_TTL_SECS: i64 = 10 * 60;
/// Six digits, as GitHub's device verification and most mailed codes.
pub const CODE_DIGITS: u32 = 6;
/// Wrong codes before the step is gone: five guesses at a million codes.
pub const MAX_CODE_ATTEMPTS: i64 = 5;
/// The largest multiple of 10^6 below 2^32: random words at or above it
/// are drawn again, so every code is equally likely.
const UNBIASED_BELOW: u32 = u32::MAX - (u32::MAX % 1_000_000);

fn step_key(step: &str) -> String {
    format!("sign-in-code:{step}")
}

fn tries_key(step: &str) -> String {
    format!("sign-in-code-tries:{step}")
}

/// The step a "This wasn't me" link (which names a session) can stop.
fn sid_key(sid: &str) -> String {
    format!("sign-in-code-sid:{sid}")
}

fn ttl() -> Duration {
    Duration::from_secs(CODE_TTL_SECS.unsigned_abs())
}

/// A password sign-in waiting for its mailed code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeStep {
    pub user_id: String,
    /// The authorization request the sign-in belongs to.
    pub authz: Option<String>,
    /// A local page to go to afterwards.
    pub next: Option<String>,
    /// "Keep me signed in".
    pub remember: bool,
    /// Keyed to the browser that started it.
    pub browser: String,
    code_hash: String,
    /// By the application's clock.
    pub expires_at: i64,
    /// The session the sign-in starts, named in advance (the mail's link).
    pub sid: String,
    /// What made it risky (for the sign-in's audit event).
    pub risk: SignInRisk,
    /// The device it came from, for the "This wasn't me" page.
    pub device: String,
}

impl CodeStep {
    pub fn user(&self) -> UserId {
        UserId(self.user_id.clone())
    }
}

/// A mailed code that did not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeRefused {
    #[error("that code is not right")]
    Wrong,
    /// The last allowed wrong code: the step is gone, sign in again.
    #[error("too many wrong codes")]
    TooMany,
}

/// A new code: six uniformly random digits.
fn new_code() -> String {
    loop {
        let n = u32::from_be_bytes(latchkey_token::crypto::random_bytes::<4>());
        if n < UNBIASED_BELOW {
            return format!("{:0width$}", n % 1_000_000, width = CODE_DIGITS as usize);
        }
    }
}

/// A code as typed, without spaces or dashes (`048 213`, `048-213`).
fn typed(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect()
}

impl App {
    /// The risk of a sign-in of `user` from `client` (`known_device`: the
    /// browser holds the account's known-device cookie); `None` with the
    /// policy off.
    pub async fn assess_sign_in(&self, user: &UserId, client: &ClientInfo, known_device: bool) -> Result<Option<Assessment>, AppError> {
        Ok(self.risk.assess(user, client, known_device).await?)
    }

    /// What a password sign-in of `user` at the assessed level needs.
    pub async fn password_step_up(&self, user: &User, risk: &SignInRisk) -> Result<Decision, AppError> {
        let account = Account { has_second_factor: self.has_second_factor(user).await?, verified_email: user.email_verified && !user.email.is_empty() };
        Ok(decide(risk.level, SignInMethod::Password, account))
    }

    /// Records that a sign-in of `user` was asked for `step` because of `risk`.
    pub async fn stepped_up(&self, user: &UserId, step: StepUp, risk: &SignInRisk) {
        metrics::counter!("latchkey_sign_in_step_ups_total", "step" => match step {
            StepUp::MailedCode => "mailed_code",
            StepUp::SecondFactor => "second_factor",
            StepUp::FreshSignIn => "fresh_sign_in",
        })
        .increment(1);
        self.oauth.record(&Actor::Anonymous, SecurityEvent::SignInSteppedUp { user: user.clone(), step, risk: risk.clone() }).await;
    }

    /// Mails `user` a code for the password sign-in from `client` and keeps
    /// the step for the browser `browser`; returns the step's id.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_code_step(
        &self,
        user: &User,
        risk: SignInRisk,
        client: &ClientInfo,
        authz: Option<String>,
        next: Option<String>,
        remember: bool,
        browser: String,
        t: Tr,
    ) -> Result<String, AppError> {
        let (step, code, sid, now) = (latchkey_token::crypto::random_token(""), new_code(), uuid::Uuid::new_v4().to_string(), self.clock.now());
        let device = latchkey_authn::device_name::friendly_name(client.user_agent.as_deref());
        let due = CodeStep {
            user_id: user.id.0.clone(),
            authz,
            next,
            remember,
            browser,
            code_hash: self.sign_in_codes.hash(&format!("{step}:{code}")),
            expires_at: now + CODE_TTL_SECS,
            sid: sid.clone(),
            risk: risk.clone(),
            device: device.clone(),
        };
        let json = serde_json::to_string(&due).map_err(|e| AppError::Invalid(e.to_string()))?;
        self.stores.fast.single_use().put(&step_key(&step), &json, ttl()).await?;
        self.stores.fast.single_use().put(&sid_key(&sid), &step, ttl()).await?;
        let not_me_url = self.not_me_link(&sid);
        let minutes = CODE_TTL_SECS / 60;
        let notice = Notice::SignInCode {
            username: &user.username,
            code: &code,
            minutes,
            device: Some(device.as_str()),
            place: risk.place.as_deref(),
            at: now,
            ip: client.ip.as_deref(),
            not_me_url: &not_me_url,
        };
        self.mailer.send(&notice.compose(&user.email, mail_language(user, t), user.profile.zoneinfo.as_deref(), &self.mail_brand)).await?;
        self.stepped_up(&user.id, StepUp::MailedCode, &risk).await;
        Ok(step)
    }

    /// The code step `step`, if it is still due and `owned_by_browser` says
    /// the browser asking started it; else [`AppError::Expired`].
    pub async fn code_step_due(&self, step: &str, owned_by_browser: impl FnOnce(&str) -> bool) -> Result<CodeStep, AppError> {
        let json = self.stores.fast.single_use().get(&step_key(step)).await?.ok_or(AppError::Expired)?;
        let due: CodeStep = serde_json::from_str(&json).map_err(|_| AppError::Expired)?;
        if !owned_by_browser(&due.browser) {
            return Err(AppError::Expired);
        }
        if self.clock.now() >= due.expires_at {
            self.forget_code_step(step, &due.sid).await?;
            return Err(AppError::Expired);
        }
        Ok(due)
    }

    async fn forget_code_step(&self, step: &str, sid: &str) -> Result<(), AppError> {
        self.stores.fast.single_use().delete(&step_key(step)).await?;
        self.stores.fast.single_use().delete(&sid_key(sid)).await?;
        Ok(())
    }

    /// Answers the code step `step` of this browser with `code`: the step,
    /// used up, when the code is right (of two right answers, one wins);
    /// a [`CodeRefused`] when it is not (audited). Every answer is counted
    /// before the code is compared, so parallel guesses cannot exceed the limit.
    pub async fn answer_code_step(&self, step: &str, code: &str, owned_by_browser: impl FnOnce(&str) -> bool) -> Result<Result<CodeStep, CodeRefused>, AppError> {
        let due = self.code_step_due(step, owned_by_browser).await?;
        let tries = self.stores.fast.incr_window(&tries_key(step), ttl()).await?;
        let right = tries <= MAX_CODE_ATTEMPTS && self.sign_in_codes.verify(&format!("{step}:{}", typed(code)), &due.code_hash);
        if !right {
            let throttled = tries >= MAX_CODE_ATTEMPTS;
            if throttled {
                self.forget_code_step(step, &due.sid).await?;
            }
            self.oauth.record(&Actor::Anonymous, SecurityEvent::SignInCodeFailed { user: due.user(), throttled }).await;
            return Ok(Err(if throttled { CodeRefused::TooMany } else { CodeRefused::Wrong }));
        }
        // Single use: a second answer (a replay, another tab) finds nothing.
        self.stores.fast.single_use().take(&step_key(step)).await?.ok_or(AppError::Expired)?;
        self.stores.fast.single_use().delete(&sid_key(&due.sid)).await?;
        Ok(Ok(due))
    }

    /// The device of a code step whose session (not yet started) is `sid`,
    /// while it waits: what a "This wasn't me" page names.
    pub async fn pending_code_device(&self, sid: &str) -> Result<Option<String>, AppError> {
        let Some(step) = self.stores.fast.single_use().get(&sid_key(sid)).await? else { return Ok(None) };
        let Some(json) = self.stores.fast.single_use().get(&step_key(&step)).await? else { return Ok(None) };
        Ok(serde_json::from_str::<CodeStep>(&json).ok().map(|due| due.device))
    }

    /// "This wasn't me" before the code was entered: the waiting step is
    /// gone (its code no longer works). Returns whose it was.
    pub async fn stop_code_step(&self, sid: &str) -> Result<Option<UserId>, AppError> {
        let Some(step) = self.stores.fast.single_use().take(&sid_key(sid)).await? else { return Ok(None) };
        let Some(json) = self.stores.fast.single_use().take(&step_key(&step)).await? else { return Ok(None) };
        Ok(serde_json::from_str::<CodeStep>(&json).ok().map(|due| due.user()))
    }

    /// Refuses a high-risk password sign-in of `user`, who has no second
    /// factor: audited, and the owner is mailed where it came from.
    pub async fn refuse_risky_sign_in(&self, user: &User, risk: &SignInRisk, client: &ClientInfo, t: Tr) {
        metrics::counter!("latchkey_sign_in_step_ups_total", "step" => "refused").increment(1);
        self.oauth.record(&Actor::Anonymous, SecurityEvent::RiskySignInRefused { user: user.id.clone(), risk: risk.clone() }).await;
        let device = latchkey_authn::device_name::friendly_name(client.user_agent.as_deref());
        let password_url = format!("{}/account/password", self.issuer);
        let notice = Notice::SignInBlocked {
            username: &user.username,
            device: Some(device.as_str()),
            place: risk.place.as_deref(),
            at: self.clock.now(),
            ip: client.ip.as_deref(),
            password_url: &password_url,
        };
        if let Err(e) = self.mailer.send(&notice.compose(&user.email, mail_language(user, t), user.profile.zoneinfo.as_deref(), &self.mail_brand)).await {
            tracing::error!(error = %e, "could not tell the owner about a refused sign-in");
        }
    }

    /// Whether a remembered device of `user` may restore a session for
    /// `client` (`known_device`: the browser's known-device cookie): at
    /// medium risk or above it must sign in afresh (audited); a restore
    /// that may is remembered like a sign-in.
    pub async fn may_restore(&self, user: &UserId, client: &ClientInfo, known_device: bool) -> Result<bool, AppError> {
        let Some(assessed) = self.assess_sign_in(user, client, known_device).await? else { return Ok(true) };
        let any = Account { has_second_factor: false, verified_email: false };
        if decide(assessed.risk.level, SignInMethod::Restore, any) == Decision::FreshSignIn {
            self.stepped_up(user, StepUp::FreshSignIn, &assessed.risk).await;
            return Ok(false);
        }
        self.remember_sign_in(user, &assessed.risk, client).await;
        Ok(true)
    }

    /// Remembers a completed sign-in (or restore) of `user` from `client`
    /// for the next assessment, and tells the audit trail (and so the
    /// security alerts) about a new country. Failing to remember does not
    /// fail the sign-in: it only makes the next assessment see less.
    pub(crate) async fn remember_sign_in(&self, user: &UserId, risk: &SignInRisk, client: &ClientInfo) {
        if let Err(e) = self.risk.remember(user, &self.risk.observe(client)).await {
            tracing::warn!(error = %e, "could not remember a sign-in for the next risk assessment");
        }
        if let Some(country) = risk.new_country() {
            self.oauth.record(&Actor::User(user.clone()), SecurityEvent::NewCountrySignIn { user: user.clone(), country: country.to_string() }).await;
        }
    }
}

impl crate::admin::Admin<'_> {
    /// Sets `user`'s own risk policy (`None`: the deployment's again, or
    /// for an administrator `LATCHKEY_RISK_POLICY_ADMINS`); audited.
    pub async fn set_risk_policy(&self, user: &User, policy: Option<RiskPolicy>) -> Result<(), AppError> {
        if !self.app.risk.set_own_policy(&user.id, policy).await? {
            return Err(AppError::NotFound("user"));
        }
        let event = SecurityEvent::RiskPolicySet { user: user.id.clone(), policy: policy.map(|p| p.as_str().to_string()) };
        self.app.oauth.record(&self.actor.audited(), event).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: Vec<String> = (0..200).map(|_| new_code()).collect();
        assert!(codes.iter().all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())), "{codes:?}");
        let distinct: std::collections::HashSet<&String> = codes.iter().collect();
        assert!(distinct.len() > 190, "random, not a counter");
        assert_eq!(UNBIASED_BELOW % 1_000_000, 0);
    }

    #[test]
    fn typed_codes_lose_spaces_and_dashes() {
        assert_eq!(typed(" 048 213 "), "048213");
        assert_eq!(typed("048-213"), "048213");
    }
}
