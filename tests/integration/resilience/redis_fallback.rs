//! Sign-ins while Redis is unreachable (issue #31): every single-use value
//! (pending requests, codes, second-factor steps, passkey ceremonies, PAR
//! request URIs, device codes, DPoP `jti`s) is written to and spent from
//! PostgreSQL while the circuit breaker says Redis is down, and each is
//! still usable exactly once across the outage's two boundaries, on either
//! node: presented twice, once on each node, before, during and after.

use std::time::Duration;

use latchkey_domain::SigningAlg;
use openidconnect::{OAuth2TokenResponse, PkceCodeVerifier};

use super::{app_with_own_redis, Partition};
use crate::dpop::DpopKey;
use crate::mfa::{answer_second_step, code_at};
use crate::passkeys::register;
use crate::support::raw::{post_form, Answer};
use crate::support::rp::{sign_in_default, AuthResponse, Rp};
use crate::support::{Browser, TestApp, PASSWORD, REDIRECT_URI, USERNAME};

const TOTP_USER: &str = "tess";
const PASSKEY_USER: &str = "pat";

/// Rows in the fallback table (the proof that the database was used).
async fn parked_rows(app: &TestApp) -> i64 {
    app.state.stores.db.run(latchkey_store::repo::short_lived::count).await.expect("count")
}

/// A token request at `node` with a DPoP proof.
pub(super) async fn dpop_token(node: &TestApp, client: (&str, &str), proof: &str) -> Answer {
    let r = node.http().post(node.url("/token")).form(&[("grant_type", "client_credentials")]).basic_auth(client.0, Some(client.1)).header("DPoP", proof).send().await.expect("token request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(serde_json::Value::Null);
    Answer { status, headers, body }
}

/// Signs `username` in at `browser`'s node with a password and, when asked,
/// the authenticator app; returns the authorization response.
async fn sign_in_with_app(browser: &mut Browser, url: &str, username: &str, totp: Option<&str>) -> AuthResponse {
    let first = browser.get(url).await;
    let login = browser.get(first.location.as_deref().expect("to the sign-in page")).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let mut page = browser
        .post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("authz", &login.field("authz").unwrap_or_default()), ("username", username), ("password", PASSWORD)])
        .await;
    for _ in 0..3 {
        let location = page.location.clone().unwrap_or_else(|| panic!("a redirect, not {} {}", page.status, page.body));
        if location.starts_with(REDIRECT_URI) {
            return AuthResponse::parse(&location);
        }
        page = if location.starts_with("/login/mfa") {
            answer_second_step(browser, &location, totp.expect("a second factor is asked for")).await
        } else {
            let consent = browser.get(&location).await;
            assert_eq!(consent.status, 200, "{location}: {}", consent.body);
            browser.post_form("/consent", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("authz", &consent.field("authz").unwrap_or_default()), ("decision", "allow")]).await
        };
    }
    panic!("the sign-in did not finish");
}

/// A browser for `node` holding `from`'s cookies (the same person, sent to
/// the other node by the load balancer).
fn moved(from: &Browser, node: &TestApp) -> Browser {
    let mut b = node.browser();
    b.cookies = from.cookies.clone();
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_use_values_cross_a_redis_partition() {
    let Some((app, redis)) = app_with_own_redis(|_| {}).await else { return };
    let partition = Partition::relay_to(redis.port).await;
    let mut settings = app.settings.clone();
    settings.redis_url = Some(format!("redis://127.0.0.1:{}", partition.port));
    let n1 = TestApp::node_with(&app, settings.clone()).await;
    let n2 = TestApp::node_with(&app, settings).await;
    app.add_user(USERNAME, PASSWORD).await;
    app.add_user(TOTP_USER, PASSWORD).await;
    app.add_user(PASSKEY_USER, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let secret = secret.expect("confidential");
    let rp = Rp::discover(&n1, &id, Some(&secret)).await;
    let creds = (id.as_str(), secret.as_str());
    let (cc_id, cc_secret) = app.add_admin_client().await;
    let cc = (cc_id.as_str(), cc_secret.as_str());
    let dpop = DpopKey::es256();

    // The authenticator app for one user; a passkey for the other.
    let mut enrolling = n1.browser();
    let login = enrolling.get("/login").await;
    enrolling.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", TOTP_USER), ("password", PASSWORD)]).await;
    let (totp_secret, backup) = crate::mfa::enrol(&n1, &mut enrolling).await;
    let mut keyholder = n1.browser();
    let login = keyholder.get("/login").await;
    keyholder.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", PASSKEY_USER), ("password", PASSWORD)]).await;
    let mut key = register(&n1, &mut keyholder, "Laptop").await;

    // Before: a code and a DPoP proof made while Redis answers.
    let mut b1 = n1.browser();
    let before = rp.authorize(&[]);
    let before_code = sign_in_default(&mut b1, &before.url).await.code.expect("code");
    let before_verifier = before.verifier.secret().clone();
    let p_before = dpop.proof(&n1, "POST", &n1.url("/token"));
    assert_eq!(dpop_token(&n1, cc, &p_before).await.status, 200);
    assert_eq!(parked_rows(&app).await, 1, "before the outage only the DPoP marker is in the database");

    partition.cut();
    // The first call finds Redis unreachable; from then on the breaker is open.
    let _ = n1.http().get(n1.url("/health/ready")).send().await;
    let _ = n2.http().get(n2.url("/health/ready")).send().await;

    // During: what Redis holds cannot be reached, and fails cleanly.
    let replay = dpop_token(&n2, cc, &p_before).await;
    assert_eq!((replay.status, replay.body["error"].as_str()), (400, Some("invalid_dpop_proof")), "a proof used before the outage is refused during it: {}", replay.body);
    let lost = rp.exchange(&before_code, PkceCodeVerifier::new(before_verifier.clone())).await;
    assert_eq!(lost.err().as_deref(), Some("invalid_grant"), "a code made in Redis before the outage is not found (the user starts again)");

    // A whole sign-in with the authenticator app on node 1, its code redeemed on node 2, once.
    let during = rp.authorize(&[]);
    let during_verifier = during.verifier.secret().clone();
    app.clock.advance(31); // a time step the enrolment did not use
    let mut b2 = n1.browser();
    let code = sign_in_with_app(&mut b2, &during.url, TOTP_USER, Some(&code_at(&totp_secret, app.clock_now()))).await.code.expect("code during the outage");
    let rp2 = Rp::discover(&n2, &id, Some(&secret)).await;
    let tokens = rp2.exchange(&code, PkceCodeVerifier::new(during_verifier.clone())).await.expect("redeemed on the other node during the outage");
    assert!(!tokens.access_token().secret().is_empty());
    let twice = redeem(&n1, &code, &during_verifier, creds).await;
    assert_eq!((twice.status, twice.body["error"].as_str()), (400, Some("invalid_grant")), "{}", twice.body);

    // The second-factor step is started on node 1 and answered on node 2.
    let mut b3 = n1.browser();
    let step_req = rp.authorize(&[]);
    let first = b3.get(&step_req.url).await;
    let login = b3.get(first.location.as_deref().unwrap_or_default()).await;
    let step = b3
        .post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("authz", &login.field("authz").unwrap_or_default()), ("username", TOTP_USER), ("password", PASSWORD)])
        .await;
    let step_url = step.location.clone().expect("to the second step");
    let mut b3_on_2 = moved(&b3, &n2);
    let answered = answer_second_step(&mut b3_on_2, &step_url, &backup[0]).await;
    let onwards = |l: &str| l.starts_with("/consent") || l.starts_with(REDIRECT_URI);
    assert!(answered.location.as_deref().is_some_and(onwards), "{} {}", answered.status, answered.body);
    let spent_step = answer_second_step(&mut b3, &step_url, &backup[1]).await;
    assert!(spent_step.status < 500 && !spent_step.location.as_deref().is_some_and(onwards), "the step is spent: {}", spent_step.status);

    // A passkey ceremony started on node 1, finished on node 2; its answer replayed is refused.
    let mut pk = n1.browser();
    let pk_req = rp.authorize(&[]);
    let first = pk.get(&pk_req.url).await;
    let page = pk.get(first.location.as_deref().unwrap_or_default()).await;
    let csrf = page.field("csrf_token").unwrap_or_default();
    let (status, start) = pk.post_json("/login/passkey/start", &csrf, &serde_json::json!({ "username": PASSKEY_USER, "authz": page.field("authz") })).await;
    assert_eq!(status, 200, "{start}");
    let options = serde_json::from_value(start["options"].clone()).expect("options");
    let credential = webauthn_authenticator_rs::WebauthnAuthenticator::do_authentication(&mut key, url::Url::parse(&app.issuer).expect("origin"), options).expect("signs");
    let finish = serde_json::json!({ "ceremony": start["ceremony"], "credential": credential });
    let mut pk_on_2 = moved(&pk, &n2);
    let (status, done) = pk_on_2.post_json("/login/passkey/finish", &csrf, &finish).await;
    assert_eq!(status, 200, "a ceremony started on node 1 finishes on node 2 during the outage: {done}");
    let (status, again) = pk.post_json("/login/passkey/finish", &csrf, &finish).await;
    assert!((400..500).contains(&status), "the ceremony is spent: {status} {again}");

    // A pushed request: pushed on node 1, used on node 2, then refused on node 1.
    let pushed = post_form(
        &n1,
        "/par",
        &[
            ("response_type", "code"),
            ("client_id", &id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid"),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            ("code_challenge_method", "S256"),
        ],
        Some(creds),
    )
    .await;
    assert_eq!(pushed.status, 201, "{}", pushed.body);
    let uri = pushed.body["request_uri"].as_str().unwrap_or_default().to_string();
    let par_url = format!("/authorize?client_id={id}&request_uri={}", url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>());
    let used = n2.browser().get(&par_url).await;
    assert!(used.location.as_deref().is_some_and(|l| l.starts_with("/login")), "{} {}", used.status, used.body);
    assert_eq!(n1.browser().get(&par_url).await.status, 400, "a request URI is used once");

    // A device code: started on node 2, approved on node 1, redeemed on node 2, once.
    let (dev_id, _) = app.register(crate::device::device_client("TV", true, vec![latchkey_domain::GrantType::DeviceCode])).await;
    let started = post_form(&n2, "/device_authorization", &[("client_id", &dev_id), ("scope", "openid")], None).await;
    assert_eq!(started.status, 200, "{}", started.body);
    let device_code = started.body["device_code"].as_str().unwrap_or_default().to_string();
    let user_code = started.body["user_code"].as_str().unwrap_or_default().to_string();
    let poll = [("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", device_code.as_str()), ("client_id", dev_id.as_str())];
    let pending = post_form(&n1, "/token", &poll, None).await;
    assert_eq!(pending.body["error"], "authorization_pending", "{}", pending.body);
    let mut tv = n1.browser();
    crate::passkeys::password_sign_in(&mut tv).await;
    let entered = tv.get("/device").await;
    let consent = tv.post_form("/device", &[("csrf_token", &entered.field("csrf_token").unwrap_or_default()), ("user_code", &user_code)]).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    let allowed = tv.post_form("/device/approve", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("user_code", &user_code), ("decision", "allow")]).await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    app.clock.advance(6); // past the polling interval
    let redeemed = post_form(&n2, "/token", &poll, None).await;
    assert_eq!(redeemed.status, 200, "{}", redeemed.body);
    let again = post_form(&n1, "/token", &poll, None).await;
    assert_eq!(again.status, 400, "a device code redeems once: {}", again.body);

    // DPoP during the outage: used on node 1, replayed on node 2.
    let p_during = dpop.proof(&n1, "POST", &n1.url("/token"));
    assert_eq!(dpop_token(&n1, cc, &p_during).await.status, 200);
    assert_eq!(dpop_token(&n2, cc, &p_during).await.status, 400, "replayed during the outage, on the other node");

    // A code made during the outage and left for after it.
    let mut b4 = n2.browser();
    let left = rp2.authorize(&[]);
    let left_verifier = left.verifier.secret().clone();
    let left_code = sign_in_default(&mut b4, &left.url).await.code.expect("code");
    assert!(parked_rows(&app).await > 5, "the outage's values are in the database");
    assert!(n1.state.stores.fast.is_down() && n2.state.stores.fast.is_down(), "both nodes saw the partition");

    partition.mend();
    tokio::time::sleep(Duration::from_millis(1100)).await; // past the breaker's back-off

    // After: values made during the outage are used once, on either node.
    let tokens = rp.exchange(&left_code, PkceCodeVerifier::new(left_verifier.clone())).await.expect("a code made during the outage is redeemed after it");
    assert!(!tokens.access_token().secret().is_empty());
    let twice = redeem(&n2, &left_code, &left_verifier, creds).await;
    assert_eq!(twice.status, 400, "and only once: {}", twice.body);
    let spent = redeem(&n2, &code, &during_verifier, creds).await;
    assert_eq!(spent.status, 400, "a code spent during the outage stays spent: {}", spent.body);
    for (node, proof, when) in [(&n1, &p_during, "during"), (&n2, &p_during, "during"), (&n2, &p_before, "before")] {
        assert_eq!(dpop_token(node, cc, proof).await.status, 400, "a proof used {when} the outage is refused after it");
    }
    assert_eq!(n2.browser().get(&par_url).await.status, 400, "the request URI stays used");
    assert_eq!(post_form(&n2, "/token", &poll, None).await.status, 400, "the device code stays redeemed");

    // New values go to Redis again: a whole sign-in adds no row.
    let rows = parked_rows(&app).await;
    let mut b5 = n2.browser();
    let fresh = rp2.authorize(&[]);
    let fresh_code = sign_in_default(&mut b5, &fresh.url).await.code.expect("code");
    rp2.exchange(&fresh_code, fresh.verifier).await.expect("exchange after the outage");
    assert_eq!(parked_rows(&app).await, rows, "after the outage, sign-ins use Redis");
    // The code Redis kept through the partition was never spent: it still works, once.
    let kept = redeem(&n1, &before_code, &before_verifier, creds).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    let kept_again = redeem(&n2, &before_code, &before_verifier, creds).await;
    assert_eq!(kept_again.status, 400, "{}", kept_again.body);
}

/// `POST /token` with an authorization code and its PKCE verifier.
async fn redeem(node: &TestApp, code: &str, verifier: &str, client: (&str, &str)) -> Answer {
    post_form(node, "/token", &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT_URI), ("code_verifier", verifier)], Some(client)).await
}

/// The database's compare-and-swap: of many concurrent spenders of one
/// value (two nodes' pools), exactly one gets it; a marker is new once; an
/// expired row is gone and can be written again.
async fn the_database_spends_once(backend: crate::support::Backend) {
    use latchkey_store::repo::short_lived::{self, Claimed};
    let Some(app) = TestApp::start(backend).await else { return };
    let db = app.state.stores.db.clone();
    let far = i64::MAX / 2;
    db.run(move |c| short_lived::put(c, "code:race", "grant", far, None)).await.expect("put");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                loop {
                    match db.run(move |c| short_lived::claim(c, "code:race", &format!("spent:{i}"), 0)).await {
                        Err(latchkey_store::StoreError::Unavailable(_)) => tokio::time::sleep(Duration::from_millis(20)).await,
                        other => break other.expect("claim"),
                    }
                }
            })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        match t.await.expect("task") {
            Claimed::Fresh(v) => {
                assert_eq!(v, "grant");
                fresh += 1;
            }
            Claimed::Spent(v) => assert!(v.starts_with("spent:"), "{v}"),
            Claimed::Absent => panic!("the row is there"),
        }
    }
    assert_eq!(fresh, 1, "exactly one spender wins");
    let first = db.run(move |c| short_lived::insert_if_absent(c, "jti:x", "1", far, None, 0)).await.expect("insert");
    let second = db.run(move |c| short_lived::insert_if_absent(c, "jti:x", "1", far, None, 0)).await.expect("insert");
    assert!(first && !second, "a marker is new once");
    db.run(|c| short_lived::put(c, "old", "v", 10, Some("198.51.100.7"))).await.expect("put");
    assert_eq!(db.run(|c| short_lived::get(c, "old", 20)).await.expect("get"), None, "expired rows are not read");
    assert!(db.run(move |c| short_lived::insert_if_absent(c, "old", "w", far, None, 20)).await.expect("insert"), "an expired row is replaced");
    assert_eq!(db.run(move |c| short_lived::sweep(c, far + 1)).await.expect("sweep"), 3);
    // Replay markers are always checked in the database: they never make a
    // Redis miss look there.
    assert!(db.run(move |c| short_lived::insert_if_absent(c, "dpop-jti:k:1", "1", far, Some(short_lived::MARKER_OWNER), 0)).await.expect("marker"));
    assert_eq!(db.run(short_lived::live_until).await.expect("live"), None, "markers are not live values");
    db.run(move |c| short_lived::put(c, "pending:1", "v", far - 1, None)).await.expect("put");
    assert_eq!(db.run(short_lived::live_until).await.expect("live"), Some(far - 1));
    assert_eq!(db.run(move |c| short_lived::sweep(c, far + 1)).await.expect("sweep"), 2);
    // An owner's rows beyond the cap go, oldest first.
    for n in 0..5 {
        db.run(move |c| short_lived::put(c, &format!("p{n}"), "v", 100 + n, Some("203.0.113.9"))).await.expect("put");
    }
    assert_eq!(db.run(|c| short_lived::trim_owner(c, "203.0.113.9", 3)).await.expect("trim"), 2);
    assert_eq!(db.run(|c| short_lived::get(c, "p0", 0)).await.expect("get"), None);
    assert_eq!(db.run(|c| short_lived::get(c, "p4", 0)).await.expect("get").as_deref(), Some("v"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_spends_once_on_postgres() {
    the_database_spends_once(crate::support::Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_spends_once_on_sqlite() {
    the_database_spends_once(crate::support::Backend::Sqlite).await;
}
