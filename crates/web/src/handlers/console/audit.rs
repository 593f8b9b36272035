//! The audit log (`/admin/audit`): the trail in plain words, with names
//! instead of ids; filters that combine (user, client, event, outcome, a
//! date range or a recent period); cursor paging and a count; the filtered
//! view exported as CSV or JSON lines (both audited). The rows a user's page
//! shows are built here too ([`event_rows`]), and drawn by the same macro
//! (`templates/admin/events.html`).

use std::fmt;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use latchkey_domain::{Amr, EventKind, RiskSignal, SecurityEvent, SignInRisk, UserId};
use latchkey_i18n::{Locale, Tr};
use latchkey_oauth::audit::AuditNames;
use latchkey_store::repo::audit::{AuditEvent, Filter};
use serde::Deserialize;

use super::*;
use crate::browser::CsrfCookie;
use crate::error::WebError;
use crate::format::format_rfc3339;
use crate::guards::AdminSession;
use crate::state::AppState;

/// Events on one page of the log.
const PAGE: i64 = 50;
/// Usernames the user filter suggests (`<datalist>`): enough for most
/// deployments; beyond it, typing the whole name or an id still works.
const SUGGESTED_USERS: i64 = 500;
/// What an export reads at most: 500 pages of 200.
const EXPORT_PAGES: usize = 500;

/// The message id of an event kind: `event-` and the kind with dashes.
pub(crate) fn event_key(kind: EventKind) -> String {
    format!("event-{}", kind.as_str().replace('_', "-"))
}

/// A stored kind in `t`'s words (an unknown old kind as stored).
pub(crate) fn event_words(t: Tr, kind: &str) -> String {
    EventKind::from_kind(kind).map(|k| t.get(&event_key(k))).unwrap_or_else(|| kind.to_string())
}

/// A moment of the log: how long ago, in words, and exactly.
pub(crate) struct Moment {
    /// "3 hours ago".
    pub(crate) words: String,
    /// `2026-12-02 14:05:33 UTC`, the title.
    pub(crate) exact: String,
    /// RFC 3339, for `<time datetime>`.
    pub(crate) iso: String,
}

impl Moment {
    fn at(t: Tr, now: i64, at: i64) -> Moment {
        let iso = format_rfc3339(at);
        Moment { words: crate::plain_words::ago(t, now, at), exact: format!("{} UTC", iso.trim_end_matches('Z').replacen('T', " ", 1)), iso }
    }
}

/// An event's outcome as a badge: words, and a class for its colour.
pub(crate) struct OutcomeBadge {
    pub(crate) failed: bool,
    pub(crate) words: String,
}

/// Who did something or whom it concerned: a user or client by name (with
/// its page and short id), one removed since (its short id), or the words
/// for the command line or the system.
pub(crate) struct Party {
    /// The username or client name, or the words that stand for one.
    pub(crate) name: String,
    /// Its console page, while it exists.
    pub(crate) href: Option<String>,
    /// The full id of a user or client (the short one's title).
    pub(crate) id: Option<String>,
    pub(crate) short: String,
    /// The user or client is no longer there.
    pub(crate) removed: bool,
    /// "as admin".
    pub(crate) note: Option<String>,
}

impl Party {
    fn words(name: String) -> Party {
        Party { name, href: None, id: None, short: String::new(), removed: false, note: None }
    }

    fn user(names: &AuditNames, id: &str) -> Party {
        Self::named(names.users.get(id), id, format!("/admin/users/{}", url_segment(id)))
    }

    fn client(names: &AuditNames, id: &str) -> Party {
        Self::named(names.clients.get(id), id, format!("/admin/clients/{}", url_segment(id)))
    }

    fn named(name: Option<&String>, id: &str, href: String) -> Party {
        Party { name: name.cloned().unwrap_or_default(), href: name.map(|_| href), id: Some(id.to_string()), short: short_id(id), removed: name.is_none(), note: None }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.removed {
            write!(f, "{} (removed)", self.short)
        } else {
            f.write_str(&self.name)
        }
    }
}

/// An id as one path segment of a link.
fn url_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// Who a row's `actor` column names.
enum ActorRef<'a> {
    None,
    Cli,
    User(&'a str),
    Admin(&'a str),
    Client(&'a str),
    /// A SCIM client (issue #30), by its id.
    Scim(&'a str),
    Other(&'a str),
}

fn actor_ref(stored: Option<&str>) -> ActorRef<'_> {
    match stored {
        None | Some("") => ActorRef::None,
        Some("cli") => ActorRef::Cli,
        Some(s) => match s.split_once(':') {
            Some(("user", id)) => ActorRef::User(id),
            Some(("admin", id)) => ActorRef::Admin(id),
            Some(("client", id)) => ActorRef::Client(id),
            Some(("scim", id)) => ActorRef::Scim(id),
            _ => ActorRef::Other(s),
        },
    }
}

/// One row of a table of events, in the reader's words.
pub(crate) struct EventRow {
    /// The event's id (the row's anchor, `#event-<id>`).
    pub(crate) id: String,
    pub(crate) time: Moment,
    /// What happened, in words ("Signed in with a passkey").
    pub(crate) kind: String,
    pub(crate) outcome: OutcomeBadge,
    pub(crate) actor: Party,
    pub(crate) user: Option<Party>,
    pub(crate) client: Option<Party>,
    pub(crate) ip: String,
    pub(crate) detail: String,
}

/// The row of `e` as seen at `now`, with the names of `names`.
pub(crate) fn event_row(t: Tr, now: i64, names: &AuditNames, e: &AuditEvent) -> EventRow {
    let actor = match actor_ref(e.actor.as_deref()) {
        ActorRef::None => Party::words(t.get("audit-actor-none")),
        ActorRef::Cli => Party::words(t.get("audit-actor-cli")),
        ActorRef::User(id) => Party::user(names, id),
        ActorRef::Admin(id) => Party { note: Some(t.get("audit-as-admin")), ..Party::user(names, id) },
        ActorRef::Client(id) => Party::client(names, id),
        ActorRef::Scim(id) => Party::words(t.arg("audit-actor-scim", "id", id)),
        ActorRef::Other(s) => Party::words(s.to_string()),
    };
    let failed = e.outcome == "failure";
    let kind = event_words(t, &e.kind);
    // A stored detail that only repeats the event ("signed in with a passkey") says nothing more.
    let detail = Some(detail_words(t, &e.kind, &e.detail)).filter(|d| !d.eq_ignore_ascii_case(&kind)).unwrap_or_default();
    EventRow {
        id: e.id.clone(),
        time: Moment::at(t, now, e.at),
        kind,
        outcome: OutcomeBadge { failed, words: t.get(if failed { "audit-outcome-failure" } else { "audit-outcome-success" }) },
        actor,
        user: e.user_id.as_deref().map(|id| Party::user(names, id)),
        client: e.client_id.as_deref().map(|id| Party::client(names, id)),
        ip: e.ip.clone().unwrap_or_default(),
        detail,
    }
}

/// The ids of the users and clients `events` mention (subjects and actors).
fn mentioned(events: &[AuditEvent]) -> (Vec<String>, Vec<String>) {
    let (mut users, mut clients) = (Vec::new(), Vec::new());
    for e in events {
        users.extend(e.user_id.clone());
        clients.extend(e.client_id.clone());
        match actor_ref(e.actor.as_deref()) {
            ActorRef::User(id) | ActorRef::Admin(id) => users.push(id.to_string()),
            ActorRef::Client(id) => clients.push(id.to_string()),
            _ => {}
        }
    }
    for list in [&mut users, &mut clients] {
        list.sort();
        list.dedup();
    }
    (users, clients)
}

/// The names `events` need, read at once.
async fn names_of(state: &AppState, events: &[AuditEvent]) -> Result<AuditNames, WebError> {
    let (users, clients) = mentioned(events);
    if users.is_empty() && clients.is_empty() {
        return Ok(AuditNames::default());
    }
    Ok(state.oauth.audit_names(users, clients).await?)
}

/// The rows of `events` in `t`'s words, their names read in one lookup.
pub(crate) async fn event_rows(state: &AppState, t: Tr, events: &[AuditEvent]) -> Result<Vec<EventRow>, WebError> {
    let names = names_of(state, events).await?;
    let now = state.clock.now();
    Ok(events.iter().map(|e| event_row(t, now, &names, e)).collect())
}

/// A row's detail in words where it is codes (the methods of a sign-in,
/// the kind a user disowned, an admin flag); free text as stored.
pub(crate) fn detail_words(t: Tr, kind: &str, detail: &str) -> String {
    match EventKind::from_kind(kind) {
        Some(EventKind::SignIn) => {
            let Some(rest) = detail.strip_prefix("methods ") else { return detail.to_string() };
            // The risk of issue #32 follows the methods and flags, after "; ".
            let (rest, risk) = match (rest.split_once("; "), SignInRisk::from_detail(detail)) {
                (Some((head, _)), Some(risk)) => (head, format!("; {}", risk_words(t, &risk))),
                _ => (rest, String::new()),
            };
            let mut parts = rest.split(", ");
            let methods = amr_words(t, parts.next().unwrap_or_default());
            let flags = parts.map(|p| match p {
                "remembered device" => t.get("audit-detail-remembered"),
                "new device" => t.get("audit-detail-new-device"),
                other => other.to_string(),
            });
            std::iter::once(methods).chain(flags).collect::<Vec<_>>().join(", ") + &risk
        }
        Some(EventKind::SignInSteppedUp | EventKind::RiskySignInRefused) => match (detail.split_once("; "), SignInRisk::from_detail(detail)) {
            (Some((what, _)), Some(risk)) => format!("{what}; {}", risk_words(t, &risk)),
            _ => detail.to_string(),
        },
        Some(EventKind::PasskeyOnlySet) => match detail {
            "passkey only: true" => t.get("audit-detail-passkey-only-on"),
            "passkey only: false" => t.get("audit-detail-passkey-only-off"),
            other => other.to_string(),
        },
        Some(EventKind::RiskPolicySet) => match detail.strip_prefix("risk policy: ") {
            Some(p) => match latchkey_authn::risk::RiskPolicy::parse(p) {
                Some(p) => t.arg("audit-detail-risk-policy", "policy", super::risk_policy::words(t, p)),
                None => t.get("audit-detail-risk-policy-default"),
            },
            None => detail.to_string(),
        },
        Some(EventKind::AccountSetUp) => match detail.strip_prefix("first credential: ") {
            Some(list) => t.arg("audit-detail-first-method", "methods", amr_words(t, list)),
            None => detail.to_string(),
        },
        Some(EventKind::AdminGranted | EventKind::AdminRevoked) => match detail.strip_prefix("admin: ").and_then(|r| r.split_once(" -> ")) {
            Some((before, after)) if before == after => t.get("audit-detail-no-change"),
            Some(_) => String::new(),
            None => detail.to_string(),
        },
        Some(EventKind::NotMe) => {
            let disowned = detail.strip_prefix("the user disowned a ").and_then(|r| r.split_once(" event; ")).and_then(|(k, r)| Some((k, r.strip_suffix(" session(s) ended")?.parse::<i64>().ok()?)));
            match disowned {
                Some((k, sessions)) => t.args("audit-detail-disowned", &[("event", event_words(t, k).into()), ("sessions", sessions.into())]),
                None => detail.to_string(),
            }
        }
        _ => detail.to_string(),
    }
}

/// A sign-in's risk in words: "medium risk: unknown device, country not
/// used in 90 days (DE); Berlin, Germany".
pub(crate) fn risk_words(t: Tr, risk: &SignInRisk) -> String {
    let level = t.get(&format!("risk-level-{}", risk.level.as_str()));
    let signals: Vec<String> = risk
        .signals
        .iter()
        .map(|s| match s {
            RiskSignal::UnknownDevice => t.get("risk-signal-unknown-device"),
            RiskSignal::NewBrowser => t.get("risk-signal-new-browser"),
            RiskSignal::NewNetwork => t.get("risk-signal-new-network"),
            RiskSignal::RecentFailures { count } => t.arg("risk-signal-failures", "count", i64::from(*count)),
            RiskSignal::NewCountry { country } => t.arg("risk-signal-new-country", "country", country.as_str()),
            RiskSignal::ImpossibleTravel { km, minutes } => t.arg2("risk-signal-travel", "km", grouped(t, i64::from(*km)), "minutes", i64::from(*minutes)),
            RiskSignal::Blocklisted => t.get("risk-signal-blocklisted"),
        })
        .collect();
    let mut out = if signals.is_empty() { level } else { t.arg2("audit-detail-risk", "level", level, "signals", signals.join(", ")) };
    if let Some(place) = &risk.place {
        out.push_str(&format!("; {place}"));
    }
    out
}

/// `amr` values (`pwd otp`) in words ("password and authenticator app or
/// backup code"); a list with a value that is not one stays as it is.
pub(crate) fn amr_words(t: Tr, list: &str) -> String {
    let values: Vec<&str> = list.split_whitespace().collect();
    let methods: Vec<Amr> = values.iter().filter_map(|v| Amr::parse(v)).collect();
    if methods.len() != values.len() {
        return list.to_string();
    }
    crate::plain_words::methods(t, &methods)
}

/// `n` with its thousands grouped as the reader writes them ("1,234", "1.234").
pub(crate) fn grouped(t: Tr, n: i64) -> String {
    let sep = match t.locale() {
        Locale::De => '.',
        _ => ',',
    };
    let digits = n.unsigned_abs().to_string();
    let groups: Vec<&str> = digits.as_bytes().rchunks(3).rev().map(|g| std::str::from_utf8(g).unwrap_or_default()).collect();
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}{}", groups.join(&sep.to_string()))
}

/// `YYYY-MM-DD` as the epoch second its day starts, in UTC.
fn day_start(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !s.chars().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit()) {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (s[..4].parse().ok()?, s[5..7].parse().ok()?, s[8..].parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month[(m - 1) as usize] {
        return None;
    }
    // Days from the civil date (H. Hinnant), the inverse of `format::civil`.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

/// One CSV cell (RFC 4180): quoted when it holds a comma, quote or line
/// break, its quotes doubled; a cell a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or carriage return) gets a
/// leading `'`, so it reads as text.
pub(crate) fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// One CSV record, ended by CRLF.
fn csv_line<S: AsRef<str>>(out: &mut String, cells: &[S]) {
    let line: Vec<String> = cells.iter().map(|c| csv_cell(c.as_ref())).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

const CSV_HEADER: [&str; 15] = ["time", "event", "kind", "outcome", "actor", "actor_name", "user_id", "username", "client_id", "client_name", "ip", "user_agent", "request_id", "detail", "id"];

/// The query of the log: the filters the form sends, the old epoch
/// `since`/`until` of older links and the quick periods, and a cursor.
#[derive(Deserialize, Default, Clone)]
pub struct AuditQuery {
    user: Option<String>,
    client: Option<String>,
    kind: Option<String>,
    outcome: Option<String>,
    /// `YYYY-MM-DD`, UTC, from the start of that day.
    from: Option<String>,
    /// `YYYY-MM-DD`, UTC, to the end of that day.
    to: Option<String>,
    /// Epoch seconds.
    since: Option<String>,
    /// Epoch seconds (exclusive).
    until: Option<String>,
    cursor: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn epoch(v: &Option<String>) -> Option<i64> {
    nonempty(v).and_then(|s| s.parse().ok())
}

impl AuditQuery {
    /// The filters as a query string (no cursor), leaving out `drop`.
    fn query_without(&self, drop: &[&str]) -> String {
        let pairs =
            [("user", &self.user), ("client", &self.client), ("kind", &self.kind), ("outcome", &self.outcome), ("from", &self.from), ("to", &self.to), ("since", &self.since), ("until", &self.until)];
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter().filter(|(k, _)| !drop.contains(k)).filter_map(|(k, v)| nonempty(v).map(|v| (*k, v)))).finish()
    }

    fn query_string(&self) -> String {
        self.query_without(&[])
    }
}

/// `path?query`, or `path` alone.
fn link(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// The filter a query asks for, and what the page says about it.
struct Resolved {
    filter: Filter,
    /// The user filter names no user there is now (by name or id).
    unknown_user: Option<String>,
    /// Lines to show above the table ("… is not a date").
    notes: Vec<String>,
}

async fn resolve(state: &AppState, t: Tr, q: &AuditQuery) -> Result<Resolved, WebError> {
    let mut notes = Vec::new();
    let mut unknown_user = None;
    // Typed by shape (docs/SECURITY.md, issue #24 item 5): a UUID is only
    // ever an id, anything else only a username. A name or id nobody has
    // now still filters: a removed user's events keep its id.
    let user_id = match nonempty(&q.user) {
        None => None,
        Some(u) if latchkey_domain::user::looks_like_user_id(u) => {
            let id = u.to_ascii_lowercase();
            if state.authn.user(&UserId(id.clone())).await?.is_none() {
                unknown_user = Some(u.to_string());
            }
            Some(id)
        }
        Some(u) => Some(match state.authn.find_by_username(u).await? {
            Some(user) => user.id.0,
            None => {
                unknown_user = Some(u.to_string());
                u.to_string()
            }
        }),
    };
    let mut day = |v: &Option<String>| match nonempty(v) {
        None => None,
        Some(s) => {
            let start = day_start(s);
            if start.is_none() {
                notes.push(t.arg("audit-bad-date", "value", s));
            }
            start
        }
    };
    let (from, to_end) = (day(&q.from), day(&q.to).map(|d| d + 86_400));
    let since = [epoch(&q.since), from].into_iter().flatten().max();
    let until = [epoch(&q.until), to_end].into_iter().flatten().min();
    let filter = Filter {
        user_id,
        client_id: nonempty(&q.client).map(str::to_string),
        kind: nonempty(&q.kind).map(str::to_string),
        outcome: nonempty(&q.outcome).map(str::to_string),
        since,
        until,
        after: None,
    };
    Ok(Resolved { filter, unknown_user, notes })
}

/// A choice of a `<select>`.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    frame: Frame,
    user: String,
    from: String,
    to: String,
    /// The epoch `since`/`until` of the link, kept by the form.
    since: String,
    until: String,
    /// "From Wednesday, 2 December 2026 at 14:05 (UTC)", for `since`/`until`.
    period: Vec<String>,
    /// The same filters without `since`/`until`.
    any_time: String,
    usernames: Vec<String>,
    clients: Vec<Choice>,
    kinds: Vec<Choice>,
    outcomes: Vec<Choice>,
    /// Last hour, day, week: (link, words).
    quick: Vec<(String, String)>,
    /// "1,234 events".
    count: String,
    notes: Vec<String>,
    csv: String,
    jsonl: String,
    events: Vec<EventRow>,
    older: Option<String>,
    newest: Option<String>,
}

pub async fn audit(req: HttpRequest, _admin: AdminSession, state: web::Data<AppState>, query: web::Query<AuditQuery>) -> Result<HttpResponse, WebError> {
    let q = query.into_inner();
    let frame = Frame::new(&req, Section::Audit, None);
    let t = frame.t;
    let Resolved { filter, unknown_user, mut notes } = resolve(&state, t, &q).await?;
    let cursor = nonempty(&q.cursor);
    let found = state.oauth.audit_search(filter.clone(), cursor, PAGE).await?;
    let total = state.oauth.audit_count(filter.clone()).await?;
    let events = event_rows(&state, t, &found.events).await?;
    if let Some(u) = unknown_user {
        notes.push(t.arg(if total == 0 { "audit-unknown-user" } else { "audit-removed-user" }, "user", u));
    }
    if total == 0 {
        notes.push(t.get("audit-none"));
    }

    let (usernames, client_names) = state.oauth.audit_choices(SUGGESTED_USERS).await?;
    let chosen_client = nonempty(&q.client).unwrap_or_default().to_string();
    let mut clients = vec![Choice { value: String::new(), label: t.get("audit-any-client"), selected: chosen_client.is_empty() }];
    let known_client = client_names.iter().any(|(id, _)| *id == chosen_client);
    clients.extend(client_names.into_iter().map(|(id, name)| Choice { selected: id == chosen_client, label: format!("{name} ({})", short_id(&id)), value: id }));
    if !chosen_client.is_empty() && !known_client {
        clients.push(Choice { label: t.arg("audit-removed-client", "client", short_id(&chosen_client)), value: chosen_client, selected: true });
    }
    let chosen_kind = nonempty(&q.kind).unwrap_or_default();
    let mut kinds: Vec<Choice> = EventKind::ALL.iter().map(|k| Choice { value: k.as_str().to_string(), label: t.get(&event_key(*k)), selected: k.as_str() == chosen_kind }).collect();
    kinds.sort_by_cached_key(|c| c.label.to_lowercase());
    kinds.insert(0, Choice { value: String::new(), label: t.get("audit-any-event"), selected: chosen_kind.is_empty() });
    let chosen_outcome = nonempty(&q.outcome).unwrap_or_default();
    let outcomes = [("", "audit-any-outcome"), ("success", "audit-outcome-success"), ("failure", "audit-outcome-failure")]
        .into_iter()
        .map(|(value, key)| Choice { value: value.to_string(), label: t.get(key), selected: value == chosen_outcome })
        .collect();

    let now = state.clock.now();
    let base = q.query_without(&["from", "to", "since", "until"]);
    let quick = [(3_600, "audit-last-hour"), (86_400, "audit-last-day"), (7 * 86_400, "audit-last-week")]
        .into_iter()
        .map(|(secs, key)| {
            let since = format!("since={}", now - secs);
            (link("/admin/audit", &if base.is_empty() { since } else { format!("{base}&{since}") }), t.get(key))
        })
        .collect();
    let (since, until) = (epoch(&q.since), epoch(&q.until));
    let period = [since.map(|s| t.arg("audit-since", "time", t.datetime(s, None))), until.map(|u| t.arg("audit-until", "time", t.datetime(u, None)))].into_iter().flatten().collect();

    let query = q.query_string();
    let older = found.next_cursor.map(|c| {
        let cursor = format!("cursor={}", url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>());
        link("/admin/audit", &if query.is_empty() { cursor } else { format!("{query}&{cursor}") })
    });
    let p = AuditPage {
        user: nonempty(&q.user).unwrap_or_default().to_string(),
        from: nonempty(&q.from).unwrap_or_default().to_string(),
        to: nonempty(&q.to).unwrap_or_default().to_string(),
        since: since.map(|s| s.to_string()).unwrap_or_default(),
        until: until.map(|u| u.to_string()).unwrap_or_default(),
        period,
        any_time: link("/admin/audit", &q.query_without(&["since", "until"])),
        usernames,
        clients,
        kinds,
        outcomes,
        quick,
        count: t.arg2("audit-count", "count", total, "shown", grouped(t, total)),
        notes,
        csv: link("/admin/audit.csv", &query),
        jsonl: link("/admin/audit.jsonl", &query),
        events,
        older,
        newest: cursor.map(|_| link("/admin/audit", &query)),
        frame,
    };
    page(&p, &CsrfCookie::from_request(&req))
}

/// Every event of the filtered view, a page at a time (up to 100,000),
/// handed to `each` with the names of its page.
async fn export_pages(state: &AppState, filter: &Filter, mut each: impl FnMut(&AuditNames, &[AuditEvent]) -> Result<(), WebError>) -> Result<(), WebError> {
    let mut cursor: Option<String> = None;
    for _ in 0..EXPORT_PAGES {
        let found = state.oauth.audit_search(filter.clone(), cursor.as_deref(), latchkey_oauth::audit::MAX_PAGE).await?;
        let names = names_of(state, &found.events).await?;
        each(&names, &found.events)?;
        match found.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(())
}

/// A download of the export.
fn download(content_type: &str, filename: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{filename}\"")))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

/// The filtered view as JSON lines: the rows as stored.
pub async fn audit_export(req: HttpRequest, admin: AdminSession, state: web::Data<AppState>, query: web::Query<AuditQuery>) -> Result<HttpResponse, WebError> {
    let q = query.into_inner();
    let filter = resolve(&state, crate::lang::tr(&req), &q).await?.filter;
    let mut out = String::new();
    export_pages(&state, &filter, |_, events| {
        for e in events {
            out.push_str(&serde_json::to_string(e).map_err(|e| WebError::Internal(e.to_string()))?);
            out.push('\n');
        }
        Ok(())
    })
    .await?;
    state.oauth.record(&admin.actor().audited(), SecurityEvent::AuditExported { filter: q.query_string() }).await;
    Ok(download("application/x-ndjson", "latchkey-audit.jsonl", out))
}

/// The filtered view as CSV (RFC 4180, formulas neutralised): the stored
/// columns, with the event in the reader's words and names beside the ids.
pub async fn audit_csv(req: HttpRequest, admin: AdminSession, state: web::Data<AppState>, query: web::Query<AuditQuery>) -> Result<HttpResponse, WebError> {
    let q = query.into_inner();
    let t = crate::lang::tr(&req);
    let filter = resolve(&state, t, &q).await?.filter;
    let mut out = String::new();
    csv_line(&mut out, &CSV_HEADER);
    let now = state.clock.now();
    export_pages(&state, &filter, |names, events| {
        for e in events {
            let row = event_row(t, now, names, e);
            // The name, empty for one removed since.
            let name = |p: &Option<Party>| p.as_ref().map(|p| p.name.clone()).unwrap_or_default();
            let cells = [
                format_rfc3339(e.at),
                row.kind.clone(),
                e.kind.clone(),
                e.outcome.clone(),
                e.actor.clone().unwrap_or_default(),
                row.actor.name.clone(),
                e.user_id.clone().unwrap_or_default(),
                name(&row.user),
                e.client_id.clone().unwrap_or_default(),
                name(&row.client),
                e.ip.clone().unwrap_or_default(),
                e.user_agent.clone().unwrap_or_default(),
                e.request_id.clone().unwrap_or_default(),
                e.detail.clone(),
                e.id.clone(),
            ];
            csv_line(&mut out, &cells);
        }
        Ok(())
    })
    .await?;
    let query = q.query_string();
    let filter_words = if query.is_empty() { "format=csv".to_string() } else { format!("format=csv&{query}") };
    state.oauth.record(&admin.actor().audited(), SecurityEvent::AuditExported { filter: filter_words }).await;
    Ok(download("text/csv; charset=utf-8", "latchkey-audit.csv", out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EN: Tr = Tr::new(Locale::En);
    const DE: Tr = Tr::new(Locale::De);

    #[test]
    fn every_event_kind_has_words_in_every_language() {
        for locale in Locale::ALL {
            let t = Tr::new(locale);
            for kind in EventKind::ALL {
                assert!(t.has(&event_key(kind)), "{locale}: no {} for {kind:?}", event_key(kind));
                assert_ne!(event_words(t, kind.as_str()), kind.as_str());
            }
        }
        // And no words for a kind there is not.
        let english = latchkey_i18n::sources(Locale::En).join("\n");
        for line in english.lines().filter(|l| l.starts_with("event-")) {
            let key = line.split(" =").next().unwrap_or_default();
            assert!(EventKind::ALL.iter().any(|k| event_key(*k) == key), "{key} names no event kind");
        }
        assert_eq!(event_words(EN, "passkey_sign_in"), "Signed in with a passkey");
        assert_eq!(event_words(EN, "backup_codes_regenerated"), "Backup codes renewed");
        assert_eq!(event_words(EN, "recovery_requested"), "Recovery link sent");
        assert_eq!(event_words(DE, "passkey_sign_in"), "Mit einem Passkey angemeldet");
        assert_eq!(event_words(EN, "kind_of_old"), "kind_of_old", "an old kind as stored");
    }

    #[test]
    fn amr_values_in_words() {
        assert_eq!(amr_words(EN, "pwd otp"), "password and authenticator app or backup code");
        assert_eq!(amr_words(EN, "hwk user"), "passkey");
        assert_eq!(amr_words(DE, "pwd otp"), "Passwort und Authenticator-App oder Backup-Code");
        assert_eq!(amr_words(EN, "pwd nonsense"), "pwd nonsense", "not all amr values: as stored");
        assert_eq!(detail_words(EN, "sign_in", "methods pwd otp mfa, remembered device, new device"), "password and authenticator app or backup code, remembered device, new device");
        assert_eq!(detail_words(DE, "sign_in", "methods hwk user, new device"), "Passkey, neues Gerät");
        assert_eq!(detail_words(EN, "account_set_up", "first credential: pwd"), "first sign-in method: password");
        assert_eq!(detail_words(EN, "admin_granted", "admin: false -> true"), "");
        assert_eq!(detail_words(EN, "admin_granted", "admin: true -> true"), "nothing changed");
        assert_eq!(detail_words(EN, "not_me", "the user disowned a passkey_sign_in event; 2 session(s) ended"), "“Signed in with a passkey” reported as not theirs; 2 sessions ended");
        assert_eq!(detail_words(EN, "rate_limited", "+cmd"), "+cmd", "free text as stored");
        assert_eq!(
            detail_words(EN, "sign_in", "methods pwd mca, new device; risk medium: unknown device, 3 failures in the last hour, new country DE; from Berlin, Germany"),
            "password and a code sent by email, new device; medium risk: unknown device, 3 failed sign-ins in the last hour, country not used in 90 days (DE); Berlin, Germany"
        );
        assert_eq!(detail_words(DE, "sign_in", "methods hwk user; risk low"), "Passkey; geringes Risiko");
        assert_eq!(
            detail_words(EN, "risky_sign_in_refused", "password sign-in refused, no second factor to ask for; risk high: impossible travel 6385 km in 60 min"),
            "password sign-in refused, no second factor to ask for; high risk: impossible travel: 6,385 km in 60 min"
        );
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("alice"), "alice");
        assert_eq!(csv_cell(""), "");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
        for risky in ["=1+2", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx"] {
            let cell = csv_cell(risky);
            assert!(cell.starts_with('\'') || cell.starts_with("\"'"), "{risky:?} -> {cell:?}");
        }
        assert_eq!(csv_cell("1+2"), "1+2", "only a leading sign");
        let mut out = String::new();
        csv_line(&mut out, &["a", "b,c", "=d"]);
        assert_eq!(out, "a,\"b,c\",'=d\r\n");
    }

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(day_start("1970-01-01"), Some(0));
        assert_eq!(day_start("2026-11-18"), Some(1_795_000_000 - 40_000));
        assert_eq!(day_start("2024-02-29"), Some(1_709_164_800));
        assert_eq!(day_start("2000-03-01"), Some(951_868_800));
        for bad in ["2023-02-29", "2026-13-01", "2026-00-10", "2026-1-01", "26-01-01", "2026/01/01", "", "2026-01-01T00:00", "+026-01-01", "2026-01-32"] {
            assert_eq!(day_start(bad), None, "{bad}");
        }
    }

    #[test]
    fn counts_group_their_thousands() {
        assert_eq!(grouped(EN, 0), "0");
        assert_eq!(grouped(EN, 999), "999");
        assert_eq!(grouped(EN, 1234), "1,234");
        assert_eq!(grouped(EN, 1_234_567), "1,234,567");
        assert_eq!(grouped(DE, 1234), "1.234");
        assert_eq!(grouped(EN, -12_345), "-12,345");
        assert_eq!(EN.arg2("audit-count", "count", 1, "shown", "1"), "1 event");
        assert_eq!(EN.arg2("audit-count", "count", 1234, "shown", grouped(EN, 1234)), "1,234 events");
    }

    #[test]
    fn actors_are_named() {
        let names = AuditNames { users: [("u1".to_string(), "alice".to_string())].into_iter().collect(), clients: [("c1".to_string(), "My app".to_string())].into_iter().collect() };
        let e = |actor: Option<&str>| AuditEvent {
            actor: actor.map(str::to_string),
            kind: "sign_in".into(),
            outcome: "success".into(),
            user_id: Some("9e3d0771-2b7c-4f5e-8d3a-0c1b2a3d4e5f".into()),
            ..Default::default()
        };
        let row = event_row(EN, 100, &names, &e(Some("user:u1")));
        assert_eq!((row.actor.name.as_str(), row.actor.href.as_deref(), row.actor.removed), ("alice", Some("/admin/users/u1"), false));
        let user = row.user.expect("a user");
        assert!(user.removed && user.href.is_none());
        assert_eq!(user.to_string(), "9e3d0771… (removed)");
        let row = event_row(EN, 100, &names, &e(Some("admin:u1")));
        assert_eq!(row.actor.note.as_deref(), Some("as admin"));
        assert_eq!(event_row(EN, 100, &names, &e(Some("client:c1"))).actor.href.as_deref(), Some("/admin/clients/c1"));
        assert_eq!(event_row(EN, 100, &names, &e(Some("cli"))).actor.name, "Command line");
        assert_eq!(event_row(EN, 100, &names, &e(Some("scim:s1"))).actor.name, "SCIM client s1");
        assert_eq!(event_row(DE, 100, &names, &e(None)).actor.name, "System oder anonym");
        assert_eq!(event_row(EN, 100, &names, &e(None)).kind, "Signed in");
        let repeated = AuditEvent { kind: "passkey_sign_in".into(), detail: "signed in with a passkey".into(), ..e(None) };
        assert_eq!(event_row(EN, 100, &names, &repeated).detail, "", "a detail that repeats the event is left out");
        assert_eq!(mentioned(&[e(Some("client:c1")), e(Some("admin:u1"))]), (vec!["9e3d0771-2b7c-4f5e-8d3a-0c1b2a3d4e5f".to_string(), "u1".to_string()], vec!["c1".to_string()]));
    }
}
