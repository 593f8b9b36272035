//! Load benchmark: requests per second and latency of the token endpoints,
//! with the server (2 actix workers) and the load (2 tokio threads) sharing
//! this machine. Not a test: it asserts only that requests succeed.
//!
//!   cargo bench -p latchkey-tests --bench load
//!   LOAD_SECS=10 LOAD_CONCURRENCY=32 cargo bench -p latchkey-tests --bench load
//!
//! Figures and how they were taken: docs/BENCHMARKS.md.

#[allow(dead_code, unused_imports)]
#[path = "../integration/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_domain::SigningAlg;
use openidconnect::OAuth2TokenResponse;
use support::rp::sign_in;
use support::{Backend, Rp, TestApp, PASSWORD, USERNAME};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Report {
    ok: usize,
    failed: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

fn print(label: &str, mut r: Report) {
    r.latencies.sort();
    let q = |p: f64| r.latencies.get(((r.latencies.len().max(1) - 1) as f64 * p) as usize).copied().unwrap_or_default();
    println!(
        "{label:<44} {:>8.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ok {}  failed {}",
        r.ok as f64 / r.elapsed.as_secs_f64(),
        q(0.50).as_secs_f64() * 1e3,
        q(0.99).as_secs_f64() * 1e3,
        r.ok,
        r.failed
    );
}

/// Runs `concurrency` loops of `step` for `secs` seconds. Each loop owns a
/// state value (e.g. its current refresh token) that `step` may replace.
async fn drive<S, F, Fut>(concurrency: usize, secs: u64, states: Vec<S>, step: F) -> Report
where
    S: Send + 'static,
    F: Fn(S) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = (S, bool)> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for state in states.into_iter().take(concurrency) {
        let (stop, step) = (stop.clone(), step.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut lat) = (0usize, 0usize, Vec::new());
            let mut state = state;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let (next, success) = step(state).await;
                state = next;
                lat.push(t.elapsed());
                if success {
                    ok += 1
                } else {
                    failed += 1
                }
            }
            (ok, failed, lat)
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut report = Report { ok: 0, failed: 0, latencies: Vec::new(), elapsed: Duration::ZERO };
    for t in tasks {
        if let Ok((ok, failed, lat)) = t.await {
            report.ok += ok;
            report.failed += failed;
            report.latencies.extend(lat);
        }
    }
    report.elapsed = start.elapsed();
    report
}

async fn run(backend: Backend, concurrency: usize, secs: u64) {
    let Some(app) = TestApp::start(backend).await else {
        println!("{backend:?}: services missing, skipped");
        return;
    };
    let app = Arc::new(app);
    app.add_user(USERNAME, PASSWORD).await;
    let (admin_id, admin_secret) = app.add_admin_client().await;
    let (rp_id, rp_secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp_secret = rp_secret.unwrap_or_default();
    let rp = Rp::discover(&app, &rp_id, Some(&rp_secret)).await;
    let http = app.http();
    let token_url = app.url("/token");

    // client_credentials
    let (h, u, id, secret) = (http.clone(), token_url.clone(), admin_id.clone(), admin_secret.clone());
    let report = drive(concurrency, secs, vec![(); concurrency], move |()| {
        let (h, u, id, secret) = (h.clone(), u.clone(), id.clone(), secret.clone());
        async move {
            let r = h.post(u).basic_auth(id, Some(secret)).form(&[("grant_type", "client_credentials")]).send().await;
            let ok = matches!(&r, Ok(r) if r.status().is_success());
            if let Ok(r) = r {
                let _ = r.bytes().await;
            }
            ((), ok)
        }
    })
    .await;
    print(&format!("{backend:?}: client_credentials"), report);

    // Families for refresh and a token for introspection: one sign-in, then
    // returning sign-ins on the same session.
    let mut browser = app.browser();
    let mut refresh_tokens = Vec::new();
    let mut access = String::new();
    for _ in 0..concurrency {
        let req = rp.authorize_scopes(&["offline_access"], &[]);
        let resp = sign_in(&mut browser, &req.url, USERNAME, PASSWORD).await;
        let t = rp.exchange(resp.code.as_deref().unwrap_or_default(), req.verifier).await.expect("exchange");
        access = t.access_token().secret().clone();
        refresh_tokens.push(t.refresh_token().map(|r| r.secret().clone()).unwrap_or_default());
    }

    // introspection
    let introspect_url = app.url("/introspect");
    let (h, u, id, secret, token) = (http.clone(), introspect_url, rp_id.clone(), rp_secret.clone(), access.clone());
    let report = drive(concurrency, secs, vec![(); concurrency], move |()| {
        let (h, u, id, secret, token) = (h.clone(), u.clone(), id.clone(), secret.clone(), token.clone());
        async move {
            let r = h.post(u).basic_auth(id, Some(secret)).form(&[("token", token.as_str())]).send().await;
            let ok = match r {
                Ok(r) => r.text().await.is_ok_and(|b| b.contains("\"active\":true")),
                Err(_) => false,
            };
            ((), ok)
        }
    })
    .await;
    print(&format!("{backend:?}: introspection (access token)"), report);

    // refresh rotation: each loop rotates its own family
    let (h, u, id, secret) = (http.clone(), token_url.clone(), rp_id.clone(), rp_secret.clone());
    let report = drive(concurrency, secs, refresh_tokens, move |token: String| {
        let (h, u, id, secret) = (h.clone(), u.clone(), id.clone(), secret.clone());
        async move {
            let r = h.post(u).basic_auth(id, Some(secret)).form(&[("grant_type", "refresh_token"), ("refresh_token", token.as_str())]).send().await;
            let body: serde_json::Value = match r {
                Ok(r) => serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or_default(),
                Err(_) => serde_json::Value::Null,
            };
            match body["refresh_token"].as_str() {
                Some(next) => (next.to_string(), true),
                None => (token, false),
            }
        }
    })
    .await;
    print(&format!("{backend:?}: refresh rotation"), report);
}

fn main() {
    let concurrency = env_or("LOAD_CONCURRENCY", 32) as usize;
    let secs = env_or("LOAD_SECS", 10);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    println!("concurrency {concurrency}, {secs} s per scenario, server: 2 actix workers in-process");
    rt.block_on(async {
        run(Backend::Sqlite, concurrency, secs).await;
        run(Backend::Postgres, concurrency, secs).await;
    });
}
