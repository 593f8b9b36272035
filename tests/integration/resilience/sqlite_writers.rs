//! The embedded database under concurrent writers: sign-outs (read the
//! session, then revoke it) racing sign-ins and each other never answer
//! "database is locked". Found by the soak (82 of 500 sign-outs were 500s):
//! a deferred SQLite transaction that reads before it writes cannot wait for
//! the write lock; such transactions now take it up front.

use futures_util::future::join_all;

use crate::sessions::sign_in_direct;
use crate::support::{Backend, TestApp, PASSWORD, USERNAME};

const BROWSERS: usize = 24;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sign_outs_and_sign_ins_never_lock_the_embedded_database() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut signed_in = Vec::new();
    for _ in 0..BROWSERS {
        let mut b = app.browser();
        sign_in_direct(&mut b, USERNAME, true).await;
        let csrf = b.get("/account").await.field("csrf_token").unwrap_or_default();
        signed_in.push((b, csrf));
    }
    for round in 0..3 {
        let outs = signed_in.iter_mut().map(|(b, csrf)| {
            let csrf = csrf.clone();
            async move { b.post_form("/logout", &[("csrf_token", &csrf)]).await.status }
        });
        let ins = (0..4).map(|_| {
            let mut b = app.browser();
            async move {
                let login = b.get("/login").await;
                b.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", USERNAME), ("password", PASSWORD)]).await.status
            }
        });
        let (outs, ins) = tokio::join!(join_all(outs), join_all(ins));
        assert!(outs.iter().chain(&ins).all(|s| *s < 500), "round {round}: sign-outs {outs:?}, sign-ins {ins:?}");
        // Sign everyone in again for the next round.
        for (b, csrf) in signed_in.iter_mut() {
            sign_in_direct(b, USERNAME, true).await;
            *csrf = b.get("/account").await.field("csrf_token").unwrap_or_default();
        }
    }
}
