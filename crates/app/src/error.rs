//! What a use case can refuse or fail with. The web crate maps each variant
//! to a page or a JSON error in one place; the CLI prints it.

use latchkey_authn::AuthnError;
use latchkey_oauth::OAuthError;
use latchkey_store::StoreError;
use latchkey_token::TokenError;

/// A rule an administrator may not break, whichever door they came through
/// (console, admin API, CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Disabling, deleting or demoting oneself: an admin locks themself out
    /// by mistake, or a stolen admin session hides its tracks.
    #[error("you cannot {0} yourself")]
    NotYourself(&'static str),
    /// No enabled administrator would be left: nobody could open the
    /// console or mint an admin token again.
    #[error("this is the last administrator; make someone else an administrator first")]
    LastAdmin,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such user, client, API, group or session.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// Already exists, or the change contradicts the current state.
    #[error("{0}")]
    Conflict(String),
    /// The input cannot be used (said why, to the person who typed it).
    #[error("{0}")]
    Invalid(String),
    /// An administrative rule refused the action.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A step of a multi-step flow (the second factor owed, a mailed link)
    /// is unknown, used, expired or belongs to another browser or user.
    #[error("this request has expired or was already used")]
    Expired,
    /// The step belongs to another account (a passkey of someone else
    /// answered a second-factor step).
    #[error("that credential belongs to another account")]
    WrongAccount,
    /// A sign-in through an upstream provider stopped (said why in plain words).
    #[error(transparent)]
    Federation(#[from] crate::federation::FederationError),
    #[error(transparent)]
    Authn(AuthnError),
    #[error(transparent)]
    OAuth(OAuthError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AuthnError> for AppError {
    fn from(e: AuthnError) -> Self {
        match e {
            AuthnError::Store(s) => AppError::Store(s),
            AuthnError::LastAdmin => AppError::Refused(Refusal::LastAdmin),
            other => AppError::Authn(other),
        }
    }
}

impl From<OAuthError> for AppError {
    fn from(e: OAuthError) -> Self {
        match e {
            OAuthError::Store(s) => AppError::Store(s),
            other => AppError::OAuth(other),
        }
    }
}
