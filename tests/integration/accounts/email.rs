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
