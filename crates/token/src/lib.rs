//! Keys and tokens: the master key and what it protects, signing keys and the
//! JWKS, ID tokens (OIDC Core §2) and JWT access tokens (RFC 9068).
//!
//! All cryptography goes through `aws-lc-rs` (directly, or via `jsonwebtoken`'s
//! `aws_lc_rs` backend): one audited, constant-time backend.
//!
//! Must not live here: protocol decisions (who may get which token is
//! `latchkey-oauth`'s), or any second crypto backend.

pub mod claims;
pub mod crypto;
pub mod error;
pub mod keys;
pub mod service;

pub use claims::{AccessTokenClaims, Actor, Confirmation, ExchangedFrom, IdTokenClaims, MayAct};
pub use crypto::MasterKey;
pub use error::TokenError;
pub use keys::{KeyRing, SigningKey};
pub use service::{KeyInfo, RefreshPolicy, Revocation, TokenConfig, TokenService};
