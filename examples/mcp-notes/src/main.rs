//! Runs the example MCP server "Notes":
//!
//! ```sh
//! LATCHKEY_ISSUER=http://localhost:8080 MCP_NOTES_BIND=127.0.0.1:9091 \
//!   cargo run -p latchkey-example-mcp-notes
//! ```
//!
//! Register it at latchkey as an API whose audience is the MCP endpoint's
//! URL (`MCP_NOTES_AUDIENCE`, by default `http://<bind>/mcp`) with the
//! scopes `notes:read` and `notes:write`; an MCP client pointed at that URL
//! finds latchkey by itself.

use std::sync::Arc;

use actix_web::{App, HttpServer};
use latchkey_resource::Verifier;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let issuer = std::env::var("LATCHKEY_ISSUER").unwrap_or_else(|_| "http://localhost:8080".into());
    let bind = std::env::var("MCP_NOTES_BIND").unwrap_or_else(|_| "127.0.0.1:9091".into());
    let audience = std::env::var("MCP_NOTES_AUDIENCE").unwrap_or_else(|_| format!("http://{bind}{}", latchkey_example_mcp_notes::MCP_PATH));
    let verifier = Arc::new(Verifier::new(&issuer, &audience, &format!("{}/jwks", issuer.trim_end_matches('/')), reqwest::Client::new()));
    println!("MCP server Notes at {audience}, accepting tokens of {issuer}");
    let notes = latchkey_example_mcp_notes::Notes::new(verifier);
    HttpServer::new(move || App::new().configure(latchkey_example_mcp_notes::configure(notes.clone()))).bind(bind)?.run().await
}
