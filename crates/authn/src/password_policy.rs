//! What makes a password acceptable (NIST SP 800-63B §3.1.1.2): long enough,
//! not common, not the account's own name, no composition rules. Checked for
//! every new password: invitations, sign-up, recovery, change, `user add`.

use latchkey_domain::Secret;
use unicode_normalization::UnicodeNormalization;

use crate::error::AuthnError;

/// 12 characters by default: long enough that online guessing of anything
/// not on a common-password list is hopeless, short enough for a passphrase.
pub const DEFAULT_MIN_PASSWORD_CHARS: usize = 12;
/// NIST's floor: the setting can lower the default, never below this.
pub const MIN_PASSWORD_CHARS_FLOOR: usize = 8;
/// An upper bound so a multi-megabyte "password" cannot tie up a hashing
/// thread; far above the 64 characters NIST requires us to accept.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// zxcvbn looks at the first 100 characters (its own advice: the estimate is
/// quadratic, and nothing longer is guessable anyway).
const STRENGTH_WINDOW: usize = 100;
/// zxcvbn scores 0-4; 3 is "safely unguessable" online. Below that the
/// password is a common one (zxcvbn ships the 30,000 most common passwords of
/// real leaks) or a close variation of one.
const MIN_STRENGTH: u8 = 3;

/// NFKC: the same password typed on another keyboard or OS hashes the same.
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    pub min_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy { min_chars: DEFAULT_MIN_PASSWORD_CHARS }
    }
}

fn refuse(reason: &str) -> Result<(), AuthnError> {
    Err(AuthnError::InvalidInput(reason.to_string()))
}

impl PasswordPolicy {
    /// A policy with `min_chars`, never below NIST's 8.
    pub fn with_min_chars(min_chars: usize) -> PasswordPolicy {
        PasswordPolicy { min_chars: min_chars.max(MIN_PASSWORD_CHARS_FLOOR) }
    }

    /// Checks a new password for the account `username` / `email`. The error
    /// says why and what to do.
    pub fn check(&self, password: &Secret, username: &str, email: &str) -> Result<(), AuthnError> {
        if password.expose().len() > MAX_PASSWORD_BYTES {
            return refuse(&format!("the password is longer than {MAX_PASSWORD_BYTES} bytes; use a shorter passphrase"));
        }
        let pw = normalize(password.expose());
        if pw.chars().count() < self.min_chars {
            return refuse(&format!("use at least {} characters; a few unrelated words make a good passphrase", self.min_chars));
        }
        let lower = pw.to_lowercase();
        let local = email.split('@').next().unwrap_or_default().to_lowercase();
        for own in [username.to_lowercase(), local] {
            if own.chars().count() >= 3 && lower.contains(&own) {
                return refuse("the password contains your username or email address; choose one that does not");
            }
        }
        let window: String = pw.chars().take(STRENGTH_WINDOW).collect();
        let estimate = zxcvbn::zxcvbn(&window, &[username, email]);
        if u8::from(estimate.score()) < MIN_STRENGTH {
            let hint = estimate.feedback().and_then(|f| f.warning()).map(|w| format!(" ({w})")).unwrap_or_default();
            return refuse(&format!("the password is too common or too easy to guess{hint}; add more unrelated words"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pw: &str) -> Result<(), AuthnError> {
        PasswordPolicy::default().check(&Secret::new(pw), "alice", "bsmith@example.com")
    }

    #[test]
    fn length_rules() {
        assert!(check("short").is_err());
        assert!(check("blue kettle marching at noon").is_ok());
        let long: String = "blue kettle marching at noon, ".repeat(3);
        assert!(long.chars().count() >= 64 && check(&long).is_ok(), "64+ characters are accepted");
        assert!(check(&"x".repeat(2000)).is_err());
        assert_eq!(PasswordPolicy::with_min_chars(4).min_chars, MIN_PASSWORD_CHARS_FLOOR, "never below 8");
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        for pw in ["password1234", "qwertyuiop123", "123456789012", "passwordpassword", "iloveyou12345"] {
            assert!(check(pw).is_err(), "{pw} is common");
        }
        assert!(check("Alice-blue-kettle-marching").is_err(), "contains the username");
        assert!(check("BSmith blue kettle marching").is_err(), "contains the email's local part");
    }

    #[test]
    fn unicode_is_normalized() {
        // U+FB01 LATIN SMALL LIGATURE FI normalizes to "fi".
        assert_eq!(normalize("\u{FB01}sh"), "fish");
        assert_eq!(normalize("cafe\u{301}"), normalize("caf\u{E9}"));
    }
}
