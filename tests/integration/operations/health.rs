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
