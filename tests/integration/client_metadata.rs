//! Client ID metadata documents (issue #27): a client named by the URL of
//! its metadata document signs a user in; documents that break a rule
//! (wrong `client_id`, too large, slow, redirected, a secret, the admin
//! scope, a `javascript:` redirect) and addresses inside the network are
//! refused; what the document says is cached within bounds. Also: APIs open
//! to self-registered clients, and the protected resource metadata
//! latchkey publishes for an API.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use latchkey_app::client_metadata::MetadataPolicy;
use latchkey_app::registration::RegistrationPolicy;
use openidconnect::PkceCodeChallenge;
use serde_json::{json, Value};

use crate::accounts::{admin_post, admin_token};
use crate::support::raw::{bearer, post_form};
use crate::support::{Backend, TestApp, PASSWORD, USERNAME};

const REDIRECT: &str = "http://127.0.0.1:41234/callback";

/// A stand-in for an app's web server: serves each path's answer, counts fetches.
struct DocumentServer {
    base: String,
    fetches: Arc<AtomicUsize>,
    answers: Arc<Mutex<HashMap<String, Answer>>>,
}

#[derive(Clone)]
enum Answer {
    Json(Value, Option<&'static str>),
    Raw(Vec<u8>),
    Redirect(String),
    Slow(Duration),
}

impl DocumentServer {
    async fn start() -> DocumentServer {
        let fetches = Arc::new(AtomicUsize::new(0));
        let answers: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let (f, a) = (fetches.clone(), answers.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let server = HttpServer::new(move || {
            let (f, a) = (f.clone(), a.clone());
            App::new().default_service(web::to(move |req: actix_web::HttpRequest| {
                let (f, a) = (f.clone(), a.clone());
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    let answer = a.lock().expect("answers").get(req.path()).cloned();
                    match answer {
                        Some(Answer::Json(v, cache)) => {
                            let mut r = HttpResponse::Ok();
                            if let Some(c) = cache {
                                r.insert_header(("cache-control", c));
                            }
                            r.json(v)
                        }
                        Some(Answer::Raw(bytes)) => HttpResponse::Ok().content_type("application/json").body(bytes),
                        Some(Answer::Redirect(to)) => HttpResponse::Found().insert_header(("location", to)).finish(),
                        Some(Answer::Slow(d)) => {
                            tokio::time::sleep(d).await;
                            HttpResponse::Ok().json(json!({}))
                        }
                        None => HttpResponse::NotFound().finish(),
                    }
                }
            }))
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        DocumentServer { base, fetches, answers }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Serves a document at `path` naming itself by its URL, with `extra` members.
    fn serve_document(&self, path: &str, extra: Value) -> String {
        let id = self.url(path);
        let mut doc = json!({ "client_id": id, "client_name": "Notes Agent", "redirect_uris": [REDIRECT], "scope": "openid profile" });
        if let (Some(d), Some(e)) = (doc.as_object_mut(), extra.as_object()) {
            d.extend(e.clone());
        }
        self.serve(path, Answer::Json(doc, None));
        id
    }

    fn serve(&self, path: &str, answer: Answer) {
        self.answers.lock().expect("answers").insert(path.to_string(), answer);
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn authorize_query(client_id: &str, challenge: &PkceCodeChallenge) -> String {
    serde_urlencoded::to_string([
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("state", "s1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .expect("query")
}

async fn start(backend: Backend, policy: MetadataPolicy) -> Option<TestApp> {
    TestApp::start_with(backend, |s| s.client_id_metadata = policy).await
}

async fn signs_in_with_a_metadata_document(backend: Backend) {
    let Some(app) = start(backend, MetadataPolicy::OnWithLoopback).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let docs = DocumentServer::start().await;
    let client_id = docs.serve_document("/agent.json", json!({ "logo_uri": "https://notes.example/logo.png" }));
    let meta: Value = app.http().get(app.url("/.well-known/openid-configuration")).send().await.expect("discovery").json().await.expect("json");
    assert_eq!(meta["client_id_metadata_document_supported"], true);

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut browser = app.browser();
    let to_login = browser.get(&format!("/authorize?{}", authorize_query(&client_id, &challenge))).await;
    let to_login = to_login.location.unwrap_or_else(|| panic!("to sign in: {} {}", to_login.status, to_login.body));
    assert_eq!(docs.fetches(), 1, "the document was fetched");
    let form = browser.get(&to_login).await;
    let (csrf, authz) = (form.field("csrf_token").expect("csrf"), form.field("authz").expect("authz"));
    let signed = browser.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", USERNAME), ("password", PASSWORD)]).await;
    let consent = browser.get(signed.location.as_deref().expect("to consent")).await;
    assert!(consent.body.contains("Allow Notes Agent"), "the document's name: {}", consent.body);
    assert!(consent.body.contains("This app registered itself"), "{}", consent.body);
    assert!(consent.body.contains("in a document on <strong>127.0.0.1</strong>"), "the document's host: {}", consent.body);
    assert!(consent.body.contains("go back to <strong>127.0.0.1</strong>"), "the redirect's host: {}", consent.body);
    let (csrf, authz) = (consent.field("csrf_token").expect("csrf"), consent.field("authz").expect("authz"));
    let back = browser.post_form("/consent", &[("csrf_token", &csrf), ("authz", &authz), ("decision", "allow")]).await;
    let location = back.location.expect("back to the app");
    assert!(location.starts_with(REDIRECT), "{location}");
    let code = url::Url::parse(&location).expect("url").query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).expect("code");
    let tokens =
        post_form(&app, "/token", &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("client_id", &client_id), ("code_verifier", verifier.secret())], None).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let claims = crate::support::jwt::payload(tokens.body["access_token"].as_str().unwrap_or_default());
    assert_eq!(claims["client_id"], client_id.as_str(), "{claims}");
    let stored = app.state.oauth.client(&client_id).await.expect("lookup").expect("kept as a client");
    assert!(stored.self_registered && stored.secret_hash.is_none(), "a public, self-registered client");

    // Cached: another request within the cache time fetches nothing.
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let again = browser.get(&format!("/authorize?{}", authorize_query(&client_id, &challenge))).await;
    assert!(again.status == 302 || again.status == 303, "{} {}", again.status, again.body);
    assert_eq!(docs.fetches(), 1, "served from the stored client");
    // Due again (5 minutes by default): the changed document is what counts.
    docs.serve_document("/agent.json", json!({ "client_name": "Notes Agent 2" }));
    app.clock.advance(301);
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    browser.get(&format!("/authorize?{}", authorize_query(&client_id, &challenge))).await;
    assert_eq!(docs.fetches(), 2, "fetched again once due");
    assert_eq!(app.state.oauth.client(&client_id).await.expect("lookup").expect("client").name, "Notes Agent 2");
    // A document that now breaks a rule: refused, even though it was fine before.
    docs.serve_document("/agent.json", json!({ "redirect_uris": ["javascript:alert(1)"] }));
    app.clock.advance(301);
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let page = browser.get(&format!("/authorize?{}", authorize_query(&client_id, &challenge))).await;
    assert_eq!(page.status, 400, "{}", page.body);
}

#[tokio::test]
async fn a_metadata_document_client_signs_a_user_in_sqlite() {
    signs_in_with_a_metadata_document(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_metadata_document_client_signs_a_user_in_postgres() {
    signs_in_with_a_metadata_document(Backend::Postgres).await;
}

/// Every rule, each at `/authorize` (a page: no redirect is safe) and none
/// leaving a client behind.
#[tokio::test]
async fn documents_that_break_a_rule_are_refused() {
    let Some(app) = start(Backend::Sqlite, MetadataPolicy::OnWithLoopback).await else { return };
    let docs = DocumentServer::start().await;
    let mismatched = docs.url("/mismatched.json");
    docs.serve("/mismatched.json", Answer::Json(json!({ "client_id": docs.url("/other.json"), "redirect_uris": [REDIRECT] }), None));
    let mut big = json!({ "client_id": docs.url("/big.json"), "redirect_uris": [REDIRECT] });
    big["padding"] = json!("x".repeat(70 * 1024));
    let too_large = docs.url("/big.json");
    docs.serve("/big.json", Answer::Json(big, None));
    let redirected = docs.url("/moved.json");
    docs.serve("/moved.json", Answer::Redirect(docs.url("/agent.json")));
    docs.serve_document("/agent.json", json!({}));
    let garbage = docs.url("/garbage.json");
    docs.serve("/garbage.json", Answer::Raw(b"\x00\x01 not json".to_vec()));
    let secret = docs.serve_document("/secret.json", json!({ "token_endpoint_auth_method": "client_secret_basic" }));
    let admin = docs.serve_document("/admin.json", json!({ "scope": "openid admin" }));
    let script = docs.serve_document("/script.json", json!({ "redirect_uris": ["javascript:alert(1)"] }));
    let logo = docs.serve_document("/logo.json", json!({ "logo_uri": "javascript:alert(1)" }));
    let missing = docs.url("/missing.json");
    let cases = [
        (&mismatched, "client_id is not the URL"),
        (&too_large, "larger than 64 KiB"),
        (&redirected, "redirect"),
        (&garbage, "not JSON"),
        (&secret, "token_endpoint_auth_method"),
        (&admin, "admin"),
        (&script, "javascript:alert(1)"),
        (&logo, "logo_uri"),
        (&missing, "HTTP 404"),
    ];
    let mut browser = app.browser();
    for (client_id, why) in cases {
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let page = browser.get(&format!("/authorize?{}", authorize_query(client_id, &challenge))).await;
        assert_eq!(page.status, 400, "{client_id}: {}", page.body);
        assert!(page.location.is_none(), "never redirected");
        assert!(page.body.contains(why), "{client_id}: says why ({why}): {}", page.body);
        assert!(app.state.oauth.client(client_id).await.expect("lookup").is_none(), "{client_id}: nothing stored");
    }
    // At /par: the same refusal, as JSON.
    let answer = post_form(&app, "/par", &[("client_id", &mismatched), ("redirect_uri", REDIRECT), ("response_type", "code"), ("scope", "openid")], None).await;
    assert_eq!((answer.status, answer.body["error"].as_str()), (401, Some("invalid_client")), "{}", answer.body);
}

/// A server that does not answer within 5 seconds: refused, not waited on.
#[tokio::test]
async fn a_slow_document_server_is_not_waited_on() {
    let Some(app) = start(Backend::Sqlite, MetadataPolicy::OnWithLoopback).await else { return };
    let docs = DocumentServer::start().await;
    let slow = docs.url("/slow.json");
    docs.serve("/slow.json", Answer::Slow(Duration::from_secs(8)));
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let started = std::time::Instant::now();
    let page = app.browser().get(&format!("/authorize?{}", authorize_query(&slow, &challenge))).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("within 5 seconds"), "{}", page.body);
    assert!(started.elapsed() < Duration::from_secs(8), "gave up before the server answered");
}

/// Without the development setting, nothing on this machine or the private
/// network is fetched, by IP literal or by a name that resolves there; with
/// the feature off, a URL is just an unknown client id.
#[tokio::test]
async fn addresses_inside_the_network_are_refused() {
    let Some(app) = start(Backend::Sqlite, MetadataPolicy::On).await else { return };
    let docs = DocumentServer::start().await;
    docs.serve_document("/agent.json", json!({}));
    let port = docs.base.rsplit(':').next().unwrap_or_default().to_string();
    let mut browser = app.browser();
    for client_id in
        [format!("https://127.0.0.1:{port}/agent.json"), format!("https://localhost:{port}/agent.json"), "https://169.254.169.254/latest/meta-data.json".into(), "https://10.0.0.1/c.json".into()]
    {
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let page = browser.get(&format!("/authorize?{}", authorize_query(&client_id, &challenge))).await;
        assert_eq!(page.status, 400, "{client_id}: {}", page.body);
        assert!(page.body.contains("not a public address"), "{client_id}: {}", page.body);
    }
    assert_eq!(docs.fetches(), 0, "nothing inside was reached");
    // http is never fetched outside development: an unknown client.
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let page = browser.get(&format!("/authorize?{}", authorize_query(&docs.url("/agent.json"), &challenge))).await;
    assert_eq!(page.status, 400);
    assert_eq!(docs.fetches(), 0);

    let Some(off) = start(Backend::Sqlite, MetadataPolicy::Off).await else { return };
    let meta: Value = off.http().get(off.url("/.well-known/openid-configuration")).send().await.expect("discovery").json().await.expect("json");
    assert!(meta.get("client_id_metadata_document_supported").is_none());
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let page = off.browser().get(&format!("/authorize?{}", authorize_query(&docs.url("/agent.json"), &challenge))).await;
    assert_eq!(page.status, 400, "an unknown client");
    assert_eq!(docs.fetches(), 0, "off: never fetched");
}

/// Made-up client ids from one address: fetches are limited per address.
#[tokio::test]
async fn document_fetches_are_limited_per_address() {
    let Some(app) = start(Backend::Sqlite, MetadataPolicy::OnWithLoopback).await else { return };
    let docs = DocumentServer::start().await;
    let limit = latchkey_authn::rate_limit::METADATA_FETCH_PER_IP.max as usize;
    let mut browser = app.browser();
    let mut last = 0;
    for i in 0..=limit {
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        last = browser.get(&format!("/authorize?{}", authorize_query(&docs.url(&format!("/made-up-{i}.json")), &challenge))).await.status;
    }
    assert_eq!(last, 429);
    assert_eq!(docs.fetches(), limit, "the one over the limit fetched nothing");
}

/// An API is closed to self-registered clients until its operator opens
/// it; latchkey publishes its protected resource metadata when asked to.
#[tokio::test]
async fn apis_open_to_self_registered_clients_and_their_published_metadata() {
    let Some(app) = TestApp::start_with(Backend::Postgres, |s| s.client_registration = RegistrationPolicy::Open).await else { return };
    let admin = admin_token(&app).await;
    let (status, api) = admin_post(&app, "/admin/api/v1/apis", Some(&admin), &json!({ "name": "Notes", "audience": "https://notes.example/mcp", "scopes": [{ "name": "notes:read" }] })).await;
    assert_eq!(status, 201, "{api}");
    assert_eq!((api["self_registration"].as_bool(), api["publish_metadata"].as_bool(), api["metadata_url"].is_null()), (Some(false), Some(false), true));
    let id = api["id"].as_str().unwrap_or_default().to_string();
    let agent = json!({ "client_name": "Agent", "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none", "scope": "openid notes:read" });
    let (status, body) = admin_post(&app, "/register", None, &agent).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client_metadata")), "closed to self-registered clients: {body}");
    assert_eq!(app.http().get(app.url(&format!("/resource-metadata/{id}"))).send().await.expect("get").status(), 404, "not published");

    let patch = |body: Value| {
        let (app, admin, id) = (&app, admin.clone(), id.clone());
        async move {
            let r = app.http().patch(app.url(&format!("/admin/api/v1/apis/{id}"))).bearer_auth(admin).json(&body).send().await.expect("patch");
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, changed) = patch(json!({ "self_registration": true, "publish_metadata": true })).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["metadata_url"], app.url(&format!("/resource-metadata/{id}")));
    let (status, body) = admin_post(&app, "/register", None, &agent).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["scope"], "openid notes:read");
    let published: Value = app.http().get(app.url(&format!("/resource-metadata/{id}"))).send().await.expect("get").json().await.expect("json");
    assert_eq!(published["resource"], "https://notes.example/mcp");
    assert_eq!(published["authorization_servers"], json!([app.issuer]));
    assert_eq!(published["scopes_supported"], json!(["notes:read"]));
    assert_eq!(published["bearer_methods_supported"], json!(["header"]));
    // By audience, not id: not a published document's address.
    assert_eq!(app.http().get(app.url("/resource-metadata/https:%2F%2Fnotes.example%2Fmcp")).send().await.expect("get").status(), 404);
    // Only an admin changes an API; the change is audited.
    assert_eq!(bearer(&app, "PATCH", &format!("/admin/api/v1/apis/{id}"), "not-a-token").await.status, 401);
    let audit = bearer(&app, "GET", "/admin/api/v1/audit?kind=api_changed", &admin).await;
    assert!(audit.body.to_string().contains("published metadata: yes"), "{}", audit.body);
    // Closed again: the API's scopes are no longer for new self-registered clients.
    assert_eq!(patch(json!({ "self_registration": false })).await.0, 200);
    assert_eq!(admin_post(&app, "/register", None, &agent).await.0, 400);
}
