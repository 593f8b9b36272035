//! Email change with revert, and deleting one's own account.

use latchkey_domain::UserId;

use super::{link_in, wait_for_mail};
use crate::sessions::{sign_in_direct, signed_in};
use crate::support::{Backend, TestApp, PASSWORD, USERNAME};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_change_needs_the_new_address_and_the_old_one_can_revert_it() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let user = app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    sign_in_direct(&mut browser, USERNAME, false).await;
    let page = browser.get("/account/email").await;
    assert!(page.body.contains(r#"<label for="email">New email</label>"#) && page.body.contains(">Change email</button>"));
    let csrf = page.field("csrf_token").unwrap_or_default();
    let asked = browser.post_form("/account/email", &[("csrf_token", &csrf), ("email", "alice@new.example")]).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let current = || async { app.state.authn.user(&user.id).await.expect("user").expect("exists") };
    assert_eq!(current().await.email, "alice@example.com", "nothing changes before the link is used");
    let mail = wait_for_mail(&app, "alice@new.example", "Confirm your new email address").await;
    let confirm = link_in(&mail.body, &format!("{}/account/email/confirm?t=", app.issuer));
    let mut elsewhere = app.browser();
    let page = elsewhere.get(&confirm).await;
    assert_eq!(page.status, 200, "opening the link (a mail scanner) changes nothing");
    assert_eq!(current().await.email, "alice@example.com");
    let done = elsewhere.post_form("/account/email/confirm", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("t", &page.field("t").unwrap_or_default())]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(current().await.email, "alice@new.example");
    assert!(current().await.email_verified);

    let notice = wait_for_mail(&app, "alice@example.com", "Your email address was changed").await;
    let revert = link_in(&notice.body, &format!("{}/account/email/revert?t=", app.issuer));
    let page = elsewhere.get(&revert).await;
    let done = elsewhere.post_form("/account/email/revert", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("t", &page.field("t").unwrap_or_default())]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(current().await.email, "alice@example.com", "restored");
    assert!(!signed_in(&mut browser).await, "every session of the account ended");
    let again = elsewhere.get(&revert).await;
    assert_eq!(again.status, 400, "single use");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_change_needs_a_recent_sign_in() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    sign_in_direct(&mut browser, USERNAME, false).await;
    app.clock.advance(6 * 60);
    let page = browser.get("/account/email").await;
    assert_eq!(page.location.as_deref(), Some("/login?next=/account/email"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_delete_their_own_account() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let user = app.add_user(USERNAME, PASSWORD).await;
    let mut browser = app.browser();
    let mut phone = app.browser();
    sign_in_direct(&mut browser, USERNAME, false).await;
    sign_in_direct(&mut phone, USERNAME, true).await;
    let page = browser.get("/account/delete").await;
    let csrf = page.field("csrf_token").unwrap_or_default();
    let wrong = browser.post_form("/account/delete", &[("csrf_token", &csrf), ("confirm", "not-alice")]).await;
    assert_eq!(wrong.status, 400);
    assert!(app.state.authn.user(&user.id).await.expect("user").is_some());
    let done = browser.post_form("/account/delete", &[("csrf_token", &csrf), ("confirm", USERNAME)]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(app.state.authn.user(&UserId(user.id.0.clone())).await.expect("user").is_none(), "the user is gone");
    assert!(!signed_in(&mut phone).await, "every session and device ended");
    let audit = app.state.stores.db.run(|c| latchkey_store::repo::audit::recent(c, Some("account_deleted"), 10)).await.expect("audit");
    assert_eq!(audit.first().and_then(|e| e.user_id.clone()), Some(user.id.0.clone()), "a tombstone with the user id");
}

async fn ask_change(b: &mut crate::support::Browser, email: &str) -> crate::support::browser::Page {
    let csrf = b.get("/account/email").await.field("csrf_token").unwrap_or_default();
    b.post_form("/account/email", &[("csrf_token", &csrf), ("email", email)]).await
}

/// Issue #24 item 8: an email change ends the links mailed to the old
/// address (a recovery link there must not outlive the change), and an
/// address another account uses is refused (the answer names no account),
/// at the request and again at the confirmation.
async fn email_change_ends_old_links_and_refuses_taken_addresses(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let user = app.add_user(USERNAME, PASSWORD).await;
    app.add_user("bob", PASSWORD).await;
    let mut r = app.browser();
    let csrf = r.get("/recover").await.field("csrf_token").unwrap_or_default();
    r.post_form("/recover", &[("csrf_token", &csrf), ("login", USERNAME)]).await;
    let mail = wait_for_mail(&app, "alice@example.com", "Someone asked to recover your account").await;
    let recovery = link_in(&mail.body, &format!("{}/recover/continue?t=", app.issuer));
    assert_eq!(app.browser().get(&recovery).await.status, 200, "the recovery link works before the change");

    let mut browser = app.browser();
    sign_in_direct(&mut browser, USERNAME, false).await;
    for taken in ["bob@example.com", "BOB@Example.com"] {
        let refused = ask_change(&mut browser, taken).await;
        assert_eq!(refused.status, 409, "{}", refused.body);
        assert!(refused.body.contains("Another account uses that address") && !refused.body.contains("bob"), "{}", refused.body);
    }
    // Asked while free, taken before the link is used: refused then.
    assert_eq!(ask_change(&mut browser, "carol@example.com").await.status, 200);
    let mail = wait_for_mail(&app, "carol@example.com", "Confirm your new email address").await;
    let confirm = link_in(&mail.body, &format!("{}/account/email/confirm?t=", app.issuer));
    app.add_user("carol", PASSWORD).await;
    let page = browser.get(&confirm).await;
    let done = browser.post_form("/account/email/confirm", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("t", &page.field("t").unwrap_or_default())]).await;
    assert_eq!(done.status, 409, "{}", done.body);
    assert_eq!(app.state.authn.user(&user.id).await.expect("user").expect("exists").email, "alice@example.com");

    assert_eq!(ask_change(&mut browser, "alice@new.example").await.status, 200);
    let mail = wait_for_mail(&app, "alice@new.example", "Confirm your new email address").await;
    let confirm = link_in(&mail.body, &format!("{}/account/email/confirm?t=", app.issuer));
    let page = browser.get(&confirm).await;
    let done = browser.post_form("/account/email/confirm", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("t", &page.field("t").unwrap_or_default())]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let old = app.browser().get(&recovery).await;
    assert_eq!(old.status, 400, "the recovery link to the old address ended with it: {}", old.body);
    let notice = wait_for_mail(&app, "alice@example.com", "Your email address was changed").await;
    let revert = link_in(&notice.body, &format!("{}/account/email/revert?t=", app.issuer));
    assert_eq!(app.browser().get(&revert).await.status, 200, "the old address's way back stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_08_email_change_ends_old_links_and_refuses_taken_addresses_on_sqlite() {
    email_change_ends_old_links_and_refuses_taken_addresses(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_08_email_change_ends_old_links_and_refuses_taken_addresses_on_postgres_and_redis() {
    email_change_ends_old_links_and_refuses_taken_addresses(Backend::Postgres).await;
}
