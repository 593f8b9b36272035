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
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

/// Usernames are 1–64 characters of letters, digits and `.-_@`.
pub fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(valid_username("alice"));
        assert!(valid_username("a.b-c_d@x"));
        assert!(!valid_username(""));
        assert!(!valid_username("has space"));
        assert!(!valid_username(&"x".repeat(65)));
    }
}
