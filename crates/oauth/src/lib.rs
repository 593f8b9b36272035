//! The OAuth 2.0 / OpenID Connect protocol: authorization requests, PKCE,
//! client authentication, authorization codes, the token endpoint's grants,
//! discovery and userinfo. No HTTP framework here: the web crate parses requests
//! into these types and renders what comes back. The token endpoint's grants
//! live one file each in `grants/` (its module doc says where a new one goes).
//!
//! Must not live here: actix types, HTML, people's credentials
//! (`latchkey-authn`), and the directory's writes (registering clients, APIs,
//! groups: `latchkey-app`'s `directory`; this crate only reads and caches
//! them); every error is an [`OAuthError`] with its RFC code, turned into
//! HTTP only by the web crate. `service.rs` holds the engine's state only;
//! each concern adds its `impl OAuthService` in its own file.

pub mod admin;
mod api_cache;
pub mod apis;
pub mod audit;
pub mod authorize;
pub mod client_assertion;
pub mod client_auth;
pub mod client_keys;
pub mod code;
pub mod device;
pub mod discovery;
pub mod dpop;
pub mod endpoint_limits;
pub mod error;
mod grants;
pub mod http;
mod introspect;
pub mod issue;
pub mod logout;
pub mod outbound;
pub mod par;
pub mod pkce;
mod protocol;
pub mod remote_jwks;
pub mod service;
pub mod ssf;
pub mod token;
pub mod trace;
pub mod userinfo;

pub use authorize::{AuthorizeParams, Next, PendingAuthorization, Prompt, ResponseMode};
pub use client_auth::{ClientAuth, ClientCredentials};
pub use error::{AuthorizeError, ErrorCode, OAuthError};
pub use service::{OAuthConfig, OAuthService};
pub use token::{TokenRequest, TokenResponse};
