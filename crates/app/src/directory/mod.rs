//! The directory administrators keep: clients, APIs and groups. The
//! protocol reads it (`latchkey_oauth` looks clients and APIs up, cached);
//! only this module, through [`crate::admin::Admin`], writes it, each change
//! checked, audited with who made it, and the protocol's caches told.

pub mod apis;
pub mod clients;
pub mod groups;
