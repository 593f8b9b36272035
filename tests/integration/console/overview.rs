//! The overview (`/admin`): the figures of now, and the charts of the last
//! 30 days drawn from a trail seeded day by day with the app clock. Each
//! chart's numbers (its bars' and points' `data-value`) must equal the
//! table beside it and what was seeded, on both backends.

use std::collections::BTreeMap;

use latchkey_domain::{Actor, ClientId, PasskeyAddedVia, Removal, SecurityEvent, User};
use latchkey_i18n::{Locale, Tr};
use latchkey_store::repo::audit::{self as audit_repo, AuditEvent};
use latchkey_store::repo::passkeys::{self, StoredPasskey};

use super::admin_browser;
use crate::mfa::code_at;
use crate::support::{Backend, TestApp, PASSWORD};

const DAY: i64 = 86_400;
/// The charts' days.
const WINDOW: usize = 30;
/// Days seeded: day 0 is the first, [`TODAY`] the last; the window is the
/// last [`WINDOW`] of them.
const TODAY: i64 = 45;
const FIRST: i64 = TODAY - WINDOW as i64 + 1;

/// The numbers a chart draws: series key → one value per day, and the days (ISO).
#[derive(Debug, PartialEq, Eq)]
struct Drawn {
    days: Vec<String>,
    series: BTreeMap<String, Vec<i64>>,
}

/// The bars or points of the chart `id`: `data-series`, `data-day`, `data-value`.
fn chart(body: &str, id: &str) -> Drawn {
    let start = body.find(&format!(r#"data-chart="{id}""#)).unwrap_or_else(|| panic!("chart {id}"));
    let svg = &body[start..start + body[start..].find("</svg>").expect("the chart ends")];
    let (mut days, mut series) = (Vec::new(), BTreeMap::<String, Vec<i64>>::new());
    for mark in svg.split(r#"data-series=""#).skip(1) {
        let key = mark.split('"').next().unwrap_or_default().to_string();
        let day = attribute(mark, "data-day");
        let value: i64 = attribute(mark, "data-value").parse().expect("a number");
        if !days.contains(&day) {
            days.push(day);
        }
        series.entry(key).or_default().push(value);
    }
    Drawn { days, series }
}

fn attribute(text: &str, name: &str) -> String {
    let at = text.find(&format!(r#"{name}=""#)).unwrap_or_else(|| panic!("{name} in {text}")) + name.len() + 2;
    text[at..].split('"').next().unwrap_or_default().to_string()
}

/// The table of the chart `id`: its columns (series keys) and rows.
fn table(body: &str, id: &str) -> Drawn {
    let start = body.find(&format!(r#"data-numbers="{id}""#)).unwrap_or_else(|| panic!("table {id}"));
    let table = &body[start..start + body[start..].find("</table>").expect("the table ends")];
    let (head, rows) = table.split_once("</thead>").expect("a head");
    assert!(head.contains(r#"<th scope="col">"#), "the day column has a header");
    let keys: Vec<String> = head.split(r#"<th scope="col" data-series=""#).skip(1).map(|c| c.split('"').next().unwrap_or_default().to_string()).collect();
    let mut drawn = Drawn { days: Vec::new(), series: keys.iter().map(|k| (k.clone(), Vec::new())).collect() };
    for row in rows.split("<tr>").skip(1) {
        assert!(row.starts_with(r#"<th scope="row"><time datetime=""#), "each day is a row header: {row}");
        drawn.days.push(attribute(row, "datetime"));
        let cells: Vec<i64> = row.split("<td>").skip(1).map(|c| c.split('<').next().unwrap_or_default().parse().expect("a number")).collect();
        for (k, v) in keys.iter().zip(&cells) {
            drawn.series.get_mut(k).expect("column").push(*v);
        }
        if head.contains(">Total</th>") || head.contains(">Gesamt</th>") {
            assert_eq!(cells.len(), keys.len() + 1, "a total per day");
            assert_eq!(cells[keys.len()], cells[..keys.len()].iter().sum::<i64>(), "the total adds up");
        }
    }
    drawn
}

/// The value of the figure card `key`.
fn figure(body: &str, key: &str) -> i64 {
    let start = body.find(&format!(r#"data-figure="{key}""#)).unwrap_or_else(|| panic!("figure {key}"));
    attribute_free(&body[start..], r#"<span class="figure-value">"#).parse().expect("a number")
}

fn attribute_free(text: &str, after: &str) -> String {
    let at = text.find(after).expect("marker") + after.len();
    text[at..].split('<').next().unwrap_or_default().to_string()
}

/// `f(i)` for each day of the window.
fn per_day(f: impl Fn(i64) -> i64) -> Vec<i64> {
    (0..WINDOW as i64).map(f).collect()
}

async fn record(app: &TestApp, event: SecurityEvent) {
    app.state.oauth.record(&Actor::Anonymous, event).await;
}

async fn add_passkey(app: &TestApp, user: &User, id: &str) {
    let row = StoredPasskey { id: id.into(), user_id: user.id.0.clone(), name: "Key".into(), passkey: "{}".into(), created_at: app.clock_now(), last_used_at: None, aaguid: None };
    app.state.stores.db.run(move |c| passkeys::insert(c, &row)).await.expect("passkey");
    record(app, SecurityEvent::PasskeyAdded { user: user.id.clone(), passkey: id.into(), via: PasskeyAddedVia::Account { name: "Key".into(), others_ended: 0 } }).await;
}

/// Removes a passkey from the account page, or (`review`) from the review page.
async fn remove_passkey(app: &TestApp, user: &User, id: &str, review: bool) {
    let (uid, pid) = (user.id.0.clone(), id.to_string());
    assert!(app.state.stores.db.run(move |c| passkeys::remove(c, &uid, &pid)).await.expect("remove"));
    let event = if review {
        SecurityEvent::RecentCredentialRemoved { user: user.id.clone(), removal: Removal::Account { others_ended: 0 } }
    } else {
        SecurityEvent::PasskeyRemoved { user: user.id.clone(), others_ended: 0 }
    };
    record(app, event).await;
}

async fn enrol_app(app: &TestApp, user: &User) {
    let enrolment = app.state.mfa.start_totp(user).await.expect("start");
    app.state.mfa.confirm_totp(user, &code_at(&enrolment.secret, app.clock_now())).await.expect("confirm");
    record(app, SecurityEvent::TotpEnrolled { user: user.id.clone(), others_ended: 0 }).await;
}

async fn remove_app(app: &TestApp, user: &User, review: bool) {
    app.state.mfa.remove_totp(user).await.expect("remove");
    let event = if review {
        SecurityEvent::RecentCredentialRemoved { user: user.id.clone(), removal: Removal::Account { others_ended: 0 } }
    } else {
        SecurityEvent::TotpRemoved { user: user.id.clone(), others_ended: 0 }
    };
    record(app, event).await;
}

fn sign_in(user: &User, methods: &str, remembered: bool, new_device: bool) -> SecurityEvent {
    SecurityEvent::SignIn { user: user.id.clone(), client: None, methods: latchkey_domain::Amr::split(methods), remembered, new_device, risk: None }
}

/// A row written as the recorder would, at exactly `at`.
async fn row_at(app: &TestApp, event: SecurityEvent, at: i64) {
    let row = AuditEvent {
        id: uuid::Uuid::new_v4().to_string(),
        at,
        kind: event.kind().into(),
        user_id: event.user().map(str::to_string),
        client_id: event.client().map(str::to_string),
        detail: event.detail(),
        outcome: event.outcome().as_str().into(),
        ..AuditEvent::default()
    };
    app.state.stores.db.run(move |c| audit_repo::record(c, &row, "{}")).await.expect("row");
}

/// What was seeded, per chart series (day `i` of the window).
fn passkey_sign_ins(i: i64) -> i64 {
    if i % 5 == 0 {
        0
    } else {
        i % 3
    }
}
fn second_factor_sign_ins(i: i64) -> i64 {
    if i % 4 == 1 {
        2
    } else {
        0
    }
}
fn password_sign_ins(i: i64) -> i64 {
    i64::from(i % 2 == 0 && i % 5 != 0)
}
fn federated_sign_ins(i: i64) -> i64 {
    if i % 7 == 3 {
        3
    } else {
        0
    }
}
fn wrong_passwords(i: i64) -> i64 {
    if i % 6 == 2 || i == 29 {
        2
    } else {
        0
    }
}

/// Seeds 45 days: users whose credentials change, sign-ins and failures;
/// then signs the admin in today. Returns the admin's browser.
async fn seed(app: &TestApp) -> crate::support::Browser {
    // Noon (UTC) of day 0, so that no day boundary moves under the test.
    let now = app.clock_now();
    app.clock.advance((DAY / 2 - now.rem_euclid(DAY)).rem_euclid(DAY));
    let mut users = BTreeMap::new();
    for name in ["bob", "carol", "dave", "erin", "frank", "grace", "heidi", "judy", "henry", "ivan"] {
        users.insert(name, app.add_user(name, PASSWORD).await);
    }
    let u = |name: &str| users[name].clone();
    for k in 0..=TODAY {
        if k > 0 {
            app.clock.advance(DAY);
        }
        let i = k - FIRST;
        // Credentials: one change a minute, in order.
        match (k, i) {
            (1, _) => add_passkey(app, &u("grace"), "grace-1").await,
            (2, _) => {
                enrol_app(app, &u("erin")).await;
                enrol_app(app, &u("heidi")).await;
            }
            (_, 3) => enrol_app(app, &u("dave")).await,
            (_, 4) => add_passkey(app, &u("ivan"), "ivan-1").await,
            (_, 5) => add_passkey(app, &u("bob"), "bob-1").await,
            (_, 8) => {
                add_passkey(app, &u("frank"), "frank-1").await;
                app.clock.advance(60);
                remove_passkey(app, &u("frank"), "frank-1", false).await;
            }
            (_, 9) => add_passkey(app, &u("heidi"), "heidi-1").await,
            (_, 10) => {
                add_passkey(app, &u("carol"), "carol-1").await;
                add_passkey(app, &u("judy"), "judy-1").await;
            }
            (_, 11) => remove_passkey(app, &u("heidi"), "heidi-1", true).await,
            (_, 12) => {
                add_passkey(app, &u("carol"), "carol-2").await;
                enrol_app(app, &u("judy")).await;
            }
            (_, 14) => {
                remove_app(app, &u("judy"), true).await;
                let ivan = u("ivan");
                assert!(app.state.authn.delete_user(&ivan.id).await.expect("delete"));
                record(app, SecurityEvent::UserDeleted { user: ivan.id.clone(), username: "ivan".into() }).await;
            }
            (_, 15) => remove_app(app, &u("dave"), false).await,
            (_, 18) => remove_passkey(app, &u("grace"), "grace-1", false).await,
            (_, 20) => remove_passkey(app, &u("carol"), "carol-2", false).await,
            _ => {}
        }
        // Before the window: sign-ins and failures that must not show.
        if i == -1 || i == -10 {
            for _ in 0..5 {
                record(app, sign_in(&u("bob"), "hwk user mfa", false, false)).await;
                record(app, SecurityEvent::LoginFailed { user: None, known_device: false }).await;
            }
        }
        if i < 0 {
            continue;
        }
        let henry = u("henry");
        for _ in 0..passkey_sign_ins(i) {
            // A passkey sign-in writes both rows; only `sign_in` counts.
            record(app, SecurityEvent::PasskeySignIn { user: henry.id.clone() }).await;
            record(app, sign_in(&henry, "hwk user mfa", false, false)).await;
        }
        for n in 0..second_factor_sign_ins(i) {
            record(app, sign_in(&henry, "pwd otp mfa", n == 0, n == 0)).await;
        }
        for _ in 0..password_sign_ins(i) {
            record(app, sign_in(&henry, "pwd", true, false)).await;
        }
        for n in 0..federated_sign_ins(i) {
            record(app, sign_in(&henry, if n == 0 { "fed otp mfa" } else { "fed" }, false, n == 1)).await;
        }
        for n in 0..wrong_passwords(i) {
            record(app, SecurityEvent::LoginFailed { user: (n == 0).then(|| henry.id.clone()), known_device: n == 1 }).await;
        }
        if i % 9 == 4 {
            record(app, SecurityEvent::SecondFactorFailed { user: henry.id.clone(), throttled: false }).await;
        }
        if i % 10 == 7 {
            record(app, SecurityEvent::LoginThrottled { user: Some(henry.id.clone()), known_device: false }).await;
            record(app, SecurityEvent::SecondFactorFailed { user: henry.id.clone(), throttled: true }).await;
        }
        if i == 28 {
            for _ in 0..4 {
                record(app, SecurityEvent::RateLimited { limit: "recovery".into() }).await;
            }
        }
        if i == 20 {
            record(app, SecurityEvent::PasskeySignInFailed { user: None, reason: latchkey_domain::PasskeyRefusal::AssertionRefused }).await;
            record(app, SecurityEvent::RefreshTokenReuse { user: henry.id.clone(), client: ClientId("c1".into()), family: "f0".into(), generation: 2 }).await;
        }
        if i == 21 {
            record(app, SecurityEvent::FederatedSignInFailed { user: None, provider: "corp".into(), reason: "nonce".into() }).await;
        }
        if i == 29 {
            record(app, SecurityEvent::RefreshTokenReuse { user: henry.id.clone(), client: ClientId("c1".into()), family: "f1".into(), generation: 3 }).await;
        }
    }
    // The window's edges, to the second: the last second before it is out, its first is in.
    let window_start = (app.clock_now().div_euclid(DAY) - (WINDOW as i64 - 1)) * DAY;
    row_at(app, sign_in(&u("henry"), "hwk user mfa", false, false), window_start - 1).await;
    row_at(app, sign_in(&u("henry"), "fed", false, false), window_start).await;
    // Today the admin signs in (with a password, enrols an app, then with both).
    let (browser, _, _) = admin_browser(app).await;
    browser
}

/// Who had a passkey, and a second factor, at the end of day `i` (see [`seed`]).
fn adoption(i: i64) -> (i64, i64) {
    let passkey = [i >= 5, i >= 10, i <= 17, i == 9 || i == 10, i >= 10]; // bob, carol, grace, heidi, judy
    let app_only = [(3..=14).contains(&i), true, true, i == 29]; // dave, erin, heidi (an app all along), the admin
    let with_passkey = passkey.iter().filter(|p| **p).count() as i64;
    // heidi counts once: her app covers her passkey's days.
    let heidi_passkey = passkey[3];
    (with_passkey, with_passkey + app_only.iter().filter(|a| **a).count() as i64 - i64::from(heidi_passkey))
}

async fn the_charts_draw_the_seeded_trail(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let mut admin = seed(&app).await;
    let page = admin.get("/admin").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    assert!(!body.contains(" style="), "no inline style: the CSP allows none");

    // Every chart: the table beside it holds exactly the numbers drawn, day by day.
    let today = app.clock_now().div_euclid(DAY);
    let iso = |d: i64| {
        let (y, m, day) = latchkey_web::charts::civil_date(d);
        format!("{y:04}-{m:02}-{day:02}")
    };
    let days: Vec<String> = (today - WINDOW as i64 + 1..=today).map(iso).collect();
    for id in ["sign-ins", "failures", "adoption"] {
        let (drawn, shown) = (chart(body, id), table(body, id));
        assert_eq!(drawn, shown, "{id}: the chart and its table");
        assert_eq!(drawn.days, days, "{id}: the last 30 days, oldest first, today last");
        assert!(drawn.series.values().all(|v| v.len() == WINDOW), "{id}: a number for every day");
    }

    // What was seeded: the admin's two sign-ins today (a password, then password and code),
    // the edge of the window (a federated sign-in at its first second; the passkey one a second before is out).
    let sign_ins = chart(body, "sign-ins").series;
    assert_eq!(sign_ins.keys().collect::<Vec<_>>(), ["federated", "passkey", "password-only", "password-second-factor"], "no empty \"other\"");
    assert_eq!(sign_ins["passkey"], per_day(passkey_sign_ins));
    assert_eq!(sign_ins["password-second-factor"], per_day(|i| second_factor_sign_ins(i) + i64::from(i == 29)));
    assert_eq!(sign_ins["password-only"], per_day(|i| password_sign_ins(i) + i64::from(i == 29)));
    assert_eq!(sign_ins["federated"], per_day(|i| federated_sign_ins(i) + i64::from(i == 0)));
    let quiet = 15;
    assert!(sign_ins.values().all(|v| v[quiet] == 0), "a day without sign-ins is a zero");

    let failures = chart(body, "failures").series;
    assert_eq!(failures["wrong-password"], per_day(wrong_passwords));
    assert_eq!(failures["wrong-second-factor"], per_day(|i| i64::from(i % 9 == 4)));
    assert_eq!(failures["throttled"], per_day(|i| if i % 10 == 7 { 2 } else { 0 }));
    assert_eq!(failures["rate-limited"], per_day(|i| if i == 28 { 4 } else { 0 }));
    assert_eq!(failures["refused"], per_day(|i| i64::from(i == 20 || i == 21)));
    assert!(failures.values().all(|v| v[0] == 0), "nothing from before the window");

    let adoption_drawn = chart(body, "adoption").series;
    assert_eq!(adoption_drawn["passkey"], per_day(|i| adoption(i).0));
    assert_eq!(adoption_drawn["second-factor"], per_day(|i| adoption(i).1));

    // The figures of now: today's end of the adoption lines, and the last 24 hours.
    assert_eq!(figure(body, "users"), 10, "ivan was deleted");
    assert_eq!(figure(body, "sessions"), 1, "the admin's");
    assert_eq!(figure(body, "passkey"), adoption(29).0);
    assert_eq!(figure(body, "second-factor"), adoption(29).1);
    assert_eq!(figure(body, "password-only"), 4, "dave, frank, grace, henry");
    assert_eq!(figure(body, "failures"), 2);
    assert_eq!(figure(body, "reuse"), 1);
    assert!(body.contains(r#"<div class="figure alert" data-figure="reuse">"#), "a replayed refresh token stands out");
    assert!(body.contains(">30% of users<") && body.contains(">60% of users<") && body.contains(">40% of users<"));

    // Accessible: an image with a summary, a title, a text legend, headed tables.
    assert_eq!(body.matches(r#"role="img" aria-label=""#).count(), 3);
    assert!(body.contains(r#"aria-label="Sign-ins per day, "#));
    assert!(body.contains("<title>Sign-ins per day</title>"));
    assert!(body.contains(r#"aria-hidden="true"></span>Password and second factor</li>"#), "the legend is text");
    assert!(body.contains(r#"<th scope="col" data-series="passkey">Passkey</th>"#));
    assert!(body.contains("<summary>Numbers<span class=\"visually-hidden\">: Sign-ins per day</span></summary>"));
    let last = latchkey_web::charts::civil_date(today);
    assert!(body.contains(&format!("{} {} {}</time>", last.2, Tr::new(Locale::En).get(&format!("month-{}", last.1)), last.0)), "days are dates in words");

    // In German: the words and the dates.
    admin.headers.push(("accept-language".into(), "de".into()));
    let german = admin.get("/admin").await.body;
    assert!(german.contains(r#"<html lang="de">"#));
    for words in [
        "<h1>Übersicht</h1>",
        ">Anmeldungen pro Tag</h2>",
        ">Benutzer mit Passkey</dt>",
        "</span>Passwort und zweiter Faktor</li>",
        "<summary>Zahlen<",
        ">Gesamt</th>",
        r#"aria-label="Anmeldungen pro Tag, "#,
        "% der Benutzer<",
    ] {
        assert!(german.contains(words), "{words}");
    }
    let de = Tr::new(Locale::De);
    assert!(german.contains(&format!("{}. {} {}</time>", last.2, de.get(&format!("month-{}", last.1)), last.0)), "German dates");
    for english in ["Sign-ins per day", "Password and second factor", ">Numbers<", "in all"] {
        assert!(!german.contains(english), "{english} on the German page");
    }
    assert_eq!(chart(&german, "adoption"), chart(body, "adoption"), "the same numbers in every language");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_charts_draw_the_seeded_trail_on_sqlite() {
    the_charts_draw_the_seeded_trail(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_charts_draw_the_seeded_trail_on_postgres() {
    the_charts_draw_the_seeded_trail(Backend::Postgres).await;
}

/// A fresh install: nothing but the admin's own sign-in, every other day zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_install_shows_zeros() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (mut admin, _, _) = admin_browser(&app).await;
    let body = admin.get("/admin").await.body;
    let failures = chart(&body, "failures");
    assert_eq!(failures, table(&body, "failures"));
    assert!(failures.series.values().all(|v| v.iter().all(|n| *n == 0)));
    assert!(body.contains("0 in all (Wrong password: 0; "), "{body}");
    assert!(body.contains("None in these 30 days."));
    let sign_ins = chart(&body, "sign-ins").series;
    assert_eq!(sign_ins.values().map(|v| v.iter().sum::<i64>()).sum::<i64>(), 2, "the admin's two sign-ins");
    assert_eq!(chart(&body, "adoption").series["second-factor"], per_day(|i| i64::from(i == 29)));
}

/// A million events over 400 days: the overview is counted in the database,
/// from the `(kind, at)` index, in well under a second.
async fn a_million_events_are_counted_quickly(backend: Backend) {
    if crate::support::services::skip_slow("a million audit events") {
        return;
    }
    let Some(app) = TestApp::start(backend).await else { return };
    let (_, _, admin) = admin_browser(&app).await;
    const ROWS: i64 = 1_000_000;
    // One event every 34.56 s back from now: 400 days; a tenth are sign-ins of
    // each method, some failures, some credential changes of 1,000 users.
    let now = app.clock_now();
    let select = format!(
        "SELECT 'perf-' || i, {now} - CAST(i AS BIGINT) * 3456 / 100, \
           CASE i % 10 WHEN 0 THEN 'sign_in' WHEN 1 THEN 'sign_in' WHEN 2 THEN 'login_failed' WHEN 3 THEN 'passkey_added' WHEN 4 THEN 'second_factor_failed' \
                       WHEN 5 THEN 'consent_given' ELSE 'token_exchanged' END, \
           'user-' || (i % 1000), NULL, \
           CASE i % 4 WHEN 0 THEN 'methods hwk user mfa' WHEN 1 THEN 'methods pwd otp mfa, remembered device' WHEN 2 THEN 'methods pwd' ELSE 'methods fed' END, \
           'success'"
    );
    let sql = match backend {
        Backend::Sqlite => {
            format!("INSERT INTO audit_events (id, at, kind, user_id, client_id, detail, outcome) WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS} - 1) {select} FROM n")
        }
        Backend::Postgres => format!("INSERT INTO audit_events (id, at, kind, user_id, client_id, detail, outcome) {select} FROM generate_series(0, {ROWS} - 1) AS i"),
    };
    app.state
        .stores
        .db
        .run(move |c| {
            diesel::RunQueryDsl::execute(diesel::sql_query(sql), c)?;
            diesel::RunQueryDsl::execute(diesel::sql_query("ANALYZE"), c)?;
            Ok(())
        })
        .await
        .expect("a million rows");
    let ops = app.state.admin(latchkey_app::admin::Actor::User(admin.id.clone()));
    let started = std::time::Instant::now();
    let overview = ops.overview().await.expect("overview");
    let took = started.elapsed();
    eprintln!("{backend:?}: the overview of {ROWS} events took {took:?}");
    // 30 days of one event every 34.56 s: 75,000, a fifth of them sign-ins.
    let sign_ins: i64 = overview.sign_ins.iter().map(|s| s.total()).sum();
    assert!((14_000..=16_000).contains(&sign_ins), "{sign_ins}");
    assert!(took < std::time::Duration::from_secs(3), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_events_are_counted_quickly_on_sqlite() {
    a_million_events_are_counted_quickly(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_events_are_counted_quickly_on_postgres() {
    a_million_events_are_counted_quickly(Backend::Postgres).await;
}
