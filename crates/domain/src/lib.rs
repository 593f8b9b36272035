//! Domain types shared by every latchkey crate.
//!
//! This crate depends on nothing of the web framework, the database or the cache:
//! it holds the vocabulary (users, clients, scopes, sessions, authentication
//! methods) and the clock, so protocol logic can be unit tested without I/O.

pub mod admin;
pub mod alert;
pub mod api;
pub mod auth_method;
pub mod client;
pub mod clock;
pub mod event;
pub mod provider;
pub mod risk;
pub mod scope;
pub mod secret;
pub mod session;
pub mod user;

pub use admin::{ClientAction, UserAction};
pub use alert::{AccountChange, Acknowledgement, Alert, Anomaly, AnomalyKind, RaisedAnomaly};
pub use api::{Api, ApiScope};
pub use auth_method::{Acr, Amr};
pub use client::{Client, ClientId, ClientKind, ClientLinks, GrantType, SigningAlg, TokenExchangePolicy, DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use event::{
    Actor, ClientChange, CodesCause, Disowned, EndedSessions, EventKind, FactorFailure, Invitation, Outcome, PasskeyAddedVia, PasskeyRefusal, RecoveryFactor, Removal, RevokedGrants, SecurityEvent,
};
pub use provider::{LinkRule, Provider, ProviderKind};
pub use risk::{RiskLevel, RiskSignal, SignInRisk, StepUp};
pub use scope::{Scope, ScopeSet};
pub use secret::Secret;
pub use session::{Session, SessionKey};
pub use user::{Profile, User, UserId};
