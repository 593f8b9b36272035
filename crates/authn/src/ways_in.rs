//! The ways into an account, and the rule that keeps at least one: a
//! password may be set only where none is, and removed only when a passkey
//! and a second way in remain (another passkey, or an authenticator app or
//! backup codes, which a mailed recovery link asks for before it lets anyone
//! add a credential).

use latchkey_domain::UserId;
use latchkey_store::db::DbConnection;
use latchkey_store::repo::{mfa, passkeys, users};
use latchkey_store::{Db, StoreError};

use crate::error::AuthnError;

/// What the account can sign in (or recover) with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaysIn {
    pub password: bool,
    pub passkeys: usize,
    pub authenticator_app: bool,
    pub backup_codes: i64,
}

/// The second factors a recovery link asks for (any one of them will do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryGate {
    /// An authenticator-app code or a backup code.
    pub code: bool,
    /// An assertion of one of the account's passkeys.
    pub passkey: bool,
}

impl RecoveryGate {
    /// Whether anything must be presented at all.
    pub fn required(&self) -> bool {
        self.code || self.passkey
    }
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
    /// The user's ways in as the database holds them now (inside
    /// [`users::with_user_locked`] for a change that depends on them).
    pub fn read(conn: &mut DbConnection, user: &UserId) -> Result<WaysIn, StoreError> {
        Ok(WaysIn {
            password: users::find_by_id(conn, user)?.is_some_and(|u| u.password_hash.is_some()),
            passkeys: passkeys::list_for_user(conn, &user.0)?.len(),
            authenticator_app: mfa::find(conn, &user.0)?.is_some_and(|c| c.confirmed_at.is_some()),
            backup_codes: mfa::unused_backup_codes(conn, &user.0)?,
        })
    }

    /// What a mailed recovery link must ask for before it lets anyone set a
    /// credential: the account's second factor, whatever it is. A passkey is
    /// a second factor when the account also has a password (sign-in asks
    /// for it after the password); a passkey-only account's passkey is its
    /// first factor, the one a recovery replaces.
    pub fn recovery_gate(&self) -> RecoveryGate {
        RecoveryGate { code: self.authenticator_app || self.backup_codes > 0, passkey: self.password && self.passkeys > 0 }
    }

    /// A passkey may go unless it is the last way in of an account without a password.
    pub fn may_remove_passkey(&self) -> bool {
        self.password || self.passkeys > 1
    }

    pub fn may_set_password(&self) -> Result<(), PasswordRefusal> {
        if self.password {
            return Err(PasswordRefusal::AlreadySet);
        }
        Ok(())
    }

    /// A passkey, and a second way in besides it: never an account without a way in.
    /// A passkey-only account's password goes once it has a passkey (issue
    /// #29): the passkey is its way in, and recovery offers a new one.
    pub fn may_drop_password_for_passkeys(&self) -> Result<(), PasswordRefusal> {
        match (self.password, self.passkeys) {
            (false, _) => Err(PasswordRefusal::NoPassword),
            (true, 0) => Err(PasswordRefusal::NoPasskey),
            (true, _) => Ok(()),
        }
    }

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

/// The result of a set or a removal: done, refused by the rule, or failed
/// (a new password the policy does not accept is `AuthnError::InvalidInput`).
pub type PasswordOutcome = Result<Result<(), PasswordRefusal>, AuthnError>;

/// Checks `rule` against the ways in and, if it allows, writes, all while
/// holding the user's row.
pub(crate) async fn change_if(
    db: &Db,
    user: &UserId,
    rule: fn(&WaysIn) -> Result<(), PasswordRefusal>,
    write: impl FnOnce(&mut DbConnection) -> Result<(), StoreError> + Send + 'static,
) -> PasswordOutcome {
    let id = user.clone();
    Ok(db
        .run(move |c| {
            users::with_user_locked(c, &id, |c| match rule(&WaysIn::read(c, &id)?) {
                Ok(()) => write(c).map(Ok),
                Err(refused) => Ok(Err(refused)),
            })
        })
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: WaysIn = WaysIn { password: false, passkeys: 0, authenticator_app: false, backup_codes: 0 };

    #[test]
    fn the_last_passkey_of_a_passwordless_account_stays() {
        assert!(!WaysIn { passkeys: 1, authenticator_app: true, backup_codes: 5, ..NONE }.may_remove_passkey());
        assert!(WaysIn { passkeys: 2, ..NONE }.may_remove_passkey());
        assert!(WaysIn { password: true, passkeys: 1, ..NONE }.may_remove_passkey());
    }

    #[test]
    fn recovery_asks_for_whatever_the_second_factor_is() {
        let gate = |w: WaysIn| w.recovery_gate();
        assert!(!gate(WaysIn { password: true, ..NONE }).required(), "a password alone: the mailbox recovers it");
        assert!(!gate(WaysIn { passkeys: 1, ..NONE }).required(), "a passkey-only account's passkey is its first factor");
        assert_eq!(gate(WaysIn { password: true, passkeys: 1, ..NONE }), RecoveryGate { code: false, passkey: true }, "password + passkey: the passkey");
        assert_eq!(gate(WaysIn { password: true, authenticator_app: true, ..NONE }), RecoveryGate { code: true, passkey: false });
        assert_eq!(gate(WaysIn { passkeys: 2, backup_codes: 3, ..NONE }), RecoveryGate { code: true, passkey: false });
        assert_eq!(gate(WaysIn { password: true, passkeys: 1, backup_codes: 10, ..NONE }), RecoveryGate { code: true, passkey: true });
    }

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
