//! Who may enter the console and the admin API.

use latchkey_authn::NewUser;
use latchkey_domain::Secret;

use super::{admin_browser, ADMIN};
use crate::mfa::{answer_second_step, code_at, enrol};
use crate::sessions::sign_in_direct;
use crate::support::raw::{bearer, post_form};
use crate::support::{Backend, TestApp, PASSWORD, USERNAME};

const CONSOLE_GETS: [&str; 7] = ["/admin", "/admin/users", "/admin/users/x", "/admin/clients", "/admin/clients/x", "/admin/audit", "/admin/keys"];
const CONSOLE_POSTS: [&str; 6] = ["/admin/users/invite", "/admin/users/x/action", "/admin/clients/create", "/admin/clients/x/action", "/admin/keys/rotate", "/admin/audit.jsonl"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_admins_get_403_everywhere() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut user = app.browser();
    sign_in_direct(&mut user, USERNAME, false).await;
    for path in CONSOLE_GETS {
        assert_eq!(user.get(path).await.status, 403, "GET {path}");
    }
    let csrf = user.get("/account").await.field("csrf_token").unwrap_or_default();
    for path in CONSOLE_POSTS {
        let r = user.post_form(path, &[("csrf_token", &csrf), ("action", "disable"), ("name", "x"), ("username", "x"), ("email", "x@example.com")]).await;
        assert!(r.status == 403 || r.status == 405 || r.status == 404, "POST {path}: {}", r.status);
        assert_ne!(r.status, 200);
    }
    // Signed out: the console sends to sign-in.
    assert_eq!(app.browser().get("/admin").await.location.as_deref(), Some("/login?next=/admin"));
    // The admin API: a user's token (not an admin client's) is refused on every route.
    let (id, secret) = app.add_client(false, latchkey_domain::SigningAlg::RS256).await;
    let _ = (id, secret);
    for (method, path) in [("GET", "/admin/api/v1/users"), ("GET", "/admin/api/v1/audit"), ("GET", "/admin/api/v1/keys"), ("POST", "/admin/api/v1/keys/rotate"), ("DELETE", "/admin/api/v1/users/alice"), ("POST", "/admin/api/v1/users/alice/disable")] {
        assert_eq!(bearer(&app, method, path, "not-a-token").await.status, 401, "{method} {path}");
    }
    let r = post_form(&app, "/admin/api/v1/users/alice/disable", &[], None).await;
    assert_eq!(r.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_only_admin_is_stepped_up_and_one_without_a_factor_is_told_to_enrol() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    app.state.authn.create_user(NewUser { username: ADMIN.into(), email: "root@example.com".into(), password: Secret::new(PASSWORD), admin: true }).await.expect("admin");
    let mut b = app.browser();
    sign_in_direct(&mut b, ADMIN, false).await;
    let page = b.get("/admin").await;
    assert_eq!(page.status, 403, "no second factor: enrol first");
    assert!(page.body.contains("Second factor required"));
    let (secret, _) = enrol(&app, &mut b).await;
    let page = b.get("/admin").await;
    assert_eq!(page.location.as_deref(), Some("/login?next=/admin"), "password-only session: step up");
    app.clock.advance(30);
    let login = b.get("/login?next=/admin").await;
    let step = b.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("next", "/admin"), ("username", ADMIN), ("password", PASSWORD)]).await;
    let done = answer_second_step(&mut b, step.location.as_deref().unwrap_or_default(), &code_at(&secret, app.clock_now())).await;
    assert_eq!(done.location.as_deref(), Some("/admin"));
    let overview = b.get("/admin").await;
    assert_eq!(overview.status, 200);
    for link in ["Overview", "Users", "Clients", "Audit log", "Signing keys"] {
        assert!(overview.body.contains(&format!(">{link}</a>")), "{link} in the navigation");
    }
    let _ = admin_browser;
}
