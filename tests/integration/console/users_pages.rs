//! The console's users list and a user's page (issue #28): search, sort,
//! pages and badges in words over sixty users with mixed credentials; bulk
//! actions through the confirmation page, acting on exactly the selected
//! users and never on oneself; notices a link cannot forge; destructive
//! actions on a user's page that ask first and do nothing until confirmed
//! (and nothing at all without the form's CSRF token); the invitation's
//! set-up link; the same pages in German.

use latchkey_domain::{Amr, Profile, Session, SessionKey, User, UserId};
use latchkey_store::repo::mfa::TotpCredential;
use latchkey_store::repo::passkeys::StoredPasskey;
use latchkey_store::repo::{mfa, passkeys, sessions, users};

use super::{admin_browser, ADMIN};
use crate::accounts::{link_in, wait_for_mail};
use crate::sessions::{sign_in_direct, signed_in};
use crate::support::browser::Page;
use crate::support::{Backend, Browser, TestApp, PASSWORD};

const DAY: i64 = 86_400;
const SEEDED: usize = 60;
const CSRF_COOKIE: &str = "__Host-latchkey-csrf";

/// How a seeded user signs in: `user{i}` is kind `i % 4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    PasswordOnly,
    Passkey,
    SecondFactor,
    Invited,
}

fn kind_of(i: usize) -> Kind {
    [Kind::PasswordOnly, Kind::Passkey, Kind::SecondFactor, Kind::Invited][i % 4]
}

fn a_session(user: &UserId, at: i64) -> Session {
    Session {
        key: SessionKey(uuid::Uuid::new_v4().simple().to_string()),
        sid: uuid::Uuid::new_v4().simple().to_string(),
        user_id: user.clone(),
        created_at: at,
        last_seen_at: at,
        auth_time: at,
        amr: vec![Amr::Pwd],
        ip: Some("192.0.2.7".into()),
        user_agent: None,
        revoked_at: Some(at + 60),
        device_name: Some("Firefox on Linux".into()),
        device_id: None,
        restored: false,
    }
}

/// A confirmed authenticator app (the secret is never used here).
fn an_app(user: &UserId, now: i64) -> TotpCredential {
    TotpCredential { user_id: user.0.clone(), secret_enc: "sealed".into(), confirmed_at: Some(now), last_step: 0, created_at: now }
}

/// A synced passkey (webauthn-rs keeps the backup flags in its JSON).
fn a_passkey(user: &UserId, name: &str, created_at: i64, last_used_at: Option<i64>) -> StoredPasskey {
    StoredPasskey {
        id: format!("pk-{}", uuid::Uuid::new_v4().simple()),
        user_id: user.0.clone(),
        name: name.into(),
        passkey: r#"{"cred":{"backup_eligible":true}}"#.into(),
        created_at,
        last_used_at,
        aaguid: None,
    }
}

/// `user00`…`user59` straight into the store: created `100 - i` days ago;
/// every one but the invited signed in `i + 1` days ago (a revoked session,
/// as sessions are kept); passkey users with a passkey last used two days
/// ago, second-factor users with a password and an authenticator app.
async fn seed(app: &TestApp) -> Vec<User> {
    let now = app.clock_now();
    let mut out = Vec::new();
    for i in 0..SEEDED {
        let kind = kind_of(i);
        let age = i64::try_from(i).unwrap_or_default();
        let user = User {
            id: UserId(uuid::Uuid::new_v4().to_string()),
            username: format!("user{i:02}"),
            email: format!("user{i:02}@example.com"),
            password_hash: matches!(kind, Kind::PasswordOnly | Kind::SecondFactor).then(|| "$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtc2FsdA$bm90LWEtaGFzaA".to_string()),
            admin: false,
            created_at: now - (100 - age) * DAY,
            email_verified: true,
            profile: Profile::default(),
            disabled_at: None,
            passkey_only: false,
        };
        let u = user.clone();
        app.state
            .stores
            .db
            .run(move |c| {
                users::insert(c, &u)?;
                match kind {
                    Kind::Passkey => passkeys::insert(c, &a_passkey(&u.id, "Laptop", u.created_at, Some(now - 2 * DAY)))?,
                    Kind::SecondFactor => mfa::put_pending(c, &an_app(&u.id, now))?,
                    Kind::PasswordOnly | Kind::Invited => {}
                }
                if kind != Kind::Invited {
                    sessions::insert(c, &a_session(&u.id, now - (age + 1) * DAY))?;
                }
                Ok(())
            })
            .await
            .expect("seed");
        out.push(user);
    }
    out
}

/// The usernames of a list page, top to bottom.
fn names(page: &Page) -> Vec<String> {
    page.body.split(r#"<th scope="row"><a href="/admin/users/"#).skip(1).filter_map(|s| s.split_once("\">").and_then(|(_, rest)| rest.split_once("</a>")).map(|(n, _)| n.to_string())).collect()
}

/// The table row of `username`.
fn row<'a>(page: &'a Page, username: &str) -> &'a str {
    page.body.split("<tr>").find(|r| r.contains(&format!("\">{username}</a></th>"))).unwrap_or_else(|| panic!("no row for {username} in {}", page.body))
}

/// The status line, if the page shows one.
fn notice(page: &Page) -> Option<String> {
    let start = page.body.find(r#"<p class="notice" role="status">"#)? + r#"<p class="notice" role="status">"#.len();
    Some(page.body[start..].split("</p>").next().unwrap_or_default().to_string())
}

/// The hidden fields of the confirmation page's form, `confirmed=yes` included.
fn confirm_fields(page: &Page) -> Vec<(String, String)> {
    page.body
        .split(r#"<input type="hidden" name=""#)
        .skip(1)
        .filter_map(|s| {
            let (name, rest) = s.split_once('"')?;
            let value = rest.split_once("value=\"")?.1.split_once('"')?.0;
            Some((name.to_string(), value.replace("&#x2d;", "-").replace("&#45;", "-")))
        })
        .collect()
}

async fn post(b: &mut Browser, url: &str, fields: &[(String, String)]) -> Page {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post_form(url, &fields).await
}

/// A bulk action's form as the list posts it.
fn bulk_form(csrf: &str, action: &str, users: &[&User]) -> Vec<(String, String)> {
    let mut form = vec![("csrf_token".to_string(), csrf.to_string()), ("action".to_string(), action.to_string())];
    form.extend(users.iter().map(|u| ("user".to_string(), u.id.0.clone())));
    form.extend([("q".to_string(), String::new()), ("sort".to_string(), "username".to_string()), ("page".to_string(), "1".to_string())]);
    form
}

async fn fresh(app: &TestApp, id: &UserId) -> User {
    app.state.authn.user(id).await.expect("lookup").expect("still there")
}

async fn users_list_and_bulk_actions(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let (mut admin, _, root) = admin_browser(&app).await;
    let seeded = seed(&app).await;
    let by_name = |n: &str| seeded.iter().find(|u| u.username == n).cloned().unwrap_or_else(|| panic!("{n}"));

    // Pages of 50 by username, each user exactly once, a count in words.
    let first = admin.get("/admin/users").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.contains("61 users") && first.body.contains("showing 1–50") && first.body.contains("Page 1 of 2"), "{}", first.body);
    assert!(first.body.contains(r#"<th scope="col" aria-sort="ascending"><a href="/admin/users?sort=-username">Username</a>"#), "the current order is marked");
    assert!(first.body.contains(r#"<a href="/admin/users?page=2" rel="next">Next</a>"#) && !first.body.contains(r#"rel="prev""#));
    let second = admin.get("/admin/users?page=2").await;
    assert!(second.body.contains("showing 51–61") && second.body.contains(r#"<a href="/admin/users" rel="prev">Previous</a>"#), "{}", second.body);
    let mut listed = names(&first);
    assert_eq!(listed.len(), 50);
    listed.extend(names(&second));
    let mut expected: Vec<String> = seeded.iter().map(|u| u.username.clone()).collect();
    expected.push(ADMIN.to_string());
    expected.sort();
    assert_eq!(listed, expected, "every user exactly once, by username");
    assert_eq!(names(&admin.get("/admin/users?page=99").await).len(), 11, "past the end: the last page");

    // Search: username or email, case-insensitive; the order and search stay in the links.
    let found = admin.get("/admin/users?q=USER1").await;
    assert_eq!(names(&found), (10..20).map(|i| format!("user{i}")).collect::<Vec<_>>(), "usernames and emails containing it");
    assert!(found.body.contains("10 users match “USER1”"), "{}", found.body);
    assert_eq!(names(&admin.get("/admin/users?q=user07%40example").await), ["user07"]);
    let none = admin.get("/admin/users?q=nobody-here").await;
    assert!(none.body.contains("No user matches “nobody-here”") && names(&none).is_empty());

    // Last sign-in, newest first: the admin (just now), then by days; never signed in last.
    let recent = admin.get("/admin/users?sort=-last-sign-in").await;
    assert_eq!(&names(&recent)[..5], [ADMIN, "user00", "user01", "user02", "user04"]);
    assert!(recent.body.contains(r#"aria-sort="descending"><a href="/admin/users?sort=last-sign-in">Last sign-in</a>"#));
    let mut oldest_first = names(&admin.get("/admin/users?sort=last-sign-in").await);
    oldest_first.extend(names(&admin.get("/admin/users?sort=last-sign-in&page=2").await));
    assert_eq!(oldest_first.len(), 61);
    assert!(oldest_first[..15].iter().all(|n| kind_of(n[4..].parse().unwrap_or(0)) == Kind::Invited), "never signed in first: {oldest_first:?}");
    assert_eq!(oldest_first.last().map(String::as_str), Some(ADMIN));
    // Created: oldest first across both pages, the admin (created before the seeding) … last.
    let mut by_created = names(&admin.get("/admin/users?sort=created").await);
    by_created.extend(names(&admin.get("/admin/users?sort=created&page=2").await));
    let mut expected: Vec<String> = (0..SEEDED).map(|i| format!("user{i:02}")).collect();
    expected.push(ADMIN.to_string());
    assert_eq!(by_created, expected);

    // Badges and times in words; ids shortened with the whole id as title; checkboxes named.
    let r = row(&first, "user00");
    assert!(r.contains(">password only<") && r.contains(">yesterday</time>"), "{r}");
    let user00 = by_name("user00");
    assert!(r.contains(&format!(r#"<code class="id" title="{}">{}…</code>"#, user00.id.0, &user00.id.0[..8])), "{r}");
    assert!(r.contains(r#"aria-label="Select user00""#), "{r}");
    assert!(row(&first, "user01").contains(">passkey<"));
    let r = row(&first, "user02");
    assert!(r.contains(">second factor<") && !r.contains("password only") && r.contains(">3 days ago</time>") && r.contains(r#"title="20"#) && r.contains(" UTC\">"), "{r}");
    let r = row(&first, "user03");
    assert!(r.contains(">invited, no sign-in yet<") && r.contains(">never<"), "{r}");
    let r = row(&first, ADMIN);
    assert!(r.contains(">admin<") && r.contains(">second factor<") && r.contains(">just now</time>"), "{r}");

    // Bulk actions: three users with live sessions.
    let mut browsers = Vec::new();
    let mut people = Vec::new();
    for name in ["alice", "bob", "carol"] {
        people.push(app.add_user(name, PASSWORD).await);
        let mut b = app.browser();
        sign_in_direct(&mut b, name, false).await;
        browsers.push(b);
    }
    let (alice, bob, carol) = (people[0].clone(), people[1].clone(), people[2].clone());
    let csrf = admin.get("/admin/users").await.field("csrf_token").unwrap_or_default();

    // Disable alice, bob and oneself: asked first, naming who (and who is skipped).
    let asked = post(&mut admin, "/admin/users/bulk", &bulk_form(&csrf, "disable", &[&alice, &bob, &root])).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(asked.body.contains("Disable 2 users: alice, bob?") && asked.body.contains("Skipped: root (that is you).") && asked.body.contains(">Disable 2 users</button>"), "{}", asked.body);
    assert!(fresh(&app, &alice.id).await.disabled_at.is_none() && signed_in(&mut browsers[0]).await, "nothing happens before the answer");
    // The answer without the form's token changes nothing.
    let mut forged = confirm_fields(&asked);
    forged.retain(|(k, _)| k != "csrf_token");
    forged.push(("csrf_token".into(), "stale".into()));
    assert_eq!(post(&mut admin, "/admin/users/bulk", &forged).await.status, 403);
    assert!(fresh(&app, &alice.id).await.disabled_at.is_none());
    let done = post(&mut admin, "/admin/users/bulk", &confirm_fields(&asked)).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let location = done.location.clone().unwrap_or_default();
    assert!(location.starts_with("/admin/users?done="), "{location}");
    let shown = admin.get(&location).await;
    assert_eq!(notice(&shown).as_deref(), Some("2 users disabled: alice, bob. Skipped: root (that is you)."), "{}", shown.body);
    assert!(row(&shown, "alice").contains(">disabled<") && !row(&shown, "carol").contains(">disabled<"));
    assert!(fresh(&app, &alice.id).await.disabled_at.is_some() && fresh(&app, &bob.id).await.disabled_at.is_some(), "exactly the selected users");
    assert!(fresh(&app, &carol.id).await.disabled_at.is_none() && fresh(&app, &root.id).await.disabled_at.is_none());
    assert!(!signed_in(&mut browsers[0]).await && !signed_in(&mut browsers[1]).await && signed_in(&mut browsers[2]).await);

    // End the sessions of carol and oneself: carol is signed out, the admin is not.
    let asked = post(&mut admin, "/admin/users/bulk", &bulk_form(&csrf, "end-sessions", &[&carol, &root])).await;
    assert!(asked.body.contains("End every session of 1 user: carol?") && asked.body.contains("Skipped: root (that is you)."), "{}", asked.body);
    assert!(signed_in(&mut browsers[2]).await, "nothing before the answer");
    let done = post(&mut admin, "/admin/users/bulk", &confirm_fields(&asked)).await;
    let ended = admin.get(done.location.as_deref().unwrap_or_default()).await;
    assert_eq!(notice(&ended).as_deref(), Some("Sessions of 1 user ended: carol. Skipped: root (that is you)."), "{}", ended.body);
    assert!(!signed_in(&mut browsers[2]).await && fresh(&app, &carol.id).await.disabled_at.is_none(), "signed out, not disabled");
    assert_eq!(admin.get("/admin/users").await.status, 200, "the admin is still signed in");

    // Only oneself selected: nothing to ask, a notice naming the skip.
    let only_me = post(&mut admin, "/admin/users/bulk", &bulk_form(&csrf, "disable", &[&root])).await;
    let shown = admin.get(only_me.location.as_deref().unwrap_or_default()).await;
    assert_eq!(notice(&shown).as_deref(), Some("No user disabled. Skipped: root (that is you)."));
    // Nobody selected: says how.
    let nobody = post(&mut admin, "/admin/users/bulk", &bulk_form(&csrf, "disable", &[])).await;
    assert!(notice(&admin.get(nobody.location.as_deref().unwrap_or_default()).await).unwrap_or_default().starts_with("Select users first"));

    // A notice nobody can forge: altered, unsigned, another browser's, expired.
    let (path, query) = location.split_once('?').unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let (json, sig) = (get("done"), get("sig"));
    assert!(json.contains("\"n\":2"), "{json}");
    let link = |json: &str, sig: Option<&str>| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("done", json);
        if let Some(s) = sig {
            q.append_pair("sig", s);
        }
        format!("{path}?{}", q.finish())
    };
    for forged in [link(&json.replace("\"n\":2", "\"n\":99"), Some(&sig)), link(&json, None), link(&json, Some("AAAA")), link(&json.replace("alice", "mallory"), Some(&sig))] {
        let page = admin.get(&forged).await;
        assert_eq!(page.status, 200);
        assert!(notice(&page).is_none(), "{forged}: {:?}", notice(&page));
    }
    assert!(notice(&admin.get(&link(&json, Some(&sig))).await).is_some(), "the genuine link, in the browser it was made for");
    let own = admin.cookies.insert(CSRF_COOKIE.into(), "x".repeat(43)).unwrap_or_default();
    assert!(notice(&admin.get(&location).await).is_none(), "another browser (another CSRF cookie) sees nothing");
    admin.cookies.insert(CSRF_COOKIE.into(), own);
    app.clock.advance(11 * 60);
    assert!(notice(&admin.get(&location).await).is_none(), "expired after ten minutes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_list_and_bulk_actions_on_sqlite() {
    users_list_and_bulk_actions(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_list_and_bulk_actions_on_postgres_and_redis() {
    users_list_and_bulk_actions(Backend::Postgres).await;
}

/// A user's page in plain words; every destructive action asks first,
/// naming what goes, does nothing until confirmed, nothing at all with a
/// stale or missing CSRF token, and ends on a notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_page_says_it_in_words_and_asks_before_it_takes_anything_away() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (mut admin, _, root) = admin_browser(&app).await;
    let alice = app.add_user("alice", PASSWORD).await;
    let mut phone = app.browser();
    sign_in_direct(&mut phone, "alice", false).await;
    let mut laptop = app.browser();
    sign_in_direct(&mut laptop, "alice", false).await;
    let now = app.clock_now();
    let id = alice.id.clone();
    app.state
        .stores
        .db
        .run(move |c| {
            mfa::put_pending(c, &an_app(&id, now))?;
            mfa::replace_backup_codes(c, &id.0, &(0..8).map(|i| format!("code-hash-{i}")).collect::<Vec<_>>())?;
            passkeys::insert(c, &a_passkey(&id, "Work laptop", now - 30 * DAY, Some(now - 2 * DAY)))
        })
        .await
        .expect("second factor and passkey");
    let user_page = format!("/admin/users/{}", alice.id.0);
    let page = admin.get(&user_page).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for words in [
        "Password set",
        "Authenticator app, 8 backup codes left",
        "<strong>Work laptop</strong>",
        "Synced passkey",
        "last used <time",
        ">2 days ago</time>",
        "signed in <time",
        ">second factor<",
        ">passkey<",
    ] {
        assert!(page.body.contains(words), "{words} in {}", page.body);
    }
    for raw in ["Password: none", "Passkey “", "backup codes left: "] {
        assert!(!page.body.contains(raw), "no {raw}");
    }
    act_ok(&mut admin, &user_page, "grant-admin").await;

    // Each destructive action: the question first, naming what goes; nothing changes.
    let questions = [
        ("disable", "Disable alice?"),
        ("delete", "Delete alice?"),
        ("reset-mfa", "Reset the second factor of alice?"),
        ("end-sessions", "End 2 sessions of alice?"),
        ("revoke-admin", "Remove the admin rights of alice?"),
    ];
    for (action, question) in questions {
        let csrf = admin.get(&user_page).await.field("csrf_token").unwrap_or_default();
        let asked = admin.post_form(&format!("{user_page}/action"), &[("csrf_token", &csrf), ("action", action)]).await;
        assert_eq!(asked.status, 200, "{action}: {}", asked.body);
        assert!(asked.body.contains(&format!("<h1>{question}</h1>")) && asked.body.contains(r#"name="confirmed" value="yes""#), "{action}: {}", asked.body);
        if action == "reset-mfa" {
            assert!(asked.body.contains("The authenticator app and 8 backup codes are removed."), "{}", asked.body);
        }
        // Confirmed, but with a stale token or none: refused, nothing done.
        let stale = admin.post_form(&format!("{user_page}/action"), &[("csrf_token", "stale"), ("action", action), ("confirmed", "yes")]).await;
        assert_eq!(stale.status, 403, "{action}");
        let missing = admin.post_form(&format!("{user_page}/action"), &[("action", action), ("confirmed", "yes")]).await;
        assert!(missing.status == 400 || missing.status == 403, "{action}: {}", missing.status);
        let now = fresh(&app, &alice.id).await;
        assert!(now.admin && now.disabled_at.is_none(), "{action}: nothing changed");
        assert!(app.state.mfa.has_second_factor(&now).await.expect("mfa") && signed_in(&mut phone).await, "{action}: nothing changed");
    }

    // Confirmed: done, and the page says so.
    let csrf = admin.get(&user_page).await.field("csrf_token").unwrap_or_default();
    let done = admin.post_form(&format!("{user_page}/action"), &[("csrf_token", &csrf), ("action", "end-sessions"), ("confirmed", "yes")]).await;
    let shown = admin.get(done.location.as_deref().unwrap_or_default()).await;
    assert_eq!(notice(&shown).as_deref(), Some("2 sessions of alice ended, with their remembered devices and tokens."), "{}", shown.body);
    assert!(!signed_in(&mut phone).await && !signed_in(&mut laptop).await);
    assert!(shown.body.contains("Not signed in anywhere."));
    let done = admin.post_form(&format!("{user_page}/action"), &[("csrf_token", &csrf), ("action", "reset-mfa"), ("confirmed", "yes")]).await;
    let shown = admin.get(done.location.as_deref().unwrap_or_default()).await;
    assert!(notice(&shown).unwrap_or_default().starts_with("The second factor of alice was reset"), "{}", shown.body);
    assert!(shown.body.contains("No authenticator app") && !shown.body.contains(r#"value="reset-mfa""#), "nothing left to reset");
    // Not destructive: at once, with a notice.
    let done = admin.post_form(&format!("{user_page}/action"), &[("csrf_token", &csrf), ("action", "recovery-link")]).await;
    assert_eq!(done.status, 303);
    assert_eq!(notice(&admin.get(done.location.as_deref().unwrap_or_default()).await).as_deref(), Some("A recovery link was mailed to alice."));
    let done = admin.post_form(&format!("{user_page}/action"), &[("csrf_token", &csrf), ("action", "delete"), ("confirmed", "yes")]).await;
    assert!(done.location.as_deref().unwrap_or_default().starts_with("/admin/users?done="));
    assert_eq!(notice(&admin.get(done.location.as_deref().unwrap_or_default()).await).as_deref(), Some("alice deleted."));
    assert!(app.state.authn.user(&alice.id).await.expect("lookup").is_none());

    // One's own page offers nothing one may not do to oneself.
    let own = admin.get(&format!("/admin/users/{}", root.id.0)).await;
    assert!(own.body.contains("This is you") && !own.body.contains(r#"value="disable""#) && !own.body.contains(r#"value="delete""#) && !own.body.contains(r#"value="revoke-admin""#), "{}", own.body);
}

async fn act_ok(admin: &mut Browser, page: &str, action: &str) {
    let csrf = admin.get(page).await.field("csrf_token").unwrap_or_default();
    let done = admin.post_form(&format!("{page}/action"), &[("csrf_token", &csrf), ("action", action)]).await;
    assert_eq!(done.status, 303, "{action}: {}", done.body);
}

/// "Invite user" answers with the new user's page and the set-up link it
/// mailed (as `latchkey user invite` prints it), with a copy button.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inviting_shows_the_set_up_link_it_mailed() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (mut admin, _, _) = admin_browser(&app).await;
    let csrf = admin.get("/admin/users").await.field("csrf_token").unwrap_or_default();
    let invited = admin.post_form("/admin/users/invite", &[("csrf_token", &csrf), ("username", "dora"), ("email", "dora@example.com")]).await;
    assert_eq!(invited.status, 200, "{}", invited.body);
    assert_eq!(notice(&invited).as_deref(), Some("Invitation mailed to dora@example.com."));
    let shown = link_in(&invited.body, &format!("{}/setup?t=", app.issuer));
    let shown = shown.split('"').next().unwrap_or_default().to_string();
    let mail = wait_for_mail(&app, "dora@example.com", "You are invited to latchkey").await;
    assert_eq!(link_in(&mail.body, &format!("{}/setup?t=", app.issuer)), shown, "the link shown is the one mailed");
    assert!(invited.body.contains(&format!(r#"<input id="invite-url" type="text" value="{shown}" readonly>"#)), "selectable without JavaScript");
    assert!(invited.body.contains(r#"data-copy="invite-url""#) && invited.body.contains(r#"<script src="/static/copy.js" defer></script>"#));
    assert!(invited.body.contains(">invited, no sign-in yet<") && invited.body.contains("No password yet"));
    let script = admin.get("/static/copy.js").await;
    assert!(script.status == 200 && script.header("content-type").unwrap_or_default().starts_with("text/javascript") && script.body.contains("clipboard"));
    // The link is in that answer only: never in a URL, not on the user's page later.
    let dora = app.state.authn.find_by_username("dora").await.expect("lookup").expect("dora");
    assert!(!admin.get(&format!("/admin/users/{}", dora.id.0)).await.body.contains(&shown));
    // The same username again: the form again, with what was typed and why.
    let again = admin.post_form("/admin/users/invite", &[("csrf_token", &csrf), ("username", "dora"), ("email", "dora2@example.com")]).await;
    assert_eq!(again.status, 400);
    assert!(again.body.contains("That username is taken.") && again.body.contains(r#"value="dora2@example.com""#), "{}", again.body);
    let list = admin.get("/admin/users").await;
    assert!(row(&list, "dora").contains(">invited, no sign-in yet<"));
}

/// Non-admins never reach the bulk actions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_reach_bulk_actions() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let alice = app.add_user("alice", PASSWORD).await;
    let bob = app.add_user("bob", PASSWORD).await;
    let mut b = app.browser();
    sign_in_direct(&mut b, "alice", false).await;
    let csrf = b.get("/account").await.field("csrf_token").unwrap_or_default();
    let r = post(&mut b, "/admin/users/bulk", &bulk_form(&csrf, "disable", &[&bob])).await;
    assert_eq!(r.status, 403);
    let r = post(&mut app.browser(), "/admin/users/bulk", &bulk_form(&csrf, "disable", &[&bob])).await;
    assert!(r.location.as_deref().unwrap_or_default().starts_with("/login"), "signed out: to sign-in, nothing done");
    assert!(fresh(&app, &bob.id).await.disabled_at.is_none() && fresh(&app, &alice.id).await.disabled_at.is_none());
}

/// The list, a user's page and a bulk question in German.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_pages_speak_german() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (mut admin, _, _) = admin_browser(&app).await;
    admin.headers.push(("accept-language".into(), "de".into()));
    let seeded = seed(&app).await;
    let list = admin.get("/admin/users").await;
    assert!(list.body.contains(r#"<html lang="de""#), "{}", &list.body[..200.min(list.body.len())]);
    for words in [
        "61 Benutzer",
        "Seite 1 von 2",
        "Letzte Anmeldung",
        "Mit den ausgewählten Benutzern",
        "Sitzungen beenden",
        "Benutzer einladen",
        ">nur Passwort<",
        ">eingeladen, noch nie angemeldet<",
        ">gestern</time>",
        "user00 auswählen",
        ">Weiter</a>",
    ] {
        assert!(list.body.contains(words), "{words}");
    }
    let passkey_user = seeded.iter().find(|u| u.username == "user01").cloned().unwrap_or_else(|| panic!("user01"));
    let page = admin.get(&format!("/admin/users/{}", passkey_user.id.0)).await;
    for words in ["Kein Passwort (nur Passkey)", "Synchronisiert", "zuletzt benutzt", "vor 2 Tagen", "Keine Authenticator-App", "Anmeldemethoden", "Alle Sitzungen beenden"] {
        assert!(page.body.contains(words), "{words} in {}", page.body);
    }
    let csrf = list.field("csrf_token").unwrap_or_default();
    let asked = post(&mut admin, "/admin/users/bulk", &bulk_form(&csrf, "disable", &[&passkey_user])).await;
    assert!(asked.body.contains("1 Benutzer sperren: user01?"), "{}", asked.body);
    let done = post(&mut admin, "/admin/users/bulk", &confirm_fields(&asked)).await;
    assert_eq!(notice(&admin.get(done.location.as_deref().unwrap_or_default()).await).as_deref(), Some("1 Benutzer gesperrt: user01."));
}
