//! Findings 3, 7, 9, 14 and the JSON body limit: what the authorization
//! endpoint, the pages and the headers accept from anyone.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_domain::SigningAlg;
use serde_json::json;

use super::authz_of;
use crate::support::raw::bearer;
use crate::support::rp::sign_in_default;
use crate::support::{AuthResponse, Backend, Rp, TestApp, PASSWORD, REDIRECT_URI, USERNAME};

async fn signed_in_rp(app: &TestApp) -> (Rp, crate::support::Browser) {
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(app, &id, secret.as_deref()).await;
    let mut browser = app.browser();
    let first = rp.authorize(&[]);
    sign_in_default(&mut browser, &first.url).await.code.expect("first sign-in and consent");
    (rp, browser)
}

/// Finding 3: going straight to /consent never skips the sign-in the request asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f03_consent_rechecks_the_requests_authentication_requirements() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (rp, mut browser) = signed_in_rp(&app).await;
    app.clock.advance(120);
    for extra in [("prompt", "login"), ("max_age", "30"), ("acr_values", "urn:latchkey:acr:mfa"), ("prompt", "login consent")] {
        let req = rp.authorize(&[extra]);
        let location = browser.get(&req.url).await.location.unwrap_or_default();
        assert!(location.starts_with("/login?authz="), "{extra:?}: {location}");
        let authz = authz_of(&location);
        let page = browser.get(&format!("/consent?authz={authz}")).await;
        assert_eq!(page.location.as_deref(), Some(format!("/login?authz={authz}").as_str()), "{extra:?}: the consent page sends the user to sign in");
        let csrf = browser.get(&location).await.field("csrf_token").unwrap_or_default();
        let posted = browser.post_form("/consent", &[("csrf_token", &csrf), ("authz", &authz), ("decision", "allow")]).await;
        let to = posted.location.unwrap_or_default();
        assert!(!to.starts_with(REDIRECT_URI), "{extra:?}: no code without the sign-in: {to}");
        assert_eq!(to, format!("/login?authz={authz}"));
    }
}

/// Finding 7: every authorization parameter has a length limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f07_oversized_authorization_parameters_are_invalid_requests() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let long = |n: usize| "a".repeat(n);
    for (name, len) in [("state", 1025), ("nonce", 513), ("login_hint", 255), ("acr_values", 513), ("ui_locales", 2049), ("claims_locales", 30_000)] {
        let url = with_param(&rp.authorize(&[]).url, name, &long(len));
        let page = app.browser().get(&url).await;
        let location = page.location.unwrap_or_default();
        assert!(location.starts_with(REDIRECT_URI), "{name}: {} {}", page.status, location);
        assert_eq!(AuthResponse::parse(&location).error.as_deref(), Some("invalid_request"), "{name} of {len} bytes");
    }
    // At the limit, accepted.
    let ok = rp.authorize(&[("login_hint", long(254).as_str())]);
    assert!(app.browser().get(&ok.url).await.location.unwrap_or_default().starts_with("/login?authz="));
}

/// Finding 34 of issue #24 (replacing finding 7's per-address cap): a busy
/// NAT address is never refused; what bounds parked requests is a global
/// memory budget (see `parked::*`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_34_many_requests_from_one_address_are_not_refused() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = TestApp::start(backend).await else {
            continue;
        };
        let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
        let rp = Rp::discover(&app, &id, secret.as_deref()).await;
        let url = rp.authorize(&[]).url;
        let http = app.http();
        // The old cap was 1,000 per address per 10 minutes.
        for i in 0..1_200 {
            let status = http.get(&url).send().await.expect("authorize").status().as_u16();
            assert_eq!(status, 302, "{backend:?}: request {i} from one address");
        }
    }
}

/// `url` with parameter `name` set to `value` (replaced, not repeated).
fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).expect("url");
    let pairs: Vec<(String, String)> = u.query_pairs().filter(|(k, _)| k != name).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    u.query_pairs_mut().clear().extend_pairs(pairs).append_pair(name, value);
    u.to_string()
}

fn forged_jwt_with_alg(alg: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": alg, "typ": "at+jwt", "kid": "k" }).to_string());
    let payload = URL_SAFE_NO_PAD.encode(json!({ "sub": "x" }).to_string());
    format!("{header}.{payload}.c2ln")
}

/// Finding 9: attacker text never reaches a response header, and never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f09_control_characters_never_reach_a_header() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let forged = forged_jwt_with_alg("RS256\r\nX-Injected: 1");
    for path in ["/userinfo", "/admin/api/v1/clients"] {
        let a = bearer(&app, "GET", path, &forged).await;
        assert_eq!(a.status, 401, "{path}: {:?}", a.body);
        let challenge = a.headers.get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        assert_eq!(challenge, r#"Bearer realm="latchkey", error="invalid_token", error_description="the access token is invalid, expired or revoked""#);
        assert!(a.headers.get("x-injected").is_none());
    }
    // `next` with a CR/LF: ignored, the sign-in goes to /account and works.
    let mut browser = app.browser();
    let page = browser.get("/login?next=%2Faccount%0D%0ASet-Cookie%3A%20evil%3D1").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(r#"name="next""#), "the bad next is not carried");
    let csrf = page.field("csrf_token").unwrap_or_default();
    let done = browser.post_form("/login", &[("csrf_token", &csrf), ("next", "/account\r\nSet-Cookie: evil=1"), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/account")), "{}", done.body);
    assert!(done.set_cookies.iter().all(|c| !c.contains("evil")));
    assert_eq!(browser.get("/account").await.status, 200);
}

/// Finding 14: no compressed HTML (BREACH).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f14_pages_are_never_compressed() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let mut browser = app.browser();
    browser.headers.push(("accept-encoding".into(), "gzip, deflate, br".into()));
    for path in ["/login?login_hint=reflected", "/.well-known/openid-configuration"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200);
        assert!(page.header("content-encoding").is_none(), "{path} was compressed");
    }
}

/// Informational: JSON bodies are limited and their errors are JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_endpoints_refuse_large_bodies_with_json() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let mut browser = app.browser();
    let csrf = browser.get("/login").await.field("csrf_token").unwrap_or_default();
    let big = json!({ "username": "a".repeat(200_000) });
    let (status, body) = browser.post_json("/login/passkey/start", &csrf, &big).await;
    assert_eq!(status, 413);
    assert!(body["error"].is_string(), "{body}");
    let (status, body) = browser.post_json("/login/passkey/start", &csrf, &json!({ "username": ["not", "a", "string"] })).await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string(), "{body}");
}

/// Finding 3, the other side: a request the session does satisfy still gets its code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f03_a_satisfied_request_still_gets_its_code() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (rp, mut browser) = signed_in_rp(&app).await;
    let req = rp.authorize(&[("max_age", "3600")]);
    let location = browser.get(&req.url).await.location.unwrap_or_default();
    assert!(AuthResponse::parse(&location).code.is_some(), "a recent enough sign-in is enough");
}
