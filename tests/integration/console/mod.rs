//! The admin console and the audit trail.

mod access;
mod actions;
mod audit_log;
mod clients_pages;
mod overview;
mod rules;
mod users_pages;

use latchkey_authn::NewUser;
use latchkey_domain::Secret;

use crate::mfa::{answer_second_step, code_at, enrol, sign_in_password};
use crate::support::{Browser, TestApp, PASSWORD};

pub const ADMIN: &str = "root";

/// An admin with an authenticator app, signed in with password and code
/// (a multi-factor session). Returns the browser and the TOTP secret.
pub async fn admin_browser(app: &TestApp) -> (Browser, String, latchkey_domain::User) {
    let admin = app.state.authn.create_user(NewUser { username: ADMIN.into(), email: "root@example.com".into(), password: Secret::new(PASSWORD), admin: true }).await.expect("admin");
    let mut b = app.browser();
    let login = b.get("/login").await;
    b.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", ADMIN), ("password", PASSWORD)]).await;
    let (secret, _) = enrol(app, &mut b).await;
    app.clock.advance(30);
    let login = b.get("/login?next=/admin").await;
    let step = b.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("next", "/admin"), ("username", ADMIN), ("password", PASSWORD)]).await;
    let done = answer_second_step(&mut b, step.location.as_deref().unwrap_or_default(), &code_at(&secret, app.clock_now())).await;
    assert_eq!(done.location.as_deref(), Some("/admin"), "{}", done.body);
    let _ = sign_in_password;
    (b, secret, admin)
}
