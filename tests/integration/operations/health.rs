//! Liveness and readiness, with the database really unreachable and back.

use serde_json::Value;

use crate::support::services::PgDatabase;
use crate::support::{Backend, TestApp};

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app.http().get(app.url(path)).send().await.expect("health");
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_goes_503_when_the_database_is_unreachable_and_back() {
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    assert_eq!(get(&app, "/health/live").await.0, 200);
    assert_eq!(get(&app, "/health/ready").await, (200, serde_json::json!({ "status": "ok", "down": [] })));
    let name = app.pg.as_ref().expect("postgres").name().to_string();
    PgDatabase::admin_exec(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).expect("block");
    PgDatabase::admin_exec(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")).expect("terminate");
    let (status, body) = get(&app, "/health/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["down"], serde_json::json!(["database"]));
    assert_eq!(get(&app, "/health/live").await.0, 200, "the process itself is alive");
    assert_eq!(get(&app, "/healthz").await.0, 503, "the old name follows readiness");
    PgDatabase::admin_exec(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).expect("mend");
    let mut back = false;
    for _ in 0..50 {
        if get(&app, "/health/ready").await.0 == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(back, "ready again once the database answers, without a restart");
}

/// A graceful stop lets the requests in flight finish: a burst of password
/// sign-ins (argon2 queues them; fewer than the per-account limit) is
/// stopped mid-way; every one is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(crate::support::USERNAME, crate::support::PASSWORD).await;
    let mut pages = Vec::new();
    for _ in 0..9 {
        let mut b = app.browser();
        let csrf = b.get("/login").await.field("csrf_token").unwrap_or_default();
        pages.push((b, csrf));
    }
    let burst = tokio::spawn(async move {
        let mut statuses = Vec::new();
        let futs = pages
            .into_iter()
            .map(|(mut b, csrf)| async move { b.post_form("/login", &[("csrf_token", &csrf), ("username", crate::support::USERNAME), ("password", crate::support::PASSWORD)]).await.status });
        for s in futures_util::future::join_all(futs).await {
            statuses.push(s);
        }
        statuses
    });
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    app.stop_gracefully().await;
    let statuses = burst.await.expect("burst");
    assert_eq!(statuses.len(), 9);
    assert!(statuses.iter().all(|s| *s == 303), "every in-flight sign-in finished: {statuses:?}");
    let after = app.http().get(app.url("/health/live")).send().await;
    assert!(after.is_err(), "and then the server is gone");
}

/// A back-channel logout that no node acknowledged (the relying party was
/// down, the node stopped) is recorded and retried by any node's upkeep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_backchannel_logouts_survive_and_are_retried() {
    use std::sync::{Arc, Mutex};
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(crate::support::USERNAME, crate::support::PASSWORD).await;
    // The relying party's endpoint is down at first.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let new = crate::support::TestClient::web_app("RP").backchannel_logout(Some(format!("http://127.0.0.1:{port}/bc"))).build();
    let (id, secret) = app.register(new).await;
    let rp = crate::support::Rp::discover(&app, &id, secret.as_deref()).await;
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    crate::support::rp::sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let csrf = browser.get("/account").await.field("csrf_token").unwrap_or_default();
    browser.post_form("/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(app.state.oauth.pending_backchannel_deliveries().await.expect("pending"), 1, "recorded before the first attempt");
    assert_eq!(app.state.oauth.retry_backchannel_deliveries().await.expect("retry"), 0, "held by the node working on it");

    // The relying party comes back; the lease runs out; any node's upkeep retries.
    let received: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("rebind the relying party's port");
    let server = actix_web::HttpServer::new(move || {
        let sink = sink.clone();
        actix_web::App::new().route(
            "/bc",
            actix_web::web::post().to(move |body: String| {
                let sink = sink.clone();
                async move {
                    sink.lock().unwrap_or_else(|p| p.into_inner()).push(body);
                    actix_web::HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    app.clock.advance(61);
    assert_eq!(app.state.oauth.retry_backchannel_deliveries().await.expect("retry"), 1);
    let mut done = false;
    for _ in 0..100 {
        if !received.lock().unwrap_or_else(|p| p.into_inner()).is_empty() && app.state.oauth.pending_backchannel_deliveries().await.expect("pending") == 0 {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(done, "delivered by the retry and cleared");
    assert!(received.lock().unwrap_or_else(|p| p.into_inner())[0].starts_with("logout_token="));
}
