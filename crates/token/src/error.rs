use latchkey_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),
    #[error("the master key is missing or malformed: {0}")]
    MasterKey(String),
    #[error("no signing key for {0}")]
    NoKey(&'static str),
    #[error("token is invalid: {0}")]
    Invalid(String),
    #[error("token has been revoked")]
    Revoked,
}

impl From<jsonwebtoken::errors::Error> for TokenError {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        TokenError::Invalid(e.to_string())
    }
}
