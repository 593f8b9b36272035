//! Findings 1, 2, 4, 12, 13: remembered devices, credential changes, CSRF.

use latchkey_domain::SigningAlg;
use openidconnect::TokenResponse;

use super::{CSRF, DEVICE, SESSION};
use crate::mfa::{answer_second_step, code_at, enrol, sign_in_password};
use crate::sessions::{sign_in_direct, signed_in};
use crate::support::browser::PHONE_UA;
use crate::support::rp::sign_in_default;
use crate::support::{jwt, Backend, Browser, Rp, TestApp, PASSWORD, USERNAME};

/// Finding 1: a "Keep me signed in" restore is not an interactive sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f01_a_remembered_device_is_not_a_fresh_sign_in() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover(&app, &id, secret.as_deref()).await;
    let mut browser = app.browser();
    let signed_in_at = app.clock_now();
    sign_in_direct(&mut browser, USERNAME, true).await;
    browser.cookies.remove(SESSION); // the browser restarts: only the device cookie is left
    app.clock.advance(600);
    for extra in [("prompt", "login"), ("max_age", "0"), ("max_age", "60"), ("acr_values", "urn:latchkey:acr:pwd"), ("acr_values", "urn:latchkey:acr:phr")] {
        let req = rp.authorize(&[extra]);
        let location = browser.get(&req.url).await.location.unwrap_or_default();
        assert!(location.starts_with("/login?authz="), "{extra:?} is answered by the person, not the cookie: {location}");
        let page = browser.get(&location).await;
        assert!(page.body.contains(r#"<label for="password">Password</label>"#), "a full sign-in is asked for, not just a factor");
    }
    // A plain request is answered from the restored session, with the
    // original sign-in's auth_time, not the time of the restore.
    let req = rp.authorize(&[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let tokens = rp.exchange(&code, req.verifier).await.expect("exchange");
    let claims = jwt::payload(&tokens.id_token().expect("id token").to_string());
    // The clock ticks with real time: the interactive sign-in took its
    // moment (seconds on a loaded machine); the restore came 600 s later.
    let auth_time = claims["auth_time"].as_i64().unwrap_or_default();
    assert!((signed_in_at..signed_in_at + 30).contains(&auth_time), "auth_time is the interactive sign-in's, not the restore's: {claims}");
}

/// Finding 2: "Sign out everywhere else" ends remembered devices whose browser
/// session has already expired, and /account lists them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f02_sign_out_everywhere_else_ends_remembered_devices() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut laptop = app.browser();
    sign_in_direct(&mut laptop, USERNAME, true).await;
    app.clock.advance(9 * 3600); // the laptop's browser session is idle-expired; its device is not
    let mut phone = Browser::with_user_agent(&app.issuer, app.addr, PHONE_UA);
    sign_in_direct(&mut phone, USERNAME, false).await;
    let account = phone.get("/account").await;
    assert!(account.body.contains("Remembered devices") && account.body.contains("Chrome on Linux"), "{}", account.body);
    assert_eq!(account.body.matches(r#"name="device_id""#).count(), 1, "the laptop's device is listed");
    let csrf = account.field("csrf_token").unwrap_or_default();
    phone.post_form("/account/sessions/end-others", &[("csrf_token", &csrf)]).await;
    assert!(!signed_in(&mut laptop).await, "the lost laptop does not come back");
    assert!(signed_in(&mut phone).await);
    assert!(!phone.get("/account").await.body.contains(r#"name="device_id""#));
}

/// Finding 2: setting up a second factor ends every other session and device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f02_a_new_second_factor_ends_other_remembered_devices() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut laptop = app.browser();
    sign_in_direct(&mut laptop, USERNAME, true).await;
    app.clock.advance(9 * 3600);
    let mut phone = Browser::with_user_agent(&app.issuer, app.addr, PHONE_UA);
    sign_in_direct(&mut phone, USERNAME, false).await;
    enrol(&app, &mut phone).await;
    assert!(!signed_in(&mut laptop).await, "the remembered laptop ended with the credential change");
}

/// Finding 2: one remembered device can be forgotten from /account, and only
/// by its owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f02_a_remembered_device_can_be_forgotten_by_its_owner_only() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    app.add_user("mallory", PASSWORD).await;
    let mut laptop = app.browser();
    sign_in_direct(&mut laptop, USERNAME, true).await;
    let device_id = laptop.get("/account").await.field("device_id").expect("device listed");
    let mut mallory = app.browser();
    sign_in_direct(&mut mallory, "mallory", false).await;
    let csrf = mallory.get("/account").await.field("csrf_token").unwrap_or_default();
    let refused = mallory.post_form("/account/devices/forget", &[("csrf_token", &csrf), ("device_id", &device_id)]).await;
    assert_eq!(refused.status, 400);
    assert!(signed_in(&mut laptop).await);
    let csrf = laptop.get("/account").await.field("csrf_token").unwrap_or_default();
    laptop.post_form("/account/devices/forget", &[("csrf_token", &csrf), ("device_id", &device_id)]).await;
    assert!(!signed_in(&mut laptop).await, "forgetting the device ends its session too");
    laptop.cookies.remove(SESSION);
    assert!(!signed_in(&mut laptop).await, "and the device cookie restores nothing");
}

/// Finding 4: a password change is not re-authentication, and a password
/// alone never unlocks second-factor changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f04_a_password_change_does_not_unlock_second_factor_changes() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let user = app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    sign_in_password(&mut browser).await;
    let (secret, _) = enrol(&app, &mut browser).await;
    // Right after enrolment the session is password-only: removing the app needs the app.
    let csrf = browser.get("/account").await.field("csrf_token").unwrap_or_default();
    let refused = browser.post_form("/account/totp/remove", &[("csrf_token", &csrf)]).await;
    assert!(refused.location.as_deref().unwrap_or_default().starts_with("/login"), "{:?}", refused.location);
    app.clock.advance(6 * 60);
    let changed = browser.post_form("/account/password", &[("csrf_token", &csrf), ("current_password", PASSWORD), ("new_password", "another long passphrase 42")]).await;
    assert_eq!(changed.location.as_deref(), Some("/account"), "{}", changed.body);
    let csrf = browser.get("/account").await.field("csrf_token").unwrap_or_default();
    let refused = browser.post_form("/account/totp/remove", &[("csrf_token", &csrf)]).await;
    assert!(refused.location.as_deref().unwrap_or_default().starts_with("/login"), "the password change did not count as a sign-in");
    assert!(app.state.mfa.has_second_factor(&user).await.expect("mfa"), "the authenticator app is still there");
    // With the second factor presented, the change goes through.
    let mut fresh = app.browser();
    let login = fresh.get("/login").await;
    let step = fresh.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", USERNAME), ("password", "another long passphrase 42")]).await;
    let done = answer_second_step(&mut fresh, step.location.as_deref().unwrap_or_default(), &code_at(&secret, app.clock_now())).await;
    assert_eq!(done.location.as_deref(), Some("/account"));
    let csrf = fresh.get("/account").await.field("csrf_token").unwrap_or_default();
    let removed = fresh.post_form("/account/totp/remove", &[("csrf_token", &csrf)]).await;
    assert_eq!(removed.location.as_deref(), Some("/account"));
    assert!(!app.state.mfa.has_second_factor(&user).await.expect("mfa"));
}

/// Finding 12: two tabs restoring from one device token at once are not theft.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f12_two_tabs_restoring_at_once_keep_the_device() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut first = app.browser();
    sign_in_direct(&mut first, USERNAME, true).await;
    first.cookies.remove(SESSION);
    let old = first.cookies.get(DEVICE).cloned().expect("device token");
    let mut second = app.browser();
    second.cookies.insert(DEVICE.into(), old.clone());
    // Both tabs at the same moment: each gets a session.
    let (a, b) = tokio::join!(first.get("/account"), second.get("/account"));
    assert_eq!((a.status, b.status), (200, 200), "tabs reopened together both restore");
    // The loser of the race got no new device token: the winner's is current.
    let current = [&a, &b].iter().find_map(|p| p.set_cookie(DEVICE).cloned()).expect("one rotation");
    let current = current.split(';').next().and_then(|c| c.split_once('=')).map(|(_, v)| v.to_string()).unwrap_or_default();
    assert_ne!(current, old);
    app.clock.advance(10);
    let _ = old;
    let mut later = app.browser();
    later.cookies.insert(DEVICE.into(), current.clone());
    assert!(signed_in(&mut later).await, "the device is still alive");
    // Outside the grace, the token just rotated away is a replay: the device ends.
    app.clock.advance(10);
    let mut thief = app.browser();
    thief.cookies.insert(DEVICE.into(), current);
    assert!(!signed_in(&mut thief).await);
    later.cookies.remove(SESSION);
    assert!(!signed_in(&mut later).await, "the replay ended the device");
}

/// Finding 13: the CSRF secret is renewed at sign-in and at sign-out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f13_form_tokens_do_not_outlive_a_sign_in_or_sign_out() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    app.add_user("bob", PASSWORD).await;
    let mut browser = app.browser();
    let before = browser.get("/login").await.field("csrf_token").unwrap_or_default();
    let cookie_before = browser.cookies.get(CSRF).cloned();
    let signed = sign_in_direct(&mut browser, USERNAME, false).await;
    assert!(signed.set_cookie(CSRF).is_some(), "a new CSRF cookie at sign-in");
    assert_ne!(browser.cookies.get(CSRF).cloned(), cookie_before);
    let refused = browser.post_form("/logout", &[("csrf_token", &before)]).await;
    assert_eq!(refused.status, 403, "a token from before the sign-in is dead");
    let during = browser.get("/account").await.field("csrf_token").unwrap_or_default();
    let out = browser.post_form("/logout", &[("csrf_token", &during)]).await;
    assert_eq!(out.status, 200);
    assert!(out.set_cookie(CSRF).is_some(), "a new CSRF cookie at sign-out");
    let replay = browser.post_form("/login", &[("csrf_token", &during), ("username", "bob"), ("password", PASSWORD)]).await;
    assert_eq!(replay.status, 403, "a token from the ended session is dead");
}
