//! Step-up that reaches the API (RFC 9470), end to end: a password-only
//! token is refused by the example API's sensitive route with the challenge;
//! the relying party re-authorizes with the challenge's `acr_values` and
//! `max_age`; the user presents only the missing factor; the new token passes.

use latchkey_domain::GrantType;
use openidconnect::OAuth2TokenResponse;

use super::{call, client, register_apis, start_orders_api, BILLS, ORDERS};
use crate::mfa::{answer_second_step, code_at, enrol, sign_in_password};
use crate::support::raw::post_form;
use crate::support::rp::sign_in_default;
use crate::support::{jwt, AuthResponse, Backend, Rp, TestApp, PASSWORD, USERNAME};

/// Reads `name="value"` out of a `WWW-Authenticate` challenge.
fn param(challenge: &str, name: &str) -> Option<String> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    Some(challenge[start..].split('"').next()?.to_string())
}

async fn step_up_loop(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (_, bills_id, bills_secret) = register_apis(&app).await;
    let (id, secret) = client(&app, "openid profile", &["orders:read"], vec![GrantType::AuthorizationCode, GrantType::RefreshToken]).await;
    let rp = Rp::discover(&app, &id, Some(&secret)).await;
    let orders_api = start_orders_api(&app, ORDERS).await;
    let bills_api = start_orders_api(&app, BILLS).await;

    // The user signs in with a password, then sets up an authenticator app:
    // the session is still password-only.
    let mut browser = app.browser();
    sign_in_password(&mut browser).await;
    let (totp, _) = enrol(&app, &mut browser).await;
    let req = rp.authorize_scopes(&["orders:read"], &[("resource", ORDERS)]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let token = rp.exchange(&code, req.verifier).await.expect("exchange").access_token().secret().clone();
    assert_eq!(jwt::payload(&token)["acr"], "urn:latchkey:acr:pwd");

    let (status, _, body) = call(&format!("{orders_api}/orders"), &token).await;
    assert_eq!(status, 200, "the ordinary route takes a password-only token: {body}");
    let (status, challenge, _) = call(&format!("{orders_api}/orders/export"), &token).await;
    assert_eq!(status, 401);
    assert!(challenge.contains(r#"error="insufficient_user_authentication""#), "{challenge}");
    let acr_values = param(&challenge, "acr_values").expect("acr_values in the challenge");
    let max_age = param(&challenge, "max_age").expect("max_age in the challenge");
    assert_eq!(acr_values, "urn:latchkey:acr:mfa urn:latchkey:acr:phr");

    // The same token at another API: wrong audience.
    let (status, challenge, _) = call(&format!("{bills_api}/orders"), &token).await;
    assert_eq!(status, 401);
    assert!(challenge.contains(r#"error="invalid_token""#), "{challenge}");
    let foreign = post_form(&app, "/introspect", &[("token", &token)], Some((&bills_id, &bills_secret))).await;
    assert_eq!(foreign.body["active"], false);
    // RFC 9728: the challenge points at the API's protected resource
    // metadata, which names latchkey as its authorization server.
    let metadata_url = param(&challenge, "resource_metadata").expect("resource_metadata in the challenge");
    assert_eq!(metadata_url, format!("{bills_api}/.well-known/oauth-protected-resource"));
    let doc: serde_json::Value = reqwest::Client::new().get(&metadata_url).send().await.expect("metadata").json().await.expect("json");
    assert_eq!(doc["authorization_servers"], serde_json::json!([app.issuer]));
    assert_eq!(doc["scopes_supported"], serde_json::json!(["orders:read"]));
    assert_eq!(doc["bearer_methods_supported"], serde_json::json!(["header"]));
    // No token, a garbage token, a token without the scope.
    assert_eq!(call(&format!("{orders_api}/orders"), "not-a-token").await.0, 401);
    let r = reqwest::Client::new().get(format!("{orders_api}/orders")).send().await.expect("call");
    let bare = format!(r#"Bearer realm="api", resource_metadata="{orders_api}/.well-known/oauth-protected-resource", DPoP algs="ES256 EdDSA Ed25519 PS256 RS256""#);
    assert_eq!((r.status().as_u16(), r.headers().get("www-authenticate").and_then(|v| v.to_str().ok())), (401, Some(bare.as_str())));

    // The relying party re-authorizes with the challenge; the user gives only
    // the code (of the next time step: each is accepted once).
    app.clock.advance(30);
    let again = rp.authorize_scopes(&["orders:read"], &[("resource", ORDERS), ("acr_values", &acr_values), ("max_age", &max_age)]);
    let step = browser.get(&again.url).await.location.unwrap_or_default();
    assert!(step.starts_with("/login"), "{step}");
    let login = browser.get(&step).await;
    let mfa = login.location.clone().unwrap_or_default();
    assert!(mfa.starts_with("/login/mfa?m="), "only the missing factor is asked for: {mfa} {}", login.body);
    let done = answer_second_step(&mut browser, &mfa, &code_at(&totp, app.clock_now())).await;
    let back = done.location.clone().unwrap_or_default();
    let code = AuthResponse::parse(&back).code.unwrap_or_else(|| panic!("code after step-up: {back} {}", done.body));
    let stepped = rp.exchange(&code, again.verifier).await.expect("exchange").access_token().secret().clone();
    assert_eq!(jwt::payload(&stepped)["acr"], "urn:latchkey:acr:mfa");
    let (status, _, body) = call(&format!("{orders_api}/orders/export"), &stepped).await;
    assert_eq!(status, 200, "{body}");

    // Freshness counts too: after the route's max_age, the challenge is back.
    app.clock.advance(latchkey_example_orders_api::EXPORT_MAX_AGE + 1);
    let (status, challenge, _) = call(&format!("{orders_api}/orders/export"), &stepped).await;
    assert!(status == 401 && (challenge.contains("insufficient_user_authentication") || challenge.contains("invalid_token")), "{status} {challenge}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_up_reaches_the_api_on_sqlite() {
    step_up_loop(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_up_reaches_the_api_on_postgres_and_redis() {
    step_up_loop(Backend::Postgres).await;
}
