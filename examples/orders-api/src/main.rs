//! Runs the example Orders API:
//!
//! ```sh
//! LATCHKEY_ISSUER=http://localhost:8080 ORDERS_AUDIENCE=https://api.example.com/orders \
//!   cargo run -p latchkey-example-orders-api
//! ```

use std::sync::Arc;

use actix_web::{App, HttpServer};
use latchkey_resource::Verifier;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let issuer = std::env::var("LATCHKEY_ISSUER").unwrap_or_else(|_| "http://localhost:8080".into());
    let audience = std::env::var("ORDERS_AUDIENCE").unwrap_or_else(|_| "https://api.example.com/orders".into());
    let bind = std::env::var("ORDERS_BIND").unwrap_or_else(|_| "127.0.0.1:9090".into());
    let verifier = Arc::new(Verifier::new(&issuer, &audience, &format!("{}/jwks", issuer.trim_end_matches('/')), reqwest::Client::new()));
    println!("Orders API on http://{bind}, accepting tokens of {issuer} for {audience}");
    HttpServer::new(move || App::new().configure(latchkey_example_orders_api::configure(verifier.clone()))).bind(bind)?.run().await
}
