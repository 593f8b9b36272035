//! What must go wrong, and how: every failure a clear, specific answer.

use latchkey_domain::SigningAlg;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use serde_json::Value;

use crate::support::jwt;
use crate::support::rp::{sign_in, sign_in_default};
use crate::support::{AuthResponse, Backend, Browser, Rp, TestApp, PASSWORD, REDIRECT_URI, USERNAME};

/// A token request by hand: status, headers, JSON body.
async fn token_request(app: &TestApp, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, openidconnect::reqwest::header::HeaderMap, Value) {
    let a = crate::support::raw::post_form(app, "/token", form, basic).await;
    (a.status, a.headers, a.body)
}

async fn setup(backend: Backend, public: bool) -> Option<(TestApp, Rp)> {
    let app = TestApp::start(backend).await?;
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(public, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    Some((app, rp))
}

fn authorize_url(app: &TestApp, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&app.url("/authorize")).expect("url");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid email")
        .append_pair("state", "st4te");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_pkce_verifier_is_invalid_grant() {
    let Some((app, rp)) = setup(Backend::Sqlite, true).await else { return };
    let mut browser = app.browser();
    for verifier in [None, Some("x".repeat(43))] {
        let req = rp.authorize(&[]);
        let resp = sign_in_default(&mut browser, &req.url).await;
        let code = resp.code.expect("code");
        let mut form = vec![("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI), ("client_id", rp.client_id.as_str())];
        if let Some(v) = &verifier {
            form.push(("code_verifier", v.as_str()));
        }
        let (status, headers, body) = token_request(&app, &form, None).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant", "verifier {verifier:?}: {body}");
        assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_pkce_and_missing_pkce_are_refused_by_redirect() {
    let Some((app, rp)) = setup(Backend::Sqlite, true).await else { return };
    let mut browser = app.browser();
    let challenge = "a".repeat(43);
    for extra in [vec![("code_challenge", challenge.as_str()), ("code_challenge_method", "plain")], vec![]] {
        let page = browser.get(&authorize_url(&app, &rp.client_id, &extra)).await;
        assert_eq!(page.status, 302);
        let resp = AuthResponse::parse(page.location.as_deref().unwrap_or_default());
        assert_eq!(resp.error.as_deref(), Some("invalid_request"), "{extra:?}");
        assert_eq!(resp.state.as_deref(), Some("st4te"));
        assert_eq!(resp.iss.as_deref(), Some(app.issuer.as_str()));
        assert!(resp.code.is_none());
    }
}

/// A replayed code fails, and the access token of the first exchange stops working.
async fn code_reuse_revokes_first_tokens(backend: Backend) {
    let Some((app, rp)) = setup(backend, false).await else { return };
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let verifier = req.verifier.secret().clone();
    let tokens = rp.exchange(&code, req.verifier).await.expect("first exchange");
    let userinfo = |token: String| {
        let http = app.http();
        let url = app.url("/userinfo");
        async move { http.get(url).bearer_auth(token).send().await.expect("userinfo") }
    };
    assert_eq!(userinfo(tokens.access_token().secret().clone()).await.status().as_u16(), 200);

    let second = rp.exchange(&code, openidconnect::PkceCodeVerifier::new(verifier)).await;
    assert_eq!(second.err().as_deref(), Some("invalid_grant"));

    let r = userinfo(tokens.access_token().secret().clone()).await;
    assert_eq!(r.status().as_u16(), 401, "the first exchange's access token is revoked");
    let challenge = r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(challenge.contains(r#"error="invalid_token""#), "{challenge}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_reuse_revokes_first_tokens_on_sqlite() {
    code_reuse_revokes_first_tokens(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_reuse_revokes_first_tokens_on_postgres_and_redis() {
    code_reuse_revokes_first_tokens(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_code_is_invalid_grant() {
    let Some((app, rp)) = setup(Backend::Sqlite, false).await else { return };
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    app.clock.advance(61);
    assert_eq!(rp.exchange(&code, req.verifier).await.err().as_deref(), Some("invalid_grant"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_uri_mismatch_and_unknown_client_never_redirect() {
    let Some((app, rp)) = setup(Backend::Sqlite, false).await else { return };
    let mut browser = app.browser();
    let evil = authorize_url(&app, &rp.client_id, &[]).replace("localhost%3A3000%2Fcallback", "evil.example%2Fcallback");
    assert!(evil.contains("evil.example"));
    let unknown = authorize_url(&app, "no-such-client", &[]);
    let missing_id = app.url("/authorize?response_type=code&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback");
    for url in [evil, unknown, missing_id] {
        let page = browser.get(&url).await;
        assert_eq!(page.status, 400, "{url}");
        assert!(page.location.is_none(), "never redirects: {url}");
        assert!(page.header("content-type").is_some_and(|c| c.starts_with("text/html")));
        assert!(page.body.contains("<h1>Invalid request</h1>"), "{}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_and_unknown_client_are_401_with_challenge() {
    let Some((app, rp)) = setup(Backend::Sqlite, false).await else { return };
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI), ("code_verifier", req.verifier.secret().as_str())];
    for (id, secret) in [(rp.client_id.as_str(), "lks_wrong"), ("no-such-client", "whatever")] {
        let (status, headers, body) = token_request(&app, &form, Some((id, secret))).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "invalid_client");
        assert!(headers.get("www-authenticate").and_then(|v| v.to_str().ok()).is_some_and(|h| h.starts_with("Basic")));
    }
    // The code was not consumed by the failed attempts: the right secret still works.
    let (status, _, body) = token_request(&app, &form, Some((rp.client_id.as_str(), rp.secret.as_deref().unwrap_or_default()))).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_none_without_session_is_login_required() {
    let Some((app, rp)) = setup(Backend::Sqlite, false).await else { return };
    let req = rp.authorize(&[("prompt", "none")]);
    let page = app.browser().get(&req.url).await;
    assert_eq!(page.status, 302);
    let resp = AuthResponse::parse(page.location.as_deref().unwrap_or_default());
    assert_eq!(resp.error.as_deref(), Some("login_required"));
    assert_eq!(resp.state.as_deref(), Some(req.state.secret().as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_id_token_is_rejected() {
    let Some((app, rp)) = setup(Backend::Sqlite, false).await else { return };
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let tokens = rp.exchange(&code, req.verifier).await.expect("exchange");
    let original = tokens.id_token().expect("id token").to_string();
    let mut claims = jwt::payload(&original);
    claims["sub"] = Value::String("someone-else".into());
    let forged = jwt::with_payload(&original, &claims);
    let parsed: openidconnect::core::CoreIdToken = forged.parse().expect("still a JWT");
    assert!(parsed.claims(&rp.client.id_token_verifier(), &req.nonce).is_err(), "a changed payload fails the signature check");
    // And the untouched one passes, so the failure above is the tampering.
    let ok: openidconnect::core::CoreIdToken = original.parse().expect("JWT");
    assert!(ok.claims(&rp.client.id_token_verifier(), &req.nonce).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_user_look_the_same() {
    let Some((app, rp)) = setup(Backend::Sqlite, false).await else { return };
    let mut answers = Vec::new();
    for (user, password) in [(USERNAME, "not the password"), ("mallory", "whatever it is")] {
        let mut browser = app.browser();
        let req = rp.authorize(&[]);
        let first = browser.get(&req.url).await;
        let login = browser.get(first.location.as_deref().unwrap_or_default()).await;
        let page = browser
            .post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("authz", &login.field("authz").unwrap_or_default()), ("username", user), ("password", password)])
            .await;
        assert_eq!(page.status, 401);
        assert!(page.body.contains("Invalid username or password."));
        assert!(page.set_cookie("__Host-latchkey-session").is_none(), "no session on failure");
        let mut normalized = page.body.replace(user, "USER");
        for field in ["csrf_token", "authz"] {
            normalized = normalized.replace(&page.field(field).unwrap_or_default(), field);
        }
        answers.push(normalized);
    }
    assert_eq!(answers[0], answers[1], "same page apart from the echoed username and the per-browser tokens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_the_csrf_token_and_a_same_origin() {
    let Some((app, rp)) = setup(Backend::Sqlite, false).await else { return };
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let first = browser.get(&req.url).await;
    let login = browser.get(first.location.as_deref().unwrap_or_default()).await;
    let authz = login.field("authz").unwrap_or_default();
    let csrf = login.field("csrf_token").unwrap_or_default();

    let no_token = browser.post_form("/login", &[("csrf_token", "forged"), ("authz", &authz), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_eq!(no_token.status, 403);

    browser.origin = Some("https://evil.example".into());
    let cross = browser.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_eq!(cross.status, 403);

    // Another browser (no CSRF cookie) cannot use this page's token or request.
    let mut other = app.browser();
    let stolen = other.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_eq!(stolen.status, 403);

    browser.origin = Some(app.issuer.clone());
    let ok = browser.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denying_consent_is_access_denied() {
    let Some((app, rp)) = setup(Backend::Sqlite, false).await else { return };
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let first = browser.get(&req.url).await;
    let login = browser.get(first.location.as_deref().unwrap_or_default()).await;
    let to_consent = browser
        .post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("authz", &login.field("authz").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)])
        .await;
    let consent = browser.get(to_consent.location.as_deref().unwrap_or_default()).await;
    let done = browser.post_form("/consent", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("authz", &consent.field("authz").unwrap_or_default()), ("decision", "deny")]).await;
    let resp = AuthResponse::parse(done.location.as_deref().unwrap_or_default());
    assert_eq!(resp.error.as_deref(), Some("access_denied"));
    assert!(resp.code.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_login_and_max_age_zero_ask_again() {
    let Some((app, rp)) = setup(Backend::Sqlite, false).await else { return };
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    sign_in_default(&mut browser, &req.url).await;
    for extra in [("prompt", "login"), ("max_age", "0")] {
        app.clock.advance(5);
        let again = rp.authorize(&[extra]);
        let page = browser.get(&again.url).await;
        assert!(page.location.as_deref().is_some_and(|l| l.starts_with("/login?authz=")), "{extra:?} shows the sign-in page: {:?}", page.location);
        let resp = sign_in(&mut browser, &again.url, USERNAME, PASSWORD).await;
        let tokens = rp.exchange(resp.code.as_deref().unwrap_or_default(), again.verifier).await.expect("exchange");
        let auth_time = jwt::payload(&tokens.id_token().expect("id").to_string())["auth_time"].as_i64().unwrap_or(0);
        assert!(auth_time >= app.clock_now() - 1, "a fresh authentication");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_rejects_malformed_requests() {
    let Some((app, rp)) = setup(Backend::Sqlite, false).await else { return };
    let secret = rp.secret.clone().unwrap_or_default();
    let basic = Some((rp.client_id.as_str(), secret.as_str()));
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("grant_type", "authorization_code"), ("grant_type", "authorization_code")], "invalid_request"),
        (&[("grant_type", "password")], "unsupported_grant_type"),
        (&[("code", "x")], "invalid_request"),
        (&[("grant_type", "authorization_code"), ("code", "lkc_nope"), ("redirect_uri", REDIRECT_URI)], "invalid_grant"),
    ];
    for (form, error) in cases {
        let (status, _, body) = token_request(&app, form, basic).await;
        assert_eq!((status, body["error"].as_str()), (400, Some(error)), "{form:?}: {body}");
    }
    // A code issued to one client cannot be redeemed by another.
    let (other_id, other_secret) = app.add_client(false, SigningAlg::RS256).await;
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI), ("code_verifier", req.verifier.secret().as_str())];
    let (status, _, body) = token_request(&app, &form, Some((other_id.as_str(), other_secret.as_deref().unwrap_or_default()))).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_errors_follow_rfc6750() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let http = app.http();
    let r = http.get(app.url("/userinfo")).send().await.expect("userinfo");
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some(r#"Bearer realm="latchkey""#));
    let r = http.get(app.url("/userinfo")).bearer_auth("not-a-jwt").send().await.expect("userinfo");
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).is_some_and(|h| h.contains(r#"error="invalid_token""#)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_response_type_is_redirected() {
    let Some((app, rp)) = setup(Backend::Sqlite, false).await else { return };
    let url = authorize_url(&app, &rp.client_id, &[]).replace("response_type=code", "response_type=token");
    let page = Browser::new(&app.issuer, app.addr).get(&url).await;
    let resp = AuthResponse::parse(page.location.as_deref().unwrap_or_default());
    assert_eq!(resp.error.as_deref(), Some("unsupported_response_type"));
}

/// A browser that does not send latchkey's cookie (blocked, or a `Secure`
/// cookie dropped over plain http) is told so, not that the request expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_without_our_cookie_is_told_so() {
    let Some((app, rp)) = setup(Backend::Sqlite, false).await else { return };
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let login_url = browser.get(&req.url).await.location.unwrap_or_default();
    browser.cookies.clear();
    let page = browser.get(&login_url).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("Your browser did not send latchkey&#39;s cookie"), "{}", page.body);
    assert!(!page.body.contains("expired"), "not the expired-request message");
    let post = browser.post_form("/login", &[("csrf_token", "x"), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_eq!(post.status, 403);
    assert!(post.body.contains("Cookies are not reaching latchkey"), "{}", post.body);
}
