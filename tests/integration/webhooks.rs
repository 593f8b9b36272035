//! Webhooks (issue #30): events queued with the audit row, delivered in
//! order, signed as Standard Webhooks says (checked here with an HMAC of
//! aws-lc-rs, independently of latchkey's code), retried with backoff,
//! turned off after a day of failures (administrators mailed), and never
//! lost when the node sending them is killed (`kill -9`).

use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App as ActixApp, HttpRequest, HttpResponse, HttpServer};
use base64::Engine;
use latchkey_app::admin::Actor;
use latchkey_domain::{SecurityEvent, UserId};
use serde_json::Value;

use crate::accounts::wait_for_mail;
use crate::support::{Backend, TestApp};

/// What a receiver got: headers we care about, and the body.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

/// A receiver on this machine: answers `status` (after `hang_first` seconds for its first request).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start(hang_first: u64) -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let calls = Arc::new(AtomicU32::new(0));
        let (g, s, c) = (got.clone(), status.clone(), calls.clone());
        let server = HttpServer::new(move || {
            let (g, s, c) = (g.clone(), s.clone(), c.clone());
            ActixApp::new().route(
                "/hook",
                web::post().to(move |req: HttpRequest, body: String| {
                    let (g, s, c) = (g.clone(), s.clone(), c.clone());
                    async move {
                        let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                        g.lock().expect("log").push(Received { id: header("webhook-id"), timestamp: header("webhook-timestamp"), signature: header("webhook-signature"), body });
                        if c.fetch_add(1, Ordering::SeqCst) == 0 && hang_first > 0 {
                            tokio::time::sleep(Duration::from_secs(hang_first)).await;
                        }
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(s.load(Ordering::SeqCst)).expect("status")).finish()
                    }
                }),
            )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver { url: format!("http://127.0.0.1:{}/hook", addr.port()), got, status, handle }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().expect("log").clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let h = self.handle.clone();
        tokio::spawn(async move { h.stop(false).await });
    }
}

/// Standard Webhooks' check, written here from the specification with aws-lc-rs.
fn signature_holds(secret: &str, r: &Received) -> bool {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).expect("secret");
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
    let tag = aws_lc_rs::hmac::sign(&key, format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(tag.as_ref()));
    r.signature.split(' ').any(|s| s == expected)
}

async fn record(app: &TestApp, event: SecurityEvent) {
    app.state.oauth.record(&latchkey_domain::Actor::System, event).await;
}

fn user(n: u32) -> UserId {
    UserId(format!("00000000-0000-4000-8000-{n:012}"))
}

async fn deliveries(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let receiver = Receiver::start(0).await;
    // The receiver is on this machine: only with --allow-private.
    assert!(app.state.add_webhook(&Actor::Cli, &receiver.url, &["user_disabled".into()], None, false).await.is_err());
    assert!(app.state.add_webhook(&Actor::Cli, "https://10.1.2.3/hook", &[], None, false).await.is_err());
    let (sub, secret) = app.state.add_webhook(&Actor::Cli, &receiver.url, &["user_disabled,user_enabled".into()], None, true).await.expect("subscribe");
    assert!(secret.starts_with("whsec_"));

    // Three events it wants, one it does not: queued with their audit rows, sent in order.
    record(&app, SecurityEvent::UserDisabled { user: user(1) }).await;
    record(&app, SecurityEvent::SignupAddressTaken).await;
    record(&app, SecurityEvent::UserEnabled { user: user(1) }).await;
    record(&app, SecurityEvent::UserDisabled { user: user(2) }).await;
    for _ in 0..3 {
        assert_eq!(app.state.deliver_webhooks().await.expect("round"), 1, "one at a time per subscription: its head");
    }
    assert_eq!(app.state.deliver_webhooks().await.expect("round"), 0);
    let got = receiver.received();
    let kinds: Vec<String> = got.iter().map(|r| serde_json::from_str::<Value>(&r.body).expect("json")["type"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(kinds, ["latchkey.user_disabled", "latchkey.user_enabled", "latchkey.user_disabled"]);
    let first: Value = serde_json::from_str(&got[0].body).expect("json");
    assert_eq!((first["data"]["schema"].as_str(), first["data"]["user_id"].as_str()), (Some("latchkey.event.v1"), Some(user(1).0.as_str())));
    assert_eq!(first["data"]["id"].as_str(), Some(got[0].id.as_str()), "webhook-id is the event's id");
    assert!(got.iter().all(|r| signature_holds(&secret, r)), "every delivery is signed with the subscription's secret");
    let mut forged = got[0].clone();
    forged.body = forged.body.replace("user_disabled", "user_enabled");
    assert!(!signature_holds(&secret, &forged), "a changed body does not verify");

    // The receiver fails: retried after 5 s with the same id, then 10 s; a
    // redirect is a failure too (never followed).
    receiver.status.store(503, Ordering::SeqCst);
    record(&app, SecurityEvent::UserDisabled { user: user(3) }).await;
    assert_eq!(app.state.deliver_webhooks().await.expect("round"), 0);
    assert_eq!(app.state.deliver_webhooks().await.expect("round"), 0);
    assert_eq!(receiver.received().len(), 4, "not due again yet");
    app.clock.advance(5);
    receiver.status.store(302, Ordering::SeqCst);
    app.state.deliver_webhooks().await.expect("round");
    assert_eq!(receiver.received().len(), 5);
    app.clock.advance(10);
    receiver.status.store(204, Ordering::SeqCst);
    assert_eq!(app.state.deliver_webhooks().await.expect("round"), 1);
    let tries: Vec<Received> = receiver.received().into_iter().skip(3).collect();
    assert!(tries.iter().all(|r| r.id == tries[0].id), "retries carry the same webhook-id");
    let (log, pending) = app.state.webhook_log(&sub.id).await.expect("log");
    assert_eq!((log.len(), pending), (6, 0));
    assert_eq!((log[0].status, log[1].status, log[2].status), (Some(204), Some(302), Some(503)), "newest first");

    // A day of failures: turned off, audited, administrators mailed; its queue waits.
    app.state
        .authn
        .create_user(latchkey_authn::NewUser { username: "root".into(), email: "root@example.com".into(), password: latchkey_domain::Secret::new(crate::support::PASSWORD), admin: true })
        .await
        .expect("admin");
    receiver.status.store(500, Ordering::SeqCst);
    record(&app, SecurityEvent::UserDisabled { user: user(4) }).await;
    for _ in 0..40 {
        app.state.deliver_webhooks().await.expect("round");
        app.clock.advance(3600);
    }
    let subs = app.state.webhooks().await.expect("list");
    assert!(subs[0].disabled_at.is_some(), "off after a day");
    wait_for_mail(&app, "root@example.com", "A webhook was turned off").await;
    let before = receiver.received().len();
    app.state.deliver_webhooks().await.expect("round");
    assert_eq!(receiver.received().len(), before, "an off subscription gets nothing");
    receiver.status.store(200, Ordering::SeqCst);
    app.state.enable_webhook(&sub.id).await.expect("enable");
    assert_eq!(app.state.deliver_webhooks().await.expect("round"), 1, "the waiting event goes once it is on again");
    app.state.remove_webhook(&Actor::Cli, &sub.id).await.expect("remove");
    assert!(app.state.webhooks().await.expect("list").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_sqlite() {
    deliveries(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_postgres() {
    deliveries(Backend::Postgres).await;
}

/// A real `latchkey serve` sends a delivery and is killed (`kill -9`) before
/// the receiver answers: another node sends it again once the claim runs
/// out (same `webhook-id`), and it is marked delivered exactly then.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delivery_survives_its_node_being_killed() {
    if crate::support::services::skip_slow("fault injection (a killed node)") {
        return;
    }
    let Some(bin) = crate::resilience::node_kill::latchkey_binary() else { return };
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    let receiver = Receiver::start(30).await;
    let (sub, secret) = app.state.add_webhook(&Actor::Cli, &receiver.url, &["user_disabled".into()], None, true).await.expect("subscribe");
    record(&app, SecurityEvent::UserDisabled { user: user(9) }).await;
    let mut node = crate::resilience::node_kill::Node::spawn(&bin, &app).await;
    for _ in 0..100 {
        if !receiver.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(receiver.received().len(), 1, "the node sent it (the receiver holds the answer)");
    node.kill();
    // This node: not while the dead node's claim holds, then again.
    assert_eq!(app.state.deliver_webhooks().await.expect("round"), 0);
    app.clock.advance(31);
    assert_eq!(app.state.deliver_webhooks().await.expect("round"), 1);
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id, got[1].id, "the same webhook-id: receivers can tell it is a retry");
    assert!(got.iter().all(|r| signature_holds(&secret, r)));
    assert_eq!(app.state.webhook_log(&sub.id).await.expect("log").1, 0, "delivered, nothing lost");
}

/// The admin API manages subscriptions as the command line does; the secret
/// comes back once; the delivery log reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_through_the_admin_api() {
    use crate::accounts::{admin_post, admin_token};
    use crate::support::raw::bearer;
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let token = admin_token(&app).await;
    let body = serde_json::json!({ "url": "https://hooks.example.com/latchkey", "events": ["user_disabled"] });
    assert_eq!(admin_post(&app, "/admin/api/v1/webhooks", None, &body).await.0, 401);
    let (status, made) = admin_post(&app, "/admin/api/v1/webhooks", Some(&token), &body).await;
    assert_eq!(status, 201, "{made}");
    let secret = made["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"));
    let id = made["id"].as_str().expect("id").to_string();
    // The API takes public https receivers only (private ones are the command line's).
    for bad in [
        serde_json::json!({ "url": "https://10.0.0.1/x" }),
        serde_json::json!({ "url": "http://127.0.0.1:9/x", "allow_private": true }),
        serde_json::json!({ "url": "https://hooks.example.com/x", "events": ["nope"] }),
        serde_json::json!({ "url": "ftp://x" }),
    ] {
        assert_eq!(admin_post(&app, "/admin/api/v1/webhooks", Some(&token), &bad).await.0, 400, "{bad}");
    }
    let list = bearer(&app, "GET", "/admin/api/v1/webhooks", &token).await;
    assert_eq!((list.status, list.body[0]["events"][0].as_str()), (200, Some("user_disabled")));
    assert!(!list.body.to_string().contains(&secret), "the secret is shown once");
    record(&app, SecurityEvent::UserDisabled { user: user(5) }).await;
    let log = bearer(&app, "GET", &format!("/admin/api/v1/webhooks/{id}/attempts"), &token).await;
    assert_eq!((log.status, log.body["pending"].as_i64(), log.body["attempts"].as_array().map(Vec::len)), (200, Some(1), Some(0)), "{}", log.body);
    assert_eq!(bearer(&app, "GET", "/admin/api/v1/webhooks/nope/attempts", &token).await.status, 404);
    assert_eq!(bearer(&app, "DELETE", &format!("/admin/api/v1/webhooks/{id}"), &token).await.status, 200);
    assert_eq!(bearer(&app, "DELETE", &format!("/admin/api/v1/webhooks/{id}"), &token).await.status, 404);
    let doc = bearer(&app, "GET", "/admin/api/v1/openapi.json", &token).await;
    assert!(doc.body["paths"]["/admin/api/v1/webhooks"].is_object() || doc.body["paths"]["/webhooks"].is_object(), "in the generated document");
}

/// The console shows each subscription with its log, and turns it on again
/// or removes it (CSRF, a recent admin sign-in).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_and_removes_webhooks() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let receiver = Receiver::start(0).await;
    let (sub, _) = app.state.add_webhook(&Actor::Cli, &receiver.url, &["user_disabled".into()], None, true).await.expect("subscribe");
    record(&app, SecurityEvent::UserDisabled { user: user(6) }).await;
    app.state.deliver_webhooks().await.expect("round");
    let (mut admin, _, _) = crate::console::admin_browser(&app).await;
    let page = admin.get("/admin/webhooks").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&receiver.url) && page.body.contains("HTTP 200") && page.body.contains("user_disabled"), "{}", page.body);
    let csrf = page.field("csrf_token").unwrap_or_default();
    let forged = admin.post_form(&format!("/admin/webhooks/{}", sub.id), &[("csrf_token", "forged"), ("action", "remove")]).await;
    assert_ne!(forged.status, 303);
    assert_eq!(app.state.webhooks().await.expect("list").len(), 1);
    let removed = admin.post_form(&format!("/admin/webhooks/{}", sub.id), &[("csrf_token", &csrf), ("action", "remove")]).await;
    assert_eq!(removed.location.as_deref(), Some("/admin/webhooks?notice=webhook-removed"), "{}", removed.body);
    assert!(app.state.webhooks().await.expect("list").is_empty());
    let after = admin.get("/admin/webhooks?notice=webhook-removed").await;
    assert!(after.body.contains("Webhook removed."), "{} {}", after.status, after.body);
}
