//! Test harness: a latchkey server in-process on a random port, a browser with
//! a cookie jar, and an OIDC relying party (the `openidconnect` crate).

pub mod app;
pub mod browser;
pub mod cdp;
pub mod client;
pub mod fake_oidc;
pub mod github;
pub mod jwt;
pub mod mds;
pub mod mmdb;
pub mod node;
pub mod raw;
pub mod rp;
pub mod services;
pub mod upstream;

pub use app::{service_client, Backend, TestApp, PASSWORD, REDIRECT_URI, USERNAME};
pub use browser::Browser;
pub use client::TestClient;
pub use rp::{AuthResponse, Rp};
