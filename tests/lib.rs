//! Test-only crate: see integration/main.rs.
