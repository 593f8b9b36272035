//! How long one sign-in takes end to end, as a relying party sees it.
//!
//! `cargo bench -p latchkey-tests --bench sign_in` (release profile). Prints
//! medians and p95s; the figures go to docs/BENCHMARKS.md. Not a test: nothing
//! here asserts on time.

#[allow(dead_code, unused_imports)]
#[path = "../integration/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use latchkey_domain::SigningAlg;
use openidconnect::TokenResponse;
use support::rp::sign_in_default;
use support::{Backend, Rp, TestApp, PASSWORD, USERNAME};

const ROUNDS: usize = 30;

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!("{label:<48} median {:>7.1} ms   p95 {:>7.1} ms   (n={})", ms(p(0.5)), ms(p(0.95)), samples.len());
}

async fn run(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        println!("{backend:?}: services missing, skipped");
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let (mut first, mut returning) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        // A new browser: sign-in page, password (argon2id), consent, code, token, ID token check.
        let mut browser = app.browser();
        let req = rp.authorize(&[]);
        let t = Instant::now();
        let resp = sign_in_default(&mut browser, &req.url).await;
        let tokens = rp.exchange(resp.code.as_deref().unwrap_or_default(), req.verifier).await.expect("exchange");
        tokens.id_token().expect("id token").claims(&rp.client.id_token_verifier(), &req.nonce).expect("valid");
        first.push(t.elapsed());

        // The same browser again: session and consent remembered, straight to a code.
        let req = rp.authorize(&[]);
        let t = Instant::now();
        let resp = sign_in_default(&mut browser, &req.url).await;
        let tokens = rp.exchange(resp.code.as_deref().unwrap_or_default(), req.verifier).await.expect("exchange");
        tokens.id_token().expect("id token").claims(&rp.client.id_token_verifier(), &req.nonce).expect("valid");
        returning.push(t.elapsed());
    }
    summary(&format!("{backend:?}: first sign-in (password + consent)"), first);
    summary(&format!("{backend:?}: returning sign-in (session reused)"), returning);
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        run(Backend::Sqlite).await;
        run(Backend::Postgres).await;
    });
}
