//! DPoP (RFC 9449): tokens bound to a key the client proves it holds on
//! every request. Tested as an attacker would use a stolen token: without the
//! key, with a replayed or re-aimed proof, on another node.

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use latchkey_domain::SigningAlg;
use serde_json::{json, Value};

use crate::support::jwt;
use crate::support::raw::{post_form, Answer};
use crate::support::rp::{sign_in_default, Rp};
use crate::support::{Backend, TestApp, TestClient, PASSWORD, REDIRECT_URI, USERNAME};

/// A client's DPoP key pair.
pub(crate) struct DpopKey {
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
    /// An Ed25519 key that names its algorithm `Ed25519` (RFC 9864), as
    /// oauth4webapi and openid-client do: signed by hand, since
    /// jsonwebtoken's header type cannot say it.
    fully_specified: Option<Ed25519KeyPair>,
}

impl DpopKey {
    pub(crate) fn es256() -> DpopKey {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("key");
        let point = pair.public_key().as_ref();
        let (x, y) = (URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..65]));
        DpopKey { alg: Algorithm::ES256, encoding: EncodingKey::from_ec_der(pkcs8.as_ref()), jwk: json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y }), fully_specified: None }
    }

    fn ed25519() -> DpopKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).expect("key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
        DpopKey {
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()) }),
            fully_specified: None,
        }
    }

    /// An Ed25519 key whose proofs say `"alg": "Ed25519"`.
    fn ed25519_fully_specified() -> DpopKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).expect("key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
        let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()) });
        DpopKey { alg: Algorithm::EdDSA, encoding: EncodingKey::from_ed_der(pkcs8.as_ref()), jwk, fully_specified: Some(pair) }
    }

    /// RFC 7638 thumbprint, computed here independently of the server.
    fn jkt(&self) -> String {
        let canonical = match self.jwk["kty"].as_str() {
            Some("EC") => format!(r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#, self.jwk["x"].as_str().unwrap_or(""), self.jwk["y"].as_str().unwrap_or("")),
            _ => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, self.jwk["x"].as_str().unwrap_or("")),
        };
        URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()).as_ref())
    }

    fn sign(&self, claims: &Value) -> String {
        if let Some(pair) = &self.fully_specified {
            let header = json!({ "typ": "dpop+jwt", "alg": "Ed25519", "jwk": self.jwk });
            let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
            return format!("{input}.{}", URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes()).as_ref()));
        }
        let mut header = Header::new(self.alg);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value(self.jwk.clone()).expect("jwk"));
        encode(&header, claims, &self.encoding).expect("sign the proof")
    }

    /// A fresh proof for `method url` at the server's time.
    pub(crate) fn proof(&self, app: &TestApp, method: &str, url: &str) -> String {
        self.sign(&Self::claims(app, method, url))
    }

    fn claims(app: &TestApp, method: &str, url: &str) -> Value {
        json!({ "jti": uuid::Uuid::new_v4().to_string(), "htm": method, "htu": url, "iat": app.clock_now() })
    }

    /// A fresh proof for a resource request with `token`.
    fn proof_for(&self, app: &TestApp, method: &str, url: &str, token: &str) -> String {
        let mut c = Self::claims(app, method, url);
        c["ath"] = json!(ath(token));
        self.sign(&c)
    }
}

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()).as_ref())
}

async fn answer(r: openidconnect::reqwest::Response) -> Answer {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    Answer { status, headers, body }
}

/// POST /token with DPoP proofs (none, one, or several headers).
async fn token(app: &TestApp, form: &[(&str, &str)], basic: Option<(&str, &str)>, proofs: &[&str]) -> Answer {
    let mut req = app.http().post(app.url("/token")).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    for p in proofs {
        req = req.header("DPoP", *p);
    }
    answer(req.send().await.expect("token request")).await
}

/// GET /userinfo with `Authorization: <scheme> <token>` and a proof, if any.
async fn userinfo(app: &TestApp, scheme: &str, token: &str, proof: Option<&str>) -> Answer {
    let mut req = app.http().get(app.url("/userinfo")).header("Authorization", format!("{scheme} {token}"));
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    answer(req.send().await.expect("userinfo request")).await
}

fn error(a: &Answer) -> Option<&str> {
    a.body["error"].as_str()
}

fn challenge(a: &Answer) -> String {
    a.headers.get_all("www-authenticate").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(" | ")
}

/// A public client (PKCE) signs the default user in and redeems the code with
/// a DPoP proof of `key`: (client id, token response).
async fn bound_sign_in(app: &TestApp, key: &DpopKey) -> (String, Value) {
    app.add_user(USERNAME, PASSWORD).await;
    let (client_id, _) = app.add_client(true, SigningAlg::RS256).await;
    let rp = Rp::discover(app, &client_id, None).await;
    let mut browser = app.browser();
    let req = rp.authorize_scopes(&["offline_access"], &[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI), ("client_id", client_id.as_str()), ("code_verifier", req.verifier.secret().as_str())];
    let a = token(app, &form, None, &[&key.proof(app, "POST", &app.url("/token"))]).await;
    assert_eq!(a.status, 200, "code redeemed with a proof: {}", a.body);
    assert!(a.headers.get("dpop-nonce").is_some(), "a DPoP request is given the server's nonce");
    (client_id, a.body)
}

async fn refresh(app: &TestApp, client_id: &str, refresh_token: &str, proof: Option<String>) -> Answer {
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", client_id)];
    let proofs: Vec<&str> = proof.iter().map(String::as_str).collect();
    token(app, &form, None, &proofs).await
}

async fn bound_tokens_need_their_key(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let discovery: Value = app.http().get(app.url("/.well-known/openid-configuration")).send().await.expect("discovery").json().await.expect("json");
    let algs = discovery["dpop_signing_alg_values_supported"].as_array().cloned().unwrap_or_default();
    assert!(algs.contains(&json!("ES256")) && algs.contains(&json!("EdDSA")) && algs.contains(&json!("Ed25519")), "{algs:?}");

    let key = DpopKey::es256();
    let (client_id, body) = bound_sign_in(&app, &key).await;
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().expect("access token").to_string();
    let refresh_token = body["refresh_token"].as_str().expect("refresh token").to_string();
    assert_eq!(jwt::payload(&access)["cnf"]["jkt"], json!(key.jkt()), "the access token names the key");

    // The key holder gets userinfo; the same token without its key does not.
    let userinfo_url = app.url("/userinfo");
    let ok = userinfo(&app, "DPoP", &access, Some(&key.proof_for(&app, "GET", &userinfo_url, &access))).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body["sub"].is_string(), "{}", ok.body);
    let as_bearer = userinfo(&app, "Bearer", &access, None).await;
    assert_eq!((as_bearer.status, error(&as_bearer)), (401, Some("invalid_token")), "a bound token presented as a bearer token");
    let thief = DpopKey::es256();
    let other_key = userinfo(&app, "DPoP", &access, Some(&thief.proof_for(&app, "GET", &userinfo_url, &access))).await;
    assert_eq!((other_key.status, error(&other_key)), (401, Some("invalid_token")), "a proof of another key");
    assert!(challenge(&other_key).starts_with("DPoP "), "{}", challenge(&other_key));
    let no_proof = userinfo(&app, "DPoP", &access, None).await;
    assert_eq!((no_proof.status, error(&no_proof)), (401, Some("invalid_dpop_proof")));
    let no_ath = userinfo(&app, "DPoP", &access, Some(&key.proof(&app, "GET", &userinfo_url))).await;
    assert_eq!((no_ath.status, error(&no_ath)), (401, Some("invalid_dpop_proof")), "a proof without ath");
    let wrong_htu = userinfo(&app, "DPoP", &access, Some(&key.proof_for(&app, "GET", &app.url("/token"), &access))).await;
    assert_eq!((wrong_htu.status, error(&wrong_htu)), (401, Some("invalid_dpop_proof")), "a proof made for another URL");
    let wrong_htm = userinfo(&app, "DPoP", &access, Some(&key.proof_for(&app, "POST", &userinfo_url, &access))).await;
    assert_eq!((wrong_htm.status, error(&wrong_htm)), (401, Some("invalid_dpop_proof")), "a proof made for another method");
    let mut stale = DpopKey::claims(&app, "GET", &userinfo_url);
    stale["ath"] = json!(ath(&access));
    stale["iat"] = json!(app.clock_now() - 120);
    let old = userinfo(&app, "DPoP", &access, Some(&key.sign(&stale))).await;
    assert_eq!((old.status, error(&old)), (401, Some("invalid_dpop_proof")), "a two-minute-old proof");
    let once = key.proof_for(&app, "GET", &userinfo_url, &access);
    assert_eq!(userinfo(&app, "DPoP", &access, Some(&once)).await.status, 200);
    let replayed = userinfo(&app, "DPoP", &access, Some(&once)).await;
    assert_eq!((replayed.status, error(&replayed)), (401, Some("invalid_dpop_proof")), "a proof used twice");

    // The refresh token of a public client is bound too: useless without
    // the key, and a failed attempt does not burn it.
    let token_url = app.url("/token");
    let bare = refresh(&app, &client_id, &refresh_token, None).await;
    assert_eq!((bare.status, error(&bare)), (400, Some("invalid_grant")), "a stolen refresh token without the key: {}", bare.body);
    let stolen = refresh(&app, &client_id, &refresh_token, Some(thief.proof(&app, "POST", &token_url))).await;
    assert_eq!((stolen.status, error(&stolen)), (400, Some("invalid_grant")), "with the thief's own key: {}", stolen.body);
    let rotated = refresh(&app, &client_id, &refresh_token, Some(key.proof(&app, "POST", &token_url))).await;
    assert_eq!(rotated.status, 200, "the holder still refreshes: {}", rotated.body);
    assert_eq!(rotated.body["token_type"], "DPoP");
    let next_access = rotated.body["access_token"].as_str().unwrap_or_default();
    assert_eq!(jwt::payload(next_access)["cnf"]["jkt"], json!(key.jkt()), "rotation keeps the binding");
    let next_refresh = rotated.body["refresh_token"].as_str().unwrap_or_default().to_string();
    let again = refresh(&app, &client_id, &next_refresh, Some(thief.proof(&app, "POST", &token_url))).await;
    assert_eq!(again.status, 400, "the successor is bound to the same key");
    assert_eq!(refresh(&app, &client_id, &next_refresh, Some(key.proof(&app, "POST", &token_url))).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_tokens_need_their_key_on_sqlite() {
    bound_tokens_need_their_key(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_tokens_need_their_key_on_postgres_and_redis() {
    bound_tokens_need_their_key(Backend::Postgres).await;
}

async fn dpop_service(app: &TestApp, require_dpop: bool) -> (String, String) {
    TestClient::service("DPoP service").require_dpop(require_dpop).register_confidential(app).await
}

/// The token endpoint's checks of a proof, a client that must use DPoP, and
/// the introspection answer for a bound token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_checks_proofs() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (id, secret) = dpop_service(&app, true).await;
    let creds = Some((id.as_str(), secret.as_str()));
    let form = [("grant_type", "client_credentials")];
    let token_url = app.url("/token");
    let key = DpopKey::ed25519();

    let bearer = token(&app, &form, creds, &[]).await;
    assert_eq!((bearer.status, error(&bearer)), (400, Some("invalid_dpop_proof")), "a --require-dpop client asking for a bearer token: {}", bearer.body);
    let proof = key.proof(&app, "POST", &token_url);
    let ok = token(&app, &form, creds, &[&proof]).await;
    assert_eq!((ok.status, ok.body["token_type"].as_str()), (200, Some("DPoP")), "{}", ok.body);
    let access = ok.body["access_token"].as_str().unwrap_or_default().to_string();
    assert_eq!(jwt::payload(&access)["cnf"]["jkt"], json!(key.jkt()));

    let replay = token(&app, &form, creds, &[&proof]).await;
    assert_eq!((replay.status, error(&replay)), (400, Some("invalid_dpop_proof")), "the same proof twice");
    for (what, method, url) in [("another URL", "POST", app.url("/userinfo")), ("another method", "GET", token_url.clone()), ("another host", "POST", "https://evil.example/token".to_string())] {
        let a = token(&app, &form, creds, &[&key.proof(&app, method, &url)]).await;
        assert_eq!((a.status, error(&a)), (400, Some("invalid_dpop_proof")), "{what}: {}", a.body);
    }
    let mut stale = DpopKey::claims(&app, "POST", &token_url);
    stale["iat"] = json!(app.clock_now() - 61);
    assert_eq!(error(&token(&app, &form, creds, &[&key.sign(&stale)]).await), Some("invalid_dpop_proof"), "a stale proof");
    let mut future = DpopKey::claims(&app, "POST", &token_url);
    future["iat"] = json!(app.clock_now() + 300);
    assert_eq!(error(&token(&app, &form, creds, &[&key.sign(&future)]).await), Some("invalid_dpop_proof"), "a proof dated in the future");
    let two = token(&app, &form, creds, &[&key.proof(&app, "POST", &token_url), &key.proof(&app, "POST", &token_url)]).await;
    assert_eq!((two.status, error(&two)), (400, Some("invalid_dpop_proof")), "two DPoP headers");
    let garbage = token(&app, &form, creds, &["not a jwt"]).await;
    assert_eq!(garbage.status, 400, "{}", garbage.body);
    let huge = token(&app, &form, creds, &[&"a".repeat(20_000)]).await;
    assert_eq!(huge.status, 400, "{}", huge.body);

    // Introspection says the token is bound, and to which key.
    let i = post_form(&app, "/introspect", &[("token", access.as_str())], creds).await;
    assert_eq!(i.status, 200, "{}", i.body);
    assert_eq!((i.body["active"].as_bool(), i.body["token_type"].as_str()), (Some(true), Some("DPoP")));
    assert_eq!(i.body["cnf"]["jkt"], json!(key.jkt()));

    // A client without the requirement may still use bearer tokens.
    let (free_id, free_secret) = dpop_service(&app, false).await;
    let plain = token(&app, &form, Some((&free_id, &free_secret)), &[]).await;
    assert_eq!((plain.status, plain.body["token_type"].as_str()), (200, Some("Bearer")));
    let i = post_form(&app, "/introspect", &[("token", plain.body["access_token"].as_str().unwrap_or_default())], Some((&free_id, &free_secret))).await;
    assert_eq!((i.body["token_type"].as_str(), i.body.get("cnf")), (Some("Bearer"), None));
}

/// With server nonces required: the first proof is refused with
/// `use_dpop_nonce` and a nonce; the retry with it succeeds on either node;
/// the nonce goes stale after its windows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_nonces_are_required_and_rotate() {
    let Some(app) = TestApp::start_with(Backend::Postgres, |s| s.dpop_require_nonce = true).await else { return };
    let node2 = TestApp::node_with(&app, app.settings.clone()).await;
    let (id, secret) = dpop_service(&app, false).await;
    let creds = Some((id.as_str(), secret.as_str()));
    let form = [("grant_type", "client_credentials")];
    let key = DpopKey::es256();
    let proof_with = |nonce: Option<&str>| {
        let mut c = DpopKey::claims(&app, "POST", &app.url("/token"));
        if let Some(n) = nonce {
            c["nonce"] = json!(n);
        }
        key.sign(&c)
    };

    let first = token(&app, &form, creds, &[&proof_with(None)]).await;
    assert_eq!((first.status, error(&first)), (400, Some("use_dpop_nonce")), "{}", first.body);
    let nonce = first.headers.get("dpop-nonce").and_then(|v| v.to_str().ok()).expect("DPoP-Nonce").to_string();
    let retry = token(&node2, &form, creds, &[&proof_with(Some(&nonce))]).await;
    assert_eq!((retry.status, retry.body["token_type"].as_str()), (200, Some("DPoP")), "the nonce of one node works on the other: {}", retry.body);
    let made_up = token(&app, &form, creds, &[&proof_with(Some("1.bm90LWEtbWFj"))]).await;
    assert_eq!(error(&made_up), Some("use_dpop_nonce"), "a nonce we did not make");

    app.clock.advance(11 * 60); // the nodes share the test clock
    let stale = token(&app, &form, creds, &[&proof_with(Some(&nonce))]).await;
    assert_eq!(error(&stale), Some("use_dpop_nonce"), "an 11-minute-old nonce");
    let fresh = stale.headers.get("dpop-nonce").and_then(|v| v.to_str().ok()).expect("a new nonce").to_string();
    assert_ne!(fresh, nonce, "nonces rotate");
    assert_eq!(token(&app, &form, creds, &[&proof_with(Some(&fresh))]).await.status, 200);
}

/// One proof presented to two nodes at once is accepted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_proof_is_single_use_across_two_nodes() {
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    let node2 = app.second_node().await;
    let (id, secret) = dpop_service(&app, true).await;
    let creds = Some((id.as_str(), secret.as_str()));
    let key = DpopKey::es256();
    for round in 0..10 {
        let proof = key.proof(&app, "POST", &app.url("/token"));
        let form = [("grant_type", "client_credentials")];
        let proofs = [proof.as_str()];
        let (a, b) = tokio::join!(token(&app, &form, creds, &proofs), token(&node2, &form, creds, &proofs));
        assert_eq!([a.status, b.status].iter().filter(|s| **s == 200).count(), 1, "round {round}: {} / {}", a.body, b.body);
    }
}

/// GET an API URL with `Authorization: <scheme> <token>` and a proof, if any.
async fn api_call(url: &str, scheme: &str, token: &str, proof: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().get(url).header("Authorization", format!("{scheme} {token}"));
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    let r = req.send().await.expect("api call");
    (r.status().as_u16(), r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string())
}

/// An API using the resource-server library (the example Orders API) takes a
/// DPoP-bound token only with a fresh proof of its key, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_checks_dpop_bound_tokens() {
    use crate::apis::{client, register_apis, start_orders_api, ORDERS};
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    register_apis(&app).await;
    let api = start_orders_api(&app, ORDERS).await;
    let orders = format!("{api}/orders");
    let (id, secret) = client(&app, "", &["orders:read"], vec![latchkey_domain::GrantType::ClientCredentials]).await;
    let creds = Some((id.as_str(), secret.as_str()));
    let key = DpopKey::es256();
    let form = [("grant_type", "client_credentials"), ("scope", "orders:read")];
    let bound = token(&app, &form, creds, &[&key.proof(&app, "POST", &app.url("/token"))]).await;
    assert_eq!((bound.status, bound.body["token_type"].as_str()), (200, Some("DPoP")), "{}", bound.body);
    let access = bound.body["access_token"].as_str().unwrap_or_default().to_string();

    let proof = key.proof_for(&app, "GET", &orders, &access);
    assert_eq!(api_call(&orders, "DPoP", &access, Some(&proof)).await.0, 200, "the key holder");
    let (status, challenge) = api_call(&orders, "DPoP", &access, Some(&proof)).await;
    assert_eq!(status, 401, "the same proof again");
    assert!(challenge.starts_with("DPoP ") && challenge.contains("invalid_dpop_proof"), "{challenge}");
    assert_eq!(api_call(&orders, "Bearer", &access, None).await.0, 401, "the bound token as a bearer token");
    assert_eq!(api_call(&orders, "DPoP", &access, Some(&DpopKey::es256().proof_for(&app, "GET", &orders, &access))).await.0, 401, "another key's proof");
    assert_eq!(api_call(&orders, "DPoP", &access, Some(&key.proof_for(&app, "GET", &format!("{api}/orders/export"), &access))).await.0, 401, "a proof for another URL");
    assert_eq!(api_call(&orders, "DPoP", &access, None).await.0, 401, "no proof");

    // Bearer tokens keep working as before; one cannot be dressed up as DPoP.
    let plain = token(&app, &form, creds, &[]).await;
    let bearer_token = plain.body["access_token"].as_str().unwrap_or_default().to_string();
    assert_eq!(api_call(&orders, "Bearer", &bearer_token, None).await.0, 200);
    assert_eq!(api_call(&orders, "DPoP", &bearer_token, Some(&key.proof_for(&app, "GET", &orders, &bearer_token))).await.0, 401, "an unbound token with the DPoP scheme");
}

/// The device grant (RFC 8628) binds as the other grants do: the proof of the
/// poll that gets the tokens binds them, and a public device's refresh family.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_polls_for_bound_tokens() {
    let Some(d) = crate::device::setup(Backend::Sqlite).await else { return };
    let key = DpopKey::ed25519();
    let (device_code, _) = crate::device::approved(&d).await;
    let token_url = d.app.url("/token");
    let form = [("grant_type", crate::device::GRANT), ("device_code", device_code.as_str()), ("client_id", d.id.as_str())];
    let a = token(&d.app, &form, None, &[&key.proof(&d.app, "POST", &token_url)]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["token_type"], "DPoP");
    let access = a.body["access_token"].as_str().unwrap_or_default().to_string();
    assert_eq!(jwt::payload(&access)["cnf"]["jkt"], json!(key.jkt()));
    let userinfo_url = d.app.url("/userinfo");
    assert_eq!(userinfo(&d.app, "DPoP", &access, Some(&key.proof_for(&d.app, "GET", &userinfo_url, &access))).await.status, 200);
    assert_eq!(userinfo(&d.app, "Bearer", &access, None).await.status, 401, "not as a bearer token");
    let refresh_token = a.body["refresh_token"].as_str().unwrap_or_default().to_string();
    assert_eq!(error(&refresh(&d.app, &d.id, &refresh_token, None).await), Some("invalid_grant"), "the device's refresh token needs its key");
    assert_eq!(refresh(&d.app, &d.id, &refresh_token, Some(key.proof(&d.app, "POST", &token_url))).await.status, 200);
}

/// oauth4webapi 3.x / openid-client 6.x sign DPoP proofs of Ed25519 keys
/// with `"alg": "Ed25519"` (RFC 9864): the code is redeemed, the tokens are
/// bound to that key, and userinfo and refresh take its proofs.
async fn ed25519_named_proofs_bind_tokens(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let key = DpopKey::ed25519_fully_specified();
    let (client_id, body) = bound_sign_in(&app, &key).await;
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().expect("access token").to_string();
    assert_eq!(jwt::payload(&access)["cnf"]["jkt"], json!(key.jkt()), "the same thumbprint as under EdDSA");
    let userinfo_url = app.url("/userinfo");
    let ok = userinfo(&app, "DPoP", &access, Some(&key.proof_for(&app, "GET", &userinfo_url, &access))).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let refresh_token = body["refresh_token"].as_str().expect("refresh token");
    let rotated = refresh(&app, &client_id, refresh_token, Some(key.proof(&app, "POST", &app.url("/token")))).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    // Another key under the same name is still another key.
    let thief = DpopKey::ed25519_fully_specified();
    let stolen = userinfo(&app, "DPoP", &access, Some(&thief.proof_for(&app, "GET", &userinfo_url, &access))).await;
    assert_eq!(stolen.status, 401, "{}", stolen.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_named_proofs_bind_tokens_on_sqlite() {
    ed25519_named_proofs_bind_tokens(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_named_proofs_bind_tokens_on_postgres_and_redis() {
    ed25519_named_proofs_bind_tokens(Backend::Postgres).await;
}

/// POSTs a pushed authorization request (PKCE) with client credentials and
/// DPoP proofs; returns the answer and the PKCE verifier.
async fn push_with_proofs(app: &TestApp, id: &str, secret: &str, extra: &[(&str, &str)], proofs: &[&str]) -> (Answer, openidconnect::PkceCodeVerifier) {
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    let mut form = vec![("response_type", "code"), ("client_id", id), ("redirect_uri", REDIRECT_URI), ("scope", "openid"), ("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    form.extend_from_slice(extra);
    let mut req = app.http().post(app.url("/par")).form(&form).basic_auth(id, Some(secret));
    for p in proofs {
        req = req.header("DPoP", *p);
    }
    (answer(req.send().await.expect("par request")).await, verifier)
}

fn authorize_pushed(client_id: &str, pushed: &Answer) -> String {
    let uri = pushed.body["request_uri"].as_str().unwrap_or_default();
    format!("/authorize?client_id={client_id}&request_uri={}", url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>())
}

async fn redeem(app: &TestApp, id: &str, secret: &str, code: &str, verifier: &str, proofs: &[&str]) -> Answer {
    let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT_URI), ("code_verifier", verifier)];
    token(app, &form, Some((id, secret)), proofs).await
}

/// RFC 9449 §10: a DPoP proof sent to `/par`, or `dpop_jkt` at `/authorize`,
/// binds the authorization code to that key. An attacker who intercepts the
/// code (or a client that lost track of its key) cannot redeem it with
/// another key, or with none.
async fn par_and_dpop_jkt_bind_the_code(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let secret = secret.expect("confidential");
    let key = DpopKey::es256();
    let attacker = DpopKey::ed25519();
    let (par_url, token_url) = (app.url("/par"), app.url("/token"));

    // A proof at /par binds the code: another key's proof, or none, is refused.
    let (pushed, verifier) = push_with_proofs(&app, &id, &secret, &[], &[&key.proof(&app, "POST", &par_url)]).await;
    assert_eq!(pushed.status, 201, "{}", pushed.body);
    assert!(pushed.headers.get("dpop-nonce").is_some(), "a DPoP request at /par is given the server's nonce");
    let code = sign_in_default(&mut app.browser(), &authorize_pushed(&id, &pushed)).await.code.expect("code");
    let stolen = redeem(&app, &id, &secret, &code, verifier.secret(), &[&attacker.proof(&app, "POST", &token_url)]).await;
    assert_eq!((stolen.status, error(&stolen)), (400, Some("invalid_grant")), "redeemed with another key: {}", stolen.body);

    let (pushed, verifier) = push_with_proofs(&app, &id, &secret, &[], &[&key.proof(&app, "POST", &par_url)]).await;
    let code = sign_in_default(&mut app.browser(), &authorize_pushed(&id, &pushed)).await.code.expect("code");
    let bare = redeem(&app, &id, &secret, &code, verifier.secret(), &[]).await;
    assert_eq!((bare.status, error(&bare)), (400, Some("invalid_grant")), "redeemed as a bearer grant: {}", bare.body);

    let (pushed, verifier) = push_with_proofs(&app, &id, &secret, &[], &[&key.proof(&app, "POST", &par_url)]).await;
    let code = sign_in_default(&mut app.browser(), &authorize_pushed(&id, &pushed)).await.code.expect("code");
    let ok = redeem(&app, &id, &secret, &code, verifier.secret(), &[&key.proof(&app, "POST", &token_url)]).await;
    assert_eq!((ok.status, ok.body["token_type"].as_str()), (200, Some("DPoP")), "{}", ok.body);
    assert_eq!(jwt::payload(ok.body["access_token"].as_str().unwrap_or_default())["cnf"]["jkt"], json!(key.jkt()));

    // A proof made for the token endpoint is no proof at /par (htu), nor a replayed one.
    let wrong_htu = push_with_proofs(&app, &id, &secret, &[], &[&key.proof(&app, "POST", &token_url)]).await.0;
    assert_eq!((wrong_htu.status, error(&wrong_htu)), (400, Some("invalid_dpop_proof")), "{}", wrong_htu.body);
    let once = key.proof(&app, "POST", &par_url);
    assert_eq!(push_with_proofs(&app, &id, &secret, &[], &[&once]).await.0.status, 201);
    assert_eq!(error(&push_with_proofs(&app, &id, &secret, &[], &[&once]).await.0), Some("invalid_dpop_proof"), "a replayed proof at /par");

    // dpop_jkt and the proof at /par must name the same key.
    let mismatch = push_with_proofs(&app, &id, &secret, &[("dpop_jkt", &attacker.jkt())], &[&key.proof(&app, "POST", &par_url)]).await.0;
    assert_eq!((mismatch.status, error(&mismatch)), (400, Some("invalid_dpop_proof")), "{}", mismatch.body);
    let same = push_with_proofs(&app, &id, &secret, &[("dpop_jkt", &key.jkt())], &[&key.proof(&app, "POST", &par_url)]).await.0;
    assert_eq!(same.status, 201, "{}", same.body);
    // dpop_jkt alone at /par binds the code too.
    let (pushed, verifier) = push_with_proofs(&app, &id, &secret, &[("dpop_jkt", &key.jkt())], &[]).await;
    let code = sign_in_default(&mut app.browser(), &authorize_pushed(&id, &pushed)).await.code.expect("code");
    let stolen = redeem(&app, &id, &secret, &code, verifier.secret(), &[&attacker.proof(&app, "POST", &token_url)]).await;
    assert_eq!(error(&stolen), Some("invalid_grant"), "{}", stolen.body);
    let malformed = push_with_proofs(&app, &id, &secret, &[("dpop_jkt", "not a thumbprint")], &[]).await.0;
    assert_eq!((malformed.status, error(&malformed)), (400, Some("invalid_request")), "{}", malformed.body);

    // dpop_jkt at /authorize (no PAR): the same binding.
    let rp = Rp::discover(&app, &id, Some(&secret)).await;
    let jkt = key.jkt();
    let req = rp.authorize_scopes(&[], &[("dpop_jkt", jkt.as_str())]);
    let code = sign_in_default(&mut app.browser(), &req.url).await.code.expect("code");
    let stolen = redeem(&app, &id, &secret, &code, req.verifier.secret(), &[&attacker.proof(&app, "POST", &token_url)]).await;
    assert_eq!(error(&stolen), Some("invalid_grant"), "{}", stolen.body);
    let req = rp.authorize_scopes(&[], &[("dpop_jkt", jkt.as_str())]);
    let code = sign_in_default(&mut app.browser(), &req.url).await.code.expect("code");
    let ok = redeem(&app, &id, &secret, &code, req.verifier.secret(), &[&key.proof(&app, "POST", &token_url)]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    // Without any binding, a code is still redeemed with or without a proof.
    let req = rp.authorize_scopes(&[], &[]);
    let code = sign_in_default(&mut app.browser(), &req.url).await.code.expect("code");
    assert_eq!(redeem(&app, &id, &secret, &code, req.verifier.secret(), &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn par_and_dpop_jkt_bind_the_code_on_sqlite() {
    par_and_dpop_jkt_bind_the_code(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn par_and_dpop_jkt_bind_the_code_on_postgres_and_redis() {
    par_and_dpop_jkt_bind_the_code(Backend::Postgres).await;
}
