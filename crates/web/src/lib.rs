//! The HTTP frontend: routes, pages, cookies, and the one place where errors
//! become responses. The use cases live in `latchkey-app` (reached through
//! [`AppState`]'s `Deref` to `App`), protocol logic in `latchkey-oauth`,
//! people in `latchkey-authn`, keys and tokens in `latchkey-token`.
//!
//! Lives here: routes, handlers (parse, call one use case, map the error
//! once in `error.rs`), guards (`guards`: extractors and checks, never one
//! handler's function called by another), the browser's side of a sign-in
//! (`sign_in`), the admin API (`admin/`: one file per resource, typed
//! requests and responses, its OpenAPI document generated from the
//! handlers), pages, cookies and CSRF. Must not live here: rules a CLI or
//! the admin API must also obey (they belong in `latchkey-app`, where every
//! door reaches them) and direct store writes from handlers.

pub mod access_log;
pub mod admin;
pub mod branding;
pub mod browser;
pub mod charts;
pub mod client_ip;
pub mod config;
pub mod csp;
pub mod error;
pub mod format;
pub mod guards;
mod handlers;
pub mod json_post;
pub mod lang;
pub mod limits;
pub mod metrics;
pub mod pages;
pub mod pending;
pub mod plain_words;
mod qr;
pub mod request_id;
pub mod request_span;
pub mod routes;
pub mod server;
pub mod session_ops;
pub mod sign_in;
pub mod state;

pub use config::Settings;
pub use error::WebError;
pub use server::start;
pub use state::{build_app, open_stores, AppState, StartupError, Stores};

/// An API as the admin API and the CLI print it (at the server with issuer `issuer`).
pub fn admin_api_json(api: &latchkey_domain::Api, issuer: &str) -> serde_json::Value {
    admin::apis::api_json(api, issuer)
}
