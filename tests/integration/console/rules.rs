//! The admin rules (`latchkey_app::admin`) through the console and the
//! admin API: an admin never disables, deletes or demotes themself, and no
//! door removes the last enabled administrator. (The CLI's door:
//! `crates/latchkey/tests/cli.rs`; the rules themselves, below HTTP:
//! `crates/app/tests/service`.)

use openidconnect::reqwest::Method;
use serde_json::Value;

use super::{admin_browser, ADMIN};
use crate::accounts::admin_token;
use crate::support::{Backend, TestApp, PASSWORD, USERNAME};

async fn console_refuses_to_act_on_oneself(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let (mut admin, _, root) = admin_browser(&app).await;
    app.add_user(USERNAME, PASSWORD).await;
    let page = format!("/admin/users/{}", root.id.0);
    for action in ["disable", "revoke-admin", "delete"] {
        let form = admin.get(&page).await;
        let done = admin.post_form(&format!("{page}/action"), &[("csrf_token", &form.field("csrf_token").unwrap_or_default()), ("action", action), ("confirmed", "yes")]).await;
        assert_eq!(done.status, 409, "{action}: {}", done.body);
        assert!(done.body.contains("yourself"), "{action}: {}", done.body);
    }
    let root = app.state.authn.user(&root.id).await.expect("lookup").expect("still there");
    assert!(root.admin && root.disabled_at.is_none(), "nothing changed");
    assert_eq!(admin.get("/admin").await.status, 200, "still an administrator, still signed in");
    // Acting on someone else works as before; deleting asks first, naming what goes.
    let alice = app.state.authn.find_by_username(USERNAME).await.expect("lookup").expect("alice");
    let page = format!("/admin/users/{}", alice.id.0);
    let form = admin.get(&page).await;
    let asked = admin.post_form(&format!("{page}/action"), &[("csrf_token", &form.field("csrf_token").unwrap_or_default()), ("action", "delete")]).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(asked.body.contains("Delete alice?") && asked.body.contains("sessions end") && asked.body.contains(r#"name="confirmed" value="yes""#), "{}", asked.body);
    assert!(app.state.authn.user(&alice.id).await.expect("lookup").is_some(), "nothing deleted before the answer");
    let page = format!("/admin/users/{}", alice.id.0);
    let form = admin.get(&page).await;
    let asked = admin.post_form(&format!("{page}/action"), &[("csrf_token", &form.field("csrf_token").unwrap_or_default()), ("action", "disable")]).await;
    assert!(asked.status == 200 && asked.body.contains("Disable alice?"), "disabling asks first too: {}", asked.body);
    assert!(app.state.authn.user(&alice.id).await.expect("lookup").expect("alice").disabled_at.is_none(), "nothing disabled before the answer");
    let done = admin.post_form(&format!("{page}/action"), &[("csrf_token", &form.field("csrf_token").unwrap_or_default()), ("action", "disable"), ("confirmed", "yes")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(app.state.authn.user(&alice.id).await.expect("lookup").expect("alice").disabled_at.is_some());
    let _ = ADMIN;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_refuses_to_act_on_oneself_on_sqlite() {
    console_refuses_to_act_on_oneself(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_refuses_to_act_on_oneself_on_postgres_and_redis() {
    console_refuses_to_act_on_oneself(Backend::Postgres).await;
}

async fn call(app: &TestApp, token: &str, method: Method, path: &str) -> (u16, Value) {
    let r = app.http().request(method, app.url(&format!("/admin/api/v1{path}"))).bearer_auth(token).send().await.expect("admin API");
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null))
}

/// The admin API's token is a client's, nobody's account: the last
/// administrator is kept whatever it asks.
async fn api_keeps_the_last_administrator(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let alice = app.add_user(USERNAME, PASSWORD).await;
    app.state.authn.set_admin(&alice.id, true).await.expect("alice is the only admin");
    let bob = app.add_user("bob", PASSWORD).await;
    let token = admin_token(&app).await;
    for (method, path) in [(Method::POST, "/users/alice/disable"), (Method::POST, "/users/alice/revoke-admin"), (Method::DELETE, "/users/alice")] {
        let (status, body) = call(&app, &token, method.clone(), path).await;
        assert_eq!((status, body["error"].as_str()), (409, Some("conflict")), "{method} {path}: {body}");
        assert!(body["error_description"].as_str().unwrap_or_default().contains("last administrator"), "{body}");
    }
    let now = app.state.authn.user(&alice.id).await.expect("lookup").expect("alice");
    assert!(now.admin && now.disabled_at.is_none());
    let (status, body) = call(&app, &token, Method::POST, "/users/nobody/disable").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{body}");
    // With bob an administrator too, alice can be disabled.
    assert_eq!(call(&app, &token, Method::POST, "/users/bob/grant-admin").await.0, 200);
    let (status, body) = call(&app, &token, Method::POST, "/users/alice/disable").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(&app, &token, Method::DELETE, "/users/bob").await;
    assert_eq!(status, 409, "bob is now the last enabled administrator: {body}");
    assert!(app.state.authn.user(&bob.id).await.expect("lookup").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keeps_the_last_administrator_on_sqlite() {
    api_keeps_the_last_administrator(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keeps_the_last_administrator_on_postgres_and_redis() {
    api_keeps_the_last_administrator(Backend::Postgres).await;
}
