//! Credentials added recently: what recovery and "This wasn't me" offer to
//! remove. An intruder who got in long enough to add a passkey or an
//! authenticator app keeps a way back in through sign-out everywhere, a
//! password change and recovery; the owner sees those additions listed
//! (with when) and removes them with one button each.

use latchkey_domain::User;

use crate::error::AuthnError;
use crate::mfa::MfaService;
use crate::passkeys::PasskeyService;

/// Seven days: what is offered for removal. Long enough to cover the time
/// between an intrusion and the owner reading the mail about it (the "This
/// wasn't me" link lives as long), short enough not to list the owner's own
/// long-standing passkeys as suspects.
pub const RECENTLY_ADDED_SECS: i64 = 7 * 24 * 3600;

/// What a sign-in itself set (a recovery's new passkey, written moments
/// before its session) is not a suspect of that sign-in's review: only what
/// was added more than 5 seconds before it is listed.
pub const SAME_SIGN_IN_SECS: i64 = 5;

/// Which kind of credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddedKind {
    Passkey,
    AuthenticatorApp,
}

impl AddedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AddedKind::Passkey => "passkey",
            AddedKind::AuthenticatorApp => "app",
        }
    }

    pub fn parse(s: &str) -> Option<AddedKind> {
        match s {
            "passkey" => Some(AddedKind::Passkey),
            "app" => Some(AddedKind::AuthenticatorApp),
            _ => None,
        }
    }
}

/// One credential added in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedCredential {
    pub kind: AddedKind,
    /// The passkey's id (empty for the authenticator app: there is one).
    pub id: String,
    /// The passkey's name (empty for the authenticator app).
    pub name: String,
    pub added_at: i64,
}

/// The user's passkeys and authenticator app added in `[from, until)`, newest first.
pub async fn recently_added(passkeys: &PasskeyService, mfa: &MfaService, user: &User, from: i64, until: i64) -> Result<Vec<AddedCredential>, AuthnError> {
    let within = |at: i64| at >= from && at < until;
    let mut out: Vec<AddedCredential> =
        passkeys.list(&user.id).await?.into_iter().filter(|p| within(p.created_at)).map(|p| AddedCredential { kind: AddedKind::Passkey, id: p.id, name: p.name, added_at: p.created_at }).collect();
    if let Some(at) = mfa.app_added_at(user).await?.filter(|at| within(*at)) {
        out.push(AddedCredential { kind: AddedKind::AuthenticatorApp, id: String::new(), name: String::new(), added_at: at });
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.added_at));
    Ok(out)
}

/// Removes one credential of `offered` (what the page listed, read again by
/// the caller): nothing outside the window can be removed this way. A
/// passkey that is the account's last way in stays
/// ([`AuthnError::InvalidInput`]). `Ok(false)`: not offered, or already gone.
pub async fn remove_added(passkeys: &PasskeyService, mfa: &MfaService, user: &User, offered: &[AddedCredential], kind: AddedKind, id: &str) -> Result<bool, AuthnError> {
    let Some(found) = offered.iter().find(|c| c.kind == kind && (kind == AddedKind::AuthenticatorApp || c.id == id)) else {
        return Ok(false);
    };
    match found.kind {
        AddedKind::Passkey => passkeys.remove(user, &found.id).await,
        AddedKind::AuthenticatorApp => {
            mfa.remove_totp(user).await?;
            Ok(true)
        }
    }
}
