//! Passkey-only accounts (issue #29): no password can be set on one, the
//! password it has goes with its first passkey, and set-up and recovery
//! links offer "Create a passkey" only. By the deployment's policy
//! (`LATCHKEY_PASSKEY_ONLY`) or an administrator's mark in the console.

use latchkey_authn::passkey_only::PasskeyOnlyPolicy;
use latchkey_domain::UserId;

use crate::accounts::{count_mail, invite, link_in, set_password, token_of, wait_for_mail};
use crate::console::admin_browser;
use crate::passkeys::{passkey_sign_in, password_sign_in, register};
use crate::support::{Backend, Browser, TestApp, PASSWORD, USERNAME};

const NEW_PASSWORD: &str = "an entirely different passphrase";

/// Tries to change the password in `browser`'s session; the page it gets.
async fn change_password(browser: &mut Browser) -> crate::support::browser::Page {
    let page = browser.get("/account/password").await;
    let csrf = page.field("csrf_token").unwrap_or_default();
    browser.post_form("/account/password", &[("csrf_token", &csrf), ("current_password", PASSWORD), ("new_password", NEW_PASSWORD)]).await
}

async fn has_password(app: &TestApp, id: &UserId) -> bool {
    app.state.authn.user(id).await.expect("user").expect("exists").password_hash.is_some()
}

async fn everyone(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| s.passkey_only = PasskeyOnlyPolicy::Everyone).await else { return };
    let alice = app.add_user(USERNAME, PASSWORD).await;
    // Until it has a passkey, the password is how its owner signs in to add one.
    let mut browser = app.browser();
    password_sign_in(&mut browser).await;
    let account = browser.get("/account").await;
    assert!(account.body.contains("data-passkey-only") && !account.body.contains(r#"href="/account/password""#), "no password forms");
    let refused = change_password(&mut browser).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("signs in with passkeys only"), "{}", refused.body);

    // The first passkey: the password goes, audited and mailed.
    let mut key = register(&app, &mut browser, "Phone").await;
    assert!(!has_password(&app, &alice.id).await, "the password went with the first passkey");
    wait_for_mail(&app, "alice@example.com", "Your password was removed").await;
    let removed = app.state.stores.db.run(|c| latchkey_store::repo::audit::recent(c, Some("password_removed"), 10)).await.expect("audit");
    assert_eq!(removed.len(), 1, "audited once");
    // The old password signs in nowhere; the passkey does.
    let mut other = app.browser();
    let login = other.get("/login").await;
    let tried = other.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)]).await;
    assert_ne!(tried.location.as_deref(), Some("/account"), "the removed password is refused");
    let login = other.get("/login").await;
    let (status, done, _) = passkey_sign_in(&mut other, &login, &mut key, &app.issuer).await;
    assert_eq!(status, 200, "{done}");
    // Nor can one be set again, by any form.
    let page = other.get("/account/password").await;
    let set = other.post_form("/account/password/set", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("new_password", NEW_PASSWORD)]).await;
    assert_eq!(set.status, 400, "{}", set.body);
    assert!(!has_password(&app, &alice.id).await);

    // An invitation offers a passkey only; its password form cannot be used either (and does not spend the link).
    let (bob, link) = invite(&app, "bob", "bob@example.com").await;
    let mut invited = app.browser();
    let page = invited.get(&link).await;
    assert!(page.body.contains(">Create a passkey</button>") && page.body.contains("data-passkey-only") && !page.body.contains("name=\"new_password\""), "{}", page.body);
    let refused = set_password(&mut invited, "/setup", &link, NEW_PASSWORD).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("signs in with passkeys only"));
    assert!(!has_password(&app, &UserId(bob)).await);
    let (_, status, done) = crate::accounts::create_passkey(&app, &mut invited, "/setup", &link).await;
    assert_eq!(status, 200, "the link still works for a passkey: {done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_account_passkey_only_on_sqlite() {
    everyone(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_account_passkey_only_on_postgres() {
    everyone(Backend::Postgres).await;
}

/// Recovery of a marked account without a passkey yet: "Create a passkey" only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_of_a_passkey_only_account_offers_a_passkey_only() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let alice = app.add_user(USERNAME, PASSWORD).await;
    app.state.authn.set_passkey_only(&alice.id, true).await.expect("mark");
    let mut browser = app.browser();
    let page = browser.get("/recover").await;
    browser.post_form("/recover", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("login", USERNAME)]).await;
    let mail = wait_for_mail(&app, "alice@example.com", "Someone asked to recover your account").await;
    let link = link_in(&mail.body, &format!("{}/recover/continue?t=", app.issuer));
    assert!(!token_of(&link).is_empty());
    let page = browser.get(&link).await;
    assert!(page.body.contains(">Create a passkey</button>") && !page.body.contains("name=\"new_password\""), "{}", page.body);
    let refused = set_password(&mut browser, "/recover", &link, NEW_PASSWORD).await;
    assert_eq!(refused.status, 400);
    let (_, status, done) = crate::accounts::create_passkey(&app, &mut browser, "/recover", &link).await;
    assert_eq!(status, 200, "{done}");
    assert!(!has_password(&app, &alice.id).await, "the recovered account has its passkey and no password");
}

/// `admins`: administrators' accounts are passkey-only; others are not
/// until an administrator marks them, which is audited, in plain words,
/// counted on the overview, and undone the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admins_policy_and_the_console_mark() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, |s| s.passkey_only = PasskeyOnlyPolicy::Admins).await else { return };
    let (mut admin, _, root) = admin_browser(&app).await;
    assert!(admin.get("/account").await.body.contains("data-passkey-only"), "an administrator's account");
    let bob = app.add_user("bob", PASSWORD).await;
    let page = admin.get(&format!("/admin/users/{}", bob.id.0)).await;
    assert!(page.body.contains("Make passkey-only"), "{}", page.body);
    let root_page = admin.get(&format!("/admin/users/{}", root.id.0)).await;
    assert!(root_page.body.contains("(LATCHKEY_PASSKEY_ONLY)") && !root_page.body.contains("Make passkey-only"), "set by the policy, not the mark");

    let csrf = page.field("csrf_token").unwrap_or_default();
    let done = admin.post_form(&format!("/admin/users/{}/passkey-only", bob.id.0), &[("csrf_token", &csrf), ("passkey_only", "on")]).await;
    assert_eq!(done.location.as_deref(), Some(format!("/admin/users/{}?notice=passkey-only-set", bob.id.0).as_str()));
    let page = admin.get(&format!("/admin/users/{}?notice=passkey-only-set", bob.id.0)).await;
    assert!(page.body.contains("Passkeys only changed.") && page.body.contains("Allow a password again"), "{}", page.body);
    // Bob keeps his password until his first passkey, but cannot change it.
    assert!(has_password(&app, &bob.id).await);
    let mut b = app.browser();
    let login = b.get("/login").await;
    b.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", "bob"), ("password", PASSWORD)]).await;
    assert_eq!(change_password(&mut b).await.status, 400);
    // The overview counts both; the trail says what happened, in words.
    let overview = admin.get("/admin").await;
    assert!(overview.body.contains("Passkey-only users"), "{}", overview.body);
    assert_eq!(app.state.authn.count_passkey_only().await.expect("count"), 2, "root (policy) and bob (mark)");
    let audit = admin.get("/admin/audit").await;
    assert!(audit.body.contains("passkeys only"), "{}", audit.body);
    // A forged form changes nothing.
    let forged = admin.post_form(&format!("/admin/users/{}/passkey-only", bob.id.0), &[("csrf_token", "forged"), ("passkey_only", "off")]).await;
    assert_eq!(forged.status, 403);
    let bad = admin.post_form(&format!("/admin/users/{}/passkey-only", bob.id.0), &[("csrf_token", &csrf), ("passkey_only", "maybe")]).await;
    assert_eq!(bad.status, 400);
    // Undone: a password may change again.
    let done = admin.post_form(&format!("/admin/users/{}/passkey-only", bob.id.0), &[("csrf_token", &csrf), ("passkey_only", "off")]).await;
    assert!(done.location.is_some());
    assert_eq!(change_password(&mut b).await.location.as_deref(), Some("/account"), "allowed again");
    assert_eq!(count_mail(&app, "bob@example.com", "Your password was removed"), 0, "a mark without a passkey removes nothing");
}
