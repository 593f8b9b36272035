//! Service-level tests: the use cases over SQLite, the in-process fast
//! store and a manual clock — no server, no HTTP, a few milliseconds each
//! (argon2 aside). Rules that every door shares are tested here once; the
//! integration tests check each door reaches them.

mod admin_rules;
mod harness;
mod sign_in;
