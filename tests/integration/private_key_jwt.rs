//! `private_key_jwt` client authentication (RFC 7523 §2.2, OIDC Core §9): a
//! client that registered public keys signs a one-time JWT instead of
//! sending a secret.

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::support::raw::{post_form, Answer};
use crate::support::{Backend, TestApp, TestClient};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An Ed25519 key of the client's, with its public JWK.
struct ClientKey {
    kid: String,
    encoding: EncodingKey,
    public_jwk: serde_json::Value,
    pair: Ed25519KeyPair,
}

impl ClientKey {
    fn new(kid: &str) -> ClientKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).expect("generate a key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("parse the key");
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        ClientKey { kid: kid.into(), encoding: EncodingKey::from_ed_der(pkcs8.as_ref()), public_jwk: json!({ "kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA" }), pair }
    }

    /// Signs as oauth4webapi 3.x / openid-client 6.x do for Ed25519 keys:
    /// `"alg": "Ed25519"` (RFC 9864), which jsonwebtoken's header type
    /// cannot write, so by hand.
    fn sign_fully_specified(&self, claims: &serde_json::Value) -> String {
        let header = json!({ "alg": "Ed25519", "kid": self.kid, "typ": "JWT" });
        let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(self.pair.sign(input.as_bytes()).as_ref()))
    }

    fn sign(&self, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &self.encoding).expect("sign the assertion")
    }
}

fn jwks(keys: &[&ClientKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.public_jwk.clone()).collect::<Vec<_>>() }).to_string()
}

struct Setup {
    app: TestApp,
    id: String,
    secret: String,
    key: ClientKey,
}

async fn setup(backend: Backend) -> Option<Setup> {
    let app = TestApp::start(backend).await?;
    let key = ClientKey::new("k1");
    let new = TestClient::service("Key-holding service").private_key_jwt(jwks(&[&key])).build();
    let (id, secret) = app.register(new).await;
    Some(Setup { app, id, secret: secret.expect("confidential"), key })
}

fn claims(s: &Setup, aud: &str, exp_in: i64, jti: &str) -> serde_json::Value {
    let now = s.app.clock_now();
    json!({ "iss": s.id, "sub": s.id, "aud": aud, "iat": now, "exp": now + exp_in, "jti": jti })
}

async fn with_assertion(app: &TestApp, assertion: &str, client_id: Option<&str>) -> Answer {
    let mut form = vec![("grant_type", "client_credentials"), ("client_assertion_type", JWT_BEARER), ("client_assertion", assertion)];
    if let Some(id) = client_id {
        form.push(("client_id", id));
    }
    post_form(app, "/token", &form, None).await
}

fn refused(a: &Answer, what: &str) {
    assert_eq!((a.status, a.body["error"].as_str()), (401, Some("invalid_client")), "{what}: {}", a.body);
}

async fn private_key_jwt_authenticates(backend: Backend) {
    let Some(s) = setup(backend).await else { return };
    let token_endpoint = s.app.url("/token");
    let discovery = s.app.http().get(s.app.url("/.well-known/openid-configuration")).send().await.expect("discovery").json::<serde_json::Value>().await.expect("json");
    assert!(discovery["token_endpoint_auth_methods_supported"].as_array().is_some_and(|m| m.iter().any(|v| v == "private_key_jwt")));
    assert!(discovery["token_endpoint_auth_signing_alg_values_supported"].as_array().is_some_and(|m| m.iter().any(|v| v == "EdDSA") && m.iter().any(|v| v == "Ed25519")));

    let issuer = s.app.issuer.clone();
    let good = s.key.sign(&claims(&s, &issuer, 60, "jti-1"));
    let ok = with_assertion(&s.app, &good, Some(&s.id)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body["access_token"].is_string());
    refused(&with_assertion(&s.app, &good, Some(&s.id)).await, "the same assertion again (jti replay)");
    // No client_id parameter: the assertion's sub names the client.
    assert_eq!(with_assertion(&s.app, &s.key.sign(&claims(&s, &issuer, 60, "jti-2")), None).await.status, 200);
    // The 2025 audience-injection advisory: only the issuer, as one string.
    // An endpoint URL, or an array (even one holding the issuer), is refused.
    refused(&with_assertion(&s.app, &s.key.sign(&claims(&s, &token_endpoint, 60, "jti-aud-1")), None).await, "the token endpoint as aud");
    refused(&with_assertion(&s.app, &s.key.sign(&claims(&s, &s.app.url("/par"), 60, "jti-aud-2")), None).await, "the PAR endpoint as aud");
    let mut array = claims(&s, &issuer, 60, "jti-aud-3");
    array["aud"] = json!([issuer]);
    refused(&with_assertion(&s.app, &s.key.sign(&array), None).await, "the issuer in an array");
    array["aud"] = json!(["https://other-as.example", issuer]);
    array["jti"] = json!("jti-aud-4");
    refused(&with_assertion(&s.app, &s.key.sign(&array), None).await, "an array naming another server and us");
    let mut slash = claims(&s, &format!("{issuer}/"), 60, "jti-aud-5");
    refused(&with_assertion(&s.app, &s.key.sign(&slash), None).await, "the issuer with a trailing slash is another string");
    slash.as_object_mut().map(|c| c.remove("aud"));
    refused(&with_assertion(&s.app, &s.key.sign(&slash), None).await, "no aud");

    refused(&with_assertion(&s.app, &s.key.sign(&claims(&s, "https://evil.example/token", 60, "jti-3")), None).await, "another audience");
    refused(&with_assertion(&s.app, &s.key.sign(&claims(&s, &issuer, -120, "jti-4")), None).await, "expired");
    refused(&with_assertion(&s.app, &s.key.sign(&claims(&s, &issuer, 3600, "jti-5")), None).await, "valid for an hour");
    let mut no_jti = claims(&s, &issuer, 60, "x");
    no_jti.as_object_mut().map(|c| c.remove("jti"));
    refused(&with_assertion(&s.app, &s.key.sign(&no_jti), None).await, "no jti");
    let impostor = ClientKey::new("k1");
    refused(&with_assertion(&s.app, &impostor.sign(&claims(&s, &issuer, 60, "jti-6")), None).await, "an unregistered key with a registered kid");
    refused(&with_assertion(&s.app, &ClientKey::new("k9").sign(&claims(&s, &issuer, 60, "jti-7")), None).await, "an unknown kid");
    let mut other_sub = claims(&s, &issuer, 60, "jti-8");
    other_sub["iss"] = json!("someone-else");
    refused(&with_assertion(&s.app, &s.key.sign(&other_sub), None).await, "iss differs from sub");
    refused(&with_assertion(&s.app, "not.a.jwt", Some(&s.id)).await, "garbage");
    let mismatch = with_assertion(&s.app, &s.key.sign(&claims(&s, &issuer, 60, "jti-9")), Some("another-client")).await;
    refused(&mismatch, "client_id differs from the assertion's sub");
    // A client restricted to private_key_jwt: its secret is refused.
    let by_secret = post_form(&s.app, "/token", &[("grant_type", "client_credentials")], Some((&s.id, &s.secret))).await;
    assert_eq!(by_secret.status, 401, "{}", by_secret.body);
    // Two methods at once.
    let both = post_form(&s.app, "/token", &[("grant_type", "client_credentials"), ("client_assertion_type", JWT_BEARER), ("client_assertion", &good)], Some((&s.id, &s.secret))).await;
    assert_eq!(both.status, 400, "{}", both.body);

    // Rotation: new keys registered, the old one stops working.
    let k2 = ClientKey::new("k2");
    latchkey_app::directory::clients::set_keys(&s.app.state.stores.db, &s.id, Some(&jwks(&[&k2])), true).await.expect("rotate the keys");
    s.app.clock.advance(6); // past the per-node client cache
    refused(&with_assertion(&s.app, &s.key.sign(&claims(&s, &issuer, 60, "jti-10")), None).await, "the retired key");
    assert_eq!(with_assertion(&s.app, &k2.sign(&claims(&s, &issuer, 60, "jti-11")), None).await.status, 200, "the new key");
    // An assertion with the issuer as aud works at the other endpoints that authenticate clients.
    let revoke = post_form(&s.app, "/revoke", &[("token", "nothing"), ("client_assertion_type", JWT_BEARER), ("client_assertion", &k2.sign(&claims(&s, &issuer, 60, "jti-12")))], None).await;
    assert_eq!(revoke.status, 200, "{}", revoke.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_jwt_authenticates_on_sqlite() {
    private_key_jwt_authenticates(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_jwt_authenticates_on_postgres_and_redis() {
    private_key_jwt_authenticates(Backend::Postgres).await;
}

/// One assertion presented on two nodes at once: accepted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_assertion_is_single_use_across_two_nodes() {
    let Some(s) = setup(Backend::Postgres).await else { return };
    let node2 = s.app.second_node().await;
    for round in 0..10 {
        let a = s.key.sign(&claims(&s, &s.app.issuer, 60, &format!("race-{round}")));
        let (x, y) = tokio::join!(with_assertion(&s.app, &a, None), with_assertion(&node2, &a, None));
        assert_eq!([x.status, y.status].iter().filter(|st| **st == 200).count(), 1, "round {round}: {} / {}", x.status, y.status);
    }
}

/// Keys are checked at registration: private parts, missing kid, garbage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_keys_must_be_public_and_named() {
    let key = ClientKey::new("k1");
    let mut private = key.public_jwk.clone();
    private["d"] = json!("c2VjcmV0");
    let mut unnamed = key.public_jwk.clone();
    unnamed.as_object_mut().map(|k| k.remove("kid"));
    for (what, text) in [
        ("private key material", json!({ "keys": [private] }).to_string()),
        ("no kid", json!({ "keys": [unnamed] }).to_string()),
        ("no keys", json!({ "keys": [] }).to_string()),
        ("symmetric", json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0", "kid": "h" }] }).to_string()),
        ("not JSON", "{".to_string()),
    ] {
        assert!(latchkey_oauth::client_keys::validate_jwks(&text).is_err(), "{what} is refused");
    }
    assert!(latchkey_oauth::client_keys::validate_jwks(&jwks(&[&key])).is_ok());
}

/// A client's key server for `jwks_uri`: serves whatever JWK Set the test
/// puts in it (or a 500), and counts the fetches.
struct KeyServer {
    jwks: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// How long each answer takes (ms): a slow key server.
    delay_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
    url: String,
}

impl KeyServer {
    async fn start(jwks: String) -> KeyServer {
        let served = std::sync::Arc::new(std::sync::Mutex::new(Some(jwks)));
        let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let delay_ms = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (s, f, d) = (served.clone(), fetches.clone(), delay_ms.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://127.0.0.1:{}/jwks.json", listener.local_addr().expect("addr").port());
        let server = actix_web::HttpServer::new(move || {
            let (s, f, d) = (s.clone(), f.clone(), d.clone());
            actix_web::App::new().route(
                "/jwks.json",
                actix_web::web::get().to(move || {
                    let (s, f, d) = (s.clone(), f.clone(), d.clone());
                    async move {
                        f.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(d.load(std::sync::atomic::Ordering::SeqCst))).await;
                        match s.lock().unwrap_or_else(|p| p.into_inner()).clone() {
                            Some(body) => actix_web::HttpResponse::Ok().content_type("application/json").body(body),
                            None => actix_web::HttpResponse::InternalServerError().finish(),
                        }
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        KeyServer { jwks: served, fetches, delay_ms, url }
    }

    fn serve(&self, jwks: Option<String>) {
        *self.jwks.lock().unwrap_or_else(|p| p.into_inner()) = jwks;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Keys published at the client's `jwks_uri`: fetched, cached, fetched again
/// for a key id not seen (at most every 30 s, so made-up kids cannot make us
/// hammer the client's server), and rotated at the client's side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_come_from_the_clients_jwks_uri() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (k1, k2) = (ClientKey::new("k1"), ClientKey::new("k2"));
    let server = KeyServer::start(jwks(&[&k1])).await;
    let new = TestClient::service("Key-publishing service").private_key_jwt_at(&server.url).build();
    let (id, _) = app.register(new).await;
    let issuer = app.issuer.clone();
    let assertion = |key: &ClientKey, jti: &str| {
        let now = app.clock_now();
        key.sign(&json!({ "iss": id, "sub": id, "aud": issuer, "iat": now, "exp": now + 60, "jti": jti }))
    };

    assert_eq!(with_assertion(&app, &assertion(&k1, "u-1"), None).await.status, 200);
    assert_eq!(with_assertion(&app, &assertion(&k1, "u-2"), None).await.status, 200);
    assert_eq!(server.fetches(), 1, "the keys are cached");

    // The client rotates to k2. Within 30 s of the last fetch an unknown kid
    // is refused without a fetch; after that it triggers one.
    server.serve(Some(jwks(&[&k2])));
    refused(&with_assertion(&app, &assertion(&k2, "u-3"), None).await, "a new kid right after a fetch");
    for i in 0..5 {
        refused(&with_assertion(&app, &assertion(&ClientKey::new("made-up"), &format!("flood-{i}")), None).await, "a made-up kid");
    }
    assert_eq!(server.fetches(), 1, "unknown kids do not make us fetch more than every 30 s");
    app.clock.advance(31);
    assert_eq!(with_assertion(&app, &assertion(&k2, "u-4"), None).await.status, 200, "the rotated key, fetched");
    assert_eq!(server.fetches(), 2);
    refused(&with_assertion(&app, &assertion(&k1, "u-5"), None).await, "the key the client retired");

    // The client's key server fails after the cache's 5 minutes: the last
    // keys fetched still serve (an outage there does not lock the client out).
    app.clock.advance(6 * 60);
    server.serve(None);
    assert_eq!(with_assertion(&app, &assertion(&k2, "u-6"), None).await.status, 200);
    assert_eq!(server.fetches(), 3, "a fetch was tried");

    // What is published must be public signature keys, as when registered.
    let mut private = k2.public_jwk.clone();
    private["d"] = json!("c2VjcmV0");
    let bad = KeyServer::start(json!({ "keys": [private] }).to_string()).await;
    latchkey_app::directory::clients::set_jwks_uri(&app.state.stores.db, &id, Some(&bad.url)).await.expect("point the client at another key server");
    app.clock.advance(6);
    refused(&with_assertion(&app, &assertion(&k2, "u-7"), None).await, "private key material at the jwks_uri");
    assert!(latchkey_app::directory::clients::validate_jwks_uri("http://keys.example/jwks").is_err(), "plain http beyond loopback");
    assert!(latchkey_app::directory::clients::validate_jwks_uri("https://user:pw@keys.example/jwks").is_err(), "credentials in the URL");
}

/// Issue #24 item 10: the refetch limit holds under concurrency and through
/// an outage. Assertions arriving together while the keys are fetched share
/// one fetch; a failed fetch is remembered, so a down (or slow) key server
/// is asked at most every 30 s, however many assertions name it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jwks_uri_fetches_are_single_flight_and_failures_remembered() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let key = ClientKey::new("k1");
    let server = KeyServer::start(jwks(&[&key])).await;
    server.delay_ms.store(300, std::sync::atomic::Ordering::SeqCst);
    let new = TestClient::service("Slow key server").private_key_jwt_at(&server.url).build();
    let (id, _) = app.register(new).await;
    let issuer = app.issuer.clone();
    let assertion = |key: &ClientKey, jti: String| {
        let now = app.clock_now();
        key.sign(&json!({ "iss": id, "sub": id, "aud": issuer, "iat": now, "exp": now + 60, "jti": jti }))
    };

    // Eight assertions at once, none cached yet: one fetch answers them all.
    let together: Vec<String> = (0..8).map(|i| assertion(&key, format!("together-{i}"))).collect();
    let answers = futures_util::future::join_all(together.iter().map(|a| with_assertion(&app, a, None))).await;
    assert!(answers.iter().all(|a| a.status == 200), "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert_eq!(server.fetches(), 1, "single-flight");

    // The key server goes down; the cache expires. Made-up kids and real
    // assertions, together and one after another: one attempt per 30 s.
    server.serve(None);
    app.clock.advance(6 * 60);
    let flood: Vec<String> = (0..8).map(|i| assertion(&ClientKey::new(&format!("made-up-{i}")), format!("flood-{i}"))).collect();
    let answers = futures_util::future::join_all(flood.iter().map(|a| with_assertion(&app, a, None))).await;
    assert!(answers.iter().all(|a| a.status == 401));
    for i in 0..5 {
        refused(&with_assertion(&app, &assertion(&ClientKey::new("made-up"), format!("later-{i}")), None).await, "a made-up kid during the outage");
    }
    assert_eq!(with_assertion(&app, &assertion(&key, "real-1".into()), None).await.status, 200, "the last keys fetched still serve");
    assert_eq!(server.fetches(), 2, "the failed fetch is remembered: no retry within 30 s");
    app.clock.advance(31);
    refused(&with_assertion(&app, &assertion(&ClientKey::new("made-up"), "after-30s".into()), None).await, "made up");
    assert_eq!(server.fetches(), 3, "after 30 s, one more attempt");

    // A client whose key server never answered: refused, and not fetched for every request.
    let down = KeyServer::start(jwks(&[&key])).await;
    down.serve(None);
    let new = TestClient::service("Down key server").private_key_jwt_at(&down.url).build();
    let (down_id, _) = app.register(new).await;
    for i in 0..6 {
        let now = app.clock_now();
        let a = key.sign(&json!({ "iss": down_id, "sub": down_id, "aud": app.issuer, "iat": now, "exp": now + 60, "jti": format!("down-{i}") }));
        refused(&with_assertion(&app, &a, None).await, "no keys to be had");
    }
    assert_eq!(down.fetches(), 1, "one attempt, remembered");
}

/// RFC 9864: a client whose library names its Ed25519 key's algorithm
/// `Ed25519` (oauth4webapi 3.x, openid-client 6.x) authenticates, also with
/// `"alg": "Ed25519"` in its registered JWK; the usual checks still hold.
async fn ed25519_named_assertions_authenticate(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let key = ClientKey::new("k1");
    let mut jwk = key.public_jwk.clone();
    jwk["alg"] = json!("Ed25519");
    let new = TestClient::service("oauth4webapi service").private_key_jwt(json!({ "keys": [jwk] }).to_string()).build();
    let (id, secret) = app.register(new).await;
    let s = Setup { app, id, secret: secret.expect("confidential"), key };
    let ok = with_assertion(&s.app, &s.key.sign_fully_specified(&claims(&s, &s.app.issuer, 60, "ed-1")), None).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    refused(&with_assertion(&s.app, &s.key.sign_fully_specified(&claims(&s, &s.app.issuer, 60, "ed-1")), None).await, "replayed");
    refused(&with_assertion(&s.app, &ClientKey::new("k1").sign_fully_specified(&claims(&s, &s.app.issuer, 60, "ed-2")), None).await, "another key with the kid");
    let mut other = claims(&s, &s.app.issuer, 60, "ed-3");
    other["sub"] = json!("someone-else");
    refused(&with_assertion(&s.app, &s.key.sign_fully_specified(&other), Some(&s.id)).await, "sub is not the client");
    refused(&with_assertion(&s.app, &s.key.sign_fully_specified(&claims(&s, &s.app.issuer, -120, "ed-4")), None).await, "expired");
    refused(&with_assertion(&s.app, &s.key.sign_fully_specified(&claims(&s, "https://evil.example", 60, "ed-5")), None).await, "another audience");
    // The polymorphic name keeps working for the same key.
    assert_eq!(with_assertion(&s.app, &s.key.sign(&claims(&s, &s.app.issuer, 60, "ed-6")), None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_named_assertions_authenticate_on_sqlite() {
    ed25519_named_assertions_authenticate(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_named_assertions_authenticate_on_postgres_and_redis() {
    ed25519_named_assertions_authenticate(Backend::Postgres).await;
}
