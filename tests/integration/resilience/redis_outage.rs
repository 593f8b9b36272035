//! Redis lost under load: two nodes on one PostgreSQL and a Redis of the
//! test's own; clients sign in, take client-credentials tokens, rotate refresh
//! tokens, introspect and call userinfo on both nodes while Redis is killed
//! and, a few seconds later, started again (empty).
//!
//! The promise: the database is the source of truth, so nodes keep serving
//! from it while Redis is down (no 5xx on the token, introspection and
//! userinfo endpoints), never accept a revoked token or a spent refresh
//! token, and use Redis again when it returns, without a restart. The counts
//! per phase are printed (`OUTAGE …`) for docs/RELIABILITY.md.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::OAuth2TokenResponse;

use super::app_with_own_redis;
use crate::support::raw::{bearer, post_form};
use crate::support::rp::{offline_tokens, sign_in_default, OfflineTokens};
use crate::support::{Rp, TestApp, PASSWORD, USERNAME};

const BEFORE: usize = 0;
const DURING: usize = 1;
const AFTER: usize = 2;
const PHASES: [&str; 3] = ["before", "during", "after"];

/// Status counts per (endpoint, phase).
#[derive(Default)]
#[allow(clippy::type_complexity)]
struct Tally {
    counts: Mutex<BTreeMap<(&'static str, usize), BTreeMap<u16, usize>>>,
    /// What must never happen, with what was seen.
    violations: Mutex<Vec<String>>,
}

impl Tally {
    fn add(&self, endpoint: &'static str, phase: usize, status: u16) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry((endpoint, phase)).or_default().entry(status).or_default() += 1;
    }

    fn violation(&self, what: String) {
        self.violations.lock().unwrap_or_else(|e| e.into_inner()).push(what);
    }

    fn server_errors(&self, endpoint: &str) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.iter().filter(|((e, _), _)| *e == endpoint).flat_map(|(_, s)| s.iter()).filter(|(status, _)| **status >= 500).map(|(_, n)| n).sum()
    }

    fn count(&self, endpoint: &str, phase: usize, ok: impl Fn(u16) -> bool) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(&(endpoint, phase)).map(|s| s.iter().filter(|(st, _)| ok(**st)).map(|(_, n)| n).sum()).unwrap_or(0)
    }

    fn report(&self) -> String {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.iter().map(|((e, p), s)| format!("{e}/{}: {s:?}", PHASES[*p])).collect::<Vec<_>>().join("; ")
    }
}

struct Load<'a> {
    nodes: [&'a TestApp; 2],
    phase: AtomicUsize,
    stop: AtomicBool,
    tally: Tally,
}

impl Load<'_> {
    fn phase(&self) -> usize {
        self.phase.load(Ordering::SeqCst)
    }

    /// The phase a request belongs to: where it started and ended, or the
    /// outage when it spanned a change (it may have met the outage).
    fn phase_of(&self, started: usize) -> usize {
        let now = self.phase();
        if now == started {
            now
        } else {
            DURING
        }
    }

    fn running(&self) -> bool {
        !self.stop.load(Ordering::SeqCst)
    }
}

/// A sign-in that reports the status it ended on instead of panicking.
async fn try_sign_in(node: &TestApp, rp: &Rp) -> u16 {
    let mut browser = node.browser();
    let req = rp.authorize(&[]);
    let first = browser.get(&req.url).await;
    let Some(login) = first.location.filter(|l| l.starts_with("/login")) else { return first.status };
    let form = browser.get(&login).await;
    let (Some(csrf), Some(authz)) = (form.field("csrf_token"), form.field("authz")) else { return form.status };
    let done = browser.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", USERNAME), ("password", PASSWORD)]).await;
    match done.location {
        Some(l) if l.starts_with("/consent") || l.starts_with(crate::support::REDIRECT_URI) => 200,
        _ => done.status,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_killed_under_mixed_load_on_two_nodes() {
    let Some((app, mut redis)) = app_with_own_redis(|_| {}).await else { return };
    let node2 = app.second_node().await;
    app.add_user(USERNAME, PASSWORD).await;
    let OfflineTokens { rp, client_id: id, secret, mut browser, access: live, refresh, .. } = offline_tokens(&app).await;
    // A revoked access token and a spent refresh token, to present throughout.
    let revoked = {
        let req = rp.authorize(&[]);
        let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
        rp.exchange(&code, req.verifier).await.expect("exchange").access_token().secret().clone()
    };
    assert_eq!(post_form(&app, "/revoke", &[("token", &revoked)], Some((&id, &secret))).await.status, 200);
    // A spent refresh token, of a family of its own (its reuse revokes that family).
    let spent = {
        let req = rp.authorize_scopes(&["offline_access"], &[]);
        let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
        let t = rp.exchange(&code, req.verifier).await.expect("exchange");
        let spent = t.refresh_token().expect("refresh token").secret().clone();
        assert_eq!(post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &spent)], Some((&id, &secret))).await.status, 200);
        spent
    };
    let chain_start = refresh.clone();
    let (cc_id, cc_secret) = app.add_admin_client().await;

    let load = Load { nodes: [&app, &node2], phase: AtomicUsize::new(BEFORE), stop: AtomicBool::new(false), tally: Tally::default() };
    let load = &load;
    let creds = (id.as_str(), secret.as_str());
    let cc = (cc_id.as_str(), cc_secret.as_str());

    let client_credentials = async move {
        let mut i = 0usize;
        while load.running() {
            let started = load.phase();
            let a = post_form(load.nodes[i % 2], "/token", &[("grant_type", "client_credentials")], Some(cc)).await;
            let phase = load.phase_of(started);
            load.tally.add("token (client_credentials)", phase, a.status);
            i += 1;
        }
    };
    let refresh_chain = {
        let chain_start = chain_start.clone();
        async move {
            let mut token = chain_start;
            let mut i = 0usize;
            while load.running() {
                let started = load.phase();
                let a = post_form(load.nodes[i % 2], "/token", &[("grant_type", "refresh_token"), ("refresh_token", &token)], Some(creds)).await;
                let phase = load.phase_of(started);
                load.tally.add("token (refresh)", phase, a.status);
                if a.status == 200 {
                    token = a.body["refresh_token"].as_str().unwrap_or_default().to_string();
                } else if a.status < 500 {
                    load.tally.violation(format!("the one holder of a refresh token was refused in phase {}: {}", PHASES[phase], a.body));
                    return token;
                }
                i += 1;
            }
            token
        }
    };
    let introspection = {
        let (live, revoked) = (live.clone(), revoked.clone());
        async move {
            let mut i = 0usize;
            while load.running() {
                let token = if i.is_multiple_of(2) { &live } else { &revoked };
                let started = load.phase();
                let a = post_form(load.nodes[i % 2], "/introspect", &[("token", token)], Some(creds)).await;
                let phase = load.phase_of(started);
                load.tally.add("introspection", phase, a.status);
                if a.status == 200 && a.body["active"] != i.is_multiple_of(2) {
                    load.tally.violation(format!("introspection of the {} token said active={} in phase {}", if i.is_multiple_of(2) { "live" } else { "revoked" }, a.body["active"], PHASES[phase]));
                }
                i += 1;
            }
        }
    };
    let userinfo = {
        let (live, revoked) = (live.clone(), revoked.clone());
        async move {
            let mut i = 0usize;
            while load.running() {
                let token = if i.is_multiple_of(2) { &live } else { &revoked };
                let started = load.phase();
                let a = bearer(load.nodes[(i / 2) % 2], "GET", "/userinfo", token).await;
                let phase = load.phase_of(started);
                load.tally.add("userinfo", phase, a.status);
                if i % 2 == 1 && a.status == 200 {
                    load.tally.violation(format!("userinfo accepted the revoked token in phase {}", PHASES[phase]));
                }
                i += 1;
            }
        }
    };
    let spent_refresh = {
        let spent = spent.clone();
        async move {
            let mut i = 0usize;
            while load.running() {
                let started = load.phase();
                let a = post_form(load.nodes[i % 2], "/token", &[("grant_type", "refresh_token"), ("refresh_token", &spent)], Some(creds)).await;
                let phase = load.phase_of(started);
                load.tally.add("token (spent refresh)", phase, a.status);
                if a.status == 200 {
                    load.tally.violation(format!("a spent refresh token was accepted in phase {}", PHASES[phase]));
                }
                i += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let rp = &rp;
    let sign_ins = async move {
        let mut i = 0usize;
        while load.running() {
            let started = load.phase();
            let status = try_sign_in(load.nodes[i % 2], rp).await;
            let phase = load.phase_of(started);
            load.tally.add("sign-in", phase, status);
            i += 1;
        }
    };

    let chaos = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        load.phase.store(DURING, Ordering::SeqCst);
        redis.stop();
        tokio::time::sleep(Duration::from_secs(4)).await;
        let again = redis.restart();
        let started = Instant::now();
        let ready = |n: &TestApp| {
            let http = n.http();
            let url = n.url("/health/ready");
            async move { http.get(url).send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
        };
        while ready(&app).await != 200 || ready(&node2).await != 200 {
            assert!(started.elapsed() < Duration::from_secs(10), "both nodes ready again without a restart");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let recovered = started.elapsed();
        load.phase.store(AFTER, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(2)).await;
        load.stop.store(true, Ordering::SeqCst);
        (again, recovered)
    };
    let ((_redis, recovered), _, last_refresh, ..) = tokio::join!(chaos, client_credentials, refresh_chain, introspection, userinfo, spent_refresh, sign_ins);
    let tally = &load.tally;
    eprintln!("OUTAGE redis killed 4 s; ready again {recovered:?} after restart; {}", tally.report());

    let violations = tally.violations.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(violations.is_empty(), "{violations:#?}");
    for endpoint in ["token (client_credentials)", "token (refresh)", "introspection", "userinfo", "token (spent refresh)"] {
        assert_eq!(tally.server_errors(endpoint), 0, "{endpoint} answered 5xx: {}", tally.report());
        for phase in [BEFORE, DURING, AFTER] {
            assert!(tally.count(endpoint, phase, |_| true) > 0, "{endpoint} was exercised {}", PHASES[phase]);
        }
    }
    // Sign-ins worked before and after; during the outage they may answer 503
    // (never anything else), and then only with Retry-After (checked by the unit of WebError).
    for phase in [BEFORE, AFTER] {
        assert!(tally.count("sign-in", phase, |s| s == 200) > 0, "sign-ins {}: {}", PHASES[phase], tally.report());
        assert_eq!(tally.count("sign-in", phase, |s| s != 200), 0, "sign-ins {}: {}", PHASES[phase], tally.report());
    }
    assert_eq!(tally.count("sign-in", DURING, |s| s != 200 && s != 503), 0, "{}", tally.report());

    // Afterwards: the chain's last token still rotates, on either node; the
    // revocation still holds; the spent token is still refused.
    let after = post_form(&node2, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &last_refresh)], Some(creds)).await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(bearer(&app, "GET", "/userinfo", &revoked).await.status, 401);
}

/// Redis cut off by the network while it keeps its data (a partition, not a
/// restart): a token revoked on one node meanwhile is refused by the other
/// node at its first request after the network heals, although Redis never
/// got the revocation and the revoking node has not yet written its queued
/// copy there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_during_a_redis_partition_holds_on_every_node_after_it() {
    let Some((app, redis)) = app_with_own_redis(|_| {}).await else { return };
    let partition = super::Partition::relay_to(redis.port).await;
    // The nodes reach Redis through the relay.
    let mut settings = app.settings.clone();
    settings.redis_url = Some(format!("redis://127.0.0.1:{}", partition.port));
    let node1 = TestApp::node_with(&app, settings.clone()).await;
    let node2 = TestApp::node_with(&app, settings).await;
    app.add_user(USERNAME, PASSWORD).await;
    let OfflineTokens { client_id: id, secret, access, .. } = offline_tokens(&app).await;
    assert_eq!(bearer(&node2, "GET", "/userinfo", &access).await.status, 200);
    assert_eq!(bearer(&node1, "GET", "/userinfo", &access).await.status, 200);

    partition.cut();
    let started = Instant::now();
    assert_eq!(bearer(&node2, "GET", "/userinfo", &access).await.status, 200, "served from the database while Redis is cut off");
    assert_eq!(post_form(&node1, "/revoke", &[("token", &access)], Some((&id, &secret))).await.status, 200, "revocation recorded in the database");
    assert_eq!(bearer(&node2, "GET", "/userinfo", &access).await.status, 401, "the database says revoked");
    assert!(started.elapsed() < Duration::from_secs(3), "bounded: {:?}", started.elapsed());
    let keys = std::process::Command::new("redis-cli").args(["-p", &redis.port.to_string(), "--scan", "--pattern", "own:revoked-jti:*"]).output().expect("redis-cli");
    assert!(keys.stdout.is_empty(), "Redis never got the revocation: {}", String::from_utf8_lossy(&keys.stdout));
    assert!(node1.state.stores.fast.is_down() && node2.state.stores.fast.is_down(), "both nodes saw the partition");
    assert_eq!(bearer(&app, "GET", "/userinfo", &access).await.status, 200, "Redis itself never heard of it (the in-process node reads it directly)");
    partition.mend();
    tokio::time::sleep(Duration::from_millis(1100)).await; // past the breaker's back-off

    assert_eq!(bearer(&node2, "GET", "/userinfo", &access).await.status, 401, "node 2 repaired Redis from the database before trusting it again");
    assert_eq!(bearer(&app, "GET", "/userinfo", &access).await.status, 401, "and so every node now refuses it");
    let intro = post_form(&node1, "/introspect", &[("token", &access)], Some((&id, &secret))).await;
    assert_eq!(intro.body["active"], false);
}
