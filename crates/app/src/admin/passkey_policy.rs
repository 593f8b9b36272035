//! Which passkeys may be registered (issue #29), chosen by an administrator
//! for everyone or for administrators; audited.

use latchkey_authn::authenticator_policy::{Audience, AuthenticatorPolicy};
use latchkey_domain::SecurityEvent;

use super::Admin;
use crate::AppError;

/// A policy in words for the audit trail: `listed (2 AAGUIDs), attested`.
fn detail(policy: &AuthenticatorPolicy) -> String {
    let mut out = policy.allowed.as_str().to_string();
    if !policy.aaguids.is_empty() {
        out.push_str(&format!(" ({} AAGUIDs)", policy.aaguids.len()));
    }
    if policy.requires_attestation() {
        out.push_str(", attested");
    }
    out
}

impl Admin<'_> {
    /// Chooses `policy` for `audience`, or (`None`) hands the choice back to
    /// the deployment's configuration.
    pub async fn set_passkey_policy(&self, audience: Audience, policy: Option<&AuthenticatorPolicy>) -> Result<(), AppError> {
        let policies = &self.app.passkeys.policies;
        match policy {
            Some(p) => policies.choose(audience, p).await?,
            None => {
                policies.reset(audience).await?;
            }
        }
        let event = SecurityEvent::PasskeyPolicySet { audience: audience.as_str().into(), policy: policy.map(detail) };
        self.app.oauth.record(&self.actor.audited(), event).await;
        Ok(())
    }
}
