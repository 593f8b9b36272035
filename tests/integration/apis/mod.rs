//! Access tokens for real APIs: registered APIs and scopes, resource
//! indicators, groups and roles, and step-up that reaches the API.

mod flows;
mod step_up;

use std::sync::Arc;

use actix_web::{App, HttpServer};
use latchkey_domain::{Clock, GrantType, ScopeSet};
use serde_json::{json, Value};

use crate::accounts::{admin_post, admin_token};
use crate::support::TestApp;

pub const ORDERS: &str = "https://orders.example/api";
pub const BILLS: &str = "https://bills.example/api";

/// Registers the Orders API (EdDSA, 5 min) and the Bills API (RS256, 10 min,
/// with introspection credentials); returns the admin token and Bills' id and secret.
pub async fn register_apis(app: &TestApp) -> (String, String, String) {
    let admin = admin_token(app).await;
    let (status, orders) = admin_post(
        app,
        "/admin/api/v1/apis",
        Some(&admin),
        &json!({
            "name": "Orders", "audience": ORDERS,
            "scopes": [{ "name": "orders:read", "description": "Read your orders" }, { "name": "orders:write", "description": "Change your orders" }],
        }),
    )
    .await;
    assert_eq!(status, 201, "{orders}");
    let (status, bills) = admin_post(
        app,
        "/admin/api/v1/apis",
        Some(&admin),
        &json!({
            "name": "Bills", "audience": BILLS, "scopes": [{ "name": "bills:read" }], "signing_alg": "RS256", "access_token_ttl": 600, "introspection_secret": true,
        }),
    )
    .await;
    assert_eq!(status, 201, "{bills}");
    (admin, bills["id"].as_str().unwrap_or_default().to_string(), bills["introspection_secret"].as_str().unwrap_or_default().to_string())
}

/// A confidential client with the code and refresh grants, the OIDC scopes
/// `oidc` and the API scopes `api`.
pub async fn client(app: &TestApp, oidc: &str, api: &[&str], grants: Vec<GrantType>) -> (String, String) {
    let scopes = ScopeSet::parse_lenient(oidc).union(&ScopeSet::from_api_names(api.iter().copied()));
    crate::support::TestClient::web_app("API client").grants(grants).scopes(scopes).register_confidential(app).await
}

/// Starts the example Orders API (accepting tokens for `audience`) in this
/// process; returns its base URL.
pub async fn start_orders_api(app: &TestApp, audience: &str) -> String {
    let http = reqwest::Client::builder().resolve("localhost", app.addr).build().expect("http");
    let clock = app.clock.clone();
    let verifier = Arc::new(latchkey_resource::Verifier::new(&app.issuer, audience, &app.url("/jwks"), http).with_clock(Arc::new(move || clock.now())));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = HttpServer::new(move || App::new().configure(latchkey_example_orders_api::configure(verifier.clone()))).workers(1).listen(listener).expect("listen").run();
    tokio::spawn(server);
    format!("http://{addr}")
}

/// GET `url` with a bearer token: status, `WWW-Authenticate`, body.
pub async fn call(url: &str, token: &str) -> (u16, String, Value) {
    let r = reqwest::Client::new().get(url).bearer_auth(token).send().await.expect("api call");
    let status = r.status().as_u16();
    let challenge = r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, challenge, serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null))
}
