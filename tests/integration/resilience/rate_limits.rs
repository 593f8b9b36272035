//! Rate limits at the token, revocation and introspection endpoints: per
//! client (per client and address for public clients), shared by every node
//! through Redis, counted per node when Redis is gone.

use std::num::NonZeroU32;

use latchkey_domain::SigningAlg;
use latchkey_oauth::endpoint_limits::EndpointRate;

use crate::support::raw::{post_form, Answer};
use crate::support::{Backend, TestApp};

const BURST: u32 = 4;

fn slow_rate(s: &mut latchkey_web::config::Settings) {
    // One request a second refills the bucket: the checks over the burst must
    // come within a second of its start (see `limits_per_client`).
    s.endpoint_rate = Some(EndpointRate { per_second: NonZeroU32::MIN, burst: NonZeroU32::new(BURST).unwrap_or(NonZeroU32::MIN) });
}

async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> Answer {
    post_form(app, "/token", &[("grant_type", "client_credentials")], Some((id, secret))).await
}

fn assert_limited(a: &Answer, what: &str) {
    assert_eq!(a.status, 429, "{what}: {:?}", a.body);
    assert_eq!(a.body["error"], "temporarily_unavailable", "{what}: an RFC 6749 JSON error");
    let retry: u64 = a.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).expect("Retry-After in seconds");
    assert!((1..=2).contains(&retry), "{what}: Retry-After {retry}");
}

async fn limits_per_client(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, slow_rate).await else { return };
    let (other, other_secret) = app.add_admin_client().await;
    let node2 = app.second_node().await;
    // The bucket refills one request a second: on a machine so loaded that
    // the burst and the checks after it take longer than that, a refill is
    // right, not a failure; that attempt is repeated with a fresh client.
    let mut attempt = 0;
    let (id, secret) = loop {
        attempt += 1;
        let (id, secret) = app.add_admin_client().await;
        let started = std::time::Instant::now();
        // The burst is shared by both nodes when they share Redis; each node
        // has its own on the embedded default (one node).
        for i in 0..BURST {
            let node = if backend == Backend::Postgres && i % 2 == 1 { &node2 } else { &app };
            assert_eq!(client_credentials(node, &id, &secret).await.status, 200, "request {i} of the burst");
        }
        let mut over = vec![("over the burst", client_credentials(&app, &id, &secret).await)];
        if backend == Backend::Postgres {
            over.push(("over the burst, on the other node", client_credentials(&node2, &id, &secret).await));
        }
        if started.elapsed() >= std::time::Duration::from_millis(900) && attempt < 5 {
            eprintln!("attempt {attempt} took {:?}: the bucket may have refilled; again", started.elapsed());
            continue;
        }
        for (what, a) in &over {
            assert_limited(a, what);
        }
        break (id, secret);
    };
    // A wrong secret is not the client's request: it is counted apart (per
    // claimed id and address), so it is refused as a wrong secret.
    assert_eq!(client_credentials(&app, &id, "wrong").await.status, 401);
    // Other clients and other endpoints have their own buckets.
    assert_eq!(client_credentials(&app, &other, &other_secret).await.status, 200);
    let token = client_credentials(&app, &other, &other_secret).await.body["access_token"].as_str().unwrap_or_default().to_string();
    assert_eq!(post_form(&app, "/introspect", &[("token", &token)], Some((&id, &secret))).await.status, 200);
    assert_eq!(post_form(&app, "/revoke", &[("token", "nothing")], Some((&id, &secret))).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_limits_per_client_on_sqlite() {
    limits_per_client(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_limits_per_client_shared_by_two_nodes_on_postgres_and_redis() {
    limits_per_client(Backend::Postgres).await;
}

/// Issue #24 item 23: whoever knows a confidential client's id cannot spend
/// its budget with wrong secrets. Failures are counted per claimed id and
/// address: the attacker's address runs out (and then is refused without a
/// secret check, even a right one), the client elsewhere is untouched.
async fn wrong_secrets_do_not_drain_a_clients_budget(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| {
        slow_rate(s);
        s.trusted_proxies = latchkey_web::client_ip::parse_trusted_proxies("127.0.0.1/32").unwrap_or_default();
    })
    .await
    else {
        return;
    };
    let node2 = app.second_node().await;
    let from = |node: &TestApp, ip: &str, id: &str, secret: &str| {
        let req = node.http().post(node.url("/token")).header("x-forwarded-for", ip).basic_auth(id, Some(secret)).form(&[("grant_type", "client_credentials")]);
        async move { req.send().await.expect("request").status().as_u16() }
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (id, secret) = app.add_admin_client().await;
        let started = std::time::Instant::now();
        // The attacker, at one address, spends the failure budget (on both nodes when they share Redis).
        for i in 0..BURST {
            let node = if backend == Backend::Postgres && i % 2 == 1 { &node2 } else { &app };
            assert_eq!(from(node, "203.0.113.66", &id, "guess").await, 401, "guess {i}: a wrong secret");
        }
        let over = from(&app, "203.0.113.66", &id, "guess").await;
        let right_but_blocked = from(&app, "203.0.113.66", &id, &secret).await;
        if started.elapsed() >= std::time::Duration::from_millis(900) && attempt < 5 {
            eprintln!("attempt {attempt} took {:?}: the bucket may have refilled; again", started.elapsed());
            continue;
        }
        assert_eq!(over, 429, "the attacker's address is out of failures");
        assert_eq!(right_but_blocked, 429, "no more secret checks for that id at that address, not even a right one");
        // The client's own budget is whole: a full burst from its own address.
        for i in 0..BURST {
            let node = if backend == Backend::Postgres && i % 2 == 1 { &node2 } else { &app };
            assert_eq!(from(node, "198.51.100.7", &id, &secret).await, 200, "the client's request {i}");
        }
        // A made-up client id is counted the same way (per id and address).
        for _ in 0..BURST {
            assert_eq!(from(&app, "203.0.113.67", "no-such-client", "x").await, 401);
        }
        assert_eq!(from(&app, "203.0.113.67", "no-such-client", "x").await, 429);
        break;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secrets_do_not_drain_a_clients_budget_on_sqlite() {
    wrong_secrets_do_not_drain_a_clients_budget(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secrets_do_not_drain_a_clients_budget_on_postgres_and_redis() {
    wrong_secrets_do_not_drain_a_clients_budget(Backend::Postgres).await;
}

/// Public clients (no secret) are counted per client and address: one
/// address over the limit does not stop the same app elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_clients_are_limited_per_address() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, |s| {
        slow_rate(s);
        s.trusted_proxies = latchkey_web::client_ip::parse_trusted_proxies("127.0.0.1/32").unwrap_or_default();
    })
    .await
    else {
        return;
    };
    let (spa, _) = app.add_client(true, SigningAlg::RS256).await;
    let from = |ip: &'static str| {
        let (app, spa) = (&app, spa.clone());
        async move {
            let r = app
                .http()
                .post(app.url("/token"))
                .header("x-forwarded-for", ip)
                .form(&[("grant_type", "refresh_token"), ("refresh_token", "made-up"), ("client_id", spa.as_str())])
                .send()
                .await
                .expect("request");
            r.status().as_u16()
        }
    };
    for i in 0..BURST {
        assert_eq!(from("203.0.113.1").await, 400, "request {i}: evaluated (an unknown refresh token)");
    }
    assert_eq!(from("203.0.113.1").await, 429);
    assert_eq!(from("203.0.113.2").await, 400, "another address is not limited");
}

/// Redis goes away: the limits fall back to counting on each node (no 5xx
/// from the limiter), and use Redis again when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_each_node_counts_on_its_own() {
    let Some((app, mut redis)) = super::app_with_own_redis(slow_rate).await else { return };
    let (id, secret) = app.add_admin_client().await;
    assert_eq!(client_credentials(&app, &id, &secret).await.status, 200);

    redis.stop();
    let mut statuses = Vec::new();
    for _ in 0..=BURST {
        statuses.push(client_credentials(&app, &id, &secret).await.status);
    }
    assert!(statuses.iter().all(|s| *s < 500), "no 5xx without Redis: {statuses:?}");
    assert_eq!(statuses[..BURST as usize], [200; BURST as usize], "a fresh per-node bucket: {statuses:?}");
    assert_eq!(statuses[BURST as usize], 429, "the per-node bucket still limits: {statuses:?}");

    let _back = redis.restart();
    // After the 2 s during which a node does not retry Redis (on the
    // injected clock: moved, not slept) and once the fast store's own
    // breaker lets calls through again (a real-time back-off of 1 s: polled),
    // buckets are in Redis again (it came back empty: a fresh shared bucket),
    // without a restart.
    app.clock.advance(3);
    for _ in 0..40 {
        if !app.state.stores.fast.is_down() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(client_credentials(&app, &id, &secret).await.status, 200);
    let keys = std::process::Command::new("redis-cli").args(["-p", &redis.port.to_string(), "--scan", "--pattern", "own:gcra:*"]).output().expect("redis-cli");
    let keys = String::from_utf8_lossy(&keys.stdout);
    assert!(keys.contains("own:gcra:token:c:"), "the bucket lives in Redis again: {keys:?}");
}
