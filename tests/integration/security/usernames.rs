//! Issue #24, items 2, 5, 22 and 25: one account per username whatever its
//! case, counters and device cookies keyed on the account, usernames that
//! cannot pass for ids or addresses, failed sign-ins in the targeted
//! account's trail, and administrators made and unmade safely.

use latchkey_authn::throttle::MAX_FAILURES_PER_ACCOUNT;
use latchkey_authn::{AuthnError, NewUser};
use latchkey_domain::Secret;
use latchkey_store::db::DbConnection;
use latchkey_store::{Db, DbConfig, StoreError};
use serde_json::{json, Value};

use crate::accounts::{admin_token, wait_for_mail};
use crate::sessions::sign_in_direct;
use crate::support::raw::bearer;
use crate::support::{Backend, Browser, TestApp, PASSWORD, USERNAME};

/// A password sign-in from `browser`; the answer's status.
async fn try_password(browser: &mut Browser, username: &str, password: &str) -> u16 {
    let csrf = browser.get("/login").await.field("csrf_token").unwrap_or_default();
    browser.post_form("/login", &[("csrf_token", &csrf), ("username", username), ("password", password)]).await.status
}

fn new_user(username: &str, email: &str) -> NewUser {
    NewUser { username: username.into(), email: email.into(), password: Secret::new(PASSWORD), admin: false }
}

/// Runs SQL on the app's database (to stage data older code could write).
async fn exec(app: &TestApp, sql: &str) {
    let sql = sql.to_string();
    app.state
        .stores
        .db
        .run(move |c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute(&sql).map_err(StoreError::from)
        })
        .await
        .expect("sql");
}

fn insert_user_sql(id: &str, username: &str, email: &str) -> String {
    format!("INSERT INTO users (id, username, email, admin, created_at, email_verified) VALUES ('{id}', '{username}', '{email}', FALSE, 0, FALSE)")
}

/// Item 2: `ALICE` can no longer be a second account beside `alice`, so
/// nobody can reset alice's failure counter by signing in as their own
/// case variant: one counter, whatever case is typed.
async fn case_variants_are_one_account(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    app.add_user(USERNAME, PASSWORD).await;
    for variant in ["ALICE", "Alice", "aLiCe"] {
        let r = app.state.authn.create_user(new_user(variant, "mallory@example.com")).await;
        assert!(matches!(r, Err(AuthnError::UserExists)), "{variant}: {r:?}");
        let r = app.state.authn.create_without_credentials(variant, "mallory@example.com", false).await;
        assert!(matches!(r, Err(AuthnError::UserExists)), "{variant} (invitation or sign-up): {r:?}");
    }
    assert_eq!(app.state.authn.find_by_username("ALICE").await.expect("lookup").map(|u| u.username), Some(USERNAME.to_string()), "the name is found whatever its case");
    for i in 0..MAX_FAILURES_PER_ACCOUNT {
        let name = if i % 2 == 0 { "alice" } else { "ALICE" };
        assert_eq!(try_password(&mut app.browser(), name, "a wrong guess").await, 401, "guess {i}");
    }
    assert_eq!(try_password(&mut app.browser(), "Alice", PASSWORD).await, 429, "every case counted on the one account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_02_case_variants_are_one_account_on_sqlite() {
    case_variants_are_one_account(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_02_case_variants_are_one_account_on_postgres_and_redis() {
    case_variants_are_one_account(Backend::Postgres).await;
}

/// Item 2: a known-device cookie belongs to the account it was issued for,
/// not to a name: after `alice` is deleted and someone else gets the name,
/// the old browser's failures count against the new account's limit for
/// unknown devices (keyed on the name, they were its own fresh budget).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_02_known_device_cookies_are_keyed_on_the_account() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let old = app.add_user(USERNAME, PASSWORD).await;
    let mut old_browser = app.browser();
    sign_in_direct(&mut old_browser, USERNAME, false).await;
    assert!(old_browser.cookies.contains_key("__Host-latchkey-known"), "a known-device cookie was set");
    app.state.authn.delete_user(&old.id).await.expect("deleted");
    app.add_user(USERNAME, PASSWORD).await;
    for i in 0..MAX_FAILURES_PER_ACCOUNT {
        assert_eq!(try_password(&mut old_browser, USERNAME, "a wrong guess").await, 401, "guess {i}");
    }
    assert_eq!(try_password(&mut app.browser(), USERNAME, PASSWORD).await, 429, "the old cookie is no known device of the new account");
}

/// Item 2: the migration that makes usernames unique whatever their case
/// stops, naming the clashing usernames, instead of failing on an index
/// name or merging accounts; after a rename it runs.
async fn the_migration_names_case_clashes(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let down = match backend {
        Backend::Sqlite => {
            include_str!("../../../migrations/sqlite/2026-12-06-000016_usernames_ci/down.sql")
        }
        Backend::Postgres => {
            include_str!("../../../migrations/postgres/2026-12-06-000016_usernames_ci/down.sql")
        }
    };
    exec(&app, down).await;
    exec(&app, "DELETE FROM __diesel_schema_migrations WHERE version = '20261206000016'").await;
    exec(&app, &insert_user_sql("00000000-0000-4000-8000-000000000001", "alice", "a1@example.com")).await;
    exec(&app, &insert_user_sql("00000000-0000-4000-8000-000000000002", "ALICE", "a2@example.com")).await;
    exec(&app, &insert_user_sql("00000000-0000-4000-8000-000000000003", "Bob", "b1@example.com")).await;
    exec(&app, &insert_user_sql("00000000-0000-4000-8000-000000000004", "bob", "b2@example.com")).await;
    let config = DbConfig { url: app.settings.database_url() };
    match Db::connect(&config) {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains("[ALICE, alice]") && message.contains("[Bob, bob]"), "{message}");
            assert!(message.contains("usernames_ci") && message.contains("Rename"), "says which migration and what to do: {message}");
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("the migration ran over clashing usernames"),
    }
    exec(&app, "UPDATE users SET username = 'alice2' WHERE username = 'ALICE'").await;
    exec(&app, "UPDATE users SET username = 'bob2' WHERE username = 'Bob'").await;
    let db = Db::connect(&config).expect("runs once the clashes are renamed");
    let dup = db.run(|c: &mut DbConnection| {
        use diesel::connection::SimpleConnection;
        Ok(c.batch_execute(&insert_user_sql("00000000-0000-4000-8000-000000000005", "ALICE2", "a3@example.com")).is_err())
    });
    assert!(dup.await.expect("db"), "the index holds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_02_the_migration_names_case_clashes_on_sqlite() {
    the_migration_names_case_clashes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_02_the_migration_names_case_clashes_on_postgres() {
    the_migration_names_case_clashes(Backend::Postgres).await;
}

/// Item 5: no new username is an address or shaped like a user id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_05_usernames_cannot_be_addresses_or_ids() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, |s| s.signup_open = true).await else {
        return;
    };
    let victim = app.add_user(USERNAME, PASSWORD).await;
    for name in ["alice@example.com", victim.id.0.as_str(), &victim.id.0.to_uppercase(), "someone@elsewhere"] {
        let r = app.state.authn.create_user(new_user(name, "mallory@example.com")).await;
        assert!(matches!(r, Err(AuthnError::InvalidInput(_))), "{name}: {r:?}");
        let r = app.state.authn.create_without_credentials(name, "mallory@example.com", false).await;
        assert!(matches!(r, Err(AuthnError::InvalidInput(_))), "{name}: {r:?}");
    }
    let mut b = app.browser();
    let csrf = b.get("/signup").await.field("csrf_token").unwrap_or_default();
    let page = b.post_form("/signup", &[("csrf_token", &csrf), ("username", &victim.id.0), ("email", "mallory@example.com")]).await;
    assert_eq!(page.status, 400, "refused on the sign-up page too");
}

/// Item 5: accounts made before the rule whose usernames are another
/// account's id or address cannot stand in for it: the admin API resolves
/// an id as an id (granting admin to the id's owner, not to the squatter),
/// the audit filter finds the id's owner, recovery by address mails the
/// address's owner.
async fn ids_and_addresses_resolve_to_their_owners(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let victim = app.add_user(USERNAME, PASSWORD).await;
    exec(&app, &insert_user_sql("00000000-0000-4000-8000-00000000000a", &victim.id.0, "mallory@example.com")).await;
    exec(&app, &insert_user_sql("00000000-0000-4000-8000-00000000000b", "alice@example.com", "mallory2@example.com")).await;
    let token = admin_token(&app).await;
    let granted = bearer(&app, "POST", &format!("/admin/api/v1/users/{}/grant-admin", victim.id.0), &token).await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(granted.body["user_id"], json!(victim.id.0), "the id's owner");
    let squatter = app.state.authn.find_by_username(&victim.id.0).await.expect("lookup").expect("the squatter");
    assert!(!squatter.admin, "the account named like the id was not elevated");
    assert!(app.state.authn.user(&victim.id).await.expect("lookup").expect("victim").admin);
    let fetched = bearer(&app, "GET", &format!("/admin/api/v1/users/{}", victim.id.0), &token).await;
    assert_eq!(fetched.body["username"], json!(USERNAME));
    let audit = bearer(&app, "GET", &format!("/admin/api/v1/audit?user={}", victim.id.0), &token).await;
    let events = audit.body["events"].as_array().cloned().unwrap_or_default();
    assert!(events.iter().any(|e| e["kind"] == "admin_granted"), "{}", audit.body);
    assert!(events.iter().all(|e| e["user_id"] == json!(victim.id.0)), "{}", audit.body);

    let mut r = app.browser();
    let csrf = r.get("/recover").await.field("csrf_token").unwrap_or_default();
    r.post_form("/recover", &[("csrf_token", &csrf), ("login", "alice@example.com")]).await;
    wait_for_mail(&app, "alice@example.com", "Someone asked to recover your account").await;
    assert_eq!(crate::accounts::count_mail(&app, "mallory2@example.com", "Someone asked to recover your account"), 0, "the squatter got no recovery link");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_05_ids_and_addresses_resolve_to_their_owners_on_sqlite() {
    ids_and_addresses_resolve_to_their_owners(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_05_ids_and_addresses_resolve_to_their_owners_on_postgres_and_redis() {
    ids_and_addresses_resolve_to_their_owners(Backend::Postgres).await;
}

/// Item 22: a wrong password for an existing account is in that account's
/// trail (the admin's `?user=` filter and the user's recent activity); one
/// for a name nobody has records no id and not the typed text.
async fn failed_sign_ins_are_attributed(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let alice = app.add_user(USERNAME, PASSWORD).await;
    assert_eq!(try_password(&mut app.browser(), "ALICE", "a wrong guess").await, 401);
    assert_eq!(try_password(&mut app.browser(), "nobody-typed-this", "a wrong guess").await, 401);
    let token = admin_token(&app).await;
    let audit = bearer(&app, "GET", "/admin/api/v1/audit?user=alice&kind=login_failed", &token).await;
    let events = audit.body["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(events.len(), 1, "{}", audit.body);
    assert_eq!(events[0]["user_id"], json!(alice.id.0));
    let all = bearer(&app, "GET", "/admin/api/v1/audit?kind=login_failed", &token).await;
    let all = all.body["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(all.len(), 2, "{all:?}");
    let unknown: Vec<&Value> = all.iter().filter(|e| e["user_id"] != json!(alice.id.0)).collect();
    assert_eq!(unknown.len(), 1);
    assert!(unknown[0]["user_id"].is_null(), "no id for an unknown name: {:?}", unknown[0]);
    assert!(!serde_json::to_string(&all).unwrap_or_default().contains("nobody-typed-this"), "never the typed name");

    let mut own = app.browser();
    sign_in_direct(&mut own, USERNAME, false).await;
    let page = own.get("/account").await;
    assert!(page.body.contains("A sign-in attempt failed"), "the owner sees it in Recent activity: {}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_22_failed_sign_ins_are_attributed_on_sqlite() {
    failed_sign_ins_are_attributed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_22_failed_sign_ins_are_attributed_on_postgres_and_redis() {
    failed_sign_ins_are_attributed(Backend::Postgres).await;
}

/// `PATCH /admin/api/v1/users/{name}` with a JSON body.
async fn patch_user(app: &TestApp, token: &str, name: &str, body: Value) -> (u16, Value) {
    let r = app.http().patch(app.url(&format!("/admin/api/v1/users/{name}"))).bearer_auth(token).header("content-type", "application/json").body(body.to_string()).send().await.expect("admin API");
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null))
}

/// Item 25: an existing user is made an administrator through the admin
/// API's user `PATCH` (and the CLI's `user update --admin`, the same
/// operation); the last administrator is never demoted, whoever asks.
async fn admins_are_made_and_the_last_one_kept(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let alice = app.add_user(USERNAME, PASSWORD).await;
    let bob = app.add_user("bob", PASSWORD).await;
    let token = admin_token(&app).await;
    let (status, body) = patch_user(&app, &token, USERNAME, json!({ "admin": true })).await;
    assert_eq!((status, &body["admin"]), (200, &json!(true)), "{body}");
    assert!(app.state.authn.user(&alice.id).await.expect("lookup").expect("alice").admin);
    let (status, body) = patch_user(&app, &token, USERNAME, json!({ "admin": false })).await;
    assert_eq!(status, 409, "the last administrator stays one: {body}");
    assert!(app.state.authn.user(&alice.id).await.expect("lookup").expect("alice").admin);
    let r = app.state.admin(latchkey_app::admin::Actor::Cli).set_admin(&alice, false).await;
    assert!(matches!(r, Err(latchkey_app::AppError::Refused(latchkey_app::Refusal::LastAdmin))), "the CLI's path refuses too: {r:?}");
    let (status, _) = patch_user(&app, &token, "bob", json!({ "admin": true })).await;
    assert_eq!(status, 200);
    let (status, body) = patch_user(&app, &token, USERNAME, json!({ "admin": false, "name": "Alice A." })).await;
    assert_eq!((status, &body["admin"], &body["name"]), (200, &json!(false), &json!("Alice A.")), "with another admin left: {body}");
    // Two administrators demoted at once: one of them stays.
    app.state.authn.set_admin(&alice.id, true).await.expect("promoted");
    let (alice, bob) = (app.state.authn.user(&alice.id).await.expect("lookup").expect("alice"), app.state.authn.user(&bob.id).await.expect("lookup").expect("bob"));
    let cli = app.state.admin(latchkey_app::admin::Actor::Cli);
    let (a, b) = tokio::join!(cli.set_admin(&alice, false), cli.set_admin(&bob, false));
    let admins = app.state.authn.list_users().await.expect("users").into_iter().filter(|u| u.admin).count();
    assert_eq!(admins, 1, "{a:?} {b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_25_admins_are_made_and_the_last_one_kept_on_sqlite() {
    admins_are_made_and_the_last_one_kept(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_25_admins_are_made_and_the_last_one_kept_on_postgres_and_redis() {
    admins_are_made_and_the_last_one_kept(Backend::Postgres).await;
}
