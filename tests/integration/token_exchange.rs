//! Token exchange (RFC 8693, issue #27): an agent (a confidential client)
//! trades a user's access token for one at another API, acting for the
//! user. Tested as an attacker would try it: a wider scope, an audience
//! outside the policy, a revoked, forged or foreign token, an actor the
//! user's app did not name, impersonation without the operator's say-so.

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use latchkey_domain::GrantType;
use serde_json::{json, Value};

use crate::accounts::admin_post;
use crate::apis::{client, register_apis, BILLS, ORDERS};
use crate::support::raw::{bearer, post_form, Answer};
use crate::support::rp::sign_in_default;
use crate::support::{jwt, AuthResponse, Backend, Rp, TestApp, TestClient, PASSWORD, REDIRECT_URI, USERNAME};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// The parties: the user's app (A, the subject tokens' client), the agent
/// (B: may exchange into Orders and Bills), a second agent (C: Orders only),
/// a confidential client without a policy (D) and the admin API token.
struct World {
    app: TestApp,
    admin: String,
    user_id: String,
    a: (String, String),
    b: (String, String),
    c: (String, String),
    d: (String, String),
}

impl World {
    fn basic(p: &(String, String)) -> Option<(&str, &str)> {
        Some((p.0.as_str(), p.1.as_str()))
    }
}

/// Sends `method path` to the admin API with a JSON body.
async fn admin_json(app: &TestApp, method: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let method = openidconnect::reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let r = app.http().request(method, app.url(path)).bearer_auth(token).header("content-type", "application/json").body(body.to_string()).send().await.expect("admin API");
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null))
}

/// A confidential client_credentials agent registered through the admin
/// API with its token exchange policy.
async fn agent(app: &TestApp, admin: &str, name: &str, to: &[&str], impersonation: bool) -> (String, String) {
    let body = json!({ "name": name, "grant_types": ["client_credentials"], "token_exchange_to": to, "token_exchange_impersonation": impersonation });
    let (status, created) = admin_post(app, "/admin/api/v1/clients", Some(admin), &body).await;
    assert_eq!(status, 201, "{created}");
    (created["client_id"].as_str().unwrap_or_default().to_string(), created["client_secret"].as_str().unwrap_or_default().to_string())
}

async fn world(backend: Backend) -> Option<World> {
    let app = TestApp::start(backend).await?;
    let user = app.add_user(USERNAME, PASSWORD).await;
    let (admin, _, _) = register_apis(&app).await;
    let a = client(&app, "openid", &["orders:read", "orders:write", "bills:read"], vec![GrantType::AuthorizationCode, GrantType::RefreshToken]).await;
    let b = agent(&app, &admin, "Agent", &[ORDERS, BILLS], false).await;
    let c = agent(&app, &admin, "Second agent", &[ORDERS, "https://ghost.example/api"], false).await;
    let d = TestClient::service("No policy").register_confidential(&app).await;
    Some(World { app, admin, user_id: user.id.0, a, b, c, d })
}

/// The user signs in to A (a new browser session) for the Orders API;
/// returns A's access token for it.
async fn subject_token(w: &World) -> String {
    let rp = Rp::discover(&w.app, &w.a.0, Some(&w.a.1)).await;
    let mut browser = w.app.browser();
    let req = rp.authorize_scopes(&["orders:read", "orders:write"], &[("resource", ORDERS)]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI), ("code_verifier", req.verifier.secret().as_str()), ("resource", ORDERS)];
    let r = post_form(&w.app, "/token", &form, World::basic(&w.a)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    field(&r, "access_token")
}

fn field(a: &Answer, name: &str) -> String {
    a.body[name].as_str().unwrap_or_default().to_string()
}

fn error(a: &Answer) -> &str {
    a.body["error"].as_str().unwrap_or_default()
}

/// POST /token with the token exchange grant and `extra` parameters.
async fn exchange(app: &TestApp, subject: &str, extra: &[(&str, &str)], basic: Option<(&str, &str)>) -> Answer {
    let mut form = vec![("grant_type", GRANT), ("subject_token", subject), ("subject_token_type", ACCESS_TOKEN)];
    form.extend_from_slice(extra);
    post_form(app, "/token", &form, basic).await
}

async fn introspect(app: &TestApp, token: &str, basic: Option<(&str, &str)>) -> Value {
    post_form(app, "/introspect", &[("token", token)], basic).await.body
}

/// Delegation, a chain, narrowing, the lifetime cap, and revocation through
/// the session: the main flow, on both backends.
async fn delegation_chain_and_revocation(backend: Backend) {
    let Some(w) = world(backend).await else { return };
    let app = &w.app;
    let subject = subject_token(&w).await;
    let s = jwt::payload(&subject);
    assert_eq!((s["aud"].as_str(), s["scope"].as_str()), (Some(ORDERS), Some("orders:read orders:write")), "{s}");

    // B acts for the user at Orders: act.sub is B, sub the user, client_id B.
    app.clock.advance(100);
    let r = exchange(app, &subject, &[("audience", ORDERS)], World::basic(&w.b)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((field(&r, "issued_token_type").as_str(), field(&r, "token_type").as_str()), (ACCESS_TOKEN, "Bearer"), "{}", r.body);
    assert!(r.body.get("refresh_token").is_none(), "never a refresh token: {}", r.body);
    let exchanged = field(&r, "access_token");
    let e = jwt::payload(&exchanged);
    assert_eq!((e["sub"].as_str(), e["client_id"].as_str(), e["aud"].as_str()), (Some(w.user_id.as_str()), Some(w.b.0.as_str()), Some(ORDERS)), "{e}");
    assert_eq!(e["act"], json!({ "sub": w.b.0 }), "{e}");
    assert_eq!((e["scope"].as_str(), e["sid"].as_str()), (Some("orders:read orders:write"), s["sid"].as_str()), "the subject's scope and session: {e}");
    assert!(e["exp"].as_i64() <= s["exp"].as_i64() && e["exp"].as_i64().is_some(), "never outlives the subject token: {e} {s}");
    // The test clock is real time moved on: a second may pass between the two requests.
    assert!(matches!(r.body["expires_in"].as_i64(), Some(199..=200)), "300 s of the API, capped by the subject's 200 s left: {}", r.body);
    let seen = introspect(app, &exchanged, World::basic(&w.b)).await;
    assert_eq!((seen["active"].as_bool(), seen["act"].clone()), (Some(true), json!({ "sub": w.b.0 })), "{seen}");

    // Another API, longer-lived (Bills, 600 s): still capped; none of the
    // subject's scopes are Bills', so none are carried over.
    let r = exchange(app, &subject, &[("resource", BILLS), ("requested_token_type", ACCESS_TOKEN)], World::basic(&w.b)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let bills = jwt::payload(&field(&r, "access_token"));
    assert_eq!((bills["aud"].as_str(), bills["scope"].as_str(), bills["exp"].as_i64()), (Some(BILLS), Some(""), s["exp"].as_i64()), "{bills}");
    assert_eq!(jwt::header(&field(&r, "access_token"))["alg"], "RS256", "the API's algorithm");

    // Narrower works; wider, or another API's or latchkey's scope, is invalid_scope.
    let r = exchange(app, &subject, &[("audience", ORDERS), ("scope", "orders:read")], World::basic(&w.b)).await;
    assert_eq!((r.status, jwt::payload(&field(&r, "access_token"))["scope"].as_str()), (200, Some("orders:read")), "{}", r.body);
    for wider in ["orders:read bills:read", "openid", "orders:admin"] {
        let r = exchange(app, &subject, &[("audience", ORDERS), ("scope", wider)], World::basic(&w.b)).await;
        assert_eq!((r.status, error(&r)), (400, "invalid_scope"), "{wider}: {}", r.body);
    }
    let r = exchange(app, &subject, &[("resource", BILLS), ("scope", "bills:read")], World::basic(&w.b)).await;
    assert_eq!(error(&r), "invalid_scope", "a scope the subject token lacks, even of the target API: {}", r.body);
    // `jwt` names the same token; resource and audience must agree.
    let r = post_form(app, "/token", &[("grant_type", GRANT), ("subject_token", &subject), ("subject_token_type", JWT), ("audience", ORDERS), ("resource", ORDERS)], World::basic(&w.b)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = exchange(app, &subject, &[("audience", ORDERS), ("resource", BILLS)], World::basic(&w.b)).await;
    assert_eq!(error(&r), "invalid_target", "{}", r.body);

    // A chain: C exchanges B's exchanged token; the acts nest.
    let r = exchange(app, &exchanged, &[("audience", ORDERS), ("scope", "orders:read")], World::basic(&w.c)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let chained = field(&r, "access_token");
    let c = jwt::payload(&chained);
    assert_eq!(c["act"], json!({ "sub": w.c.0, "act": { "sub": w.b.0 } }), "{c}");
    assert_eq!((c["sub"].as_str(), c["client_id"].as_str()), (Some(w.user_id.as_str()), Some(w.c.0.as_str())), "{c}");
    assert!(c["exp"].as_i64() <= e["exp"].as_i64(), "{c}");
    let r = exchange(app, &exchanged, &[("audience", ORDERS), ("scope", "orders:read orders:write")], World::basic(&w.c)).await;
    assert_eq!(r.status, 200, "the chain keeps what the token it exchanges has: {}", r.body);
    let r = exchange(app, &chained, &[("audience", ORDERS), ("scope", "orders:write")], World::basic(&w.b)).await;
    assert_eq!(error(&r), "invalid_scope", "a narrowed link narrows the rest of the chain: {}", r.body);

    // Every exchange is audited: user and acting client, no token or address.
    let audit = bearer(app, "GET", "/admin/api/v1/audit?kind=token_exchanged", &w.admin).await;
    let events = audit.body["events"].as_array().cloned().unwrap_or_default();
    assert!(events.len() >= 4, "{}", audit.body);
    let first = events.iter().find(|e| e["client_id"] == w.b.0.as_str()).cloned().unwrap_or_default();
    assert_eq!((first["user_id"].as_str(), first["actor"].as_str()), (Some(w.user_id.as_str()), Some(format!("client:{}", w.b.0).as_str())), "{first}");
    assert!(first["detail"].as_str().is_some_and(|d| d.contains(&w.a.0) && d.contains("acting for the user")), "{first}");
    let text = audit.body.to_string();
    assert!(!text.contains(&subject) && !text.contains(&exchanged) && !text.contains("@example.com"), "no token or email in the trail");

    // The user's session is revoked: the tokens exchanged from it (and
    // chained from those) stop at once, and the subject cannot be exchanged again.
    let sid = s["sid"].as_str().unwrap_or_default();
    assert_eq!(bearer(app, "DELETE", &format!("/admin/api/v1/sessions/{sid}"), &w.admin).await.status, 200);
    assert_eq!(introspect(app, &exchanged, World::basic(&w.b)).await, json!({ "active": false }));
    assert_eq!(introspect(app, &chained, World::basic(&w.c)).await, json!({ "active": false }));
    let r = exchange(app, &subject, &[("audience", ORDERS)], World::basic(&w.b)).await;
    assert_eq!((r.status, error(&r)), (400, "invalid_grant"), "{}", r.body);
    let r = exchange(app, &exchanged, &[("audience", ORDERS)], World::basic(&w.c)).await;
    assert_eq!(error(&r), "invalid_grant", "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegation_chain_and_revocation_on_sqlite() {
    delegation_chain_and_revocation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegation_chain_and_revocation_on_postgres_and_redis() {
    delegation_chain_and_revocation(Backend::Postgres).await;
}

/// Revoking the grant (the consent) or the subject token itself revokes
/// what was exchanged from it.
async fn grant_and_token_revocation(backend: Backend) {
    let Some(w) = world(backend).await else { return };
    let app = &w.app;
    let subject = subject_token(&w).await;
    let exchanged = field(&exchange(app, &subject, &[("audience", ORDERS)], World::basic(&w.b)).await, "access_token");
    assert_eq!(introspect(app, &exchanged, World::basic(&w.b)).await["active"], true);
    // The administrator revokes the user's grant to A.
    let r = bearer(app, "DELETE", &format!("/admin/api/v1/clients/{}/grants?user={USERNAME}", w.a.0), &w.admin).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(introspect(app, &exchanged, World::basic(&w.b)).await, json!({ "active": false }), "the grant's markers cover the exchanged token");
    let r = exchange(app, &subject, &[("audience", ORDERS)], World::basic(&w.b)).await;
    assert_eq!(error(&r), "invalid_grant", "{}", r.body);

    // A new sign-in; A revokes its own access token (RFC 7009).
    app.clock.advance(2);
    let subject = subject_token(&w).await;
    let exchanged = field(&exchange(app, &subject, &[("audience", ORDERS)], World::basic(&w.b)).await, "access_token");
    assert_eq!(introspect(app, &exchanged, World::basic(&w.b)).await["active"], true);
    assert_eq!(post_form(app, "/revoke", &[("token", &subject)], World::basic(&w.a)).await.status, 200);
    assert_eq!(introspect(app, &exchanged, World::basic(&w.b)).await, json!({ "active": false }), "revoking the subject token revokes the exchanged one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_and_token_revocation_on_sqlite() {
    grant_and_token_revocation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_and_token_revocation_on_postgres_and_redis() {
    grant_and_token_revocation(Backend::Postgres).await;
}

/// Who may exchange, and into what: the policy, public clients, bad requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_policy_s_clients_exchange_into_the_policy_s_audiences() {
    let Some(w) = world(Backend::Sqlite).await else { return };
    let app = &w.app;
    let subject = subject_token(&w).await;

    // The grant is in discovery.
    let discovery: Value = app.http().get(app.url("/.well-known/openid-configuration")).send().await.expect("discovery").json().await.expect("json");
    assert!(discovery["grant_types_supported"].as_array().is_some_and(|g| g.contains(&json!(GRANT))), "{discovery}");

    // No policy: unauthorized_client. A public client: the same.
    let r = exchange(app, &subject, &[("audience", ORDERS)], World::basic(&w.d)).await;
    assert_eq!((r.status, error(&r)), (400, "unauthorized_client"), "{}", r.body);
    let (public, _) = TestClient::web_app("SPA").public().register(app).await;
    let r = exchange(app, &subject, &[("audience", ORDERS), ("client_id", &public)], None).await;
    assert_eq!(error(&r), "unauthorized_client", "{}", r.body);
    let (status, refused) =
        admin_json(app, "PATCH", &format!("/admin/api/v1/clients/{public}"), &w.admin, &json!({ "name": "SPA", "redirect_uris": [REDIRECT_URI], "token_exchange_to": [ORDERS] })).await;
    assert_eq!(status, 400, "a public client gets no token exchange policy: {refused}");
    let (status, refused) = admin_post(app, "/admin/api/v1/clients", Some(&w.admin), &json!({ "name": "SPA 2", "public": true, "redirect_uris": [REDIRECT_URI], "token_exchange_to": [ORDERS] })).await;
    assert_eq!(status, 400, "{refused}");
    // A wrong secret: invalid_client, as everywhere.
    let r = exchange(app, &subject, &[("audience", ORDERS)], Some((&w.b.0, "lks_wrong"))).await;
    assert_eq!((r.status, error(&r)), (401, "invalid_client"));

    // An audience outside the policy (a registered API, or one nobody
    // registered, or none named): invalid_target / invalid_request.
    let r = exchange(app, &subject, &[("audience", BILLS)], World::basic(&w.c)).await;
    assert_eq!((r.status, error(&r)), (400, "invalid_target"), "Bills is not in C's policy: {}", r.body);
    let r = exchange(app, &subject, &[("audience", "https://ghost.example/api")], World::basic(&w.c)).await;
    assert_eq!(error(&r), "invalid_target", "in the policy, but no such API: {}", r.body);
    let r = exchange(app, &subject, &[("audience", "https://elsewhere.example")], World::basic(&w.b)).await;
    assert_eq!(error(&r), "invalid_target", "{}", r.body);
    let r = exchange(app, &subject, &[], World::basic(&w.b)).await;
    assert_eq!(error(&r), "invalid_request", "{}", r.body);

    // Malformed requests: invalid_request, never a 500.
    let bad: [&[(&str, &str)]; 6] = [
        &[("grant_type", GRANT), ("subject_token_type", ACCESS_TOKEN), ("audience", ORDERS)],
        &[("grant_type", GRANT), ("subject_token", &subject), ("audience", ORDERS)],
        &[("grant_type", GRANT), ("subject_token", &subject), ("subject_token_type", "urn:ietf:params:oauth:token-type:refresh_token"), ("audience", ORDERS)],
        &[("grant_type", GRANT), ("subject_token", &subject), ("subject_token_type", ACCESS_TOKEN), ("audience", ORDERS), ("actor_token", &subject)],
        &[("grant_type", GRANT), ("subject_token", &subject), ("subject_token_type", ACCESS_TOKEN), ("audience", ORDERS), ("actor_token_type", ACCESS_TOKEN)],
        &[("grant_type", GRANT), ("subject_token", &subject), ("subject_token_type", ACCESS_TOKEN), ("audience", ORDERS), ("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token")],
    ];
    for form in bad {
        let r = post_form(app, "/token", form, World::basic(&w.b)).await;
        assert_eq!((r.status, error(&r)), (400, "invalid_request"), "{form:?}: {}", r.body);
    }
    let r = post_form(app, "/token", &[("grant_type", GRANT), ("subject_token", &subject), ("subject_token_type", ACCESS_TOKEN), ("audience", ORDERS), ("audience", BILLS)], World::basic(&w.b)).await;
    assert_eq!(error(&r), "invalid_request", "one audience: {}", r.body);
}

/// An access token carries only its own API's scopes; a token for another
/// API may carry what the user consented to the app for there, and no more.
#[tokio::test]
async fn another_api_gets_what_the_user_consented_to_there() {
    let Some(w) = world(Backend::Sqlite).await else { return };
    let app = &w.app;
    let rp = Rp::discover(app, &w.a.0, Some(&w.a.1)).await;
    let mut browser = app.browser();
    let req = rp.authorize_scopes(&["orders:read", "bills:read"], &[("resource", ORDERS), ("resource", BILLS)]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI), ("code_verifier", req.verifier.secret().as_str()), ("resource", ORDERS)];
    let r = post_form(app, "/token", &form, World::basic(&w.a)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let subject = field(&r, "access_token");
    assert_eq!(jwt::payload(&subject)["scope"], "orders:read", "the Orders token holds no Bills scope");
    let r = exchange(app, &subject, &[("resource", BILLS)], World::basic(&w.b)).await;
    assert_eq!((r.status, jwt::payload(&field(&r, "access_token"))["scope"].as_str()), (200, Some("bills:read")), "consented for Bills: {}", r.body);
    let r = exchange(app, &subject, &[("resource", ORDERS), ("scope", "orders:write")], World::basic(&w.b)).await;
    assert_eq!(error(&r), "invalid_scope", "never consented: {}", r.body);
    // The grant is revoked: nothing to exchange from any more.
    let revoked = bearer(app, "DELETE", &format!("/admin/api/v1/users/{USERNAME}/grants"), &w.admin).await;
    assert!(revoked.status < 300, "{}", revoked.body);
    let r = exchange(app, &subject, &[("resource", BILLS)], World::basic(&w.b)).await;
    assert_eq!(error(&r), "invalid_grant", "{}", r.body);
}

/// Forged, foreign, garbled and oversized subject tokens: invalid_grant
/// (or invalid_request for what is no token at all), never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_foreign_subject_tokens_are_refused() {
    let Some(w) = world(Backend::Sqlite).await else { return };
    let app = &w.app;
    let subject = subject_token(&w).await;
    let mut claims = jwt::payload(&subject);
    claims["scope"] = json!("orders:read orders:write orders:admin");
    claims["sub"] = json!("someone-else");
    let forged = jwt::with_payload(&subject, &claims);
    let unsigned = format!("{}.{}.", URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "at+jwt", "kid": jwt::header(&subject)["kid"] }).to_string()), subject.split('.').nth(1).unwrap_or_default());
    // Another latchkey (its own issuer and keys) issued this one.
    let Some(other) = TestApp::start(Backend::Sqlite).await else { return };
    let (oid, osecret) = TestClient::service("Elsewhere").register_confidential(&other).await;
    let foreign = field(&post_form(&other, "/token", &[("grant_type", "client_credentials")], Some((&oid, &osecret))).await, "access_token");
    assert!(!foreign.is_empty());
    for token in [forged.as_str(), unsigned.as_str(), foreign.as_str(), "not.a.jwt", "eyJhbGciOiJFZERTQSJ9.e30.AAAA", "\u{1}\u{7f}garbage\u{0}", "a"] {
        let r = exchange(app, token, &[("audience", ORDERS)], World::basic(&w.b)).await;
        assert_eq!((r.status, error(&r)), (400, "invalid_grant"), "{token:?}: {}", r.body);
    }
    // A client's own token (client_credentials) is no user's.
    let own = field(&post_form(app, "/token", &[("grant_type", "client_credentials")], World::basic(&w.b)).await, "access_token");
    let r = exchange(app, &own, &[("audience", ORDERS)], World::basic(&w.b)).await;
    assert_eq!(error(&r), "invalid_grant", "{}", r.body);
    // Longer than any token of ours: invalid_request; longer than any form: 413.
    let long = "e".repeat(20_000);
    let r = exchange(app, &long, &[("audience", ORDERS)], World::basic(&w.b)).await;
    assert_eq!((r.status, error(&r)), (400, "invalid_request"), "{}", r.body);
    let huge = "e".repeat(200_000);
    let r = exchange(app, &huge, &[("audience", ORDERS)], World::basic(&w.b)).await;
    assert!(r.status == 413 || r.status == 400, "refused, not a server error: {}", r.status);
    // The genuine token still works after all that.
    assert_eq!(exchange(app, &subject, &[("audience", ORDERS)], World::basic(&w.b)).await.status, 200);
}

/// `may_act` (RFC 8693 §4.4): A's operator names B; A's tokens say so, the
/// consent page tells the user, B may act and C may not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn may_act_names_who_may_act() {
    let Some(w) = world(Backend::Sqlite).await else { return };
    let app = &w.app;
    let (status, body) = admin_json(app, "PATCH", &format!("/admin/api/v1/clients/{}", w.a.0), &w.admin, &json!({ "name": "API client", "redirect_uris": [REDIRECT_URI], "may_act": [w.b.0] })).await;
    assert_eq!(status, 200, "{body}");
    let (status, view) = admin_json(app, "GET", &format!("/admin/api/v1/clients/{}", w.a.0), &w.admin, &Value::Null).await;
    assert_eq!((status, view["may_act"].clone(), view["token_exchange_to"].clone()), (200, json!([w.b.0]), json!([])), "{view}");
    let (_, b_view) = admin_json(app, "GET", &format!("/admin/api/v1/clients/{}", w.b.0), &w.admin, &Value::Null).await;
    assert_eq!((b_view["token_exchange_to"].clone(), b_view["token_exchange_impersonation"].clone()), (json!([ORDERS, BILLS]), json!(false)), "{b_view}");

    // The consent page for A says who may act for the user, and where.
    let rp = Rp::discover(app, &w.a.0, Some(&w.a.1)).await;
    let mut browser = app.browser();
    let req = rp.authorize_scopes(&["orders:read"], &[("resource", ORDERS)]);
    let consent = crate::support::rp::consent_page(&mut browser, &req.url).await;
    assert!(consent.body.contains("Agent may act on your behalf at Orders, Bills."), "{}", consent.body);
    assert!(!consent.body.contains("Second agent"), "only the clients may_act names");
    let allowed =
        browser.post_form("/consent", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("authz", &consent.field("authz").unwrap_or_default()), ("decision", "allow")]).await;
    let code = AuthResponse::parse(allowed.location.as_deref().unwrap_or_default()).code.expect("code");
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI), ("code_verifier", req.verifier.secret().as_str()), ("resource", ORDERS)];
    let subject = field(&post_form(app, "/token", &form, World::basic(&w.a)).await, "access_token");
    assert_eq!(jwt::payload(&subject)["may_act"], json!({ "sub": w.b.0 }));

    let r = exchange(app, &subject, &[("audience", ORDERS)], World::basic(&w.c)).await;
    assert_eq!((r.status, error(&r)), (400, "invalid_request"), "C is not named: {}", r.body);
    let r = exchange(app, &subject, &[("audience", ORDERS)], World::basic(&w.b)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(jwt::payload(&field(&r, "access_token"))["act"], json!({ "sub": w.b.0 }));
}

/// Impersonation (no `act`) only for a client its operator marked, only
/// without an actor_token, audited with both identities; an actor token
/// must be the calling client's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impersonation_only_where_the_operator_allows_it() {
    let Some(w) = world(Backend::Sqlite).await else { return };
    let app = &w.app;
    let subject = subject_token(&w).await;
    // B is not marked: without an actor_token it still acts (act = B), never as the user.
    let r = exchange(app, &subject, &[("audience", ORDERS)], World::basic(&w.b)).await;
    assert_eq!(jwt::payload(&field(&r, "access_token"))["act"], json!({ "sub": w.b.0 }), "{}", r.body);

    let marked = agent(app, &w.admin, "Impersonator", &[ORDERS], true).await;
    let r = exchange(app, &subject, &[("audience", ORDERS)], World::basic(&marked)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = jwt::payload(&field(&r, "access_token"));
    assert!(token.get("act").is_none(), "impersonation: no act: {token}");
    assert_eq!((token["sub"].as_str(), token["client_id"].as_str()), (Some(w.user_id.as_str()), Some(marked.0.as_str())), "{token}");
    let audit = bearer(app, "GET", &format!("/admin/api/v1/audit?kind=token_exchanged&client={}", marked.0), &w.admin).await;
    let row = audit.body["events"][0].clone();
    assert_eq!((row["user_id"].as_str(), row["client_id"].as_str()), (Some(w.user_id.as_str()), Some(marked.0.as_str())), "{}", audit.body);
    assert!(row["detail"].as_str().is_some_and(|d| d.contains("impersonating the user") && d.contains(&w.a.0)), "{row}");

    // With its own actor token, the marked client acts (delegation).
    let own = field(&post_form(app, "/token", &[("grant_type", "client_credentials")], World::basic(&marked)).await, "access_token");
    let r = exchange(app, &subject, &[("audience", ORDERS), ("actor_token", &own), ("actor_token_type", ACCESS_TOKEN)], World::basic(&marked)).await;
    assert_eq!((r.status, jwt::payload(&field(&r, "access_token"))["act"].clone()), (200, json!({ "sub": marked.0 })), "{}", r.body);
    // Someone else's actor token, the user's, or a garbled one: refused.
    let bs = field(&post_form(app, "/token", &[("grant_type", "client_credentials")], World::basic(&w.b)).await, "access_token");
    let r = exchange(app, &subject, &[("audience", ORDERS), ("actor_token", &bs), ("actor_token_type", ACCESS_TOKEN)], World::basic(&marked)).await;
    assert_eq!(error(&r), "invalid_request", "{}", r.body);
    let r = exchange(app, &subject, &[("audience", ORDERS), ("actor_token", &subject), ("actor_token_type", ACCESS_TOKEN)], World::basic(&marked)).await;
    assert_eq!(error(&r), "invalid_request", "{}", r.body);
    let r = exchange(app, &subject, &[("audience", ORDERS), ("actor_token", "x.y.z"), ("actor_token_type", ACCESS_TOKEN)], World::basic(&marked)).await;
    assert_eq!(error(&r), "invalid_grant", "{}", r.body);
    // A delegated token is never turned into an impersonation: the chain stays.
    let delegated = field(&exchange(app, &subject, &[("audience", ORDERS)], World::basic(&w.b)).await, "access_token");
    let r = exchange(app, &delegated, &[("audience", ORDERS)], World::basic(&marked)).await;
    assert_eq!(jwt::payload(&field(&r, "access_token"))["act"], json!({ "sub": marked.0, "act": { "sub": w.b.0 } }), "{}", r.body);
}

/// An ES256 DPoP key and its proofs (RFC 9449).
struct DpopKey {
    encoding: EncodingKey,
    jwk: Value,
}

impl DpopKey {
    fn new() -> DpopKey {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("key");
        let point = pair.public_key().as_ref();
        let (x, y) = (URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..65]));
        DpopKey { encoding: EncodingKey::from_ec_der(pkcs8.as_ref()), jwk: json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y }) }
    }

    fn jkt(&self) -> String {
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#, self.jwk["x"].as_str().unwrap_or(""), self.jwk["y"].as_str().unwrap_or(""));
        URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()).as_ref())
    }

    fn proof(&self, app: &TestApp) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value(self.jwk.clone()).expect("jwk"));
        let claims = json!({ "jti": uuid::Uuid::new_v4().to_string(), "htm": "POST", "htu": app.url("/token"), "iat": app.clock_now() });
        encode(&header, &claims, &self.encoding).expect("proof")
    }
}

/// A DPoP proof with the exchange binds the new token to its key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_proof_binds_the_exchanged_token() {
    let Some(w) = world(Backend::Sqlite).await else { return };
    let app = &w.app;
    let subject = subject_token(&w).await;
    let key = DpopKey::new();
    let form = [("grant_type", GRANT), ("subject_token", subject.as_str()), ("subject_token_type", ACCESS_TOKEN), ("audience", ORDERS)];
    let r = app.http().post(app.url("/token")).form(&form).basic_auth(&w.b.0, Some(&w.b.1)).header("DPoP", key.proof(app)).send().await.expect("token");
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let token = jwt::payload(body["access_token"].as_str().unwrap_or_default());
    assert_eq!(token["cnf"], json!({ "jkt": key.jkt() }), "{token}");
    assert_eq!(token["act"], json!({ "sub": w.b.0 }));
}
