//! Repositories: one module per table, plain functions over a connection so a
//! caller can compose them inside one transaction.

pub mod alerts;
pub mod apis;
pub mod audit;
pub mod backchannel;
pub mod clients;
pub mod devices;
pub mod grants;
pub mod groups;
pub mod keys;
pub mod links;
pub mod mfa;
pub mod passkey_policies;
pub mod passkey_providers;
pub mod passkeys;
pub mod providers;
pub mod refresh;
pub mod registration_tokens;
pub mod revocations;
pub mod risk;
pub mod scim;
pub mod sessions;
pub mod short_lived;
pub mod stats;
pub mod users;
pub mod webhooks;

pub use crate::db::DbConnection;
