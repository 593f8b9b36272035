//! Related origins (issue #29): one latchkey's passkeys used from a
//! product's other domains. `/.well-known/webauthn` lists them for the
//! browser; ceremonies whose client data names one of them are accepted,
//! any other origin is refused.
//!
//! The software authenticator checks, as a browser without related-origin
//! support does, that the origin's host ends in the relying-party id; a
//! browser that supports them checks `/.well-known/webauthn` instead. The
//! test plays that browser: it calls the authenticator below that check.

use latchkey_authn::relying_party::{parse_origins, RelyingParty};
use serde_json::json;
use webauthn_authenticator_rs::prelude::{RequestChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::AuthenticatorBackend;

use crate::passkeys::{password_sign_in, register};
use crate::support::{Backend, Browser, TestApp, PASSWORD, USERNAME};

const SHOP: &str = "https://shop.example.co.uk";

/// A passkey sign-in in `browser` whose client data says `origin`.
async fn sign_in_from(browser: &mut Browser, key: &mut SoftPasskey, origin: &str) -> u16 {
    let page = browser.get("/login").await;
    let csrf = page.field("csrf_token").unwrap_or_default();
    let (status, start) = browser.post_json("/login/passkey/start", &csrf, &json!({ "username": USERNAME })).await;
    assert_eq!(status, 200, "{start}");
    let options: RequestChallengeResponse = serde_json::from_value(start["options"].clone()).expect("request options");
    let credential = key.perform_auth(Url::parse(origin).expect("origin"), options.public_key, 60_000).expect("the authenticator signs");
    let (status, _) = browser.post_json("/login/passkey/finish", &csrf, &json!({ "ceremony": start["ceremony"], "credential": credential })).await;
    status
}

async fn related_origins(backend: Backend) {
    let rp = RelyingParty { id: None, related_origins: parse_origins(&format!("{SHOP},https://example.de")).expect("origins") };
    let Some(app) = TestApp::start_with(backend, |s| s.relying_party = rp).await else { return };
    let doc: serde_json::Value = app.http().get(app.url("/.well-known/webauthn")).send().await.expect("get").json().await.expect("json");
    assert_eq!(doc, json!({ "origins": [SHOP, "https://example.de"] }));

    app.add_user(USERNAME, PASSWORD).await;
    let mut setup = app.browser();
    password_sign_in(&mut setup).await;
    let mut key = register(&app, &mut setup, "Phone").await;

    // From the issuer's own origin, and from a related one: signed in.
    let mut home = app.browser();
    assert_eq!(sign_in_from(&mut home, &mut key, &app.issuer).await, 200);
    let mut shop = app.browser();
    assert_eq!(sign_in_from(&mut shop, &mut key, SHOP).await, 200, "a related origin's assertion is accepted");
    assert!(shop.cookies.contains_key("__Host-latchkey-session"));
    // Any other origin, a look-alike, or a related host on another scheme or port: refused.
    for other in ["https://evil.example", "https://shop.example.co.uk.evil.example", "https://shop.example.co.uk:8443", "http://example.de"] {
        let mut browser = app.browser();
        assert_eq!(sign_in_from(&mut browser, &mut key, other).await, 401, "{other}");
        assert!(!browser.cookies.contains_key("__Host-latchkey-session"), "{other}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn related_origins_use_the_passkeys_on_sqlite() {
    related_origins(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn related_origins_use_the_passkeys_on_postgres() {
    related_origins(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_related_origins_the_document_is_not_found_and_other_origins_are_refused() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    assert_eq!(app.http().get(app.url("/.well-known/webauthn")).send().await.expect("get").status(), 404);
    app.add_user(USERNAME, PASSWORD).await;
    let mut setup = app.browser();
    password_sign_in(&mut setup).await;
    let mut key = register(&app, &mut setup, "Phone").await;
    let mut browser = app.browser();
    assert_eq!(sign_in_from(&mut browser, &mut key, SHOP).await, 401);
}
