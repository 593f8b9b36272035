//! Users (resource owners).

use serde::{Deserialize, Serialize};

/// The stable subject identifier of a user (`sub` in tokens): a UUID, never the username.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub String);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub admin: bool,
    pub created_at: i64,
    /// A link sent to `email` was used (OIDC `email_verified`).
    pub email_verified: bool,
    /// Profile claims (OIDC Core §5.1), set by the user or an admin.
    pub profile: Profile,
    /// A disabled user cannot sign in; their sessions and tokens ended when it happened.
    pub disabled_at: Option<i64>,
    /// Marked passkey-only by an administrator (issue #29): no password can
    /// be set, and the one it has goes once it has a passkey. The
    /// deployment's `LATCHKEY_PASSKEY_ONLY` can make it so too.
    #[serde(skip)]
    pub passkey_only: bool,
}

/// The standard profile claims latchkey keeps (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// BCP 47 language tag, e.g. `en-GB`.
    pub locale: Option<String>,
    /// IANA time zone, e.g. `Europe/Berlin` (OIDC `zoneinfo`).
    #[serde(default)]
    pub zoneinfo: Option<String>,
    /// When the profile last changed (epoch seconds).
    pub updated_at: Option<i64>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User").field("id", &self.id).field("username", &self.username).field("admin", &self.admin).finish_non_exhaustive()
    }
}

/// Usernames are 1–64 characters of ASCII letters, digits and `.-_`, unique
/// whatever their case. No `@` (then no username is an email address, so a
/// "username or email" cannot name two accounts), and not shaped like a user
/// id (a UUID, so a "username or id" cannot either; issue #24 item 5).
pub fn valid_username(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) && !looks_like_user_id(name)
}

/// Whether `s` has the shape of a user id: a UUID in its hyphenated form
/// (any case), which is what every [`UserId`] is.
pub fn looks_like_user_id(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(valid_username("alice"));
        assert!(valid_username("a.b-c_d"));
        assert!(!valid_username("a.b-c_d@x"), "no email addresses");
        assert!(!valid_username("3f2b1c9e-8d7a-4b6c-9e5f-0a1b2c3d4e5f"), "no user ids");
        assert!(!valid_username("3F2B1C9E-8D7A-4B6C-9E5F-0A1B2C3D4E5F"), "in any case");
        assert!(valid_username("3f2b1c9e-8d7a-4b6c-9e5f-0a1b2c3d4e5"), "one short is a name");
        assert!(!valid_username(""));
        assert!(!valid_username("has space"));
        assert!(!valid_username(&"x".repeat(65)));
    }
}
