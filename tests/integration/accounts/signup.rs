//! Self-service sign-up: off by default; the same answer for taken and new
//! addresses; `email_verified` only after the link.

use super::{count_mail, link_in, mails, set_password, wait_for_mail};
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
    assert!(count_mail(&app, "erin@example.com", "Confirm your email address").await + count_mail(&app, "erin@example.com", "Someone tried to create an account with your address").await <= max as usize);
    app.clock.advance(3600);
    assert_eq!(sign_up(&app, "erin9", "erin@example.com").await.status, 200);
}
