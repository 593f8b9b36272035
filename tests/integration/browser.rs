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
    let Some(mut chrome) = Chrome::with_platform_authenticator().await else { return };
    // "Add a passkey" by hand: a browser without silent passkey creation.
    chrome.without_conditional_create().await;

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
    let Some(mut chrome) = Chrome::with_platform_authenticator().await else { return };
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
    let Some(mut chrome) = Chrome::with_platform_authenticator().await else { return };
    // "Add a passkey" by hand: a browser without silent passkey creation.
    chrome.without_conditional_create().await;
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
    let Some(mut chrome) = Chrome::with_platform_authenticator().await else { return };
    // "Add a passkey" by hand: a browser without silent passkey creation.
    chrome.without_conditional_create().await;
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
    let Some(mut chrome) = Chrome::with_platform_authenticator().await else { return };
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

/// Issue #29, the WebAuthn Signal API in a real browser (a spy stands in for
/// the password manager): the account page tells it which passkeys still
/// work and the account's names; after one is removed, that it is gone; a
/// sign-in with the removed passkey tells it to forget that credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_keeps_the_password_manager_in_step() {
    if crate::support::services::skip_slow("a real browser (chromium)") {
        return;
    }
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let Some(mut chrome) = Chrome::with_platform_authenticator().await else { return };
    // "Add a passkey" by hand: a browser without silent passkey creation.
    chrome.without_conditional_create().await;
    // The spy: every Signal API call the pages make, kept across pages.
    let spy = r#"
        (() => {
          const calls = () => JSON.parse(sessionStorage.getItem('signals') || '[]');
          const record = (name) => (options) => { sessionStorage.setItem('signals', JSON.stringify([...calls(), [name, options]])); return Promise.resolve(); };
          if (!window.PublicKeyCredential) return;
          for (const name of ['signalAllAcceptedCredentials', 'signalCurrentUserDetails', 'signalUnknownCredential']) {
            Object.defineProperty(PublicKeyCredential, name, { value: record(name), configurable: true, writable: true });
          }
        })();"#;
    chrome.call("Page.enable", json!({})).await;
    chrome.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": spy })).await;
    let signals = |name: &'static str| format!("JSON.parse(sessionStorage.getItem('signals') || '[]').filter(c => c[0] === '{name}').map(c => c[1])");

    chrome.navigate(&app.url("/login")).await;
    chrome
        .eval(&format!(
            "document.getElementById('username').value = '{USERNAME}'; document.getElementById('password').value = '{PASSWORD}'; document.querySelector('form[action=\"/login\"]').submit(); true"
        ))
        .await;
    assert!(chrome.wait_for("location.pathname === '/account' && document.readyState === 'complete'", 15).await);
    chrome.eval("document.getElementById('passkey-name').value = 'Virtual key'; document.querySelector('[data-passkey=\"register\"]').click(); true").await;
    assert!(chrome.wait_for("document.querySelectorAll('#new-backup-codes li code').length === 10", 20).await, "the passkey was added");
    chrome.eval("sessionStorage.removeItem('signals'); true").await;
    chrome.navigate(&app.url("/account")).await;
    assert!(chrome.wait_for("document.querySelectorAll('ul.passkeys li').length === 1", 20).await);
    let id = chrome.eval("document.querySelector('form[action=\"/account/passkeys/remove\"] input[name=\"id\"]').value").await.as_str().unwrap_or_default().to_string();
    assert!(!id.is_empty());
    let seen = chrome.wait_for(&format!("{}.length === 1", signals("signalAllAcceptedCredentials")), 10).await;
    let debug = chrome.eval("String(sessionStorage.getItem('signals')) + ' | ' + String(window.PublicKeyCredential && PublicKeyCredential.signalAllAcceptedCredentials) + ' | ' + document.getElementById('passkey-signals').outerHTML").await;
    assert!(seen, "the account page signals its passkeys: {debug}");
    let all = chrome.eval(&format!("{}[0]", signals("signalAllAcceptedCredentials"))).await;
    assert_eq!(all["rpId"], "localhost");
    assert_eq!(all["allAcceptedCredentialIds"], json!([id]));
    let user_id = all["userId"].as_str().unwrap_or_default().to_string();
    assert_eq!(user_id.len(), 22, "the user handle: 16 bytes, base64url");
    let details = chrome.eval(&format!("{}[0]", signals("signalCurrentUserDetails"))).await;
    assert_eq!(details, json!({ "rpId": "localhost", "userId": user_id, "name": USERNAME, "displayName": USERNAME }));

    // Removing the passkey (from a passkey session): the next page says none is left.
    chrome.eval("document.querySelector('form[action=\"/logout\"]').submit(); true").await;
    assert!(chrome.wait_for("document.body.innerText.includes('You are signed out')", 15).await);
    chrome.navigate(&app.url("/login")).await;
    chrome.eval("document.querySelector('[data-passkey=\"sign-in\"]').click(); true").await;
    assert!(chrome.wait_for("location.pathname === '/account' && document.readyState === 'complete'", 20).await, "signed in with the passkey");
    // (The sign-in page's autofill request may have answered too: a fresh page carries the current form token.)
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    chrome.navigate(&app.url("/account")).await;
    chrome.eval("sessionStorage.removeItem('signals'); document.querySelector('form[action=\"/account/passkeys/remove\"]').submit(); true").await;
    assert!(chrome.wait_for("location.pathname === '/account' && document.readyState === 'complete' && document.querySelectorAll('ul.passkeys li').length === 0", 20).await, "removed");
    assert!(chrome.wait_for(&format!("{}.some(c => c.allAcceptedCredentialIds.length === 0)", signals("signalAllAcceptedCredentials")), 10).await, "no passkey is accepted any more");

    // The password manager still holds it: signing in with it fails, and the page tells it to forget it.
    chrome.eval("document.querySelector('form[action=\"/logout\"]').submit(); true").await;
    assert!(chrome.wait_for("document.body.innerText.includes('You are signed out')", 15).await);
    chrome.navigate(&app.url("/login")).await;
    chrome.eval("sessionStorage.removeItem('signals'); document.querySelector('[data-passkey=\"sign-in\"]').click(); true").await;
    // (The page's autofill request may answer too: each answer signals the same credential.)
    let seen = chrome.wait_for(&format!("{}.length >= 1", signals("signalUnknownCredential")), 20).await;
    let debug = chrome.eval("location.href + ' | ' + String(sessionStorage.getItem('signals')) + ' | ' + (document.getElementById('passkey-status') || {}).textContent").await;
    assert!(seen, "the unknown credential is signalled: {debug}");
    let unknown = chrome.eval(&signals("signalUnknownCredential")).await;
    assert!(unknown.as_array().is_some_and(|calls| calls.iter().all(|c| *c == json!({ "rpId": "localhost", "credentialId": id }))), "{unknown}");
    let status = chrome.eval("document.getElementById('passkey-status').textContent").await;
    assert!(status.as_str().is_some_and(|s| s.contains("no longer registered here")), "{status}");
    assert_eq!(chrome.eval("location.pathname").await, "/login", "not signed in");
}

/// Issue #29, automatic passkey upgrades in a real browser: after a password
/// sign-in, a browser that can create a passkey without a dialog (conditional
/// create) gets one made for the account, with a notice and the backup codes
/// of its first second factor; one that cannot keeps the prompt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_upgrades_a_password_sign_in_to_a_passkey() {
    if crate::support::services::skip_slow("a real browser (chromium)") {
        return;
    }
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    app.add_user("bob", PASSWORD).await;
    let Some(mut chrome) = Chrome::with_platform_authenticator().await else { return };
    // The password manager's side: conditional create is available unless
    // the tab says otherwise; each create's mediation is kept (the virtual
    // authenticator then answers as a password manager would, without a dialog).
    let spy = r#"
        (() => {
          if (!window.PublicKeyCredential) return;
          Object.defineProperty(PublicKeyCredential, 'getClientCapabilities', { configurable: true, writable: true,
            value: async () => ({ conditionalCreate: sessionStorage.getItem('no-conditional') !== '1' }) });
          const create = navigator.credentials.create.bind(navigator.credentials);
          navigator.credentials.create = (options) => {
            sessionStorage.setItem('mediation', String(options.mediation));
            const { mediation, ...rest } = options;
            return create(rest);
          };
        })();"#;
    chrome.call("Page.enable", json!({})).await;
    chrome.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": spy })).await;
    let sign_in = |user: &str| {
        format!("document.getElementById('username').value = '{user}'; document.getElementById('password').value = '{PASSWORD}'; document.querySelector('form[action=\"/login\"]').submit(); true")
    };

    chrome.navigate(&app.url("/login")).await;
    chrome.eval(&sign_in(USERNAME)).await;
    assert!(chrome.wait_for("location.pathname === '/account'", 15).await);
    let upgraded = chrome.wait_for("!document.getElementById('passkey-upgraded').hidden && document.querySelectorAll('#new-backup-codes li code').length === 10", 30).await;
    let at = chrome.eval("location.href + ' | mediation ' + sessionStorage.getItem('mediation') + ' | ' + document.body.innerText.slice(0, 300)").await;
    assert!(upgraded, "a passkey was made without a dialog, with its notice and backup codes: {at}");
    assert_eq!(chrome.eval("sessionStorage.getItem('mediation')").await, "conditional");
    assert!(chrome.eval("document.querySelector('[data-passkey-upgrade]').hidden").await.as_bool().unwrap_or(false), "the prompt is gone");
    chrome.navigate(&app.url("/account")).await;
    assert!(chrome.wait_for("document.querySelectorAll('ul.passkeys li').length === 1 && !document.querySelector('[data-passkey-upgrade]')", 15).await, "the account has its passkey");
    crate::accounts::wait_for_mail(&app, "alice@example.com", "A sign-in method was added to your account").await;

    // Another account, in another browser without conditional create: the prompt stays, nothing is made.
    drop(chrome);
    let Some(mut chrome) = Chrome::with_platform_authenticator().await else { return };
    chrome.without_conditional_create().await;
    chrome.navigate(&app.url("/login")).await;
    chrome.eval(&sign_in("bob")).await;
    assert!(chrome.wait_for("location.pathname === '/account' && document.readyState === 'complete'", 15).await);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let stays = chrome.eval("!!document.querySelector('[data-passkey-upgrade]') && !document.querySelector('[data-passkey-upgrade]').hidden").await;
    assert_eq!(stays, true, "the prompt stays");
    assert!(chrome.eval("document.getElementById('passkey-upgraded').hidden").await.as_bool().unwrap_or(false), "no notice");
    assert_eq!(chrome.eval("document.querySelectorAll('ul.passkeys li').length").await, 0);
}
