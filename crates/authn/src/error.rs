use latchkey_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    /// Unknown user or wrong password: deliberately one variant, so callers
    /// cannot tell the two apart either.
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("too many attempts; try again later")]
    Throttled,
    /// A rate limit on requests (sign-up, recovery, links): try again after
    /// `retry_after` seconds.
    #[error("too many requests; try again in {retry_after} seconds")]
    RateLimited { retry_after: i64 },
    #[error("{0}")]
    InvalidInput(String),
    /// A passkey-only account (issue #29) cannot have a password.
    #[error("this account signs in with passkeys only; it cannot have a password")]
    PasskeyOnly,
    /// A passkey sign-in presented a credential latchkey does not know (it
    /// was removed, or its account deleted): the page tells the password
    /// manager (WebAuthn `signalUnknownCredential`, issue #29).
    #[error("this passkey is no longer registered here")]
    UnknownPasskey,
    /// The authenticator policy (issue #29) does not allow this passkey.
    #[error("{0}")]
    PasskeyRefused(crate::authenticator_policy::Refusal),
    #[error("a user with that username already exists")]
    UserExists,
    /// The account exists and the credentials were right, but an admin disabled it.
    #[error("this account is disabled; contact your administrator")]
    Disabled,
    /// Taking admin rights away would leave no enabled administrator.
    #[error("this is the last administrator; make someone else an administrator first")]
    LastAdmin,
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}
