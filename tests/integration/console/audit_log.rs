//! The console's audit log (`/admin/audit`): a month of events in plain
//! words, by name, filtered (user, client, event, outcome, dates, the old
//! epoch links), paged and counted; exported as CSV (formulas neutralised)
//! and JSON lines, both audited; in German for a German browser; and the
//! same rows on a user's page.

use std::collections::BTreeSet;

use latchkey_domain::{Actor, Amr, ClientId, EndedSessions, SecurityEvent, User, UserId};
use latchkey_store::repo::audit::{AuditEvent, Filter};

use super::admin_browser;
use crate::support::client::TestClient;
use crate::support::{Backend, Browser, TestApp, PASSWORD};

const DAY: i64 = 86_400;
/// A client name a spreadsheet would run as a formula.
const EVIL_NAME: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";

struct Seeded {
    alice: User,
    bob: User,
    /// Deleted after its events.
    carol: UserId,
    orders: String,
    evil_client: String,
    /// Removed after its events.
    gone_client: String,
    /// When the first day's events were recorded.
    start: i64,
}

/// Users, clients and 30 days of events, one day at a time on the test clock;
/// then a user and a client removed.
async fn seed(app: &TestApp) -> Seeded {
    let alice = app.add_user("alice", PASSWORD).await;
    let bob = app.add_user("bob", PASSWORD).await;
    let carol = app.add_user("carol", PASSWORD).await;
    // A valid username a spreadsheet would read as a formula.
    let calc = app.add_user("-calc", PASSWORD).await;
    let (orders, _) = TestClient::web_app("Orders app").register(app).await;
    let (evil_client, _) = TestClient::web_app(EVIL_NAME).register(app).await;
    let (gone_client, _) = TestClient::web_app("Gone app").register(app).await;
    let record = |by: Actor, event: SecurityEvent| async move { app.state.oauth.record(&by, event).await };
    let start = app.clock_now();
    for (id, name) in [(&orders, "Orders app"), (&evil_client, EVIL_NAME), (&gone_client, "Gone app")] {
        record(Actor::Cli, SecurityEvent::ClientCreated { client: ClientId(id.clone()), name: name.into() }).await;
    }
    record(Actor::Anonymous, SecurityEvent::RateLimited { limit: "+cmd".into() }).await;
    for day in 0..30 {
        let a = alice.id.clone();
        record(
            Actor::User(a.clone()),
            SecurityEvent::SignIn { user: a.clone(), client: Some(ClientId(orders.clone())), methods: vec![Amr::Pwd, Amr::Otp], remembered: day % 7 == 0, new_device: day % 14 == 0, risk: None },
        )
        .await;
        if day % 2 == 0 {
            record(Actor::User(a.clone()), SecurityEvent::PasskeySignIn { user: a.clone() }).await;
        }
        if day % 5 == 0 {
            record(Actor::User(a.clone()), SecurityEvent::PasswordChanged { user: a.clone(), others_ended: 0 }).await;
        }
        record(Actor::Anonymous, SecurityEvent::LoginFailed { user: Some(bob.id.clone()), known_device: false }).await;
        record(Actor::Anonymous, SecurityEvent::RateLimited { limit: "login".into() }).await;
        match day {
            3 => {
                record(
                    Actor::User(carol.id.clone()),
                    SecurityEvent::SignIn { user: carol.id.clone(), client: Some(ClientId(gone_client.clone())), methods: vec![Amr::Hwk, Amr::User], remembered: false, new_device: false, risk: None },
                )
                .await;
                record(Actor::User(carol.id.clone()), SecurityEvent::ConsentGiven { user: carol.id.clone(), client: ClientId(gone_client.clone()), scope: "openid".into() }).await;
            }
            4 => {
                let exchanged = SecurityEvent::TokenExchanged {
                    user: a.clone(),
                    client: ClientId(orders.clone()),
                    subject_client: ClientId(evil_client.clone()),
                    audience: "https://orders".into(),
                    impersonation: false,
                };
                record(Actor::Client(ClientId(orders.clone())), exchanged).await;
            }
            6 => record(Actor::Admin(alice.id.clone()), SecurityEvent::SessionsEnded { user: calc.id.clone(), ended: EndedSessions::Everything { sessions: 1 } }).await,
            _ => {}
        }
        app.clock.advance(DAY);
    }
    assert!(app.state.authn.delete_user(&carol.id).await.expect("delete carol"));
    assert!(latchkey_app::directory::clients::remove(&app.state.stores.db, &gone_client).await.expect("remove client"));
    Seeded { alice, bob, carol: carol.id, orders, evil_client, gone_client, start }
}

/// Every stored event, newest first.
async fn all_events(app: &TestApp) -> Vec<AuditEvent> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = app.state.oauth.audit_search(Filter::default(), cursor.as_deref(), 200).await.expect("trail");
        out.extend(page.events);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// The UTC date of an epoch second (`YYYY-MM-DD`).
fn date_of(at: i64) -> String {
    latchkey_web::format::format_rfc3339(at)[..10].to_string()
}

/// The table of events on a page (empty when there is none).
fn table_of(body: &str) -> &str {
    let Some(start) = body.find("<table class=\"grid audit\">") else { return "" };
    let end = body[start..].find("</table>").map_or(body.len(), |e| start + e);
    &body[start..end]
}

/// The ids of the event rows on a page.
fn ids_on(body: &str) -> Vec<String> {
    body.match_indices("<tr id=\"event-").filter_map(|(i, m)| body[i + m.len()..].split('"').next().map(str::to_string)).collect()
}

/// The "Older events" link of a page.
fn older_link(body: &str) -> Option<String> {
    let end = body.find(">Older events</a>")?;
    let start = body[..end].rfind("href=\"")? + "href=\"".len();
    // As a browser reads the attribute.
    Some(body[start..end - 1].replace("&#38;", "&").replace("&amp;", "&"))
}

/// Every event id from `first` on, following "Older events", and how many pages it took.
async fn page_through(b: &mut Browser, first: &str) -> (Vec<String>, usize) {
    let (mut url, mut ids, mut pages) = (first.to_string(), Vec::new(), 0);
    loop {
        let page = b.get(&url).await;
        assert_eq!(page.status, 200, "{url}: {}", page.body);
        ids.extend(ids_on(&page.body));
        pages += 1;
        assert!(pages < 20, "paging ends");
        match older_link(&page.body) {
            Some(next) => url = next,
            None => return (ids, pages),
        }
    }
}

fn sorted(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = ids.into_iter().collect();
    v.sort();
    v
}

/// A whole CSV text (RFC 4180) as rows of cells.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell, mut quoted) = (Vec::new(), Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

async fn the_audit_log(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else { return };
    let s = seed(&app).await;
    let (mut b, _, _root) = admin_browser(&app).await;
    let all = all_events(&app).await;
    let alice_id = s.alice.id.0.as_str();

    // Names, not ids; plain words, not kinds; outcomes as badges in words.
    let page = b.get("/admin/audit?user=alice").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let table = table_of(&page.body);
    for shown in [
        format!(r#"<a href="/admin/users/{alice_id}">alice</a>"#),
        format!(r#"<code class="id" title="{alice_id}">{}…</code>"#, &alice_id[..8]),
        format!(r#"<a href="/admin/clients/{}">Orders app</a>"#, s.orders),
        "<td>Signed in with a passkey</td>".to_string(),
        "<td>Signed in</td>".to_string(),
        "<td>Password changed</td>".to_string(),
        "<td>Token exchanged for an API</td>".to_string(),
        "password and authenticator app or backup code, remembered device, new device".to_string(),
        r#"<span class="badge success">Succeeded</span>"#.to_string(),
    ] {
        assert!(table.contains(&shown), "{shown} in {table}");
    }
    for raw in ["passkey_sign_in", "sign_in", "password_changed", "token_exchanged", "user:", "client:", "pwd otp", "methods "] {
        assert!(!table.contains(raw), "no raw {raw:?} in the table: {table}");
    }
    let alices = all.iter().filter(|e| e.user_id.as_deref() == Some(alice_id)).count();
    assert!(page.body.contains(&format!("<strong>{alices} events</strong>")), "the count of alice's {alices} events: {}", page.body);
    let by_id = b.get(&format!("/admin/audit?user={}", alice_id.to_ascii_uppercase())).await;
    assert!(by_id.body.contains(&format!("<strong>{alices} events</strong>")), "an id works as well as a username");
    // The other filters are offered: usernames as suggestions, clients and events by name.
    for offered in ["<datalist id=\"usernames\">", "<option value=\"bob\"></option>", ">Orders app (", "<option value=\"passkey_sign_in\">Signed in with a passkey</option>", "type=\"date\""] {
        assert!(page.body.contains(offered), "{offered}");
    }

    // Filters combine: user, event and a date range (UTC days, "to" inclusive).
    let (from, to) = (date_of(s.start + 10 * DAY), date_of(s.start + 19 * DAY));
    let expected =
        sorted(all.iter().filter(|e| e.user_id.as_deref() == Some(alice_id) && e.kind == "passkey_sign_in" && (from.as_str()..=to.as_str()).contains(&date_of(e.at).as_str())).map(|e| e.id.clone()));
    assert!((4..=6).contains(&expected.len()), "{expected:?}");
    let combined = format!("/admin/audit?user=alice&kind=passkey_sign_in&from={from}&to={to}");
    let page = b.get(&combined).await;
    assert_eq!(sorted(ids_on(&page.body)), expected, "{}", page.body);
    assert!(page.body.contains(&format!("<strong>{} events</strong>", expected.len())));
    assert!(page.body.contains(&format!(r#"value="{from}""#)) && page.body.contains(r#"<option value="passkey_sign_in" selected>"#), "the form shows the filter");

    // One day by dates alone: exactly the events of that UTC day.
    let day = date_of(s.start + 5 * DAY);
    let expected = sorted(all.iter().filter(|e| date_of(e.at) == day).map(|e| e.id.clone()));
    assert!(expected.len() >= 3);
    let (ids, _) = page_through(&mut b, &format!("/admin/audit?from={day}&to={day}")).await;
    assert_eq!(sorted(ids), expected);
    // The old epoch parameters still work (and combine with the rest).
    let (since, until) = (s.start + 20 * DAY, s.start + 25 * DAY);
    let expected = sorted(all.iter().filter(|e| e.at >= since && e.at < until && e.user_id.as_deref() == Some(s.bob.id.0.as_str())).map(|e| e.id.clone()));
    assert_eq!(expected.len(), 5);
    let page = b.get(&format!("/admin/audit?user=bob&since={since}&until={until}")).await;
    assert_eq!(sorted(ids_on(&page.body)), expected);
    assert!(page.body.contains(&format!(r#"<input type="hidden" name="since" value="{since}">"#)), "the form keeps the period");

    // Outcome and client.
    let page = b.get("/admin/audit?user=bob&outcome=failure").await;
    assert_eq!(ids_on(&page.body).len(), 30);
    assert!(table_of(&page.body).contains(r#"<span class="badge failure">Failed</span>"#));
    assert!(table_of(&page.body).contains("<td>A sign-in attempt failed</td>"));
    let page = b.get("/admin/audit?user=bob&outcome=success").await;
    assert!(ids_on(&page.body).is_empty() && page.body.contains("No events match these filters.") && page.body.contains("<strong>0 events</strong>"));
    let page = b.get(&format!("/admin/audit?client={}&kind=sign_in", s.orders)).await;
    assert_eq!(ids_on(&page.body).len(), 30);
    assert!(page.body.contains(&format!(r#"<option value="{}" selected>Orders app ("#, s.orders)));

    // Paging returns every event once, newest first, across pages of 50.
    let every = all_events(&app).await;
    assert!(every.len() > 100, "{}", every.len());
    let (ids, pages) = page_through(&mut b, "/admin/audit").await;
    assert_eq!(pages, every.len() / 50 + 1, "pages of 50 (and an empty last one after a full page)");
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "no event twice");
    assert_eq!(ids, every.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), "every event once, in order");
    // With filters in the links too.
    let since = date_of(s.start + DAY);
    let expected: Vec<String> = every.iter().filter(|e| e.outcome == "success" && date_of(e.at) >= since).map(|e| e.id.clone()).collect();
    assert!(expected.len() > 50, "{}", expected.len());
    let (ids, pages) = page_through(&mut b, &format!("/admin/audit?outcome=success&from={since}")).await;
    assert_eq!((ids, pages), (expected, 2));
    let first = b.get("/admin/audit").await;
    assert!(first.body.contains(&format!("<strong>{} events</strong>", every.len())));
    let second = b.get(&older_link(&first.body).expect("older")).await;
    assert!(second.body.contains(">Newest events</a>"));

    // A removed user and client: their short id, "(removed)", no link.
    let carol = s.carol.0.as_str();
    let page = b.get(&format!("/admin/audit?user={carol}")).await;
    assert_eq!(page.status, 200);
    assert_eq!(ids_on(&page.body).len(), 2);
    let table = table_of(&page.body);
    assert!(table.contains(&format!(r#"<code class="id" title="{carol}">{}…</code> (removed)"#, &carol[..8])), "{table}");
    assert!(!table.contains(&format!("/admin/users/{carol}")) && !table.contains("carol"));
    assert!(table.contains(&format!(r#"<code class="id" title="{}">{}…</code> (removed)"#, s.gone_client, &s.gone_client[..8])), "{table}");
    assert!(page.body.contains("these are the events of a removed user"));
    let page = b.get(&format!("/admin/audit?client={}", s.gone_client)).await;
    assert_eq!(ids_on(&page.body).len(), 3, "created, a sign-in and a consent");
    assert!(page.body.contains(&format!(r#"<option value="{}" selected>{}… (removed)</option>"#, s.gone_client, &s.gone_client[..8])));

    // Filters that name nothing: no events, said so, never an error.
    let page = b.get("/admin/audit?user=nobody").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No user is called “nobody” and none has that id.") && page.body.contains("<strong>0 events</strong>"), "{}", page.body);
    for odd in ["/admin/audit?kind=no_such_kind", "/admin/audit?outcome=maybe", "/admin/audit?client=nope", "/admin/audit?cursor=garbage", "/admin/audit?since=soon&until=%00"] {
        let page = b.get(odd).await;
        assert_eq!(page.status, 200, "{odd}: {}", page.body);
    }
    let page = b.get("/admin/audit?from=2026-02-30&to=yesterday").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("“2026-02-30” is not a date") && page.body.contains("“yesterday” is not a date"));
    let page = b.get("/admin/audit?from=2030-01-02&to=2030-01-01").await;
    assert!(ids_on(&page.body).is_empty() && page.body.contains("No events match these filters."));

    // A user's page: the same rows, by name, in words.
    let page = b.get(&format!("/admin/users/{alice_id}")).await;
    assert_eq!(page.status, 200);
    let table = table_of(&page.body);
    assert!(table.contains("<td>Signed in with a passkey</td>") && table.contains(&format!(r#"<a href="/admin/clients/{}">Orders app</a>"#, s.orders)), "{table}");
    assert!(!table.contains("passkey_sign_in") && !table.contains("user:"));
    assert!(!table.contains(">User</th>"), "no User column on the user's own page");
    let _ = s.evil_client;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_on_sqlite() {
    the_audit_log(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_on_postgres_and_redis() {
    the_audit_log(Backend::Postgres).await;
}

/// The CSV export: RFC 4180, a header, formulas neutralised, exactly the
/// filtered events; the JSON lines export agrees; both are audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_export_escapes_formulas_and_keeps_the_filter() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let s = seed(&app).await;
    let (mut b, _, root) = admin_browser(&app).await;

    let csv = b.get("/admin/audit.csv").await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
    assert!(csv.header("content-disposition").unwrap_or_default().contains("latchkey-audit.csv"));
    assert!(csv.body.ends_with("\r\n") && csv.body.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\""), "{}", csv.body);
    let rows = parse_csv(&csv.body);
    let header = &rows[0];
    assert_eq!(header, &["time", "event", "kind", "outcome", "actor", "actor_name", "user_id", "username", "client_id", "client_name", "ip", "user_agent", "request_id", "detail", "id"]);
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    assert!(rows.iter().all(|r| r.len() == header.len()), "every record has every column");
    assert_eq!(rows.len() - 1, all_events(&app).await.len() - 1, "every event but the export's own record");
    for cell in rows.iter().flatten() {
        assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "a cell a spreadsheet would run: {cell:?}");
    }
    let evil = rows.iter().find(|r| r[col("kind")] == "client_created" && r[col("client_id")] == s.evil_client).expect("the evil client's row");
    assert_eq!((evil[col("detail")].as_str(), evil[col("client_name")].as_str()), (format!("'{EVIL_NAME}").as_str(), format!("'{EVIL_NAME}").as_str()));
    assert_eq!(evil[col("actor_name")], "Command line");
    assert!(rows.iter().any(|r| r[col("kind")] == "rate_limited" && r[col("detail")] == "'+cmd"), "a detail starting with +");
    let calc = rows.iter().find(|r| r[col("kind")] == "sessions_ended").expect("sessions ended");
    assert_eq!((calc[col("username")].as_str(), calc[col("actor_name")].as_str(), calc[col("event")].as_str()), ("'-calc", "alice", "Sessions ended"));

    // The filtered view: user, event and dates.
    let (from, to) = (date_of(s.start + 10 * DAY), date_of(s.start + 19 * DAY));
    let query = format!("user=alice&kind=passkey_sign_in&from={from}&to={to}");
    let expected: Vec<String> = all_events(&app)
        .await
        .into_iter()
        .filter(|e| e.user_id.as_deref() == Some(s.alice.id.0.as_str()) && e.kind == "passkey_sign_in" && (from.as_str()..=to.as_str()).contains(&date_of(e.at).as_str()))
        .map(|e| e.id)
        .collect();
    let rows = parse_csv(&b.get(&format!("/admin/audit.csv?{query}")).await.body);
    assert_eq!(rows[1..].iter().map(|r| r[col("id")].clone()).collect::<Vec<_>>(), expected);
    assert!(rows[1..].iter().all(|r| r[col("username")] == "alice" && r[col("event")] == "Signed in with a passkey" && r[col("outcome")] == "success"));
    let jsonl = b.get(&format!("/admin/audit.jsonl?{query}")).await;
    let lines: Vec<serde_json::Value> = jsonl.body.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(lines.iter().filter_map(|l| l["id"].as_str().map(str::to_string)).collect::<Vec<_>>(), expected);
    // A German reader gets the event in German words; the columns stay.
    b.headers.push(("accept-language".into(), "de".into()));
    let rows = parse_csv(&b.get(&format!("/admin/audit.csv?{query}")).await.body);
    assert!(rows.len() > 1 && rows[1..].iter().all(|r| r[col("event")] == "Mit einem Passkey angemeldet"));

    // Every export is in the trail, by the admin, with its filter.
    let exports: Vec<AuditEvent> = all_events(&app).await.into_iter().filter(|e| e.kind == "audit_exported").collect();
    assert_eq!(exports.len(), 4, "{exports:?}");
    assert!(exports.iter().all(|e| e.actor.as_deref() == Some(format!("admin:{}", root.id.0).as_str())));
    assert!(exports.iter().any(|e| e.detail == format!("filter format=csv&{query}")), "{exports:?}");
    assert!(exports.iter().any(|e| e.detail == format!("filter {query}")), "the JSON lines export: {exports:?}");
}

/// The page in German for a German browser: headings, columns, filters, events and outcomes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_is_german_for_a_german_browser() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    seed(&app).await;
    let (mut b, _, _) = admin_browser(&app).await;
    b.headers.push(("accept-language".into(), "de-DE,de;q=0.9,en;q=0.5".into()));
    let page = b.get("/admin/audit?user=alice").await;
    assert_eq!(page.status, 200);
    for german in [
        r#"<html lang="de">"#,
        "<h1>Protokoll</h1>",
        "<label for=\"user\">Benutzer</label>",
        "<label for=\"from\">Von (UTC)</label>",
        ">Jedes Ereignis</option>",
        ">Letzte Stunde</a>",
        "<th scope=\"col\">Zeit</th>",
        "<th scope=\"col\">Ereignis</th>",
        "<td>Mit einem Passkey angemeldet</td>",
        "<td>Passwort geändert</td>",
        r#"<span class="badge success">Erfolgreich</span>"#,
        "Passwort und Authenticator-App oder Backup-Code",
        "Ereignisse</strong>",
        "CSV (Tabellenkalkulation)",
        "vor ",
    ] {
        assert!(page.body.contains(german), "{german}: {}", page.body);
    }
    for english in ["Signed in with a passkey", "Succeeded", ">Time</th>", "Last hour", " events</strong>"] {
        assert!(!page.body.contains(english), "no English {english:?}");
    }
    let page = b.get("/admin/audit?user=bob").await;
    assert!(table_of(&page.body).contains(r#"<span class="badge failure">Fehlgeschlagen</span>"#));
}
