//! Pushed authorization requests (RFC 9126): `/par` with client
//! authentication, a one-time `request_uri` at `/authorize`, and clients (or
//! the whole server) that must use it.

use latchkey_domain::SigningAlg;
use openidconnect::{OAuth2TokenResponse, PkceCodeChallenge};

use crate::support::raw::{post_form, Answer};
use crate::support::rp::{sign_in_default, AuthResponse};
use crate::support::{Backend, Rp, TestApp, TestClient, PASSWORD, REDIRECT_URI, USERNAME};

const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

struct Setup {
    app: TestApp,
    rp: Rp,
    id: String,
    secret: String,
}

async fn setup(backend: Backend, require_par: bool, customize: impl FnOnce(&mut latchkey_web::Settings)) -> Option<Setup> {
    let app = TestApp::start_with(backend, customize).await?;
    app.add_user(USERNAME, PASSWORD).await;
    let new = TestClient::web_app("Pushing app").require_par(require_par).build();
    let (id, secret) = app.register(new).await;
    let secret = secret.expect("confidential");
    let rp = Rp::discover(&app, &id, Some(&secret)).await;
    Some(Setup { app, rp, id, secret })
}

/// Pushes a code-flow request (with PKCE) plus `extra`; returns the answer and the verifier.
async fn push(s: &Setup, extra: &[(&str, &str)]) -> (Answer, openidconnect::PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut form = vec![
        ("response_type", "code"),
        ("client_id", s.id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid"),
        ("state", "pushed-state"),
        ("nonce", "pushed-nonce"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    form.extend_from_slice(extra);
    (post_form(&s.app, "/par", &form, Some((&s.id, &s.secret))).await, verifier)
}

fn request_uri(a: &Answer) -> String {
    a.body["request_uri"].as_str().unwrap_or_default().to_string()
}

fn authorize_url(client_id: &str, request_uri: &str) -> String {
    format!("/authorize?client_id={}&request_uri={}", client_id, url::form_urlencoded::byte_serialize(request_uri.as_bytes()).collect::<String>())
}

async fn pushed_request_signs_in_once(backend: Backend) {
    let Some(s) = setup(backend, false, |_| {}).await else { return };
    let discovery = s.app.http().get(s.app.url("/.well-known/openid-configuration")).send().await.expect("discovery").json::<serde_json::Value>().await.expect("json");
    assert_eq!(discovery["pushed_authorization_request_endpoint"], s.app.url("/par"));
    assert_eq!(discovery["require_pushed_authorization_requests"], false);

    let (pushed, verifier) = push(&s, &[]).await;
    assert_eq!(pushed.status, 201, "{}", pushed.body);
    assert_eq!(pushed.body["expires_in"], 60);
    assert_eq!(pushed.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let uri = request_uri(&pushed);
    assert!(uri.starts_with(PREFIX) && uri.len() > PREFIX.len() + 20, "{uri}");

    // Parameters beside the request_uri are not believed (RFC 9126 §4): the
    // pushed scope and redirect URI win over what the browser's URL says.
    let url = format!("{}&scope=openid%20email%20offline_access&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&state=forged", authorize_url(&s.id, &uri));
    let mut browser = s.app.browser();
    let resp = sign_in_default(&mut browser, &url).await;
    assert_eq!(resp.state.as_deref(), Some("pushed-state"));
    let tokens = s.rp.exchange(resp.code.as_deref().expect("code"), verifier).await.expect("exchange with the pushed PKCE challenge");
    let scopes: Vec<String> = tokens.scopes().map(|v| v.iter().map(|s| s.to_string()).collect()).unwrap_or_default();
    assert_eq!(scopes, vec!["openid".to_string()], "only what was pushed");

    // One use: the same request_uri again is refused, without a redirect.
    let again = browser.get(&authorize_url(&s.id, &uri)).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.location.is_none());
    assert!(again.body.contains("expired or was already used"));

    // Another client's id with a pushed request: refused, and the request is spent.
    let (other_id, _) = s.app.add_client(false, SigningAlg::RS256).await;
    let (pushed, _) = push(&s, &[]).await;
    let uri = request_uri(&pushed);
    let stolen = s.app.browser().get(&authorize_url(&other_id, &uri)).await;
    assert_eq!(stolen.status, 400);
    assert!(stolen.location.is_none());
    assert_eq!(s.app.browser().get(&authorize_url(&s.id, &uri)).await.status, 400, "spent by the failed attempt");

    // A made-up request_uri of our form: refused the same way.
    assert_eq!(s.app.browser().get(&authorize_url(&s.id, &format!("{PREFIX}made-up"))).await.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_request_signs_in_once_on_sqlite() {
    pushed_request_signs_in_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_request_signs_in_once_on_postgres_and_redis() {
    pushed_request_signs_in_once(Backend::Postgres).await;
}

/// What `/par` refuses, with the JSON errors of RFC 9126 §2.3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn par_refuses_bad_pushes() {
    let Some(s) = setup(Backend::Sqlite, false, |_| {}).await else { return };
    let form = [("response_type", "code"), ("client_id", s.id.as_str()), ("redirect_uri", REDIRECT_URI), ("scope", "openid")];
    let unauthenticated = post_form(&s.app, "/par", &form, None).await;
    assert_eq!((unauthenticated.status, unauthenticated.body["error"].as_str()), (401, Some("invalid_client")));
    let wrong_secret = post_form(&s.app, "/par", &form, Some((&s.id, "not the secret"))).await;
    assert_eq!(wrong_secret.status, 401);

    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("request_uri", "urn:ietf:params:oauth:request_uri:x")], "invalid_request"),
        (&[("redirect_uri", "https://evil.example/cb")], "invalid_request"),
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("client_id", "someone-else")], "invalid_request"),
        (&[("code_challenge_method", "plain")], "invalid_request"),
    ];
    for (extra, error) in cases {
        let mut f: Vec<(&str, &str)> = form.iter().copied().filter(|(k, _)| !extra.iter().any(|(e, _)| e == k)).collect();
        f.extend_from_slice(extra);
        let a = post_form(&s.app, "/par", &f, Some((&s.id, &s.secret))).await;
        assert_eq!((a.status, a.body["error"].as_str()), (400, Some(error)), "{extra:?}: {}", a.body);
    }
    // A pushed request needs no redirect_uri when the client has exactly one... it
    // still needs the basics: no response_type is an error.
    let a = post_form(&s.app, "/par", &[("client_id", s.id.as_str()), ("scope", "openid")], Some((&s.id, &s.secret))).await;
    assert_eq!(a.status, 400, "{}", a.body);
    // A request_uri that is not from our PAR endpoint is not supported.
    let mut browser = s.app.browser();
    let foreign = browser
        .get(&format!(
            "/authorize?client_id={}&redirect_uri={}&response_type=code&scope=openid&request_uri=https%3A%2F%2Fexample.com%2Fr",
            s.id,
            url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(AuthResponse::parse(foreign.location.as_deref().unwrap_or_default()).error.as_deref(), Some("request_uri_not_supported"));
}

/// A client registered with --require-par: a plain authorization request is
/// refused (on the redirect, the client and redirect URI being known); a
/// pushed one works.
async fn a_client_that_must_push(backend: Backend) {
    let Some(s) = setup(backend, true, |_| {}).await else { return };
    let mut browser = s.app.browser();
    let plain = s.rp.authorize(&[]);
    let refused = browser.get(&plain.url).await;
    let resp = AuthResponse::parse(refused.location.as_deref().unwrap_or_default());
    assert_eq!(resp.error.as_deref(), Some("invalid_request"));
    let (pushed, verifier) = push(&s, &[]).await;
    let resp = sign_in_default(&mut browser, &authorize_url(&s.id, &request_uri(&pushed))).await;
    s.rp.exchange(resp.code.as_deref().expect("code"), verifier).await.expect("exchange");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_must_push_on_sqlite() {
    a_client_that_must_push(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_must_push_on_postgres_and_redis() {
    a_client_that_must_push(Backend::Postgres).await;
}

/// `LATCHKEY_REQUIRE_PAR`: every client must push, and discovery says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_requires_pushed_requests() {
    let Some(s) = setup(Backend::Sqlite, false, |st| st.require_par = true).await else { return };
    let discovery = s.app.http().get(s.app.url("/.well-known/openid-configuration")).send().await.expect("discovery").json::<serde_json::Value>().await.expect("json");
    assert_eq!(discovery["require_pushed_authorization_requests"], true);
    let plain = s.rp.authorize(&[]);
    let refused = s.app.browser().get(&plain.url).await;
    assert_eq!(AuthResponse::parse(refused.location.as_deref().unwrap_or_default()).error.as_deref(), Some("invalid_request"));
    let (pushed, _) = push(&s, &[]).await;
    let resp = sign_in_default(&mut s.app.browser(), &authorize_url(&s.id, &request_uri(&pushed))).await;
    assert!(resp.code.is_some());
}

/// A pushed request is single use across two nodes: redeemed on both at once,
/// exactly one browser reaches the sign-in page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_uri_is_single_use_across_two_nodes() {
    let Some(s) = setup(Backend::Postgres, false, |_| {}).await else { return };
    let node2 = s.app.second_node().await;
    for round in 0..5 {
        let (pushed, _) = push(&s, &[]).await;
        let url = authorize_url(&s.id, &request_uri(&pushed));
        let (mut a, mut b) = (s.app.browser(), node2.browser());
        let (ra, rb) = tokio::join!(a.get(&url), b.get(&url));
        let to_login = [&ra, &rb].iter().filter(|p| p.location.as_deref().is_some_and(|l| l.starts_with("/login"))).count();
        assert_eq!(to_login, 1, "round {round}: {} / {}", ra.status, rb.status);
        assert_eq!([&ra, &rb].iter().filter(|p| p.status == 400).count(), 1, "round {round}");
    }
}

/// `/par` has the per-client rate limit of the token endpoints: 429 with
/// `Retry-After` and a JSON error once the burst is spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_are_rate_limited_per_client() {
    use latchkey_oauth::endpoint_limits::EndpointRate;
    use std::num::NonZeroU32;
    let Some(s) = setup(Backend::Sqlite, false, |st| st.endpoint_rate = Some(EndpointRate { per_second: NonZeroU32::MIN, burst: NonZeroU32::new(3).unwrap_or(NonZeroU32::MIN) })).await else { return };
    for i in 0..3 {
        assert_eq!(push(&s, &[]).await.0.status, 201, "push {i} within the burst");
    }
    let (over, _) = push(&s, &[]).await;
    assert_eq!(over.status, 429, "{}", over.body);
    assert!(over.headers.get("retry-after").is_some());
    assert_eq!(over.body["error"], "temporarily_unavailable");
}
