//! A real browser: headless Chromium with a virtual WebAuthn authenticator
//! (DevTools `WebAuthn.addVirtualAuthenticator`) registers a passkey on
//! /account and signs in with "Sign in with a passkey".

use serde_json::json;

use crate::support::cdp::Chrome;
use crate::support::{Backend, TestApp, PASSWORD, USERNAME};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_registers_a_passkey_and_signs_in_with_it() {
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
    assert!(methods.as_str().is_some_and(|t| t.contains("user") && !t.contains("(pwd")), "the session says how it was made: {methods}");
}

/// The passwordless happy path in a real browser: an invitation link,
/// "Create a passkey", "Save your backup codes", then sign-in with the passkey.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_accepts_an_invitation_with_a_passkey() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (_, url) = latchkey_web::account_links::invite(&app.state, "carol", "carol@example.com", false).await.expect("invite");
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
