//! Persistence for latchkey.
//!
//! - [`Db`]: PostgreSQL or SQLite through diesel, one schema, migrations run at start.
//! - [`FastStore`]: short-lived hot state (authorization codes, pending requests,
//!   revoked token ids, rate limits) in Redis, or in process when no Redis is set.
//!
//! Repositories return domain types from `latchkey-domain`; nothing above this
//! crate sees diesel or redis.

pub mod db;
pub mod error;
pub mod fast;
pub mod pg_async;
pub mod prepared;
pub mod repo;
mod schema;
mod sqlite_thread;
mod statement_spans;
pub mod tls;
pub mod writer;

pub use db::{Backend, Db, DbConfig};
pub use error::StoreError;
pub use fast::{FastStore, SPENT_PREFIX};
