//! A real browser: headless Chromium with a virtual WebAuthn authenticator
//! (DevTools `WebAuthn.addVirtualAuthenticator`) registers a passkey on
//! /account and signs in with "Sign in with a passkey".

use serde_json::json;

use crate::support::cdp::Chrome;
use crate::support::raw::post_form;
use crate::support::rp::sign_in_default;
use crate::support::{Backend, Rp, TestApp, PASSWORD, REDIRECT_URI, USERNAME};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_registers_a_passkey_and_signs_in_with_it() {
    if crate::support::services::skip_slow("a real browser (chromium)") {
        return;
    }
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let Some(mut chrome) = Chrome::launch().await else { return };
    chrome.call("WebAuthn.enable", json!({ "enableUI": false })).await;
    chrome
        .call(
            "WebAuthn.addVirtualAuthenticator",
            json!({ "options": { "protocol": "ctap2", "transport": "internal", "hasResidentKey": true, "hasUserVerification": true, "isUserVerified": true, "automaticPresenceSimulation": true } }),
        )
        .await;

    chrome.navigate(&app.url("/login")).await;
    chrome
        .eval(&format!(
            "document.getElementById('username').value = '{USERNAME}'; document.getElementById('password').value = '{PASSWORD}'; document.querySelector('form[action=\"/login\"]').submit(); true"
        ))
        .await;
    let ok = chrome.wait_for("location.pathname === '/account' && document.readyState === 'complete'", 15).await;
    let at = chrome.eval("location.href + ' :: ' + document.cookie + ' :: ' + document.body.innerText.slice(0, 300)").await;
    assert!(ok, "password sign-in: {at}");

    chrome.eval("document.getElementById('passkey-name').value = 'Virtual key'; document.querySelector('[data-passkey=\"register\"]').click(); true").await;
    // The first second factor of a password account comes with backup codes, shown once.
    let codes = chrome.wait_for("!document.getElementById('new-backup-codes').hidden && document.querySelectorAll('#new-backup-codes li code').length === 10", 20).await;
    let status = chrome.eval("(document.getElementById('passkey-status') || {}).textContent || ''").await;
    assert!(codes, "backup codes shown with the first passkey (status: {status})");
    chrome.eval("document.querySelector('#new-backup-codes a[href=\"/account\"]').click(); true").await;
    let registered = chrome.wait_for("document.querySelectorAll('ul.passkeys li').length === 1", 20).await;
    let status = chrome.eval("(document.getElementById('passkey-status') || {}).textContent || ''").await;
    assert!(registered, "the passkey was registered (status: {status})");

    chrome.eval("document.querySelector('form[action=\"/logout\"]').submit(); true").await;
    assert!(chrome.wait_for("document.body.innerText.includes('You are signed out')", 15).await);

    chrome.navigate(&app.url("/login")).await;
    chrome.eval("document.querySelector('[data-passkey=\"sign-in\"]').click(); true").await;
    let signed_in = chrome.wait_for("location.pathname === '/account' && document.body.innerText.includes('Your account')", 20).await;
    let status = chrome.eval("(document.getElementById('passkey-status') || {}).textContent || ''").await;
    assert!(signed_in, "signed in with the passkey and no password (status: {status})");
    let methods = chrome.eval("document.body.innerText").await;
    assert!(methods.as_str().is_some_and(|t| t.contains("with passkey") && !t.contains("pwd")), "the session says how it was made, in plain words: {methods}");
}

/// The passwordless happy path in a real browser: an invitation link,
/// "Create a passkey", "Save your backup codes", then sign-in with the passkey.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_accepts_an_invitation_with_a_passkey() {
    if crate::support::services::skip_slow("a real browser (chromium)") {
        return;
    }
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (_, url) = app.state.invite(&latchkey_domain::Actor::Cli, "carol", "carol@example.com", false).await.expect("invite");
    let Some(mut chrome) = Chrome::launch().await else { return };
    chrome.call("WebAuthn.enable", json!({ "enableUI": false })).await;
    chrome
        .call(
            "WebAuthn.addVirtualAuthenticator",
            json!({ "options": { "protocol": "ctap2", "transport": "internal", "hasResidentKey": true, "hasUserVerification": true, "isUserVerified": true, "automaticPresenceSimulation": true } }),
        )
        .await;
    chrome.navigate(&url).await;
    assert!(chrome.wait_for("document.body.innerText.includes('Set up your account')", 15).await);
    chrome.eval("document.querySelector('[data-passkey=\"setup\"]').click(); true").await;
    let offered = chrome.wait_for("location.pathname === '/account/recovery-codes' && document.readyState === 'complete'", 20).await;
    let status = chrome.eval("(document.getElementById('passkey-status') || {}).textContent || document.body.innerText.slice(0, 300)").await;
    assert!(offered, "the passkey was created and the backup codes offered ({status})");
    chrome.eval("document.querySelector('form[action=\"/account/recovery-codes\"]').submit(); true").await;
    assert!(chrome.wait_for("document.querySelectorAll('ul.codes li').length === 10", 15).await, "ten backup codes shown");

    chrome.navigate(&app.url("/account")).await;
    assert!(chrome.wait_for("document.readyState === 'complete'", 10).await);
    chrome.eval("document.querySelector('form[action=\"/logout\"]').submit(); true").await;
    assert!(chrome.wait_for("document.body.innerText.includes('You are signed out')", 15).await);
    chrome.navigate(&app.url("/login")).await;
    chrome.eval("document.querySelector('[data-passkey=\"sign-in\"]').click(); true").await;
    let signed_in = chrome.wait_for("location.pathname === '/account' && document.body.innerText.includes('Your account')", 20).await;
    let status = chrome.eval("(document.getElementById('passkey-status') || {}).textContent || ''").await;
    assert!(signed_in, "signed in with the passkey, no password ever set (status: {status})");
}

/// The console in a real browser: an admin signs in with a passkey, creates
/// a client, a relying party signs a user in with it, the admin revokes all
/// its grants, and the user's refresh token is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_admin_creates_a_client_and_revokes_its_grants() {
    if crate::support::services::skip_slow("a real browser (chromium)") {
        return;
    }
    use openidconnect::OAuth2TokenResponse;
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    app.state
        .authn
        .create_user(latchkey_authn::NewUser { username: "root".into(), email: "root@example.com".into(), password: latchkey_domain::Secret::new(PASSWORD), admin: true })
        .await
        .expect("admin");
    let Some(mut chrome) = Chrome::launch().await else { return };
    chrome.call("WebAuthn.enable", json!({ "enableUI": false })).await;
    chrome
        .call(
            "WebAuthn.addVirtualAuthenticator",
            json!({ "options": { "protocol": "ctap2", "transport": "internal", "hasResidentKey": true, "hasUserVerification": true, "isUserVerified": true, "automaticPresenceSimulation": true } }),
        )
        .await;
    chrome.navigate(&app.url("/login")).await;
    chrome
        .eval(&format!(
            "document.getElementById('username').value = 'root'; document.getElementById('password').value = '{PASSWORD}'; document.querySelector('form[action=\"/login\"]').submit(); true"
        ))
        .await;
    assert!(chrome.wait_for("location.pathname === '/account' && document.readyState === 'complete'", 15).await);
    chrome.eval("document.getElementById('passkey-name').value = 'Admin key'; document.querySelector('[data-passkey=\"register\"]').click(); true").await;
    assert!(chrome.wait_for("document.querySelectorAll('#new-backup-codes li code').length === 10", 20).await, "backup codes with the first passkey");
    chrome.navigate(&app.url("/account")).await;
    assert!(chrome.wait_for("document.querySelectorAll('ul.passkeys li').length === 1", 20).await, "passkey added");
    chrome.eval("document.querySelector('form[action=\"/logout\"]').submit(); true").await;
    assert!(chrome.wait_for("document.body.innerText.includes('You are signed out')", 15).await);
    chrome.navigate(&app.url("/login?next=/admin")).await;
    chrome.eval("document.querySelector('[data-passkey=\"sign-in\"]').click(); true").await;
    // The passkey sign-in honours `next` as the password form does (it went to /account before).
    assert!(chrome.wait_for("location.pathname === '/admin'", 20).await, "signed in with the passkey, back at /admin");
    chrome.navigate(&app.url("/admin/clients")).await;
    assert!(chrome.wait_for("document.body.innerText.includes('Create client')", 15).await, "the console opens for a passkey session");
    chrome
        .eval(&format!(
            "document.getElementById('name').value = 'Browser-made app'; document.getElementById('redirect_uris').value = '{REDIRECT_URI}'; document.querySelector('form[action=\"/admin/clients/create\"]').submit(); true"
        ))
        .await;
    assert!(chrome.wait_for("!!document.getElementById('client-secret')", 15).await, "the secret is shown once");
    let id = chrome.eval("document.getElementById('client-id').textContent").await.as_str().unwrap_or_default().to_string();
    let secret = chrome.eval("document.getElementById('client-secret').textContent").await.as_str().unwrap_or_default().to_string();

    let rp = Rp::discover(&app, &id, Some(&secret)).await;
    let mut user = app.browser();
    let req = rp.authorize_scopes(&["offline_access"], &[]);
    let code = sign_in_default(&mut user, &req.url).await.code.expect("code");
    let tokens = rp.exchange(&code, req.verifier).await.expect("exchange");
    let refresh = tokens.refresh_token().expect("refresh").secret().clone();

    chrome.navigate(&app.url(&format!("/admin/clients/{id}"))).await;
    assert!(chrome.wait_for(&format!("document.body.innerText.includes('{USERNAME}')"), 15).await, "the grant is listed");
    chrome.eval("[...document.querySelectorAll('button')].find(b => b.textContent === 'Revoke the one grant').click(); true").await;
    // Asked first, naming how much goes; then done.
    assert!(chrome.wait_for("document.body.innerText.includes('Revoke the one grant of Browser-made app?')", 15).await, "the confirmation page");
    chrome.eval("document.querySelector('button.danger').click(); true").await;
    assert!(chrome.wait_for("document.body.innerText.includes('All grants revoked')", 15).await);
    let r = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)], Some((&id, &secret))).await;
    assert_eq!(r.body["error"], "invalid_grant", "the user's refresh token is refused");
}

/// Recovery of a password + passkey account in a real browser: the link's
/// page asks for the passkey ("Use your passkey"), and the passkey opens the
/// way to a new credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_recovers_with_the_passkey_as_second_factor() {
    if crate::support::services::skip_slow("a real browser (chromium)") {
        return;
    }
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let Some(mut chrome) = Chrome::launch().await else { return };
    chrome.call("WebAuthn.enable", json!({ "enableUI": false })).await;
    chrome
        .call(
            "WebAuthn.addVirtualAuthenticator",
            json!({ "options": { "protocol": "ctap2", "transport": "internal", "hasResidentKey": true, "hasUserVerification": true, "isUserVerified": true, "automaticPresenceSimulation": true } }),
        )
        .await;
    chrome.navigate(&app.url("/login")).await;
    chrome
        .eval(&format!(
            "document.getElementById('username').value = '{USERNAME}'; document.getElementById('password').value = '{PASSWORD}'; document.querySelector('form[action=\"/login\"]').submit(); true"
        ))
        .await;
    assert!(chrome.wait_for("location.pathname === '/account' && document.readyState === 'complete'", 15).await);
    chrome.eval("document.querySelector('[data-passkey=\"register\"]').click(); true").await;
    assert!(chrome.wait_for("document.querySelectorAll('#new-backup-codes li code').length === 10", 20).await, "passkey added, codes shown");

    let link = crate::accounts::recovery::recovery_link(&app, USERNAME).await;
    chrome.navigate(&link).await;
    assert!(chrome.wait_for("document.body.innerText.includes('Use your passkey') && !document.body.innerText.includes('Create a passkey')", 15).await);
    chrome.eval("document.querySelector('[data-passkey=\"recover-factor\"]').click(); true").await;
    let opened = chrome.wait_for("location.pathname === '/recover/continue' && document.body.innerText.includes('Create a passkey')", 20).await;
    let status = chrome.eval("(document.getElementById('passkey-status') || {}).textContent || document.body.innerText.slice(0, 300)").await;
    assert!(opened, "the passkey passed the recovery gate ({status})");
}

/// The first administrator (issue #28): while no administrator can sign
/// in, the server makes a one-time set-up link; its page creates `admin`
/// with a passkey, who then reaches the console. Then no new link is made,
/// and the earlier one is spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_creates_the_first_admin_from_the_set_up_link() {
    if crate::support::services::skip_slow("a real browser (chromium)") {
        return;
    }
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let stale = app.state.first_admin_setup_link().await.expect("link").expect("no admin yet");
    let url = app.state.first_admin_setup_link().await.expect("link").expect("still no admin");
    assert_ne!(stale, url, "a new link each time");
    let Some(mut chrome) = Chrome::launch().await else { return };
    chrome.call("WebAuthn.enable", json!({ "enableUI": false })).await;
    chrome
        .call(
            "WebAuthn.addVirtualAuthenticator",
            json!({ "options": { "protocol": "ctap2", "transport": "internal", "hasResidentKey": true, "hasUserVerification": true, "isUserVerified": true, "automaticPresenceSimulation": true } }),
        )
        .await;
    chrome.navigate(&stale).await;
    assert!(chrome.wait_for("document.readyState === 'complete'", 10).await);
    let page = chrome.eval("document.body.innerText").await;
    assert!(!page.as_str().unwrap_or_default().contains("Set up your account"), "the superseded link is dead: {page}");
    chrome.navigate(&url).await;
    assert!(chrome.wait_for("document.body.innerText.includes('Set up your account')", 15).await, "the set-up page");
    chrome.eval("document.querySelector('[data-passkey=\"setup\"]').click(); true").await;
    let offered = chrome.wait_for("location.pathname === '/account/recovery-codes' && document.readyState === 'complete'", 20).await;
    assert!(offered, "the passkey was created");
    chrome.navigate(&app.url("/admin")).await;
    assert!(chrome.wait_for("location.pathname === '/admin' && document.querySelector('nav.console-nav') !== null", 15).await, "the new administrator reaches the console");
    let admin = app.state.authn.find_by_username("admin").await.expect("lookup").expect("admin");
    assert!(admin.admin && admin.password_hash.is_none(), "an administrator with a passkey and no password");
    assert!(app.state.first_admin_setup_link().await.expect("link").is_none(), "an administrator can sign in: no more links");
}
