//! End-to-end tests: a latchkey server in-process, driven over HTTP by a
//! browser with a cookie jar and by the `openidconnect` crate as the relying
//! party; on the embedded default (SQLite + in-process) and on PostgreSQL + Redis.

mod a11y;
mod accounts;
mod anomalies;
mod apis;
mod browser;
mod client_metadata;
mod code_flow;
mod console;
mod device;
mod dpop;
mod failures;
mod federation;
mod form_post;
mod i18n;
mod interop;
mod look;
mod mcp;
mod mfa;
mod operations;
mod par;
mod passkey_only;
mod passkey_policy;
mod passkey_providers;
mod passkeys;
mod private_key_jwt;
mod registration;
mod related_origins;
mod resilience;
mod risk;
mod scim;
mod security;
mod sessions;
mod ssf;
mod support;
mod token_exchange;
mod tokens;
mod webhooks;
