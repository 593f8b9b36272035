//! Protocol errors, with the exact error codes of RFC 6749 §4.1.2.1 / §5.2,
//! OIDC Core §3.1.2.6, RFC 6750 §3.1 and RFC 8628 §3.5.

use latchkey_store::StoreError;
use latchkey_token::TokenError;

/// Error codes as they appear on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    InvalidToken,
    InsufficientScope,
    /// RFC 8707 §2: the `resource` is not one we issue tokens for.
    InvalidTarget,
    /// OpenID Connect Core Unmet Authentication Requirements 1.0.
    UnmetAuthenticationRequirements,
    /// RFC 8628 §3.5: the user has not answered yet; poll again.
    AuthorizationPending,
    /// RFC 8628 §3.5: still pending, and polled too fast: wait 5 s longer from now on.
    SlowDown,
    /// RFC 8628 §3.5: the device code has expired; start over.
    ExpiredToken,
    /// RFC 9449 §5: the DPoP proof is missing, malformed or does not fit the request.
    InvalidDpopProof,
    /// RFC 9449 §8: the proof must carry the server nonce given in `DPoP-Nonce`.
    UseDpopNonce,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

/// An error answered as JSON (token, userinfo, revocation, introspection endpoints).
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{code:?}: {description}")]
    Protocol { code: ErrorCode, description: String },
    /// Client authentication failed: 401 with `WWW-Authenticate` (RFC 6749 §5.2).
    #[error("client authentication failed")]
    ClientAuthentication { used_basic: bool },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("token: {0}")]
    Token(TokenError),
    /// Over an endpoint's rate limit: 429 with `Retry-After` (seconds).
    #[error("rate limit reached; retry after {retry_after} s")]
    RateLimited { retry_after: u64 },
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> OAuthError {
        OAuthError::Protocol { code, description: description.into() }
    }

    pub fn invalid_request(d: impl Into<String>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidRequest, d)
    }

    pub fn invalid_grant(d: impl Into<String>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidGrant, d)
    }
}

impl From<TokenError> for OAuthError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Store(s) => OAuthError::Store(s),
            other => OAuthError::Token(other),
        }
    }
}

/// What can go wrong with an authorization request, split by the one question
/// that matters for safety: may we redirect back to the client?
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// The client or redirect URI could not be trusted: show a page, NEVER redirect
    /// (RFC 6749 §4.1.2.1 first paragraph).
    #[error("{0}")]
    NoRedirect(String),
    /// A validated redirect URI: send the error there.
    #[error("{code:?}: {description}")]
    Redirect { redirect_uri: String, state: Option<String>, code: ErrorCode, description: String },
    #[error("store: {0}")]
    Store(#[from] StoreError),
}
