//! Authentication of people: passwords now (argon2id); passkeys and second
//! factors build on the same [`Authenticator`].
//!
//! Lives here: passwords, second factors, passkeys, login throttling,
//! sessions and remembered devices, single-use links, notices and mail.
//! Must not live here: actix or askama request types (the web crate parses
//! and renders), OAuth protocol rules (`latchkey-oauth`), SQL (`latchkey-store`).

pub mod added;
pub mod authenticator_policy;
pub mod device_name;
pub mod devices;
pub mod error;
pub mod fido_metadata;
pub mod links;
pub mod mail;
pub mod mfa;
pub mod notice;
pub mod passkey_kind;
pub mod passkey_only;
pub mod passkey_providers;
pub mod passkeys;
pub mod password;
pub mod password_policy;
pub mod rate_limit;
pub mod relying_party;
pub mod risk;
pub mod service;
pub mod sessions;
pub mod throttle;
pub mod ways_in;

pub use devices::{DeviceService, Restore};
pub use error::AuthnError;
pub use links::{LinkService, Purpose};
pub use mail::{Mail, Mailer};
pub use mfa::{MfaService, TotpEnrolment};
pub use notice::Notice;
pub use passkey_kind::PasskeyKind;
pub use passkey_providers::{PasskeyProviders, ProviderName};
pub use passkeys::{PasskeyInfo, PasskeyService, PasskeySignIn};
pub use password::PasswordHasher;
pub use password_policy::PasswordPolicy;
pub use rate_limit::RateLimiter;
pub use service::{Authenticator, NewUser, SignInRefused};
pub use sessions::{Binding, ClientInfo, NewSession, SessionLimits, SessionService};
pub use throttle::LoginThrottle;
