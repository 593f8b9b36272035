//! Who may enter the console and the admin API.

use latchkey_authn::NewUser;
use latchkey_domain::Secret;

use super::{admin_browser, ADMIN};
use crate::mfa::{answer_second_step, code_at, enrol};
use crate::sessions::sign_in_direct;
use crate::support::raw::{bearer, post_form};
use crate::support::{Backend, TestApp, PASSWORD, USERNAME};

const CONSOLE_GETS: [&str; 10] =
    ["/admin", "/admin/users", "/admin/users/x", "/admin/clients", "/admin/clients/x", "/admin/audit", "/admin/alerts", "/admin/keys", "/admin/passkeys", "/admin/webhooks"];
const CONSOLE_POSTS: [&str; 11] = [
    "/admin/users/invite",
    "/admin/users/x/action",
    "/admin/users/x/risk-policy",
    "/admin/users/x/passkey-only",
    "/admin/clients/create",
    "/admin/clients/x/action",
    "/admin/keys/rotate",
    "/admin/passkeys/policy",
    "/admin/webhooks/x",
    "/admin/audit.jsonl",
    "/admin/alerts/x/acknowledge",
];

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
        let r = user
            .post_form(
                path,
                &[("csrf_token", &csrf), ("action", "disable"), ("name", "x"), ("username", "x"), ("email", "x@example.com"), ("policy", "off"), ("passkey_only", "on"), ("audience", "everyone")],
            )
            .await;
        assert!(r.status == 403 || r.status == 405 || r.status == 404, "POST {path}: {}", r.status);
        assert_ne!(r.status, 200);
    }
    // Signed out: the console sends to sign-in.
    assert_eq!(app.browser().get("/admin").await.location.as_deref(), Some("/login?next=/admin"));
    // The admin API: a user's token (not an admin client's) is refused on every route.
    let (id, secret) = app.add_client(false, latchkey_domain::SigningAlg::RS256).await;
    let _ = (id, secret);
    for (method, path) in [
        ("GET", "/admin/api/v1/users"),
        ("GET", "/admin/api/v1/audit"),
        ("GET", "/admin/api/v1/keys"),
        ("POST", "/admin/api/v1/keys/rotate"),
        ("DELETE", "/admin/api/v1/users/alice"),
        ("POST", "/admin/api/v1/users/alice/disable"),
    ] {
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

/// Signs the admin in again (password and code), optionally remembering the device.
async fn admin_sign_in(app: &TestApp, b: &mut crate::support::Browser, secret: &str, remember: bool) {
    app.clock.advance(30);
    let login = b.get("/login?next=/admin").await;
    let mut form = vec![("csrf_token", login.field("csrf_token").unwrap_or_default()), ("next", "/admin".into()), ("username", ADMIN.into()), ("password", PASSWORD.into())];
    if remember {
        form.push(("remember", "yes".into()));
    }
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let step = b.post_form("/login", &fields).await;
    let done = answer_second_step(b, step.location.as_deref().unwrap_or_default(), &code_at(secret, app.clock_now())).await;
    assert_eq!(done.location.as_deref(), Some("/admin"), "{}", done.body);
}

/// A session restored from the 30-day remembered-device cookie is not a
/// sign-in: the console asks for one. And every console action that changes
/// anything (invite and create client too) wants a sign-in of the last 5
/// minutes: a stale one changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_wants_an_interactive_recent_sign_in_for_every_change() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let (client_id, _) = app.add_client(false, latchkey_domain::SigningAlg::RS256).await;
    let (mut b, secret, _) = admin_browser(&app).await;

    // The remembered device restores a session (the account page does): not for the console.
    admin_sign_in(&app, &mut b, &secret, true).await;
    assert!(b.cookies.contains_key("__Host-latchkey-device"));
    b.cookies.remove("__Host-latchkey-session");
    app.clock.advance(60);
    assert_eq!(b.get("/account").await.status, 200, "restored from the device");
    for path in CONSOLE_GETS {
        let page = b.get(path).await;
        assert_eq!(page.status, 303, "{path}: {}", page.body);
        assert!(page.location.as_deref().unwrap_or_default().starts_with("/login?next=/admin"), "{path}: {:?}", page.location);
    }

    // An interactive sign-in opens it; 5 minutes later, no change goes through.
    admin_sign_in(&app, &mut b, &secret, false).await;
    assert_eq!(b.get("/admin").await.status, 200);
    let users = b.get("/admin/users").await.field("csrf_token").unwrap_or_default();
    let clients = b.get("/admin/clients").await.field("csrf_token").unwrap_or_default();
    let user_page = format!("/admin/users/{}", alice.id.0);
    let client_page = format!("/admin/clients/{client_id}");
    let user_csrf = b.get(&user_page).await.field("csrf_token").unwrap_or_default();
    let client_csrf = b.get(&client_page).await.field("csrf_token").unwrap_or_default();
    let keys = b.get("/admin/keys").await.field("csrf_token").unwrap_or_default();
    let keys_before = app.state.tokens.key_status().await.expect("keys").len();
    app.clock.advance(5 * 60 + 1);
    #[allow(clippy::type_complexity)]
    let stale: [(&str, Vec<(&str, &str)>, &str); 5] = [
        ("/admin/users/invite", vec![("csrf_token", users.as_str()), ("username", "mallory"), ("email", "mallory@example.com")], "/login?next=/admin/users"),
        ("/admin/clients/create", vec![("csrf_token", clients.as_str()), ("name", "Sneaky app"), ("redirect_uris", crate::support::REDIRECT_URI)], "/login?next=/admin/clients"),
        (&format!("{user_page}/action"), vec![("csrf_token", user_csrf.as_str()), ("action", "grant-admin")], &format!("/login?next={user_page}")),
        (&format!("{client_page}/action"), vec![("csrf_token", client_csrf.as_str()), ("action", "disable")], &format!("/login?next={client_page}")),
        ("/admin/keys/rotate", vec![("csrf_token", keys.as_str())], "/login?next=/admin/keys"),
    ];
    for (path, form, again) in &stale {
        let r = b.post_form(path, form).await;
        assert_eq!(r.location.as_deref(), Some(*again), "{path}: {}", r.body);
    }
    assert!(app.state.authn.find_by_username("mallory").await.expect("db").is_none(), "nobody invited");
    assert!(!latchkey_app::directory::clients::list(&app.state.stores.db).await.expect("clients").iter().any(|c| c.name == "Sneaky app"), "no client created");
    assert!(!app.state.authn.user(&alice.id).await.expect("db").expect("alice").admin, "nobody promoted");
    assert!(app.state.oauth.client(&client_id).await.expect("db").expect("client").disabled_at.is_none(), "the client still works");
    assert_eq!(app.state.tokens.key_status().await.expect("keys").len(), keys_before, "no keys rotated");

    // Signed in again: the invitation goes through.
    admin_sign_in(&app, &mut b, &secret, false).await;
    let users = b.get("/admin/users").await.field("csrf_token").unwrap_or_default();
    let invited = b.post_form("/admin/users/invite", &[("csrf_token", users.as_str()), ("username", "mallory"), ("email", "mallory@example.com")]).await;
    assert!(invited.status == 200 && invited.body.contains("/setup?t="), "the new user's page, with the set-up link: {}", invited.body);
}

/// The console's status line shows only its own fixed notices: a link
/// with `?notice=` text of its choosing shows nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_only_its_own_notices() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let (client_id, _) = app.add_client(false, latchkey_domain::SigningAlg::RS256).await;
    let (mut b, _, _) = admin_browser(&app).await;
    let phish = "Your session expired: sign in again at https://evil.example";
    let encoded: String = url::form_urlencoded::byte_serialize(phish.as_bytes()).collect();
    for page in ["/admin/users".to_string(), format!("/admin/users/{}", alice.id.0), format!("/admin/clients/{client_id}"), "/admin/keys".to_string()] {
        let shown = b.get(&format!("{page}?notice={encoded}")).await;
        assert_eq!(shown.status, 200, "{page}");
        assert!(!shown.body.contains("evil.example") && !shown.body.contains(r#"class="notice""#), "{page}: an unknown notice shows nothing");
        let known = b.get(&format!("{page}?notice=user-enabled")).await;
        assert!(known.body.contains(r#"<p class="notice" role="status">User enabled.</p>"#), "{page}: a known code shows its fixed text");
    }
    // An action's redirect carries a signed notice (console/users_pages.rs
    // tests that an altered or another browser's one shows nothing).
    let user_page = format!("/admin/users/{}", alice.id.0);
    let csrf = b.get(&user_page).await.field("csrf_token").unwrap_or_default();
    let done = b.post_form(&format!("{user_page}/action"), &[("csrf_token", &csrf), ("action", "disable"), ("confirmed", "yes")]).await;
    let location = done.location.unwrap_or_default();
    assert!(location.starts_with(&format!("{user_page}?done=")) && location.contains("&sig="), "{location}");
    assert!(b.get(&location).await.body.contains("alice disabled: every session and token ended."));
}
