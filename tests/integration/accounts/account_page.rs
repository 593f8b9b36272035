//! `/account`: every section's data for a user with two passkeys, an
//! authenticator app, backup codes, two sessions and two connected apps;
//! "Set a password" / "Remove password" and their rules; "This wasn't me"
//! on a row of recent activity. On SQLite and on PostgreSQL + Redis.

use crate::mfa::enrol;
use crate::passkeys::{passkey_sign_in, password_sign_in, register};
use crate::support::browser::{Page, PHONE_UA};
use crate::support::rp::sign_in;
use crate::support::{Backend, Browser, Rp, TestApp, PASSWORD, USERNAME};

/// The `<section>` of the account page whose heading has this id.
fn section<'a>(page: &'a Page, id: &str) -> &'a str {
    let start = page.body.find(&format!(r#"<h2 id="{id}">"#)).unwrap_or_else(|| panic!("no section {id}: {}", page.body));
    let rest = &page.body[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

/// The list items of a section's first `<ul class="{class} rows">`.
fn rows(html: &str, class: &str) -> Vec<String> {
    let start = html.find(&format!(r#"<ul class="{class} rows">"#)).unwrap_or_else(|| panic!("no list {class}: {html}"));
    let list = &html[start..];
    // The list's own end: its items' nested lists are indented.
    let list = &list[..list.find("\n</ul>").unwrap_or(list.len())];
    list.split("\n  <li>").skip(1).map(str::to_string).collect()
}

fn value_of(html: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    html.split(&marker).nth(1).and_then(|s| s.split('"').next()).map(str::to_string)
}

/// The Photo Album's registered logo.
const ALBUM_LOGO: &str = "https://cdn.album.example/logo.png";

/// Registers a client with its own name (and logo); returns a relying party for it.
async fn client(app: &TestApp, name: &str, logo: Option<&str>) -> Rp {
    let (id, secret) = crate::support::TestClient::web_app(name).logo(logo).register(app).await;
    Rp::discover(app, &id, secret.as_deref()).await
}

/// Connects `rp` to the signed-in user of `browser` (consent, code, tokens).
async fn connect(rp: &Rp, browser: &mut Browser, scopes: &[&str]) {
    let req = rp.authorize_scopes(scopes, &[]);
    let resp = sign_in(browser, &req.url, USERNAME, PASSWORD).await;
    rp.exchange(resp.code.as_deref().expect("code"), req.verifier).await.expect("exchange");
}

/// A user with two passkeys (signed in with the first in the returned browser).
async fn two_passkeys(app: &TestApp) -> (Browser, webauthn_authenticator_rs::softpasskey::SoftPasskey) {
    app.add_user(USERNAME, PASSWORD).await;
    let mut laptop = app.browser();
    password_sign_in(&mut laptop).await;
    let mut first = register(app, &mut laptop, "Laptop key").await;
    let login = laptop.get("/login").await;
    let (status, done, _) = passkey_sign_in(&mut laptop, &login, &mut first, &app.issuer).await;
    assert_eq!(status, 200, "{done}");
    register(app, &mut laptop, "Phone key").await;
    (laptop, first)
}

async fn everything_listed(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let (mut laptop, mut key) = two_passkeys(&app).await;
    enrol(&app, &mut laptop).await;
    let mut phone = Browser::with_user_agent(&app.issuer, app.addr, PHONE_UA);
    let login = phone.get("/login").await;
    let (status, done, _) = passkey_sign_in(&mut phone, &login, &mut key, &app.issuer).await;
    assert_eq!(status, 200, "{done}");
    let photos = client(&app, "Photo Album", Some(ALBUM_LOGO)).await;
    let notes = client(&app, "Field Notes", None).await;
    connect(&photos, &mut laptop, &["email", "offline_access"]).await;
    connect(&notes, &mut phone, &["profile"]).await;
    app.clock.advance(2 * 3600 + 5);
    let page = laptop.get("/account").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<h1>Your account</h1>"));

    let methods = section(&page, "sign-in-methods");
    let keys = rows(methods, "passkeys");
    assert_eq!(keys.len(), 2, "{methods}");
    let laptop_key = keys.iter().find(|k| k.contains(r#"value="Laptop key""#)).expect("the first passkey, by name");
    let phone_key = keys.iter().find(|k| k.contains(r#"value="Phone key""#)).expect("the second passkey, by name");
    assert!(laptop_key.contains("added <time") && laptop_key.contains(">2 hours ago</time>") && laptop_key.contains("last used"), "{laptop_key}");
    assert!(phone_key.contains("never used yet"), "{phone_key}");
    // A software authenticator says nothing of sync or transport: the generic word.
    assert!(laptop_key.contains("Passkey · added"), "{laptop_key}");
    assert!(methods.contains("<strong>Authenticator app</strong> <span class=\"muted\">On:"), "{methods}");
    assert!(methods.contains("10 codes left"), "{methods}");
    assert!(methods.contains(">Change password</a>") && methods.contains(">Remove password</button>"), "two passkeys and an app: the password may go: {methods}");

    let sessions = rows(section(&page, "where"), "sessions");
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert!(sessions[0].contains("This device") && sessions[0].contains("last active <time") && sessions[0].contains(">just now</time>"), "this browser first: {}", sessions[0]);
    assert!(sessions[1].contains("Safari on iPhone") && sessions[1].contains("127.0.0.1") && sessions[1].contains(">2 hours ago</time>"), "{}", sessions[1]);
    assert!(sessions[1].contains(">End session</button>") && !sessions[0].contains(">End session</button>"));

    let apps = rows(section(&page, "connected-apps"), "apps");
    assert_eq!(apps.len(), 2, "{apps:?}");
    let album = apps.iter().find(|a| a.contains("Photo Album")).expect("first app");
    let field = apps.iter().find(|a| a.contains("Field Notes")).expect("second app");
    for want in
        ["<li>Know who you are</li>", "<li>See your email address</li>", "<li>Stay connected when you&#39;re not using it</li>", "last used <time", ">2 hours ago</time>", ">Revoke access</button>"]
    {
        assert!(album.contains(want), "{want} in {album}");
    }
    assert!(field.contains("<li>See your name and profile</li>") && !field.contains("email"), "{field}");
    // The registered logo is shown, and only its host joins the page's image sources.
    assert!(album.contains(&format!(r#"<img class="app-logo" src="{ALBUM_LOGO}""#)) && !field.contains("<img"), "{album}");
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("img-src 'self' https://cdn.album.example;"), "{csp}");

    let activity = section(&page, "recent-activity");
    for want in ["Signed in with passkey", "Signed in with password", "Passkey added", "Authenticator app set up", "Safari on iPhone · 127.0.0.1", ">This wasn&#39;t me</button>"] {
        assert!(activity.contains(want), "{want} in {activity}");
    }
    let profile = section(&page, "profile");
    assert!(profile.contains("<dd>alice@example.com</dd>") && profile.contains("<dd>alice</dd>") && profile.contains(r#"href="/account/delete""#), "{profile}");
    for jargon in ["(pwd", "hwk", ">otp", "offline_access", "openid", "mfa"] {
        assert!(!page.body.contains(jargon), "no {jargon:?} on the page: {}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_lists_every_section_sqlite() {
    everything_listed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_lists_every_section_postgres() {
    everything_listed(Backend::Postgres).await;
}

async fn post(browser: &mut Browser, path: &str, extra: &[(&str, &str)]) -> Page {
    let csrf = browser.get("/account").await.field("csrf_token").unwrap_or_default();
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(extra);
    browser.post_form(path, &form).await
}

/// Whether a fresh browser gets past the password step (to the account, or to a second step).
async fn password_works(app: &TestApp, password: &str) -> bool {
    let mut b = app.browser();
    let login = b.get("/login").await;
    let done = b.post_form("/login", &[("csrf_token", &login.field("csrf_token").unwrap_or_default()), ("username", USERNAME), ("password", password)]).await;
    done.location.is_some_and(|l| l == "/account" || l.starts_with("/login/mfa"))
}

async fn password_rules(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let mut laptop = app.browser();
    password_sign_in(&mut laptop).await;
    // No passkey: removing the password would leave no way in.
    let refused = post(&mut laptop, "/account/password/remove", &[]).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("Add a passkey before you remove your password"), "{}", refused.body);
    let set = post(&mut laptop, "/account/password/set", &[("new_password", "another long passphrase")]).await;
    assert_eq!(set.status, 400, "a password exists: change it instead");
    assert!(set.body.contains("You already have a password"), "{}", set.body);

    let mut key = register(&app, &mut laptop, "Only key").await;
    assert!(laptop.get("/account").await.body.contains(">Remove password</button>"), "the first passkey came with backup codes: a second way in");
    // Codes all used (or an account from before the first passkey brought them): none left.
    let user_id = app.state.authn.find_by_username(USERNAME).await.expect("db").expect("alice").id.0;
    app.state.stores.db.run(move |c| latchkey_store::repo::mfa::replace_backup_codes(c, &user_id, &[])).await.expect("no codes");
    assert!(!laptop.get("/account").await.body.contains(">Remove password</button>"), "one passkey and nothing else: not offered");
    // The session is password-only; the account now has a passkey: step up first.
    let step_up = post(&mut laptop, "/account/password/remove", &[]).await;
    assert_eq!(step_up.location.as_deref(), Some("/login?next=/account"), "a password alone never unlocks it");
    let login = laptop.get("/login").await;
    assert_eq!(passkey_sign_in(&mut laptop, &login, &mut key, &app.issuer).await.0, 200);
    let refused = post(&mut laptop, "/account/password/remove", &[]).await;
    assert_eq!(refused.status, 400, "one passkey and no second way in");
    assert!(refused.body.contains("Add a second passkey, an authenticator app or backup codes"), "{}", refused.body);

    let codes = post(&mut laptop, "/account/recovery-codes", &[]).await;
    assert_eq!(codes.status, 200, "backup codes: a second way in");
    let mut phone = Browser::with_user_agent(&app.issuer, app.addr, PHONE_UA);
    let login = phone.get("/login").await;
    assert_eq!(passkey_sign_in(&mut phone, &login, &mut key, &app.issuer).await.0, 200);
    assert!(laptop.get("/account").await.body.contains(">Remove password</button>"));

    // Forged: no valid form token.
    let forged = laptop.post_form("/account/password/remove", &[("csrf_token", "forged")]).await;
    assert_eq!(forged.status, 403);
    // Not recent: five minutes after the sign-in, sign in again first.
    app.clock.advance(301);
    let stale = post(&mut laptop, "/account/password/remove", &[]).await;
    assert_eq!(stale.location.as_deref(), Some("/login?next=/account"));
    assert!(password_works(&app, PASSWORD).await, "nothing was removed so far");

    let login = laptop.get("/login").await;
    assert_eq!(passkey_sign_in(&mut laptop, &login, &mut key, &app.issuer).await.0, 200);
    let removed = post(&mut laptop, "/account/password/remove", &[]).await;
    assert_eq!(removed.location.as_deref(), Some("/account"), "{}", removed.body);
    assert!(!password_works(&app, PASSWORD).await, "password sign-in fails once it is removed");
    assert_eq!(phone.get("/account").await.location.as_deref(), Some("/login"), "other sessions ended");
    let page = laptop.get("/account").await;
    assert_eq!(page.status, 200, "this session stays");
    assert!(page.body.contains(">Set a password</a>") && page.body.contains("Password removed"), "{}", section(&page, "sign-in-methods"));
    super::wait_for_mail(&app, "alice@example.com", "Your password was removed").await;
    let again = post(&mut laptop, "/account/password/remove", &[]).await;
    assert_eq!(again.status, 400, "nothing left to remove");

    // Setting one: CSRF, a recent sign-in, the password policy, then once only.
    let forged = laptop.post_form("/account/password/set", &[("csrf_token", "forged"), ("new_password", "a brand new passphrase")]).await;
    assert_eq!(forged.status, 403);
    assert!(laptop.get("/account/password").await.body.contains("<h1>Set a password</h1>"));
    app.clock.advance(301);
    let stale = post(&mut laptop, "/account/password/set", &[("new_password", "a brand new passphrase")]).await;
    assert_eq!(stale.location.as_deref(), Some("/login?next=/account/password"));
    let login = laptop.get("/login").await;
    assert_eq!(passkey_sign_in(&mut laptop, &login, &mut key, &app.issuer).await.0, 200);
    let weak = post(&mut laptop, "/account/password/set", &[("new_password", "short")]).await;
    assert_eq!(weak.status, 400);
    assert!(weak.body.contains("The new password cannot be used"), "{}", weak.body);
    let set = post(&mut laptop, "/account/password/set", &[("new_password", "a brand new passphrase")]).await;
    assert_eq!(set.location.as_deref(), Some("/account"), "{}", set.body);
    assert!(password_works(&app, "a brand new passphrase").await);
    super::wait_for_mail(&app, "alice@example.com", "A password was added to your account").await;
    let twice = post(&mut laptop, "/account/password/set", &[("new_password", "yet another passphrase")]).await;
    assert_eq!(twice.status, 400);
    assert!(!password_works(&app, "yet another passphrase").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_and_remove_password_keep_a_way_in_sqlite() {
    password_rules(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_and_remove_password_keep_a_way_in_postgres() {
    password_rules(Backend::Postgres).await;
}

async fn not_me(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let bob_user = app.add_user("bob", PASSWORD).await;
    let mut laptop = app.browser();
    password_sign_in(&mut laptop).await;
    let mut phone = Browser::with_user_agent(&app.issuer, app.addr, PHONE_UA);
    crate::sessions::sign_in_direct(&mut phone, USERNAME, false).await;
    let mut bob = app.browser();
    crate::sessions::sign_in_direct(&mut bob, "bob", false).await;
    let filter = latchkey_store::repo::audit::Filter { user_id: Some(bob_user.id.0.clone()), kind: Some("sign_in".into()), ..Default::default() };
    let bobs_event = app.state.oauth.audit_search(filter, None, 1).await.expect("audit").events.pop().expect("bob's sign-in").id;

    let page = laptop.get("/account").await;
    let activity = rows(section(&page, "recent-activity"), "activity");
    let mine = activity.iter().find(|r| r.contains("this browser")).expect("this browser's sign-in");
    assert!(!mine.contains("This wasn"), "no 'This wasn't me' for what this browser did: {mine}");
    let theirs = activity.iter().find(|r| r.contains("Safari on iPhone") && r.contains("Signed in with password")).expect("the phone's sign-in");
    let event = value_of(theirs, "event").expect("the row's event id");
    let csrf = page.field("csrf_token").unwrap_or_default();

    let forged = laptop.post_form("/account/activity/not-me", &[("csrf_token", "forged"), ("event", &event)]).await;
    assert_eq!(forged.status, 403);
    // Bob cannot end Alice's session with her event id, nor Alice with his.
    let bob_csrf = bob.get("/account").await.field("csrf_token").unwrap_or_default();
    let other = bob.post_form("/account/activity/not-me", &[("csrf_token", &bob_csrf), ("event", &event)]).await;
    assert_eq!(other.status, 400);
    let bobs = laptop.post_form("/account/activity/not-me", &[("csrf_token", &csrf), ("event", &bobs_event)]).await;
    assert_eq!(bobs.status, 400);
    assert_eq!(phone.get("/account").await.status, 200, "nothing ended so far");

    let done = laptop.post_form("/account/activity/not-me", &[("csrf_token", &csrf), ("event", &event)]).await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("That session has ended"), "{}", done.body);
    assert_eq!(phone.get("/account").await.location.as_deref(), Some("/login"), "the phone's session is over");
    assert_eq!(laptop.get("/account").await.status, 200, "the owner's stays");
    assert_eq!(bob.get("/account").await.status, 200, "and nobody else's ends");
    let again = laptop.post_form("/account/activity/not-me", &[("csrf_token", &csrf), ("event", &event)]).await;
    assert!(again.body.contains("Nothing left to end"), "{}", again.body);
    let after = laptop.get("/account").await;
    assert!(section(&after, "recent-activity").contains("You reported activity you did not recognise"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_wasnt_me_on_an_activity_row_ends_that_session_sqlite() {
    not_me(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_wasnt_me_on_an_activity_row_ends_that_session_postgres() {
    not_me(Backend::Postgres).await;
}

/// Both passkeys and the password removed at the same moment, each allowed
/// alone (a password, or another passkey, stays): one way in always remains.
async fn removals_at_once(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let (laptop, _) = two_passkeys(&app).await;
    let tab = |cookies: &std::collections::BTreeMap<String, String>| {
        let mut b = app.browser();
        b.cookies = cookies.clone();
        b
    };
    let (mut a, mut b, mut c) = (tab(&laptop.cookies), tab(&laptop.cookies), tab(&laptop.cookies));
    let page = a.get("/account").await;
    let csrf = page.field("csrf_token").unwrap_or_default();
    let ids: Vec<String> = rows(section(&page, "sign-in-methods"), "passkeys").iter().filter_map(|r| value_of(r, "id")).collect();
    assert_eq!(ids.len(), 2);
    let (first, second, password) = ([("csrf_token", csrf.as_str()), ("id", &ids[0])], [("csrf_token", csrf.as_str()), ("id", &ids[1])], [("csrf_token", csrf.as_str())]);
    let (ra, rb, rc) = tokio::join!(a.post_form("/account/passkeys/remove", &first), b.post_form("/account/passkeys/remove", &second), c.post_form("/account/password/remove", &password));
    let done = [&ra, &rb, &rc].iter().filter(|r| r.location.as_deref() == Some("/account")).count();
    assert_eq!(done, 2, "exactly one of the three is refused: {} {} {}", ra.status, rb.status, rc.status);
    let user = app.state.authn.find_by_username(USERNAME).await.expect("store").expect("user");
    let passkeys = app.state.passkeys.list(&user.id).await.expect("store").len();
    assert!(user.password_hash.is_some() || passkeys > 0, "a way in stays (password: {}, passkeys: {passkeys})", user.password_hash.is_some());
    assert_eq!(password_works(&app, PASSWORD).await, user.password_hash.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_at_once_keep_a_way_in_sqlite() {
    removals_at_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_at_once_keep_a_way_in_postgres() {
    removals_at_once(Backend::Postgres).await;
}
