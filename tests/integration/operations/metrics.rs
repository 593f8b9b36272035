//! `/metrics` moves as flows run.

use latchkey_domain::SigningAlg;

use crate::support::rp::sign_in_default;
use crate::support::{Backend, Rp, TestApp, PASSWORD, USERNAME};

/// The value of the first sample whose line starts with `prefix` (name and labels).
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines().filter(|l| l.starts_with(name) && labels.iter().all(|lb| l.contains(lb))).filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok())).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_as_flows_run() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/metrics", listener.local_addr().expect("addr"));
    tokio::spawn(latchkey_web::metrics::start(listener, app.state.clone()).expect("metrics server"));
    let scrape = || async { reqwest::get(&url).await.expect("scrape").text().await.unwrap_or_default() };
    let before = scrape().await;
    assert!(before.contains("latchkey_build_info"), "{before}");

    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let mut browser = app.browser();
    let req = rp.authorize(&[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    rp.exchange(&code, req.verifier).await.expect("exchange");
    let after = scrape().await;

    let grew = |name: &str, labels: &[&str]| sample(&after, name, labels) > sample(&before, name, labels);
    assert!(grew("latchkey_token_requests_total", &["grant_type=\"authorization_code\"", "outcome=\"issued\""]), "{after}");
    assert!(grew("latchkey_audit_events_total", &["kind=\"sign_in\"", "outcome=\"success\""]));
    assert!(grew("latchkey_http_requests_total", &["route=\"/token\"", "status=\"200\""]));
    assert!(grew("latchkey_http_request_duration_seconds_count", &["route=\"/login\""]));
    assert!(sample(&after, "latchkey_sessions_active", &[]) >= 1.0, "the live session is counted");
    assert!(after.contains("latchkey_db_pool_connections{state=\"idle\"}"));
}
