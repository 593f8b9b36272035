//! Lockout that cannot be turned against the account's owner (OWASP "device
//! cookie"): an attacker's wrong passwords lock unknown devices out, never the
//! browser the owner signed in with before, on any node.

use futures_util::future::join_all;
use latchkey_authn::throttle::MAX_FAILURES_PER_ACCOUNT;

use crate::support::browser::Browser;
use crate::support::{Backend, TestApp, PASSWORD, USERNAME};

const KNOWN: &str = "__Host-latchkey-known";
const SESSION: &str = "__Host-latchkey-session";

async fn try_password(browser: &mut Browser, username: &str, password: &str) -> u16 {
    let csrf = browser.get("/login").await.field("csrf_token").unwrap_or_default();
    browser.post_form("/login", &[("csrf_token", &csrf), ("username", username), ("password", password)]).await.status
}

async fn owners_known_browser_is_not_locked_out(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    app.add_user("mallory", PASSWORD).await;

    // The owner signed in from this browser once, then closed it.
    let mut owner = app.browser();
    assert_eq!(try_password(&mut owner, USERNAME, PASSWORD).await, 303);
    let known = owner.cookies.get(KNOWN).cloned().expect("a sign-in leaves a known-device cookie");
    assert!(!known.to_lowercase().contains(USERNAME), "the cookie does not carry the username: {known}");
    owner.cookies.remove(SESSION);

    // An attacker with a signed-in account of their own, and thus a valid
    // known-device cookie, for the wrong account.
    let mut attacker = app.browser();
    assert_eq!(try_password(&mut attacker, "mallory", PASSWORD).await, 303);
    attacker.cookies.remove(SESSION);

    // The attacker's guesses, in parallel, from several browsers sharing the
    // attacker's cookie: exactly the unknown-device limit is evaluated.
    let guesses = join_all((0..MAX_FAILURES_PER_ACCOUNT + 3).map(|_| {
        let mut b = app.browser();
        b.cookies = attacker.cookies.clone();
        async move { try_password(&mut b, USERNAME, "wrong guess").await }
    }))
    .await;
    assert_eq!(guesses.iter().filter(|s| **s == 401).count(), MAX_FAILURES_PER_ACCOUNT as usize, "{guesses:?}");
    assert_eq!(guesses.iter().filter(|s| **s == 429).count(), 3, "{guesses:?}");

    // Unknown devices are locked out, even with the right password: a fresh
    // browser, the attacker's cookie for another account, a forged cookie.
    assert_eq!(try_password(&mut app.browser(), USERNAME, PASSWORD).await, 429);
    assert_eq!(try_password(&mut attacker, USERNAME, PASSWORD).await, 429, "a known-device cookie of another account counts as unknown");
    let mut forger = app.browser();
    let (nonce, _) = known.split_once('.').expect("nonce.tag");
    forger.cookies.insert(KNOWN.into(), format!("{nonce}.AAAA{}", "A".repeat(39)));
    assert_eq!(try_password(&mut forger, USERNAME, PASSWORD).await, 429, "a forged tag counts as unknown");

    // The owner's browser still signs in, on this node and on another one
    // sharing the database and fast store.
    if backend == Backend::Postgres {
        let node2 = app.second_node().await;
        let mut there = node2.browser();
        there.cookies = owner.cookies.clone();
        assert_eq!(try_password(&mut there, USERNAME, PASSWORD).await, 303, "the owner's known browser signs in on node 2");
    }
    assert_eq!(try_password(&mut owner, USERNAME, PASSWORD).await, 303, "the owner's known browser signs in");
    assert_eq!(owner.get("/account").await.status, 200);
    assert_eq!(try_password(&mut app.browser(), USERNAME, PASSWORD).await, 429, "the owner's success does not reopen the door for unknown devices");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_known_browser_is_not_locked_out_on_sqlite() {
    owners_known_browser_is_not_locked_out(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_known_browser_is_not_locked_out_across_nodes_on_postgres_and_redis() {
    owners_known_browser_is_not_locked_out(Backend::Postgres).await;
}

/// The same at the second step: someone who has the password cannot lock the
/// owner's own browser out of the authenticator-code step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_known_browser_is_not_locked_out_of_the_second_step() {
    use crate::mfa::{answer_second_step, code_at, enrol, sign_in_password};
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut owner = app.browser();
    sign_in_password(&mut owner).await;
    let (secret, _) = enrol(&app, &mut owner).await;
    owner.cookies.remove(SESSION);
    app.clock.advance(30);
    let step = sign_in_password(&mut owner).await;
    let done = answer_second_step(&mut owner, step.location.as_deref().expect("second step"), &code_at(&secret, app.clock_now())).await;
    assert_eq!(done.location.as_deref(), Some("/account"), "the owner's full sign-in: {}", done.body);
    assert!(owner.cookies.contains_key(KNOWN));
    owner.cookies.remove(SESSION);

    // The attacker has the password and guesses codes from unknown browsers.
    let mut steps = Vec::new();
    for _ in 0..MAX_FAILURES_PER_ACCOUNT + 3 {
        let mut b = app.browser();
        let step = sign_in_password(&mut b).await;
        let page = b.get(step.location.as_deref().expect("second step")).await;
        steps.push((b, page.field("csrf_token").unwrap_or_default(), page.field("m").unwrap_or_default()));
    }
    let guesses = join_all(steps.into_iter().map(|(mut b, csrf, m)| async move { b.post_form("/login/mfa", &[("csrf_token", &csrf), ("m", &m), ("code", "000000")]).await.status })).await;
    assert_eq!(guesses.iter().filter(|s| **s == 401).count(), MAX_FAILURES_PER_ACCOUNT as usize, "{guesses:?}");
    assert_eq!(guesses.iter().filter(|s| **s == 429).count(), 3, "{guesses:?}");

    // An unknown browser is refused even with the right code; the owner's is not.
    app.clock.advance(30);
    let mut stranger = app.browser();
    let step = sign_in_password(&mut stranger).await;
    let refused = answer_second_step(&mut stranger, step.location.as_deref().expect("second step"), &code_at(&secret, app.clock_now())).await;
    assert_eq!(refused.status, 429, "unknown devices are locked out of the second step");
    let step = sign_in_password(&mut owner).await;
    let done = answer_second_step(&mut owner, step.location.as_deref().expect("second step"), &code_at(&secret, app.clock_now())).await;
    assert_eq!(done.location.as_deref(), Some("/account"), "the owner's known browser passes the second step: {} {}", done.status, done.body);
}
