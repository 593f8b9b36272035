//! Self-service sign-up: off by default; the same answer for taken and new
//! addresses; `email_verified` only after the link.

use super::{link_in, mails, set_password, wait_for_mail, wait_for_mail_count};
use crate::support::{Backend, TestApp, PASSWORD, USERNAME};

async fn sign_up(app: &TestApp, username: &str, email: &str) -> crate::support::browser::Page {
    let mut b = app.browser();
    let page = b.get("/signup").await;
    assert!(page.body.contains(r#"<label for="username">Username</label>"#) && page.body.contains(r#"<label for="email">Email</label>"#) && page.body.contains(">Create account</button>"));
    b.post_form("/signup", &[("csrf_token", &page.field("csrf_token").unwrap_or_default()), ("username", username), ("email", email)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_is_closed_by_default() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    assert_eq!(app.browser().get("/signup").await.status, 404);
    assert!(!app.browser().get("/login").await.body.contains("/signup"));
    assert!(app.browser().get("/login").await.body.contains(r#"<a href="/recover">Can&#39;t sign in?</a>"#));
}

async fn open_sign_up(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| s.signup_open = true).await else { return };
    assert!(app.browser().get("/login").await.body.contains(r#"<a href="/signup">Create account</a>"#));
    app.add_user(USERNAME, PASSWORD).await;
    let new = sign_up(&app, "dora", "dora@example.com").await;
    let taken = sign_up(&app, "dora2", "alice@example.com").await;
    let taken_name = sign_up(&app, USERNAME, "someone@example.com").await;
    assert_eq!(new.status, 200);
    assert_eq!((new.status, &new.body), (taken.status, &taken.body), "the same answer for a taken address");
    assert_eq!((new.status, &new.body), (taken_name.status, &taken_name.body), "and for a taken username");
    wait_for_mail(&app, "alice@example.com", "Someone tried to create an account with your address").await;
    wait_for_mail(&app, "someone@example.com", "That username is taken").await;
    assert!(app.state.authn.find_by_username("dora2").await.expect("lookup").is_none(), "no account for a taken address");

    let mail = wait_for_mail(&app, "dora@example.com", "Confirm your email address").await;
    let link = link_in(&mail.body, &format!("{}/setup?t=", app.issuer));
    let dora = app.state.authn.find_by_username("dora").await.expect("lookup").expect("created, without credentials");
    assert!(!dora.email_verified && dora.password_hash.is_none());
    let done = set_password(&mut app.browser(), "/setup", &link, "a kettle marching at noon").await;
    assert_eq!(done.location.as_deref(), Some("/account/recovery-codes"), "{}", done.body);
    let dora = app.state.authn.find_by_username("dora").await.expect("lookup").expect("exists");
    assert!(dora.email_verified, "email_verified only after the link");
    let _ = mails;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_sign_up_on_sqlite() {
    open_sign_up(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_sign_up_on_postgres_and_redis() {
    open_sign_up(Backend::Postgres).await;
}

/// Sign-up is limited per address; the limit passes with the window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_is_rate_limited_per_address() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, |s| s.signup_open = true).await else { return };
    let max = latchkey_authn::rate_limit::SIGNUP_PER_ADDRESS.max;
    for i in 0..max {
        assert_eq!(sign_up(&app, &format!("erin{i}"), "erin@example.com").await.status, 200);
    }
    assert_eq!(sign_up(&app, "erin9", "erin@example.com").await.status, 429);
    // The refused request started no background work: once the allowed ones' mails are in, no more come.
    let confirm = wait_for_mail_count(&app, "erin@example.com", "Confirm your email address", 1).await;
    let tried = wait_for_mail_count(&app, "erin@example.com", "Someone tried to create an account with your address", max as usize - confirm).await;
    assert!(confirm + tried <= max as usize);
    app.clock.advance(3600);
    assert_eq!(sign_up(&app, "erin9", "erin@example.com").await.status, 200);
}

/// Issue #24 item 9: a sign-up never completed gives its address and its
/// username back once its verification link has expired (before, the
/// address was taken for good); an invited username is never taken over,
/// even after its invitation expired.
async fn abandoned_sign_ups_are_released_invitations_are_not(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| s.signup_open = true).await else {
        return;
    };
    assert_eq!(sign_up(&app, "sam", "sam@example.com").await.status, 200);
    wait_for_mail(&app, "sam@example.com", "Confirm your email address").await;
    assert_eq!(sign_up(&app, "sammy", "sam@example.com").await.status, 200);
    wait_for_mail(&app, "sam@example.com", "Someone tried to create an account with your address").await;
    assert!(app.state.authn.find_by_username("sammy").await.expect("lookup").is_none(), "held while its link lives");

    app.clock.advance(latchkey_authn::links::VERIFY_TTL + 1);
    assert_eq!(sign_up(&app, "samuel", "sam@example.com").await.status, 200);
    assert_eq!(wait_for_mail_count(&app, "sam@example.com", "Confirm your email address", 2).await, 2, "the address was given back");
    assert!(app.state.authn.find_by_username("samuel").await.expect("lookup").is_some());
    assert!(app.state.authn.find_by_username("sam").await.expect("lookup").is_none(), "the abandoned sign-up is gone");
    app.clock.advance(latchkey_authn::links::VERIFY_TTL + 1);
    assert_eq!(sign_up(&app, "SAMUEL", "other@example.com").await.status, 200);
    wait_for_mail(&app, "other@example.com", "Confirm your email address").await;
    assert_eq!(app.state.authn.find_by_username("samuel").await.expect("lookup").map(|u| u.email), Some("other@example.com".into()), "and the username too, whatever its case");

    let (ivy, _) = super::invite(&app, "ivy", "ivy@example.com").await;
    app.clock.advance(app.settings.invite_ttl + 1);
    assert_eq!(sign_up(&app, "ivy", "thief@example.com").await.status, 200);
    wait_for_mail(&app, "thief@example.com", "That username is taken").await;
    let kept = app.state.authn.find_by_username("ivy").await.expect("lookup").expect("the invited account stays");
    assert_eq!((kept.id.0.as_str(), kept.email.as_str()), (ivy.as_str(), "ivy@example.com"));
    assert_eq!(sign_up(&app, "ivy2", "ivy@example.com").await.status, 200);
    wait_for_mail(&app, "ivy@example.com", "Someone tried to create an account with your address").await;
    assert!(app.state.authn.find_by_username("ivy2").await.expect("lookup").is_none(), "nor its address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_09_abandoned_sign_ups_are_released_invitations_are_not_on_sqlite() {
    abandoned_sign_ups_are_released_invitations_are_not(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_09_abandoned_sign_ups_are_released_invitations_are_not_on_postgres_and_redis() {
    abandoned_sign_ups_are_released_invitations_are_not(Backend::Postgres).await;
}
