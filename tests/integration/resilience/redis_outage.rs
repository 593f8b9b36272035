//! Redis lost under load: two nodes on one PostgreSQL and a Redis of the
//! test's own; clients sign in, take client-credentials tokens, rotate refresh
//! tokens, introspect and call userinfo on both nodes while Redis is killed
//! and, a few seconds later, started again (empty).
//!
//! The promise: the database is the source of truth, so nodes keep serving
//! from it while Redis is down: no 5xx anywhere, sign-ins included (issue
//! #31: password, password + second factor, passkey; their codes redeemed on
//! the other node; PAR, the device grant, DPoP), never a revoked token or a
//! spent refresh token, DPoP proof or code accepted, and Redis used again when
//! it returns, without a restart. The counts and p99 latencies per phase are
//! printed (`OUTAGE …`) for docs/RELIABILITY.md.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::OAuth2TokenResponse;

use super::app_with_own_redis;
use super::redis_fallback::dpop_token;
use crate::support::raw::{bearer, post_form};
use crate::support::rp::{offline_tokens, sign_in_default, OfflineTokens};
use crate::support::{Rp, TestApp, PASSWORD, USERNAME};

const BEFORE: usize = 0;
const DURING: usize = 1;
const AFTER: usize = 2;
const PHASES: [&str; 3] = ["before", "during", "after"];
/// The flows of single-use values, which must succeed in every phase.
const FLOWS: [&str; 9] =
    ["sign-in (password)", "sign-in (password + second factor)", "sign-in (passkey)", "token (code)", "par", "authorize (pushed)", "device_authorization", "token (device poll)", "token (DPoP)"];
/// How long Redis is down (the 10 s).
const OUTAGE: Duration = Duration::from_secs(10);
/// The user who signs in with a passkey.
const PASSKEY_USER: &str = "pat";
/// Users with a second factor, and the backup codes they sign in with.
const SECOND_FACTOR_USERS: usize = 8;

/// Users with an authenticator app: (username, backup code) pairs, each code
/// good for one sign-in.
async fn second_factor_users(app: &TestApp) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for n in 0..SECOND_FACTOR_USERS {
        let user = format!("mfa{n}");
        app.add_user(&user, PASSWORD).await;
        let mut browser = app.browser();
        let login = browser.get("/login").await;
        browser.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", &user), ("password", PASSWORD)]).await;
        let (_, backup) = crate::mfa::enrol(app, &mut browser).await;
        pairs.extend(backup.into_iter().map(|code| (user.clone(), code)));
    }
    // Interleaved, so consecutive sign-ins are different users.
    pairs.sort_by_key(|(u, c)| (c.clone(), u.clone()));
    pairs
}

/// A user with a soft passkey (and a password, never used here).
async fn passkey_user(app: &TestApp) -> webauthn_authenticator_rs::softpasskey::SoftPasskey {
    app.add_user(PASSKEY_USER, PASSWORD).await;
    let mut browser = app.browser();
    let login = browser.get("/login").await;
    browser.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", PASSKEY_USER), ("password", PASSWORD)]).await;
    crate::passkeys::register(app, &mut browser, "Laptop").await
}

/// Status counts per (endpoint, phase).
#[derive(Default)]
#[allow(clippy::type_complexity)]
struct Tally {
    counts: Mutex<BTreeMap<(&'static str, usize), BTreeMap<u16, usize>>>,
    /// Milliseconds per (endpoint, phase), for the p99s.
    latencies: Mutex<BTreeMap<(&'static str, usize), Vec<f64>>>,
    /// What must never happen, with what was seen.
    violations: Mutex<Vec<String>>,
}

impl Tally {
    fn add(&self, endpoint: &'static str, phase: usize, status: u16) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry((endpoint, phase)).or_default().entry(status).or_default() += 1;
    }

    fn timed(&self, endpoint: &'static str, phase: usize, status: u16, started: Instant) {
        self.add(endpoint, phase, status);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        self.latencies.lock().unwrap_or_else(|e| e.into_inner()).entry((endpoint, phase)).or_default().push(ms);
    }

    /// p99 (ms) and count of each endpoint's requests per phase.
    fn p99s(&self) -> String {
        let mut latencies = self.latencies.lock().unwrap_or_else(|e| e.into_inner());
        latencies
            .iter_mut()
            .map(|((e, p), v)| {
                v.sort_by(f64::total_cmp);
                let i = ((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1;
                format!("{e}/{}: n={} p99={:.1}ms", PHASES[*p], v.len(), v[i])
            })
            .collect::<Vec<_>>()
            .join("; ")
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

/// How a sign-in ended: 200 with the code and its verifier, or the status
/// of the step that failed (never a panic).
struct SignedIn {
    status: u16,
    code: Option<(String, String)>,
}

/// A whole sign-in at `node`: the password, then `second` (a backup code)
/// when a second step is asked for, then consent; reports instead of panicking.
async fn try_sign_in(node: &TestApp, rp: &Rp, username: &str, second: Option<&str>) -> SignedIn {
    let failed = |status| SignedIn { status, code: None };
    let mut browser = node.browser();
    let req = rp.authorize(&[]);
    let first = browser.get(&req.url).await;
    let Some(login) = first.location.filter(|l| l.starts_with("/login")) else { return failed(first.status) };
    let form = browser.get(&login).await;
    let (Some(csrf), Some(authz)) = (form.field("csrf_token"), form.field("authz")) else { return failed(form.status) };
    let page = browser.post_form("/login", &[("csrf_token", &csrf), ("authz", &authz), ("username", username), ("password", PASSWORD)]).await;
    finish_sign_in(&mut browser, page, second, req.verifier.secret()).await
}

/// Follows a sign-in from `page` (after the first factor) through the second
/// step and consent to the redirect back.
async fn finish_sign_in(browser: &mut crate::support::Browser, mut page: crate::support::browser::Page, second: Option<&str>, verifier: &str) -> SignedIn {
    for _ in 0..3 {
        let Some(location) = page.location.clone() else { return SignedIn { status: page.status, code: None } };
        if location.starts_with(crate::support::REDIRECT_URI) {
            return match crate::support::rp::AuthResponse::parse(&location).code {
                Some(code) => SignedIn { status: 200, code: Some((code, verifier.to_string())) },
                None => SignedIn { status: 400, code: None },
            };
        }
        page = if location.starts_with("/login/mfa") {
            match second {
                Some(code) => crate::mfa::answer_second_step(browser, &location, code).await,
                None => return SignedIn { status: 401, code: None },
            }
        } else if location.starts_with("/consent") {
            let consent = browser.get(&location).await;
            if consent.status != 200 {
                return SignedIn { status: consent.status, code: None };
            }
            browser.post_form("/consent", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("authz", &consent.field("authz").unwrap_or_default()), ("decision", "allow")]).await
        } else {
            return SignedIn { status: page.status.max(400), code: None };
        };
    }
    SignedIn { status: 400, code: None }
}

/// A passkey sign-in at `node` through consent; reports instead of panicking.
async fn try_passkey_sign_in(node: &TestApp, rp: &Rp, username: &str, key: &mut webauthn_authenticator_rs::softpasskey::SoftPasskey) -> SignedIn {
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    let failed = |status| SignedIn { status, code: None };
    let mut browser = node.browser();
    let req = rp.authorize(&[]);
    let first = browser.get(&req.url).await;
    let Some(login) = first.location.filter(|l| l.starts_with("/login")) else { return failed(first.status) };
    let page = browser.get(&login).await;
    let csrf = page.field("csrf_token").unwrap_or_default();
    let (status, start) = browser.post_json("/login/passkey/start", &csrf, &serde_json::json!({ "username": username, "authz": page.field("authz") })).await;
    if status != 200 {
        return failed(status);
    }
    let Ok(options) = serde_json::from_value(start["options"].clone()) else { return failed(500) };
    let Ok(credential) = key.do_authentication(url::Url::parse(&node.issuer).expect("origin"), options) else { return failed(400) };
    let (status, done) = browser.post_json("/login/passkey/finish", &csrf, &serde_json::json!({ "ceremony": start["ceremony"], "credential": credential })).await;
    let Some(next) = done["redirect"].as_str().filter(|_| status == 200) else { return failed(status) };
    if next.starts_with(crate::support::REDIRECT_URI) {
        return match crate::support::rp::AuthResponse::parse(next).code {
            Some(code) => SignedIn { status: 200, code: Some((code, req.verifier.secret().clone())) },
            None => failed(400),
        };
    }
    let consent = browser.get(next).await;
    if consent.status != 200 {
        return failed(consent.status);
    }
    let page = browser.post_form("/consent", &[("csrf_token", &consent.field("csrf_token").unwrap_or_default()), ("authz", &consent.field("authz").unwrap_or_default()), ("decision", "allow")]).await;
    finish_sign_in(&mut browser, page, None, req.verifier.secret()).await
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

    let second_factors = &second_factor_users(&app).await;
    let passkey = passkey_user(&app).await;
    let (device_id, _) = app.register(crate::device::device_client("TV", true, vec![latchkey_domain::GrantType::DeviceCode])).await;
    let device_id = device_id.as_str();
    let dpop_key = crate::dpop::DpopKey::es256();

    let load = Load { nodes: [&app, &node2], phase: AtomicUsize::new(BEFORE), stop: AtomicBool::new(false), tally: Tally::default() };
    let load = &load;
    let creds = (id.as_str(), secret.as_str());
    let cc = (cc_id.as_str(), cc_secret.as_str());

    let client_credentials = async move {
        let mut i = 0usize;
        while load.running() {
            let started = load.phase();
            let t0 = Instant::now();
            let a = post_form(load.nodes[i % 2], "/token", &[("grant_type", "client_credentials")], Some(cc)).await;
            let phase = load.phase_of(started);
            load.tally.timed("token (client_credentials)", phase, a.status, t0);
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
                let t0 = Instant::now();
                let a = post_form(load.nodes[i % 2], "/token", &[("grant_type", "refresh_token"), ("refresh_token", &token)], Some(creds)).await;
                let phase = load.phase_of(started);
                load.tally.timed("token (refresh)", phase, a.status, t0);
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
                let t0 = Instant::now();
                let a = post_form(load.nodes[i % 2], "/introspect", &[("token", token)], Some(creds)).await;
                let phase = load.phase_of(started);
                load.tally.timed("introspection", phase, a.status, t0);
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
                let t0 = Instant::now();
                let a = bearer(load.nodes[(i / 2) % 2], "GET", "/userinfo", token).await;
                let phase = load.phase_of(started);
                load.tally.timed("userinfo", phase, a.status, t0);
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
                let t0 = Instant::now();
                let a = post_form(load.nodes[i % 2], "/token", &[("grant_type", "refresh_token"), ("refresh_token", &spent)], Some(creds)).await;
                let phase = load.phase_of(started);
                load.tally.timed("token (spent refresh)", phase, a.status, t0);
                if a.status == 200 {
                    load.tally.violation(format!("a spent refresh token was accepted in phase {}", PHASES[phase]));
                }
                i += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let rp = &rp;
    // Whole sign-ins, each code redeemed on the other node and then presented
    // again on the first (refused), before, during and after the outage.
    // `started`: the phase the sign-in started in (a redemption that met a
    // change of phase counts as during the outage).
    let redeem_twice = |i: usize, signed: SignedIn, started: usize| async move {
        let Some((code, verifier)) = signed.code else { return };
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", crate::support::REDIRECT_URI), ("code_verifier", verifier.as_str())];
        let t0 = Instant::now();
        let a = post_form(load.nodes[(i + 1) % 2], "/token", &form, Some(creds)).await;
        let phase = load.phase_of(started);
        load.tally.timed("token (code)", phase, a.status, t0);
        if a.status != 200 && phase != DURING {
            load.tally.violation(format!("a fresh code was refused in phase {}: {}", PHASES[phase], a.body));
        }
        let again = post_form(load.nodes[i % 2], "/token", &form, Some(creds)).await;
        if again.status == 200 {
            load.tally.violation(format!("a code was redeemed twice in phase {}", PHASES[phase]));
        }
    };
    let sign_ins = async move {
        let mut i = 0usize;
        while load.running() {
            let started = load.phase();
            let t0 = Instant::now();
            let signed = try_sign_in(load.nodes[i % 2], rp, USERNAME, None).await;
            let phase = load.phase_of(started);
            load.tally.timed("sign-in (password)", phase, signed.status, t0);
            redeem_twice(i, signed, started).await;
            i += 1;
        }
    };
    let second_factor_sign_ins = async move {
        for (i, (user, code)) in second_factors.iter().enumerate() {
            if !load.running() {
                break;
            }
            let started = load.phase();
            let t0 = Instant::now();
            let signed = try_sign_in(load.nodes[i % 2], rp, user, Some(code)).await;
            let phase = load.phase_of(started);
            load.tally.timed("sign-in (password + second factor)", phase, signed.status, t0);
            redeem_twice(i, signed, started).await;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    let passkey_sign_ins = async move {
        let mut key = passkey;
        let mut i = 0usize;
        while load.running() {
            let started = load.phase();
            let t0 = Instant::now();
            let signed = try_passkey_sign_in(load.nodes[i % 2], rp, PASSKEY_USER, &mut key).await;
            let phase = load.phase_of(started);
            load.tally.timed("sign-in (passkey)", phase, signed.status, t0);
            redeem_twice(i, signed, started).await;
            i += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    // A pushed request on one node, used on the other, then refused on the first.
    let pushed = async move {
        let mut i = 0usize;
        while load.running() {
            let started = load.phase();
            let t0 = Instant::now();
            let form = [
                ("response_type", "code"),
                ("client_id", creds.0),
                ("redirect_uri", crate::support::REDIRECT_URI),
                ("scope", "openid"),
                ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                ("code_challenge_method", "S256"),
            ];
            let a = post_form(load.nodes[i % 2], "/par", &form, Some(creds)).await;
            let phase = load.phase_of(started);
            load.tally.timed("par", phase, a.status, t0);
            if a.status == 201 {
                let uri = a.body["request_uri"].as_str().unwrap_or_default();
                let url = format!("/authorize?client_id={}&request_uri={}", creds.0, url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>());
                let used = load.nodes[(i + 1) % 2].browser().get(&url).await;
                let phase = load.phase_of(started);
                let to_login = used.location.as_deref().is_some_and(|l| l.starts_with("/login"));
                load.tally.add("authorize (pushed)", phase, if to_login { 200 } else { used.status });
                if !to_login && phase != DURING {
                    load.tally.violation(format!("a fresh request URI was refused in phase {}: {}", PHASES[phase], used.status));
                }
                if load.nodes[i % 2].browser().get(&url).await.location.as_deref().is_some_and(|l| l.starts_with("/login")) {
                    load.tally.violation(format!("a request URI was used twice in phase {}", PHASES[phase]));
                }
            }
            i += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    // A device code started on one node and polled on the other.
    let devices = async move {
        let mut i = 0usize;
        while load.running() {
            let started = load.phase();
            let t0 = Instant::now();
            let a = post_form(load.nodes[i % 2], "/device_authorization", &[("client_id", device_id), ("scope", "openid")], None).await;
            let phase = load.phase_of(started);
            load.tally.timed("device_authorization", phase, a.status, t0);
            if a.status == 200 {
                let poll = [("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", a.body["device_code"].as_str().unwrap_or_default()), ("client_id", device_id)];
                let p = post_form(load.nodes[(i + 1) % 2], "/token", &poll, None).await;
                let phase = load.phase_of(started);
                let pending = p.body["error"] == "authorization_pending";
                load.tally.add("token (device poll)", phase, if pending { 200 } else { p.status });
                if !pending && phase != DURING {
                    load.tally.violation(format!("a fresh device code polled on the other node said {} in phase {}", p.body, PHASES[phase]));
                }
            }
            i += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    // DPoP-bound client credentials; every proof replayed on the other node.
    let dpop_key = &dpop_key;
    let dpop = async move {
        let mut i = 0usize;
        while load.running() {
            let node = load.nodes[i % 2];
            let proof = dpop_key.proof(node, "POST", &node.url("/token"));
            let started = load.phase();
            let t0 = Instant::now();
            let a = dpop_token(node, cc, &proof).await;
            let phase = load.phase_of(started);
            load.tally.timed("token (DPoP)", phase, a.status, t0);
            if a.status == 200 && dpop_token(load.nodes[(i + 1) % 2], cc, &proof).await.status == 200 {
                load.tally.violation(format!("a DPoP proof was accepted twice in phase {}", PHASES[phase]));
            }
            i += 1;
        }
    };

    // Each phase lasts until every flow has succeeded in it at least once
    // (at least 1.5 s before and 2 s after; a loaded machine takes longer).
    let every_flow_done = |phase: usize| FLOWS.iter().all(|f| load.tally.count(f, phase, |s| s == 200 || s == 201) > 0);
    let settle = move |phase: usize, least: Duration| async move {
        let started = Instant::now();
        while started.elapsed() < least || !every_flow_done(phase) {
            assert!(started.elapsed() < Duration::from_secs(60), "every flow ran {}: {}", PHASES[phase], load.tally.report());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let chaos = async {
        settle(BEFORE, Duration::from_millis(1500)).await;
        load.phase.store(DURING, Ordering::SeqCst);
        redis.stop();
        tokio::time::sleep(OUTAGE).await;
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
        settle(AFTER, Duration::from_secs(2)).await;
        load.stop.store(true, Ordering::SeqCst);
        (again, recovered)
    };
    let ((_redis, recovered), _, last_refresh, ..) =
        tokio::join!(chaos, client_credentials, refresh_chain, introspection, userinfo, spent_refresh, sign_ins, second_factor_sign_ins, passkey_sign_ins, pushed, devices, dpop);
    let tally = &load.tally;
    eprintln!("OUTAGE redis killed {OUTAGE:?}; ready again {recovered:?} after restart; {}", tally.report());
    eprintln!("OUTAGE latency {}", tally.p99s());

    let violations = tally.violations.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(violations.is_empty(), "{violations:#?}");
    for endpoint in ["token (client_credentials)", "token (refresh)", "introspection", "userinfo", "token (spent refresh)"] {
        assert_eq!(tally.server_errors(endpoint), 0, "{endpoint} answered 5xx: {}", tally.report());
        for phase in [BEFORE, DURING, AFTER] {
            assert!(tally.count(endpoint, phase, |_| true) > 0, "{endpoint} was exercised {}", PHASES[phase]);
        }
    }
    // Sign-ins and the single-use values' flows work in every phase. During
    // the outage, only a flow that straddled its start or end may fail (its
    // value was made in the Redis that died), and then with a 4xx page.
    for flow in
        ["sign-in (password)", "sign-in (password + second factor)", "sign-in (passkey)", "token (code)", "par", "authorize (pushed)", "device_authorization", "token (device poll)", "token (DPoP)"]
    {
        assert_eq!(tally.server_errors(flow), 0, "{flow} answered 5xx: {}", tally.report());
        for phase in [BEFORE, DURING, AFTER] {
            assert!(tally.count(flow, phase, |s| s == 200 || s == 201) > 0, "{flow} succeeded {}: {}", PHASES[phase], tally.report());
        }
        for phase in [BEFORE, AFTER] {
            assert_eq!(tally.count(flow, phase, |s| s != 200 && s != 201), 0, "{flow} {}: {}", PHASES[phase], tally.report());
        }
        assert!(tally.count(flow, DURING, |s| s != 200 && s != 201) <= 2, "{flow} failed during the outage beyond its two edges: {}", tally.report());
    }

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
