//! The authorization code flow with PKCE, as relying parties use it.

use latchkey_domain::SigningAlg;
use openidconnect::core::{CoreJwsSigningAlgorithm, CoreUserInfoClaims};
use openidconnect::{OAuth2TokenResponse, TokenResponse};

use crate::support::jwt;
use crate::support::rp::sign_in_default;
use crate::support::{AuthResponse, Backend, Rp, TestApp, PASSWORD, USERNAME};

/// Confidential web app, `client_secret_basic`, PKCE, nonce: the whole way to userinfo.
async fn confidential_client_signs_in(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let user = app.add_user(USERNAME, PASSWORD).await;
    let (client_id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &client_id, secret.as_deref()).await;
    let mut browser = app.browser();
    let req = rp.authorize(&[]);

    let resp = sign_in_default(&mut browser, &req.url).await;
    assert_eq!(resp.state.as_deref(), Some(req.state.secret().as_str()), "state is echoed");
    assert_eq!(resp.iss.as_deref(), Some(app.issuer.as_str()), "RFC 9207 iss");
    assert!(resp.error.is_none());
    assert!(browser.cookies.contains_key("__Host-latchkey-session"), "a session cookie was set");

    let tokens = rp.exchange(resp.code.as_deref().expect("code"), req.verifier).await.expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token.claims(&rp.client.id_token_verifier(), &req.nonce).expect("ID token verifies against the JWKS");
    assert_eq!(claims.subject().as_str(), user.id.0);
    assert_eq!(claims.issuer().as_str(), app.issuer);
    assert!(claims.auth_time().is_some());

    let raw = jwt::payload(&id_token.to_string());
    assert_eq!(jwt::header(&id_token.to_string())["alg"], "RS256", "ID tokens default to RS256");
    assert_eq!(raw["acr"], "urn:latchkey:acr:pwd");
    assert_eq!(raw["amr"], serde_json::json!(["pwd"]));
    assert!(raw["sid"].as_str().is_some_and(|s| !s.is_empty()), "sid claim: {raw}");
    assert_eq!(raw["nonce"], req.nonce.secret().as_str());

    // RFC 9068 access token.
    let at = tokens.access_token().secret();
    let header = jwt::header(at);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    let at_claims = jwt::payload(at);
    assert_eq!(at_claims["client_id"], client_id.as_str());
    assert!(at_claims["jti"].as_str().is_some());
    assert_eq!(at_claims["exp"].as_i64().unwrap_or(0) - at_claims["iat"].as_i64().unwrap_or(0), 300, "5-minute access tokens");
    assert_eq!(tokens.expires_in().map(|d| d.as_secs()), Some(300));

    let info: CoreUserInfoClaims = rp.client.user_info(tokens.access_token().clone(), Some(claims.subject().clone())).expect("userinfo endpoint").request_async(&rp.http).await.expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some(USERNAME));

    if app.backend == Backend::Postgres {
        // Hot state really went to Redis, under this run's prefix.
        let redis = app.redis.as_ref().expect("redis");
        assert!(redis.key_count() > 0, "no keys under {}", redis.prefix);
        assert_eq!(app.state.stores.db.backend(), latchkey_store::Backend::Postgres);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confidential_client_signs_in_on_sqlite() {
    confidential_client_signs_in(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confidential_client_signs_in_on_postgres_and_redis() {
    confidential_client_signs_in(Backend::Postgres).await;
}

/// Single-page app: no secret, PKCE required, ES256 ID tokens by choice; the
/// second sign-in reuses the session and the remembered consent.
async fn public_client_signs_in(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (client_id, secret) = app.add_client(true, SigningAlg::ES256).await;
    assert!(secret.is_none());
    let rp = Rp::discover(&app, &client_id, None).await;
    let mut browser = app.browser();

    let req = rp.authorize(&[]);
    let resp = sign_in_default(&mut browser, &req.url).await;
    let tokens = rp.exchange(resp.code.as_deref().expect("code"), req.verifier).await.expect("token exchange");
    let id_token = tokens.id_token().expect("ID token");
    let verifier = rp.client.id_token_verifier().set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    id_token.claims(&verifier, &req.nonce).expect("ES256 ID token verifies");
    assert_eq!(jwt::header(&id_token.to_string())["alg"], "ES256");

    // Same browser, second request: straight back to the client with a code.
    let again = rp.authorize(&[]);
    let page = browser.get(&again.url).await;
    assert_eq!(page.status, 302);
    let location = page.location.expect("redirect");
    let resp = crate::support::AuthResponse::parse(&location);
    assert!(resp.code.is_some(), "no sign-in or consent page the second time: {location}");
    rp.exchange(resp.code.as_deref().unwrap_or_default(), again.verifier).await.expect("second exchange");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_client_signs_in_on_sqlite() {
    public_client_signs_in(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_client_signs_in_on_postgres_and_redis() {
    public_client_signs_in(Backend::Postgres).await;
}

/// A returning user's request (a session, consent remembered) is answered
/// by `/authorize` itself and never parked (issue #31): nothing of it is
/// left in Redis to replay, each request gets its own code, and each code
/// is good once, also when two requests race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_users_request_is_answered_without_being_parked() {
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (client_id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &client_id, secret.as_deref()).await;
    let mut browser = app.browser();
    let first = rp.authorize(&[]);
    let resp = sign_in_default(&mut browser, &first.url).await;
    rp.exchange(resp.code.as_deref().expect("code"), first.verifier).await.expect("first exchange");
    let redis = app.redis.as_ref().expect("redis");
    assert!(redis.keys("authz:*").is_empty(), "the first request was answered and taken: {:?}", redis.keys("authz:*"));

    // Two requests at once from the same browser: two codes, nothing parked
    // (not even for a moment: no parking entry is added).
    let parked_before = redis.parked_entries();
    assert!(parked_before > 0, "the first request, which went to the sign-in page, was parked");
    let (a, b) = (rp.authorize(&[]), rp.authorize(&[]));
    let (mut browser_a, mut browser_b) = (app.browser(), app.browser());
    browser_a.cookies = browser.cookies.clone();
    browser_b.cookies = browser.cookies.clone();
    let (page_a, page_b) = tokio::join!(browser_a.get(&a.url), browser_b.get(&b.url));
    let code = |page: crate::support::browser::Page| AuthResponse::parse(&page.location.expect("a redirect to the client")).code.expect("a code, not a page");
    let (code_a, code_b) = (code(page_a), code(page_b));
    assert_ne!(code_a, code_b);
    assert!(redis.keys("authz:*").is_empty(), "a returning user's request is never parked: {:?}", redis.keys("authz:*"));
    assert_eq!(redis.parked_entries(), parked_before, "a returning user's request is never parked");
    rp.exchange(&code_a, a.verifier).await.expect("code a");
    rp.exchange(&code_b, b.verifier).await.expect("code b");
    // Each is spent: presented again, refused.
    let again = rp.authorize(&[]);
    assert!(rp.exchange(&code_a, again.verifier).await.is_err(), "a code is good once");

    // A request that needs the consent page is parked, and only then.
    let consent = rp.authorize(&[("prompt", "consent")]);
    let page = browser.get(&consent.url).await;
    assert!(page.location.as_deref().is_some_and(|l| l.starts_with("/consent?authz=")), "{:?}", page.location);
    assert_eq!(redis.keys("authz:*").len(), 1, "the request waiting for consent is parked");
    assert_eq!(redis.parked_entries(), parked_before + 1);
}

/// `client_secret_post`, and the session cookie's attributes and the pages'
/// security headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_post_and_cookie_attributes() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (client_id, secret) = app.add_client(false, SigningAlg::EdDSA).await;
    let secret = secret.expect("secret");
    assert!(secret.starts_with("lks_"), "secrets carry a scannable prefix");
    let rp = Rp::discover(&app, &client_id, Some(&secret)).await;
    let mut browser = app.browser();
    let req = rp.authorize(&[]);

    let first = browser.get(&req.url).await;
    let login = browser.get(first.location.as_deref().expect("to login")).await;
    assert_eq!(login.header("x-frame-options").as_deref(), Some("DENY"));
    assert!(login.header("content-security-policy").is_some_and(|c| c.contains("frame-ancestors 'none'")));
    assert_eq!(login.header("cache-control").as_deref(), Some("no-store"));
    let csrf_cookie = first.set_cookie("__Host-latchkey-csrf").or(login.set_cookie("__Host-latchkey-csrf")).expect("CSRF cookie").clone();
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(csrf_cookie.contains(attr), "{csrf_cookie} lacks {attr}");
    }
    let page = browser
        .post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("authz", &login.field("authz").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)])
        .await;
    let session_cookie = page.set_cookie("__Host-latchkey-session").expect("session cookie").clone();
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(session_cookie.contains(attr), "{session_cookie} lacks {attr}");
    }
    assert!(!session_cookie.to_ascii_lowercase().contains("domain="), "__Host- cookies have no Domain");

    let consent = browser.get(page.location.as_deref().expect("to consent")).await;
    assert!(consent.body.contains("Test Web App") && consent.body.contains("See your email address"), "{}", consent.body);
    let done = browser.post_form("/consent", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("authz", &consent.field("authz").unwrap_or_default()), ("decision", "allow")]).await;
    let resp = crate::support::AuthResponse::parse(done.location.as_deref().expect("to client"));

    let http = app.http();
    let r = http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", resp.code.as_deref().unwrap_or_default()),
            ("redirect_uri", crate::support::REDIRECT_URI),
            ("code_verifier", req.verifier.secret().as_str()),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let body: serde_json::Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(jwt::header(body["id_token"].as_str().unwrap_or_default())["alg"], "EdDSA", "per-client ID token algorithm");
}

/// The account page and signing out end the session server-side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_without_a_client_then_sign_out() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    let page = browser.get("/account").await;
    assert_eq!(page.location.as_deref(), Some("/login"));
    let login = browser.get("/login").await;
    let done = browser.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_eq!(done.location.as_deref(), Some("/account"));
    let stolen = browser.cookies.get("__Host-latchkey-session").cloned().expect("session");
    let account = browser.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.body.contains("alice@example.com"));

    let out = browser.post_form("/logout", &[("csrf_token", &account.field("csrf_token").unwrap_or_default())]).await;
    assert_eq!(out.status, 200);
    assert!(!browser.cookies.contains_key("__Host-latchkey-session"), "cookie cleared");
    // Replaying the old cookie does not work: the session is gone server-side.
    browser.cookies.insert("__Host-latchkey-session".into(), stolen);
    assert_eq!(browser.get("/account").await.location.as_deref(), Some("/login"));
}

/// `id_token_hint` with `prompt=none` (OIDC Core §3.1.2.1): a code for the
/// user it names; `login_required` when someone else is signed in here; an
/// ID token not of ours is `invalid_request`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_hint_names_who_prompt_none_is_for() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    app.add_user("bob", PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let id_token_of = |who: &'static str| {
        let (app, rp) = (&app, &rp);
        async move {
            let mut b = app.browser();
            let req = rp.authorize(&[]);
            let code = crate::support::rp::sign_in(&mut b, &req.url, who, PASSWORD).await.code.expect("code");
            let t = rp.exchange(&code, req.verifier).await.expect("exchange");
            (b, t.id_token().expect("id token").to_string())
        }
    };
    let (mut alice, alice_hint) = id_token_of(USERNAME).await;
    let (_, bob_hint) = id_token_of("bob").await;

    let silent = |hint: &str| rp.authorize(&[("prompt", "none"), ("id_token_hint", hint)]);
    let mine = alice.get(&silent(&alice_hint).url).await;
    assert!(AuthResponse::parse(mine.location.as_deref().unwrap_or_default()).code.is_some(), "the hinted user is signed in: a code");
    let theirs = alice.get(&silent(&bob_hint).url).await;
    assert_eq!(AuthResponse::parse(theirs.location.as_deref().unwrap_or_default()).error.as_deref(), Some("login_required"), "another user is signed in");
    let mut forged = alice_hint.clone();
    forged.pop();
    forged.push(if alice_hint.ends_with('A') { 'B' } else { 'A' });
    let bad = alice.get(&silent(&forged).url).await;
    assert_eq!(AuthResponse::parse(bad.location.as_deref().unwrap_or_default()).error.as_deref(), Some("invalid_request"), "a tampered hint");
    // Expired hints still name their user.
    app.clock.advance(7200);
    let mut fresh = app.browser();
    crate::sessions::sign_in_direct(&mut fresh, USERNAME, false).await;
    let later = fresh.get(&silent(&alice_hint).url).await;
    assert!(AuthResponse::parse(later.location.as_deref().unwrap_or_default()).code.is_some(), "an expired hint still names alice");
}

/// The `claims` parameter (OIDC Core §5.5): a `sub` value is a demand (only
/// that user's session answers), an essential `acr` is a step-up like
/// `acr_values`, and malformed JSON is `invalid_request`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_parameter_names_the_user_and_the_strength() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let bob = app.add_user("bob", PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let discovery: serde_json::Value = app.http().get(app.url("/.well-known/openid-configuration")).send().await.expect("discovery").json().await.expect("json");
    assert_eq!(discovery["claims_parameter_supported"], true);
    let mut browser = app.browser();
    assert!(sign_in_default(&mut browser, &rp.authorize(&[]).url).await.code.is_some());

    let for_sub = |sub: &str, prompt: Option<&str>| {
        let claims = serde_json::json!({ "id_token": { "sub": { "value": sub } } }).to_string();
        let mut extra = vec![("claims", claims)];
        if let Some(p) = prompt {
            extra.push(("prompt", p.to_string()));
        }
        let pairs: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        rp.authorize(&pairs).url
    };
    let mine = browser.get(&for_sub(&alice.id.0, Some("none"))).await;
    assert!(AuthResponse::parse(mine.location.as_deref().unwrap_or_default()).code.is_some(), "alice's own sub: a code");
    let theirs = browser.get(&for_sub(&bob.id.0, Some("none"))).await;
    assert_eq!(AuthResponse::parse(theirs.location.as_deref().unwrap_or_default()).error.as_deref(), Some("login_required"), "bob's sub while alice is signed in");
    app.clock.advance(5); // alice's sign-in is now older than the next request
    let interactive = browser.get(&for_sub(&bob.id.0, None)).await;
    assert!(interactive.location.as_deref().is_some_and(|l| l.starts_with("/login")), "interactive: sign in again, as bob: {:?}", interactive.location);
    // Signing in as alice anyway does not answer a request for bob.
    let wrong = crate::support::rp::sign_in(&mut app.browser(), &for_sub(&bob.id.0, None), USERNAME, PASSWORD).await;
    assert_eq!(wrong.error.as_deref(), Some("login_required"));

    // An essential acr is a step-up: a password-only session does not meet mfa.
    let claims = serde_json::json!({ "id_token": { "acr": { "essential": true, "values": ["urn:latchkey:acr:mfa"] } } }).to_string();
    let strong = browser.get(&rp.authorize(&[("claims", claims.as_str()), ("prompt", "none")]).url).await;
    assert_eq!(AuthResponse::parse(strong.location.as_deref().unwrap_or_default()).error.as_deref(), Some("login_required"));
    let garbage = browser.get(&rp.authorize(&[("claims", "{not json")]).url).await;
    assert_eq!(AuthResponse::parse(garbage.location.as_deref().unwrap_or_default()).error.as_deref(), Some("invalid_request"));
}
