//! Signing in through upstream identity providers (issue #26): latchkey as
//! a relying party of OpenID Connect providers.
//!
//! - [`providers`]: the administered list (add, change, disable, remove;
//!   the client secret sealed at rest like signing keys).
//! - [`upstream`]: talking to one provider: discovery, the authorization
//!   URL (PKCE S256, `state`, `nonce`), the code exchange and the ID token's
//!   checks (signature, `iss`, `aud`, `azp`, `exp`, `nonce`), by the
//!   `openidconnect` crate; no hand-written JOSE.
//! - [`flow`]: the sign-in itself: a flow kept single-use and bound to the
//!   browser that started it, the callback's checks (replay, another
//!   browser, provider mix-up, RFC 9207 `iss`), and what a first sign-in
//!   does with an upstream account (the linking rules).
//!
//! What the browser gets (redirects, cookies, pages) is the web crate's
//! business; a federated sign-in ends in the same
//! `web::sign_in::complete_sign_in` as a password or a passkey.

pub mod flow;
pub mod github;
pub mod links;
pub mod logout;
pub mod providers;
pub mod traced;
pub mod upstream;

use std::time::Duration;

/// How long latchkey waits for an upstream provider (discovery, the token
/// endpoint, userinfo) before it says the provider does not answer.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a federated sign-in stopped. Every variant is said to the user in
/// plain words on a page; none half-creates an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FederationError {
    #[error("no such sign-in provider")]
    UnknownProvider,
    #[error("signing in with {0} is turned off")]
    ProviderDisabled(String),
    /// Down, slow (past [`UPSTREAM_TIMEOUT`]) or answering nonsense.
    #[error("{0} did not answer; try again later")]
    UpstreamUnavailable(String),
    /// The user cancelled, or the provider refused (its `error`).
    #[error("{provider} did not sign you in ({error})")]
    UpstreamRefused { provider: String, error: String },
    /// The answer did not verify: a wrong `iss`, `aud` or `nonce`, an
    /// expired or unsigned ID token, an answer meant for another provider.
    #[error("the answer from {provider} could not be verified, so it was not used")]
    InvalidResponse { provider: String, reason: String },
    /// Sign-up through this provider is off and no account is linked.
    #[error("there is no account here for your {0} account; ask an administrator to invite you")]
    NoAccount(String),
    /// Sign-up needs an email address, and the provider shared none.
    #[error("{0} did not share an email address, which a new account needs")]
    NoEmail(String),
    /// The upstream account is linked to another account already, or this
    /// account has another account of that provider linked.
    #[error("that {0} account is linked to another account")]
    LinkedElsewhere(String),
    /// Unlinking would leave the account without a way in.
    #[error("this is your only way to sign in; add a passkey first")]
    LastWayIn,
}
