//! What an administrator can do to a user or a client, named once: the admin
//! API's `POST /users/{username}/{action}` and `POST /clients/{client_id}/{action}`
//! path segments, the console's action buttons and the CLI read the same
//! words from here (`as_str`, `parse`, serde's kebab-case).
//!
//! With the `openapi` feature the enums also derive `utoipa::ToSchema`, so
//! the admin API's generated document lists exactly these values.

use serde::{Deserialize, Serialize};

/// An action on a user account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum UserAction {
    /// Ends every session and revokes every token; the user cannot sign in.
    Disable,
    /// Lets a disabled user sign in again.
    Enable,
    /// Removes the authenticator app and backup codes, ends the sessions, tells the user.
    ResetMfa,
    /// Mails a single-use recovery link.
    RecoveryLink,
    /// Ends every session, remembered device and session-bound token.
    EndSessions,
    /// Makes the user an administrator.
    GrantAdmin,
    /// Takes administrator rights away (never the last administrator's).
    RevokeAdmin,
}

impl UserAction {
    pub const ALL: [UserAction; 7] = [Self::Disable, Self::Enable, Self::ResetMfa, Self::RecoveryLink, Self::EndSessions, Self::GrantAdmin, Self::RevokeAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Enable => "enable",
            Self::ResetMfa => "reset-mfa",
            Self::RecoveryLink => "recovery-link",
            Self::EndSessions => "end-sessions",
            Self::GrantAdmin => "grant-admin",
            Self::RevokeAdmin => "revoke-admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// An action on a registered client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ClientAction {
    /// A new client secret (shown once); the old one stops working.
    RotateSecret,
    /// Revokes everything issued to the client and refuses it from then on.
    Disable,
    /// Accepts a disabled client again.
    Enable,
}

impl ClientAction {
    pub const ALL: [ClientAction; 3] = [Self::RotateSecret, Self::Disable, Self::Enable];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RotateSecret => "rotate-secret",
            Self::Disable => "disable",
            Self::Enable => "enable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_names_are_serdes_names() {
        for a in UserAction::ALL {
            assert_eq!(serde_json::to_value(a).ok(), Some(serde_json::Value::from(a.as_str())));
            assert_eq!(UserAction::parse(a.as_str()), Some(a));
        }
        for a in ClientAction::ALL {
            assert_eq!(serde_json::to_value(a).ok(), Some(serde_json::Value::from(a.as_str())));
            assert_eq!(ClientAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(UserAction::parse("delete"), None);
    }
}
