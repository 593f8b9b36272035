//! Passkey-only accounts (issue #29): accounts that sign in with passkeys
//! and nothing a phisher can type. No password can be set on one; the
//! password it has is removed once it has a passkey (until then it is how
//! its owner signs in to add one); recovery offers "Create a passkey" only.
//!
//! An administrator marks an account (`User::passkey_only`); the deployment
//! can make every account, or every administrator's, passkey-only.

use latchkey_domain::User;

/// `LATCHKEY_PASSKEY_ONLY`: which accounts are passkey-only besides those
/// an administrator marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasskeyOnlyPolicy {
    /// Only the marked accounts (the default).
    #[default]
    Marked,
    /// Every administrator's account too: the accounts worth phishing most.
    Admins,
    /// Every account.
    Everyone,
}

impl PasskeyOnlyPolicy {
    pub fn parse(s: &str) -> Option<PasskeyOnlyPolicy> {
        match s.trim() {
            "off" | "" => Some(PasskeyOnlyPolicy::Marked),
            "admins" => Some(PasskeyOnlyPolicy::Admins),
            "everyone" => Some(PasskeyOnlyPolicy::Everyone),
            _ => None,
        }
    }

    /// Whether `user` is passkey-only under this policy.
    pub fn covers(self, user: &User) -> bool {
        user.passkey_only
            || match self {
                PasskeyOnlyPolicy::Marked => false,
                PasskeyOnlyPolicy::Admins => user.admin,
                PasskeyOnlyPolicy::Everyone => true,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_domain::UserId;

    fn user(admin: bool, marked: bool) -> User {
        User {
            id: UserId("u".into()),
            username: "alice".into(),
            email: String::new(),
            password_hash: None,
            admin,
            created_at: 0,
            email_verified: false,
            profile: Default::default(),
            disabled_at: None,
            passkey_only: marked,
        }
    }

    #[test]
    fn the_policy_and_the_mark_decide() {
        use PasskeyOnlyPolicy::*;
        assert_eq!(PasskeyOnlyPolicy::parse("off"), Some(Marked));
        assert_eq!(PasskeyOnlyPolicy::parse("admins"), Some(Admins));
        assert_eq!(PasskeyOnlyPolicy::parse("everyone"), Some(Everyone));
        assert_eq!(PasskeyOnlyPolicy::parse("all"), None);
        assert!(!Marked.covers(&user(true, false)) && Marked.covers(&user(false, true)));
        assert!(Admins.covers(&user(true, false)) && !Admins.covers(&user(false, false)));
        assert!(Everyone.covers(&user(false, false)));
    }
}
