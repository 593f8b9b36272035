//! Dynamic client registration (RFC 7591) and its management (RFC 7592),
//! issue #27: each policy, every metadata rule, the registration access
//! token, loopback redirect URIs on any port, and a self-registered client
//! signing a user in (its consent page says it registered itself).

use latchkey_app::registration::RegistrationPolicy;
use openidconnect::PkceCodeChallenge;
use serde_json::{json, Value};

use crate::accounts::admin_post;
use crate::support::raw::{bearer, post_form};
use crate::support::{Backend, TestApp, PASSWORD, USERNAME};

async fn register(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    admin_post(app, "/register", token, body).await
}

fn native_app() -> Value {
    json!({ "client_name": "Agent CLI", "redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"], "scope": "openid profile offline_access" })
}

#[tokio::test]
async fn registration_is_closed_by_default() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (status, body) = register(&app, None, &native_app()).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("access_denied")), "{body}");
    let meta: Value = app.http().get(app.url("/.well-known/openid-configuration")).send().await.expect("discovery").json().await.expect("json");
    assert!(meta.get("registration_endpoint").is_none(), "no endpoint advertised when closed");
    assert!(latchkey_app::directory::clients::list(&app.state.stores.db).await.expect("clients").is_empty(), "nothing registered");
}

/// `token`: an initial access token an operator minted, used up after its
/// uses; without one, or with a made-up one, 401 `invalid_token`.
#[tokio::test]
async fn the_token_policy_needs_an_initial_access_token_and_counts_its_uses() {
    let Some(app) = TestApp::start_with(Backend::Postgres, |s| s.client_registration = RegistrationPolicy::Token).await else { return };
    let meta: Value = app.http().get(app.url("/.well-known/openid-configuration")).send().await.expect("discovery").json().await.expect("json");
    assert_eq!(meta["registration_endpoint"], app.url("/register"));
    for token in [None, Some("lkiat_made-up")] {
        let (status, body) = register(&app, token, &native_app()).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")), "{token:?}: {body}");
    }
    let once = app.state.mint_initial_access_token(3600, Some(1)).await.expect("token");
    let (status, body) = register(&app, Some(&once), &native_app()).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["client_id"].is_string() && body.get("client_secret").is_none(), "a public client: {body}");
    assert!(body["registration_access_token"].as_str().is_some_and(|t| t.starts_with("lkrat_")));
    let (status, _) = register(&app, Some(&once), &native_app()).await;
    assert_eq!(status, 401, "its one use is spent");
    // An expired one.
    let stale = app.state.mint_initial_access_token(60, None).await.expect("token");
    app.clock.advance(61);
    assert_eq!(register(&app, Some(&stale), &native_app()).await.0, 401);
}

/// `open`: every metadata rule, each refused with RFC 7591's error code.
#[tokio::test]
async fn open_registration_keeps_to_the_metadata_rules() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, |s| s.client_registration = RegistrationPolicy::Open).await else { return };
    let with = |patch: Value| {
        let mut m = native_app();
        for (k, v) in patch.as_object().cloned().unwrap_or_default() {
            m[k] = v;
        }
        m
    };
    let cases = [
        (json!({ "redirect_uris": ["javascript:alert(1)"] }), "invalid_redirect_uri"),
        (json!({ "redirect_uris": ["http://app.example/cb"] }), "invalid_redirect_uri"),
        (json!({ "redirect_uris": ["https://app.example/cb#x"] }), "invalid_redirect_uri"),
        (json!({ "redirect_uris": [] }), "invalid_redirect_uri"),
        (json!({ "scope": "openid admin" }), "invalid_client_metadata"),
        (json!({ "scope": "openid orders:read" }), "invalid_client_metadata"),
        (json!({ "grant_types": ["client_credentials"] }), "invalid_client_metadata"),
        (json!({ "grant_types": ["refresh_token"] }), "invalid_client_metadata"),
        (json!({ "response_types": ["token"] }), "invalid_client_metadata"),
        (json!({ "token_endpoint_auth_method": "tls_client_auth" }), "invalid_client_metadata"),
        (json!({ "token_endpoint_auth_method": "private_key_jwt" }), "invalid_client_metadata"),
        (json!({ "logo_uri": "javascript:alert(1)" }), "invalid_client_metadata"),
        (json!({ "client_name": "a\u{7}b" }), "invalid_client_metadata"),
    ];
    for (patch, code) in cases {
        let (status, body) = register(&app, None, &with(patch.clone())).await;
        assert_eq!((status, body["error"].as_str()), (400, Some(code)), "{patch}: {body}");
    }
    let (status, body) = admin_post(&app, "/register", None, &json!("not metadata")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client_metadata")), "{body}");
    assert!(latchkey_app::directory::clients::list(&app.state.stores.db).await.expect("clients").is_empty(), "nothing was registered");

    // A confidential web app: a secret, shown once.
    let (status, body) = register(&app, None, &json!({ "client_name": "Web", "redirect_uris": ["https://app.example/cb"] })).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["client_secret"].as_str().is_some_and(|s| s.starts_with("lks_")) && body["client_secret_expires_at"] == 0);
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["scope"], "openid profile email offline_access");
}

/// RFC 7592 with the registration access token: read (no secret), update
/// within the rules, delete; another client's token, or none, does nothing.
#[tokio::test]
async fn a_client_reads_and_deletes_its_registration_with_its_token_only() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, |s| s.client_registration = RegistrationPolicy::Open).await else { return };
    let (_, a) = register(&app, None, &native_app()).await;
    let (_, b) = register(&app, None, &native_app()).await;
    let (a_id, a_token, b_token) =
        (a["client_id"].as_str().unwrap_or_default(), a["registration_access_token"].as_str().unwrap_or_default(), b["registration_access_token"].as_str().unwrap_or_default());
    let uri = format!("/register/{a_id}");
    assert_eq!(a["registration_client_uri"], app.url(&uri));
    let read = bearer(&app, "GET", &uri, a_token).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["client_id"], a_id);
    assert!(read.body.get("client_secret").is_none() && read.body.get("registration_access_token").is_none());
    let other = bearer(&app, "GET", &uri, b_token).await;
    assert_eq!(other.status, 401, "b's token reads nothing of a");
    assert!(other.headers.get("www-authenticate").is_some());
    let none = app.http().get(app.url(&uri)).send().await.expect("get");
    assert_eq!(none.status().as_u16(), 401);
    // RFC 7592 update: the whole metadata, with its own client_id.
    let put = |token: &str, body: Value| {
        let (app, uri, token) = (&app, uri.clone(), token.to_string());
        async move {
            let r = app.http().put(app.url(&uri)).bearer_auth(token).json(&body).send().await.expect("put");
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let mut changed = native_app();
    changed["client_id"] = json!(a_id);
    changed["client_name"] = json!("Agent CLI 2");
    changed["redirect_uris"] = json!(["http://127.0.0.1/callback", "com.example.agent:/cb"]);
    let (status, body) = put(a_token, changed.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["client_name"], "Agent CLI 2");
    assert_eq!(bearer(&app, "GET", &uri, a_token).await.body["redirect_uris"], json!(["http://127.0.0.1/callback", "com.example.agent:/cb"]));
    assert_eq!(put(b_token, changed.clone()).await.0, 401, "b cannot change a");
    let mut other_id = changed.clone();
    other_id["client_id"] = json!("someone-else");
    assert_eq!(put(a_token, other_id).await.0, 400);
    let mut confidential = changed.clone();
    confidential["token_endpoint_auth_method"] = json!("client_secret_basic");
    let (status, body) = put(a_token, confidential).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client_metadata")), "a public client stays public: {body}");
    let mut admin = changed.clone();
    admin["scope"] = json!("openid admin");
    assert_eq!(put(a_token, admin).await.0, 400);

    assert_eq!(bearer(&app, "DELETE", &uri, b_token).await.status, 401, "b cannot delete a");
    assert_eq!(bearer(&app, "DELETE", &uri, a_token).await.status, 204);
    assert_eq!(bearer(&app, "GET", &uri, a_token).await.status, 401, "gone");
    assert!(app.state.oauth.client(a_id).await.expect("lookup").is_none());
}

/// A self-registered native app signs a user in from a loopback redirect
/// URI on a port it picked at run time; the consent page says it
/// registered itself. Anonymous registrations are limited per address.
#[tokio::test]
async fn a_self_registered_native_app_signs_in_on_any_loopback_port() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, |s| s.client_registration = RegistrationPolicy::Open).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (status, reg) = register(&app, None, &native_app()).await;
    assert_eq!(status, 201, "{reg}");
    let client_id = reg["client_id"].as_str().unwrap_or_default().to_string();
    let redirect = "http://127.0.0.1:53682/callback";
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let query = serde_urlencoded::to_string([
        ("client_id", client_id.as_str()),
        ("redirect_uri", redirect),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("state", "s1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .expect("query");
    let mut browser = app.browser();
    let to_login = browser.get(&format!("/authorize?{query}")).await.location.expect("to sign in");
    let form = browser.get(&to_login).await;
    let (csrf, authz) = (form.field("csrf_token").expect("csrf"), form.field("authz").expect("authz"));
    let signed = browser.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", USERNAME), ("password", PASSWORD)]).await;
    let consent = browser.get(signed.location.as_deref().expect("to consent")).await;
    assert!(consent.body.contains("This app registered itself"), "{}", consent.body);
    let (csrf, authz) = (consent.field("csrf_token").expect("csrf"), consent.field("authz").expect("authz"));
    let back = browser.post_form("/consent", &[("csrf_token", &csrf), ("authz", &authz), ("decision", "allow")]).await;
    let location = back.location.expect("back to the app");
    assert!(location.starts_with(redirect), "{location}");
    let code = url::Url::parse(&location).expect("url").query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).expect("code");
    let tokens =
        post_form(&app, "/token", &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", redirect), ("client_id", &client_id), ("code_verifier", verifier.secret())], None).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert!(tokens.body["refresh_token"].is_string() || tokens.body["access_token"].is_string());

    // A port on another host, or another path, is not the registered URI.
    for bad in ["http://localhost:53682/callback", "http://127.0.0.1:53682/other"] {
        let q = query.replace(&serde_urlencoded::to_string([("redirect_uri", redirect)]).expect("q"), &serde_urlencoded::to_string([("redirect_uri", bad)]).expect("q"));
        let page = browser.get(&format!("/authorize?{q}")).await;
        assert_eq!(page.status, 400, "{bad}: never redirected to");
    }

    // Anonymous registrations from one address: limited.
    let limit = latchkey_authn::rate_limit::REGISTRATION_PER_IP.max as usize;
    let mut last = 0;
    for _ in 1..=limit {
        last = register(&app, None, &native_app()).await.0;
    }
    assert_eq!(last, 429, "the {}th registration of the hour from one address", limit + 1);
}

/// Unused self-registered clients expire (no consent, no refresh for the
/// configured days); a recent one, and every operator-registered one, stay.
#[tokio::test]
async fn unused_self_registered_clients_expire() {
    let Some(app) = TestApp::start_with(Backend::Postgres, |s| s.client_registration = RegistrationPolicy::Open).await else { return };
    let (_, old) = register(&app, None, &native_app()).await;
    let (operator_id, _) = app.add_client(false, latchkey_domain::SigningAlg::RS256).await;
    app.clock.advance(31 * 86_400);
    let (_, recent) = register(&app, None, &native_app()).await;
    assert_eq!(app.state.reap_unused_registrations(30).await.expect("reap"), 1);
    let old_id = old["client_id"].as_str().unwrap_or_default();
    assert!(app.state.oauth.client(old_id).await.expect("lookup").is_none(), "the unused one is gone");
    let read = bearer(&app, "GET", &format!("/register/{old_id}"), old["registration_access_token"].as_str().unwrap_or_default()).await;
    assert_eq!(read.status, 401);
    assert!(app.state.oauth.client(recent["client_id"].as_str().unwrap_or_default()).await.expect("lookup").is_some());
    assert!(app.state.oauth.client(&operator_id).await.expect("lookup").is_some(), "never an operator's client");
    assert_eq!(app.state.reap_unused_registrations(30).await.expect("reap"), 0);
}
