//! Registered APIs and their scopes through every grant, on both backends.

use latchkey_domain::GrantType;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use serde_json::json;

use super::{client, register_apis, BILLS, ORDERS};
use crate::accounts::admin_post;
use crate::support::raw::{bearer, post_form};
use crate::support::rp::sign_in_default;
use crate::support::{jwt, AuthResponse, Backend, Rp, TestApp, PASSWORD, REDIRECT_URI, USERNAME};

fn field(a: &crate::support::raw::Answer, name: &str) -> String {
    a.body.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_string()
}

async fn api_tokens(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (_admin, bills_id, bills_secret) = register_apis(&app).await;
    let (id, secret) = client(&app, "openid profile email", &["orders:read", "bills:read"], vec![GrantType::AuthorizationCode, GrantType::RefreshToken]).await;
    let basic = Some((id.as_str(), secret.as_str()));
    let rp = Rp::discover(&app, &id, Some(&secret)).await;
    let mut browser = app.browser();

    // A scope the client may not have is refused, not dropped; an unknown resource too.
    let req = rp.authorize_scopes(&["orders:write"], &[]);
    let loc = browser.get(&req.url).await.location.unwrap_or_default();
    assert_eq!(AuthResponse::parse(&loc).error.as_deref(), Some("invalid_scope"), "{loc}");
    let req = rp.authorize_scopes(&["orders:read"], &[("resource", "https://nowhere.example")]);
    let loc = browser.get(&req.url).await.location.unwrap_or_default();
    assert_eq!(AuthResponse::parse(&loc).error.as_deref(), Some("invalid_target"), "{loc}");
    let req = rp.authorize_scopes(&["bills:read"], &[("resource", ORDERS)]);
    let loc = browser.get(&req.url).await.location.unwrap_or_default();
    assert_eq!(AuthResponse::parse(&loc).error.as_deref(), Some("invalid_scope"), "another API's scope with this resource");

    // `resource` selects the audience; consent shows the API's words.
    let req = rp.authorize_scopes(&["orders:read"], &[("resource", ORDERS)]);
    let consent = crate::support::rp::consent_page(&mut browser, &req.url).await;
    assert!(consent.body.contains("Orders: Read your orders"), "{}", consent.body);
    let allowed =
        browser.post_form("/consent", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("authz", &consent.field("authz").unwrap_or_default()), ("decision", "allow")]).await;
    let code = AuthResponse::parse(allowed.location.as_deref().unwrap_or_default()).code.expect("code");
    let tokens = rp.exchange(&code, req.verifier).await.expect("exchange");
    let at = tokens.access_token().secret().clone();
    let claims = jwt::payload(&at);
    assert_eq!((claims["aud"].as_str(), claims["scope"].as_str()), (Some(ORDERS), Some("orders:read")), "{claims}");
    assert_eq!(jwt::header(&at)["alg"], "EdDSA");
    assert!(tokens.id_token().is_some(), "the sign-in still gets its ID token");
    assert_eq!(bearer(&app, "GET", "/userinfo", &at).await.status, 403, "an API token is not a userinfo token");
    let refresh = tokens.refresh_token().expect("refresh").secret().clone();

    // Refresh: another API the grant does not cover, or a wider scope, is refused
    // without burning the token; a narrower scope and another audience are fine.
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("resource", BILLS)], basic).await;
    assert_eq!(field(&r, "error"), "invalid_target");
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("scope", "openid orders:read orders:write")], basic).await;
    assert_eq!(field(&r, "error"), "invalid_scope", "widening is refused");
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("resource", ORDERS), ("scope", "orders:read")], basic).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(jwt::payload(&field(&r, "access_token"))["aud"], ORDERS);
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &field(&r, "refresh_token")), ("scope", "openid")], basic).await;
    let userinfo_token = field(&r, "access_token");
    assert_eq!(
        (jwt::payload(&userinfo_token)["aud"].as_str(), jwt::payload(&userinfo_token)["scope"].as_str()),
        (Some(app.issuer.as_str()), Some("openid")),
        "without resource: latchkey's own audience"
    );
    assert_eq!(bearer(&app, "GET", "/userinfo", &userinfo_token).await.status, 200);

    // A new scope asks for consent again; the Bills API signs with RS256, for 10 minutes.
    let req = rp.authorize_scopes(&["orders:read", "bills:read"], &[]);
    let loc = browser.get(&req.url).await.location.unwrap_or_default();
    assert!(loc.starts_with("/consent"), "a new scope is asked for: {loc}");
    let consent = browser.get(&loc).await;
    assert!(consent.body.contains("Bills: bills:read") && consent.body.contains("Orders: Read your orders"));
    let allowed =
        browser.post_form("/consent", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("authz", &consent.field("authz").unwrap_or_default()), ("decision", "allow")]).await;
    let code = AuthResponse::parse(allowed.location.as_deref().unwrap_or_default()).code.expect("code");
    let r =
        post_form(&app, "/token", &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI), ("code_verifier", req.verifier.secret()), ("resource", BILLS)], basic).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let bills_token = field(&r, "access_token");
    assert_eq!((jwt::header(&bills_token)["alg"].as_str(), r.body["expires_in"].as_i64()), (Some("RS256"), Some(600)));
    assert_eq!(jwt::payload(&bills_token)["scope"], "bills:read");

    // The Bills API introspects its own tokens, and nobody else's.
    let mine = post_form(&app, "/introspect", &[("token", &bills_token)], Some((&bills_id, &bills_secret))).await;
    assert_eq!(mine.body["active"], true, "{:?}", mine.body);
    let theirs = post_form(&app, "/introspect", &[("token", &at)], Some((&bills_id, &bills_secret))).await;
    assert_eq!(theirs.body, json!({ "active": false }), "an Orders token is not the Bills API's business");
    let wrong = post_form(&app, "/introspect", &[("token", &bills_token)], Some((&bills_id, "lks_wrong"))).await;
    assert_eq!(wrong.status, 401);
    let _ = sign_in_default;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_on_sqlite() {
    api_tokens(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_on_postgres_and_redis() {
    api_tokens(Backend::Postgres).await;
}

/// An administrator takes an API scope away from a client (or the API drops
/// it): the client's refresh tokens, issued before, stop yielding it.
async fn removed_scopes_do_not_survive_in_refresh_tokens(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    let (_admin, bills_id, _) = register_apis(&app).await;
    let (id, secret) = client(&app, "openid", &["orders:read", "bills:read"], vec![GrantType::AuthorizationCode, GrantType::RefreshToken]).await;
    let basic = Some((id.as_str(), secret.as_str()));
    let rp = Rp::discover(&app, &id, Some(&secret)).await;
    let mut browser = app.browser();
    let req = rp.authorize_scopes(&["orders:read", "bills:read"], &[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let r = post_form(&app, "/token", &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI), ("code_verifier", req.verifier.secret()), ("resource", ORDERS)], basic)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut refresh = field(&r, "refresh_token");
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("resource", ORDERS)], basic).await;
    assert_eq!((r.status, jwt::payload(&field(&r, "access_token"))["scope"].as_str()), (200, Some("orders:read")), "{:?}", r.body);
    refresh = field(&r, "refresh_token");

    // The administrator removes orders:read from the client.
    latchkey_app::directory::clients::set_api_scopes(&app.state.stores.db, &id, &["bills:read".to_string()]).await.expect("take orders:read away");
    app.clock.advance(6); // past the per-node client cache
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("resource", ORDERS)], basic).await;
    assert_eq!((r.status, field(&r, "error").as_str()), (400, "invalid_target"), "no Orders token any more: {:?}", r.body);
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("resource", ORDERS), ("scope", "orders:read")], basic).await;
    assert_eq!(r.status, 400, "not by asking for the scope by name either: {:?}", r.body);
    // The refused requests did not spend the token; what is left still works.
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("resource", BILLS)], basic).await;
    assert_eq!((r.status, jwt::payload(&field(&r, "access_token"))["scope"].as_str()), (200, Some("bills:read")), "{:?}", r.body);
    refresh = field(&r, "refresh_token");
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)], basic).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(!field(&r, "scope").contains("orders:read"), "the response no longer claims the removed scope: {:?}", r.body);
    refresh = field(&r, "refresh_token");

    // The Bills API itself drops bills:read.
    assert!(app.state.admin(latchkey_app::admin::Actor::Cli).remove_api_scope(&bills_id, "bills:read").await.expect("remove the API scope"));
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("resource", BILLS)], basic).await;
    assert_eq!((r.status, field(&r, "error").as_str()), (400, "invalid_target"), "{:?}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_scopes_do_not_survive_in_refresh_tokens_on_sqlite() {
    removed_scopes_do_not_survive_in_refresh_tokens(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_scopes_do_not_survive_in_refresh_tokens_on_postgres_and_redis() {
    removed_scopes_do_not_survive_in_refresh_tokens(Backend::Postgres).await;
}

/// Registers an API straight in the database, as `latchkey api add` does
/// from another process while the server runs (the server's cached registry
/// is not told).
async fn register_behind_the_servers_back(app: &TestApp, audience: &str, scope: &str) {
    let api = latchkey_domain::Api {
        id: uuid::Uuid::new_v4().to_string(),
        name: audience.into(),
        audience: audience.into(),
        access_token_ttl: 300,
        signing_alg: latchkey_domain::SigningAlg::EdDSA,
        introspection_secret_hash: None,
        scopes: vec![latchkey_domain::ApiScope { name: scope.into(), description: scope.into() }],
        roles: vec![],
        created_at: app.clock_now(),
        self_registration: false,
        publish_metadata: false,
    };
    app.state.stores.db.run(move |c| latchkey_store::repo::apis::insert(c, &api)).await.expect("insert the API");
}

/// Issue #24 item 21: an API registered while the server runs is usable at
/// once (an unknown resource makes the node read the registry again before
/// refusing), and made-up resources cost at most one re-read a second.
async fn a_new_api_is_usable_at_once(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = client(&app, "openid", &[], vec![GrantType::ClientCredentials, GrantType::AuthorizationCode]).await;
    let basic = Some((id.as_str(), secret.as_str()));
    // The registry is cached (empty) on this node.
    assert!(app.state.oauth.apis().await.expect("registry").is_empty());
    register_behind_the_servers_back(&app, "https://fresh.example/api", "fresh:read").await;
    latchkey_app::directory::clients::set_api_scopes(&app.state.stores.db, &id, &["fresh:read".to_string()]).await.expect("allow the scope");
    app.state.oauth.forget_cached_clients();
    let r = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("resource", "https://fresh.example/api")], basic).await;
    assert_eq!(r.status, 200, "the new API at once, not invalid_target for 5 s: {:?}", r.body);
    assert_eq!(jwt::payload(&field(&r, "access_token"))["aud"], "https://fresh.example/api");

    // A made-up resource: refused, after one re-read; a second API registered
    // within the same second is not seen until the bound allows a re-read.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let started = std::time::Instant::now();
    let r = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("resource", "https://made-up.example")], basic).await;
    assert_eq!(field(&r, "error"), "invalid_target");
    register_behind_the_servers_back(&app, "https://second.example/api", "second:read").await;
    let r = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("resource", "https://second.example/api")], basic).await;
    if started.elapsed() < std::time::Duration::from_millis(900) {
        assert_eq!(field(&r, "error"), "invalid_target", "no second re-read within a second: {:?}", r.body);
    } else {
        eprintln!("the machine is slow ({:?}): the bound is not observable this time", started.elapsed());
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("resource", "https://second.example/api")], basic).await;
    assert_eq!(r.status, 200, "a second later, the registry is read again: {:?}", r.body);

    // At /authorize too: a third API, registered behind the server's back, with the sign-in page as the answer.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    register_behind_the_servers_back(&app, "https://third.example/api", "third:read").await;
    latchkey_app::directory::clients::set_api_scopes(&app.state.stores.db, &id, &["fresh:read".to_string(), "third:read".to_string()]).await.expect("allow the scope");
    app.state.oauth.forget_cached_clients();
    let rp = Rp::discover(&app, &id, Some(&secret)).await;
    let req = rp.authorize_scopes(&["third:read"], &[("resource", "https://third.example/api")]);
    let loc = app.browser().get(&req.url).await.location.unwrap_or_default();
    assert!(loc.starts_with("/login"), "{loc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_api_is_usable_at_once_on_sqlite() {
    a_new_api_is_usable_at_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_api_is_usable_at_once_on_postgres_and_redis() {
    a_new_api_is_usable_at_once(Backend::Postgres).await;
}

/// Issue #24 item 24, RFC 8707 §2: several `resource` parameters. At
/// `/authorize` (and `/par`) they are accepted when each resource gets a
/// scope; the token endpoint issues a token for one resource per request
/// (an access token has one audience) and says so when asked for several.
async fn several_resources_one_token_each(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    register_apis(&app).await;
    let (id, secret) = client(&app, "openid", &["orders:read", "bills:read"], vec![GrantType::AuthorizationCode, GrantType::RefreshToken]).await;
    let basic = Some((id.as_str(), secret.as_str()));
    let rp = Rp::discover(&app, &id, Some(&secret)).await;
    let both = [("resource", ORDERS), ("resource", BILLS)];

    // Each resource needs a scope of its own: bills has none here.
    let req = rp.authorize_scopes(&["orders:read"], &both);
    let loc = app.browser().get(&req.url).await.location.unwrap_or_default();
    assert_eq!(AuthResponse::parse(&loc).error.as_deref(), Some("invalid_target"), "{loc}");

    let req = rp.authorize_scopes(&["orders:read", "bills:read"], &both);
    let code = sign_in_default(&mut app.browser(), &req.url).await.code.expect("several resources accepted at /authorize");
    let redeem = |resources: &'static [&'static str]| {
        let (code, verifier) = (code.clone(), req.verifier.secret().clone());
        let app = &app;
        async move {
            let mut form = vec![("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI), ("code_verifier", verifier.as_str())];
            form.extend(resources.iter().map(|r| ("resource", *r)));
            post_form(app, "/token", &form, basic).await
        }
    };
    // Two at the token endpoint: refused before the code is spent, saying what to do.
    let r = redeem(&[ORDERS, BILLS]).await;
    assert_eq!((r.status, field(&r, "error").as_str()), (400, "invalid_target"), "{:?}", r.body);
    assert!(field(&r, "error_description").contains("one resource per token request"), "{:?}", r.body);
    // One: the Orders token; then the Bills token with the refresh token.
    let r = redeem(&[ORDERS]).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let orders = jwt::payload(&field(&r, "access_token"));
    assert_eq!((orders["aud"].as_str(), orders["scope"].as_str()), (Some(ORDERS), Some("orders:read")));
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &field(&r, "refresh_token")), ("resource", BILLS)], basic).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let bills = jwt::payload(&field(&r, "access_token"));
    assert_eq!((bills["aud"].as_str(), bills["scope"].as_str()), (Some(BILLS), Some("bills:read")), "never one token for both");

    // A code for several resources redeemed without naming one: told to pick.
    let req = rp.authorize_scopes(&["orders:read", "bills:read"], &both);
    let code = sign_in_default(&mut app.browser(), &req.url).await.code.expect("code");
    let r = post_form(&app, "/token", &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI), ("code_verifier", req.verifier.secret())], basic).await;
    assert_eq!(field(&r, "error"), "invalid_target", "{:?}", r.body);
    assert!(field(&r, "error_description").contains("name one with resource"), "{:?}", r.body);

    // Pushed: several resources at /par too.
    let (challenge, _verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    let pushed = post_form(
        &app,
        "/par",
        &[
            ("response_type", "code"),
            ("client_id", &id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid orders:read bills:read"),
            ("resource", ORDERS),
            ("resource", BILLS),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
        basic,
    )
    .await;
    assert_eq!(pushed.status, 201, "{:?}", pushed.body);
    // More than the bound: refused.
    let many: Vec<(&str, String)> = (0..8).map(|i| ("resource", format!("https://api{i}.example"))).collect();
    let mut form: Vec<(&str, &str)> =
        vec![("response_type", "code"), ("client_id", &id), ("redirect_uri", REDIRECT_URI), ("scope", "openid"), ("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    form.extend(many.iter().map(|(k, v)| (*k, v.as_str())));
    assert_eq!(post_form(&app, "/par", &form, basic).await.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_resources_one_token_each_on_sqlite() {
    several_resources_one_token_each(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_resources_one_token_each_on_postgres_and_redis() {
    several_resources_one_token_each(Backend::Postgres).await;
}

/// Machine-to-machine: client_credentials with API scopes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_with_api_scopes() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    register_apis(&app).await;
    let (id, secret) = client(&app, "", &["orders:read", "bills:read"], vec![GrantType::ClientCredentials]).await;
    let basic = Some((id.as_str(), secret.as_str()));
    let r = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("scope", "orders:read")], basic).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let claims = jwt::payload(&field(&r, "access_token"));
    assert_eq!((claims["aud"].as_str(), claims["scope"].as_str(), claims["sub"].as_str()), (Some(ORDERS), Some("orders:read"), Some(id.as_str())));
    let r = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("scope", "orders:write")], basic).await;
    assert_eq!(field(&r, "error"), "invalid_scope", "not allowed");
    let r = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("scope", "orders:read bills:read")], basic).await;
    assert_eq!(field(&r, "error"), "invalid_target", "two APIs in one token");
    let r = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("resource", BILLS)], basic).await;
    assert_eq!((r.status, jwt::payload(&field(&r, "access_token"))["scope"].as_str()), (200, Some("bills:read")), "resource alone: its allowed scopes");
    let r = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("scope", "nobody:registered")], basic).await;
    assert_eq!(field(&r, "error"), "invalid_scope");
}

/// Groups and roles in tokens, profile claims, and the admin API for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_roles_and_profile_claims() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (admin, _, _) = register_apis(&app).await;
    for (path, body) in [
        ("/admin/api/v1/groups", json!({ "name": "staff" })),
        ("/admin/api/v1/groups/staff/members", json!({ "username": USERNAME })),
        (&*format!("/admin/api/v1/apis/{}/roles", app.state.oauth.api(ORDERS).await.expect("api").expect("orders").id), json!({ "role": "clerk", "group": "staff" })),
    ] {
        let (status, out) = admin_post(&app, path, Some(&admin), &body).await;
        assert!(status == 200 || status == 201, "{path}: {status} {out}");
    }
    let r = app
        .http()
        .patch(app.url(&format!("/admin/api/v1/users/{USERNAME}")))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(json!({ "given_name": "Alice", "family_name": "Liddell", "locale": "en-GB", "zoneinfo": "Europe/Berlin" }).to_string())
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status().as_u16(), 200);

    let (id, secret) = client(&app, "openid profile groups", &["orders:read"], vec![GrantType::AuthorizationCode, GrantType::RefreshToken]).await;
    let rp = Rp::discover(&app, &id, Some(&secret)).await;
    let mut browser = app.browser();
    let req = rp.authorize_scopes(&["profile", "groups", "orders:read"], &[("resource", ORDERS)]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let tokens = rp.exchange(&code, req.verifier).await.expect("exchange");
    let at = jwt::payload(tokens.access_token().secret());
    assert_eq!(at["roles"], json!(["clerk"]), "{at}");
    assert_eq!(at["groups"], json!(["staff"]));
    let id_token = jwt::payload(&tokens.id_token().expect("id").to_string());
    assert_eq!((id_token["groups"].clone(), id_token["given_name"].clone(), id_token["locale"].clone()), (json!(["staff"]), json!("Alice"), json!("en-GB")));
    let refresh = tokens.refresh_token().expect("refresh").secret().clone();
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("scope", "openid profile groups")], Some((&id, &secret))).await;
    let info = bearer(&app, "GET", "/userinfo", &field(&r, "access_token")).await.body;
    assert_eq!((info["groups"].clone(), info["family_name"].clone(), info["zoneinfo"].clone()), (json!(["staff"]), json!("Liddell"), json!("Europe/Berlin")), "{info}");

    // The user edits their own profile.
    let page = browser.get("/account/profile").await;
    assert!(page.body.contains(r#"value="Alice""#));
    let saved = browser
        .post_form(
            "/account/profile",
            &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("name", "Alice L."), ("given_name", "Alice"), ("family_name", "Liddell"), ("locale", "not a locale!")],
        )
        .await;
    assert_eq!(saved.status, 400, "a bad locale is refused");
    let saved = browser
        .post_form("/account/profile", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("name", "Alice L."), ("given_name", "Alice"), ("family_name", "Liddell"), ("locale", "fr")])
        .await;
    assert_eq!(saved.location.as_deref(), Some("/account"));
    let user = app.state.authn.find_by_username(USERNAME).await.expect("user").expect("alice");
    assert_eq!((user.profile.name.as_deref(), user.profile.locale.as_deref()), (Some("Alice L."), Some("fr")));
    let (status, _) = admin_post(&app, "/admin/api/v1/groups", None, &json!({ "name": "x" })).await;
    assert_eq!(status, 401, "admins only");
}

/// A signing key stays published while an API's long-lived token it signed
/// can still be valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_outlive_the_longest_api_token() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let admin = crate::accounts::admin_token(&app).await;
    let (status, _) =
        admin_post(&app, "/admin/api/v1/apis", Some(&admin), &json!({ "name": "Reports", "audience": "https://reports.example", "scopes": [{ "name": "reports:read" }], "access_token_ttl": 3600 }))
            .await;
    assert_eq!(status, 201);
    let (id, secret) = client(&app, "", &["reports:read"], vec![GrantType::ClientCredentials]).await;
    let r = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("scope", "reports:read")], Some((&id, &secret))).await;
    assert_eq!(r.body["expires_in"], 3600);
    let kid = jwt::header(&field(&r, "access_token"))["kid"].as_str().unwrap_or_default().to_string();
    app.state.tokens.rotate_keys(&[latchkey_domain::SigningAlg::EdDSA]).await.expect("rotate");
    let published = |app: &TestApp| {
        let (http, url) = (app.http(), app.url("/jwks"));
        async move { http.get(url).send().await.expect("jwks").text().await.unwrap_or_default() }
    };
    app.clock.advance(30 * 60); // past the default tokens' lifetime, not the API's
    app.state.oauth.maintain_keys().await.expect("maintain");
    assert!(published(&app).await.contains(&kid), "the key of a 1-hour token stays published");
    app.clock.advance(45 * 60);
    app.state.oauth.maintain_keys().await.expect("maintain");
    assert!(!published(&app).await.contains(&kid), "and is retired once that token expired");
}
