//! The ways into an account, and the rule that keeps at least one: a
//! password may be set only where none is, and removed only when a passkey
//! and a second way in remain (another passkey, or an authenticator app or
//! backup codes, which a mailed recovery link asks for before it lets anyone
//! add a credential).

use latchkey_domain::User;

use crate::error::AuthnError;
use crate::mfa::MfaService;
use crate::passkeys::PasskeyService;
use crate::service::Authenticator;

/// What the account can sign in (or recover) with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaysIn {
    pub password: bool,
    pub passkeys: usize,
    pub authenticator_app: bool,
    pub backup_codes: i64,
}

/// Why a password change of this kind is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRefusal {
    #[error("you already have a password; change it instead")]
    AlreadySet,
    #[error("you have no password to remove")]
    NoPassword,
    #[error("add a passkey before you remove your password: it would be your only way in")]
    NoPasskey,
    #[error("add a second passkey, an authenticator app or backup codes before you remove your password, so that losing one passkey does not lock you out")]
    NoSecondWayIn,
}

impl WaysIn {
    pub async fn of(user: &User, passkeys: &PasskeyService, mfa: &MfaService) -> Result<WaysIn, AuthnError> {
        Ok(WaysIn {
            password: user.password_hash.is_some(),
            passkeys: passkeys.list(&user.id).await?.len(),
            authenticator_app: mfa.has_second_factor(user).await?,
            backup_codes: mfa.unused_backup_codes(user).await?,
        })
    }

    pub fn may_set_password(&self) -> Result<(), PasswordRefusal> {
        if self.password {
            return Err(PasswordRefusal::AlreadySet);
        }
        Ok(())
    }

    /// A passkey, and a second way in besides it: never an account without a way in.
    pub fn may_remove_password(&self) -> Result<(), PasswordRefusal> {
        if !self.password {
            return Err(PasswordRefusal::NoPassword);
        }
        if self.passkeys == 0 {
            return Err(PasswordRefusal::NoPasskey);
        }
        if self.passkeys < 2 && !self.authenticator_app && self.backup_codes <= 0 {
            return Err(PasswordRefusal::NoSecondWayIn);
        }
        Ok(())
    }
}

/// The result of a set or a removal: done, refused by the rule, or a new
/// password the policy does not accept.
pub type PasswordOutcome = Result<Result<(), PasswordRefusal>, AuthnError>;

/// Gives a passwordless account a password. The caller has checked a recent
/// sign-in and ends the other sessions.
pub async fn set_first_password(authn: &Authenticator, passkeys: &PasskeyService, mfa: &MfaService, user: &User, new: latchkey_domain::Secret) -> PasswordOutcome {
    if let Err(refused) = WaysIn::of(user, passkeys, mfa).await?.may_set_password() {
        return Ok(Err(refused));
    }
    authn.set_password(user, new).await?;
    Ok(Ok(()))
}

/// Removes the account's password when [`WaysIn::may_remove_password`] allows.
pub async fn remove_password(authn: &Authenticator, passkeys: &PasskeyService, mfa: &MfaService, user: &User) -> PasswordOutcome {
    if let Err(refused) = WaysIn::of(user, passkeys, mfa).await?.may_remove_password() {
        return Ok(Err(refused));
    }
    authn.clear_password(user).await?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: WaysIn = WaysIn { password: false, passkeys: 0, authenticator_app: false, backup_codes: 0 };

    #[test]
    fn a_password_is_set_only_where_none_is() {
        assert_eq!(NONE.may_set_password(), Ok(()));
        assert_eq!(WaysIn { password: true, ..NONE }.may_set_password(), Err(PasswordRefusal::AlreadySet));
    }

    #[test]
    fn a_password_goes_only_when_a_passkey_and_a_second_way_stay() {
        let pwd = WaysIn { password: true, ..NONE };
        assert_eq!(NONE.may_remove_password(), Err(PasswordRefusal::NoPassword));
        assert_eq!(pwd.may_remove_password(), Err(PasswordRefusal::NoPasskey));
        assert_eq!(WaysIn { authenticator_app: true, backup_codes: 10, ..pwd }.may_remove_password(), Err(PasswordRefusal::NoPasskey), "no passkey: nothing to sign in with");
        assert_eq!(WaysIn { passkeys: 1, ..pwd }.may_remove_password(), Err(PasswordRefusal::NoSecondWayIn));
        assert_eq!(WaysIn { passkeys: 2, ..pwd }.may_remove_password(), Ok(()));
        assert_eq!(WaysIn { passkeys: 1, authenticator_app: true, ..pwd }.may_remove_password(), Ok(()));
        assert_eq!(WaysIn { passkeys: 1, backup_codes: 1, ..pwd }.may_remove_password(), Ok(()));
    }
}
