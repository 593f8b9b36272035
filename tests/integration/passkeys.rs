//! Passkeys with a software authenticator (webauthn-authenticator-rs).

use latchkey_domain::SigningAlg;
use openidconnect::TokenResponse;
use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;

use crate::support::{jwt, AuthResponse, Backend, Browser, Rp, TestApp, PASSWORD, USERNAME};

pub(crate) async fn password_sign_in(browser: &mut Browser) {
    let login = browser.get("/login").await;
    let done = browser.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_eq!(done.location.as_deref(), Some("/account"));
}

/// Registers a new soft passkey for the signed-in browser.
pub(crate) async fn register(app: &TestApp, browser: &mut Browser, name: &str) -> SoftPasskey {
    let account = browser.get("/account").await;
    assert!(account.body.contains(">Add a passkey</button>"));
    let csrf = account.field("csrf_token").unwrap_or_default();
    let (status, start) = browser.post_json("/account/passkeys/register/start", &csrf, &json!({})).await;
    assert_eq!(status, 200, "{start}");
    let options: CreationChallengeResponse = serde_json::from_value(start["options"].clone()).expect("creation options");
    let mut authenticator = SoftPasskey::new(true);
    let credential = authenticator.do_registration(Url::parse(&app.issuer).expect("origin"), options).expect("soft passkey registers");
    let (status, done) = browser.post_json("/account/passkeys/register/finish", &csrf, &json!({ "ceremony": start["ceremony"], "name": name, "credential": credential })).await;
    assert_eq!(status, 200, "{done}");
    authenticator
}

/// Starts a passkey sign-in in `browser` from `page` (the sign-in page), answers with `key` as seen from `origin`.
pub(crate) async fn passkey_sign_in(browser: &mut Browser, page: &crate::support::browser::Page, key: &mut SoftPasskey, origin: &str) -> (u16, Value, Value) {
    let csrf = page.field("csrf_token").unwrap_or_default();
    let body = json!({ "username": USERNAME, "authz": page.field("authz") });
    let (status, start) = browser.post_json("/login/passkey/start", &csrf, &body).await;
    assert_eq!(status, 200, "{start}");
    let options: RequestChallengeResponse = serde_json::from_value(start["options"].clone()).expect("request options");
    let credential = key.do_authentication(Url::parse(origin).expect("origin"), options).expect("soft passkey signs");
    let finish = json!({ "ceremony": start["ceremony"], "credential": credential });
    let (status, done) = browser.post_json("/login/passkey/finish", &csrf, &finish).await;
    (status, done, finish)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_a_passkey_and_sign_in_without_a_password() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let mut setup = app.browser();
    password_sign_in(&mut setup).await;
    let mut key = register(&app, &mut setup, "Laptop key").await;
    assert!(setup.get("/account").await.body.contains("Laptop key"));

    // A new browser signs in to the relying party with the passkey alone.
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let first = browser.get(&req.url).await;
    let login = browser.get(first.location.as_deref().unwrap_or_default()).await;
    assert!(login.body.contains(">Sign in with a passkey</button>"));
    let (status, done, finish) = passkey_sign_in(&mut browser, &login, &mut key, &app.issuer).await;
    assert_eq!(status, 200, "{done}");
    let next = done["redirect"].as_str().expect("where to go").to_string();
    assert!(browser.cookies.contains_key("__Host-latchkey-session"));
    let consent = browser.get(&next).await;
    let allowed =
        browser.post_form("/consent", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("authz", &consent.field("authz").unwrap_or_default()), ("decision", "allow")]).await;
    let resp = AuthResponse::parse(allowed.location.as_deref().unwrap_or_default());
    let tokens = rp.exchange(resp.code.as_deref().unwrap_or_default(), req.verifier).await.expect("exchange");
    let claims = jwt::payload(&tokens.id_token().expect("id").to_string());
    let amr: Vec<String> = serde_json::from_value(claims["amr"].clone()).unwrap_or_default();
    assert!(amr.iter().any(|a| a == "hwk" || a == "swk"), "a passkey value in amr: {amr:?}");
    assert!(amr.contains(&"user".to_string()) && !amr.contains(&"pwd".to_string()), "{amr:?}");
    assert_eq!(claims["acr"], "urn:latchkey:acr:phr", "user-verified passkeys are phishing-resistant");

    // The sign-in renewed the CSRF secret: the old page's token is dead.
    let (status, _) = browser.post_json("/login/passkey/finish", &login.field("csrf_token").unwrap_or_default(), &finish).await;
    assert_eq!(status, 403, "a form token from before the sign-in is refused");
    // The same signed assertion again, with a current token: its challenge was single-use.
    let fresh = browser.get("/login").await.field("csrf_token").unwrap_or_default();
    let (status, replay) = browser.post_json("/login/passkey/finish", &fresh, &finish).await;
    assert_eq!(status, 400, "a replayed challenge is refused: {replay}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_origin_is_refused() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut setup = app.browser();
    password_sign_in(&mut setup).await;
    let mut key = register(&app, &mut setup, "Key").await;
    let mut browser = app.browser();
    let login = browser.get("/login").await;
    // Same host (the authenticator accepts it), another port: not our origin.
    let other_port = format!("http://localhost:{}", app.addr.port() + 1);
    let (status, done, _) = passkey_sign_in(&mut browser, &login, &mut key, &other_port).await;
    assert_eq!(status, 401, "{done}");
    assert!(!browser.cookies.contains_key("__Host-latchkey-session"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_passkeys_then_remove_one() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    password_sign_in(&mut browser).await;
    let mut first = register(&app, &mut browser, "First key").await;
    // The account now has a passkey: changing passkeys needs it (a password alone no longer will).
    let account = browser.get("/account").await;
    let (status, _) = browser.post_json("/account/passkeys/register/start", &account.field("csrf_token").unwrap_or_default(), &json!({})).await;
    assert_eq!(status, 403, "password-only session cannot add a second passkey");
    let login = browser.get("/login").await;
    let (status, done, _) = passkey_sign_in(&mut browser, &login, &mut first, &app.issuer).await;
    assert_eq!(status, 200, "{done}");
    let _second = register(&app, &mut browser, "Second key").await;
    let account = browser.get("/account").await;
    assert!(account.body.contains("First key") && account.body.contains("Second key"));
    // Remove the first (its id is the first `id` field after the csrf token in the list).
    let ids: Vec<String> = account.body.split(r#"name="id" value=""#).skip(1).filter_map(|s| s.split('"').next()).map(str::to_string).collect();
    let removed = browser.post_form("/account/passkeys/remove", &[("csrf_token", &account.field("csrf_token").unwrap_or_default()), ("id", &ids[0])]).await;
    assert_eq!(removed.location.as_deref(), Some("/account"));
    let after = browser.get("/account").await;
    assert!(!after.body.contains("First key") && after.body.contains("Second key"));
    // The removed key is no longer offered (or accepted) for sign-in.
    let mut other = app.browser();
    let login = other.get("/login").await;
    let (_, start) = other.post_json("/login/passkey/start", &login.field("csrf_token").unwrap_or_default(), &json!({ "username": USERNAME })).await;
    let allowed: Vec<String> = start["options"]["publicKey"]["allowCredentials"].as_array().map(|l| l.iter().filter_map(|c| c["id"].as_str().map(str::to_string)).collect()).unwrap_or_default();
    assert_eq!(allowed.len(), 1, "{start}");
    assert!(!allowed.contains(&ids[0]));
    let options: RequestChallengeResponse = serde_json::from_value(start["options"].clone()).expect("options");
    assert!(first.do_authentication(Url::parse(&app.issuer).expect("origin"), options).is_err(), "the removed key has nothing to answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_a_passkey_needs_a_recent_sign_in_and_the_csrf_header() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    password_sign_in(&mut browser).await;
    let csrf = browser.get("/account").await.field("csrf_token").unwrap_or_default();
    let (status, _) = browser.post_json("/account/passkeys/register/start", "forged", &json!({})).await;
    assert_eq!(status, 403, "no valid CSRF header");
    app.clock.advance(301);
    let (status, body) = browser.post_json("/account/passkeys/register/start", &csrf, &json!({})).await;
    assert_eq!(status, 403, "stale sign-in: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_is_also_a_second_factor_after_a_password() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut setup = app.browser();
    password_sign_in(&mut setup).await;
    let mut key = register(&app, &mut setup, "Phone").await;

    let mut browser = app.browser();
    let login = browser.get("/login").await;
    let step = browser.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)]).await;
    let mfa_url = step.location.clone().unwrap_or_default();
    assert!(mfa_url.starts_with("/login/mfa?m="), "a user with a passkey owes a second factor after a password: {mfa_url}");
    let page = browser.get(&mfa_url).await;
    assert!(page.body.contains(">Use a passkey</button>") && !page.body.contains("Authentication code"), "no TOTP: only the passkey is offered");
    let (csrf, m) = (page.field("csrf_token").unwrap_or_default(), page.field("m").unwrap_or_default());
    let (status, start) = browser.post_json("/login/passkey/start", &csrf, &json!({ "second_factor": m })).await;
    assert_eq!(status, 200, "{start}");
    let options: RequestChallengeResponse = serde_json::from_value(start["options"].clone()).expect("options");
    let credential = key.do_authentication(Url::parse(&app.issuer).expect("origin"), options).expect("signs");
    let (status, done) = browser.post_json("/login/passkey/finish", &csrf, &json!({ "ceremony": start["ceremony"], "credential": credential })).await;
    assert_eq!((status, done["redirect"].as_str()), (200, Some("/account")), "{done}");
    let account = browser.get("/account").await;
    assert!(account.body.contains("with password and passkey"), "password and passkey both recorded, in plain words: {}", account.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_users_are_invited_to_add_a_passkey_until_they_say_not_now() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    password_sign_in(&mut browser).await;
    let account = browser.get("/account").await;
    assert!(account.body.contains("Upgrade your sign-in with a passkey"));
    browser.post_form("/account/passkeys/dismiss-prompt", &[("csrf_token", &account.field("csrf_token").unwrap_or_default())]).await;
    assert!(!browser.get("/account").await.body.contains("Upgrade your sign-in with a passkey"), "not shown again for a while");
}

/// Finding 28 of issue #24: a disabled account's passkey sign-in says so,
/// in the page's language, instead of "request failed (403)".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_accounts_passkey_sign_in_says_so_in_the_pages_language() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let user = app.add_user(USERNAME, PASSWORD).await;
    let mut setup = app.browser();
    password_sign_in(&mut setup).await;
    let mut key = register(&app, &mut setup, "Key").await;
    assert!(app.state.authn.set_disabled(&user.id, true).await.expect("disable"));
    for (lang, words) in [("en", "This account is disabled. Contact your administrator."), ("de", "Dieses Konto ist deaktiviert.")] {
        let mut browser = app.browser();
        browser.headers.push(("accept-language".into(), lang.into()));
        let login = browser.get("/login").await;
        let (status, done, _) = passkey_sign_in(&mut browser, &login, &mut key, &app.issuer).await;
        assert_eq!(status, 403, "{done}");
        assert_eq!(done["error"], "account_disabled", "{done}");
        assert!(done["message"].as_str().is_some_and(|m| m.starts_with(words)), "{lang}: {done}");
        assert!(!browser.cookies.contains_key("__Host-latchkey-session"), "no session");
    }
    // The script shows that sentence as it is.
    let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../static/passkeys.js")).unwrap_or_default();
    assert!(script.contains("if (e.sentence) return e.sentence;"));
}

/// Finding 17 of issue #24: passkey sign-in ceremonies (which anyone can
/// park) are capped per address; past the cap, 429 as JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_sign_in_starts_are_capped_per_address() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = TestApp::start(backend).await else {
            continue;
        };
        let mut browser = app.browser();
        let login = browser.get("/login").await;
        let csrf = login.field("csrf_token").unwrap_or_default();
        let (status, _) = browser.post_json("/login/passkey/start", &csrf, &json!({ "conditional": true })).await;
        assert_eq!(status, 200, "{backend:?}");
        // This address's earlier starts, up to the cap (counted as the endpoint counts them).
        let limit = latchkey_authn::rate_limit::PASSKEY_START_PER_IP;
        for _ in 1..limit.max {
            let _ = app.state.limiter.hit(limit, "127.0.0.1").await;
        }
        let (status, over) = browser.post_json("/login/passkey/start", &csrf, &json!({ "conditional": true })).await;
        assert_eq!(status, 429, "{backend:?}: {over}");
        assert!(over.get("options").is_none(), "no ceremony past the cap");
    }
}

/// Issue #29: "Use a security key" and "Use a passkey on your phone" pass
/// WebAuthn `hints` to the browser; an unknown hint is refused, none is the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ceremonies_carry_the_hint_the_page_gives() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    password_sign_in(&mut browser).await;
    let account = browser.get("/account").await;
    assert!(account.body.contains(r#"data-hint="security-key""#) && account.body.contains(">Use a security key</button>"));
    let csrf = account.field("csrf_token").unwrap_or_default();
    let (status, start) = browser.post_json("/account/passkeys/register/start", &csrf, &json!({ "hint": "security-key" })).await;
    assert_eq!(status, 200, "{start}");
    assert_eq!(start["options"]["publicKey"]["hints"], json!(["security-key"]));
    let (_, start) = browser.post_json("/account/passkeys/register/start", &csrf, &json!({})).await;
    assert!(start["options"]["publicKey"].get("hints").is_none_or(|h| h.is_null()), "no hint unless the page gives one: {start}");
    let (status, _) = browser.post_json("/account/passkeys/register/start", &csrf, &json!({ "hint": "smartwatch" })).await;
    assert_eq!(status, 400, "an unknown hint");

    let mut other = app.browser();
    let login = other.get("/login").await;
    assert!(login.body.contains(r#"data-hint="hybrid""#) && login.body.contains(">Use a passkey on your phone</button>"));
    let csrf = login.field("csrf_token").unwrap_or_default();
    let (status, start) = other.post_json("/login/passkey/start", &csrf, &json!({ "hint": "hybrid" })).await;
    assert_eq!(status, 200, "{start}");
    assert_eq!(start["options"]["publicKey"]["hints"], json!(["hybrid"]));
}
