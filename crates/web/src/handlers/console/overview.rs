//! The overview (`/admin`): the figures of now as a row of cards, then three
//! charts of the last 30 days — sign-ins by method, failures and
//! throttling, passkey and second-factor adoption — each drawn as SVG on the
//! server ([`crate::charts`]), with a legend in text and, beside it, a table
//! of exactly the numbers drawn. The numbers come from one use case
//! ([`latchkey_app::admin::Admin::overview`], counted in the database at the
//! app clock's now); every word from the reader's language.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use latchkey_app::admin::stats::{Adoption, Failure, Overview, Series, SignInMethod};
use latchkey_i18n::Tr;

use super::*;
use crate::browser::CsrfCookie;
use crate::charts::{self, Chart, Day};
use crate::error::WebError;
use crate::guards::AdminSession;
use crate::state::AppState;

/// One card of the row of figures.
struct Figure {
    /// Names it in markup (`users`).
    key: &'static str,
    label: String,
    value: i64,
    /// A share of all users, when it is one.
    note: Option<String>,
    /// Worth a look (a replayed refresh token).
    alert: bool,
}

/// A chart with its legend and its numbers.
struct ChartView {
    id: &'static str,
    title: String,
    note: Option<String>,
    /// The drawn chart (escaped by [`crate::charts`]).
    svg: String,
    /// The legend and the table's columns, in the order drawn.
    series: Vec<charts::Series>,
    rows: Vec<Row>,
    /// Bars have a total per day; lines do not.
    totals: bool,
    line: bool,
}

/// A day of a chart's table.
struct Row {
    iso: String,
    long: String,
    values: Vec<i64>,
    total: i64,
}

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct OverviewPage {
    frame: Frame,
    /// "2 open security alerts." (a link to them), and whether any is open.
    open_alerts: String,
    any_open_alert: bool,
    figures: Vec<Figure>,
    charts: Vec<ChartView>,
}

pub async fn overview(req: HttpRequest, admin: AdminSession, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let overview = state.admin(admin.actor()).overview().await?;
    let open_alerts = state.admin(admin.actor()).open_alerts().await?;
    let frame = Frame::new(&req, Section::Overview, None);
    let t = frame.t;
    let days: Vec<Day> = overview.days.iter().map(|start| day(&t, *start)).collect();
    let sign_ins = colored(&t, &overview.sign_ins, |m| (m.as_str(), sign_in_key(m)));
    // "Other" only when something was neither (nothing records that today).
    let sign_ins: Vec<charts::Series> = sign_ins.into_iter().filter(|s| s.key != SignInMethod::Other.as_str() || s.total() > 0).collect();
    let failures = colored(&t, &overview.failures, |f| (f.as_str(), failure_key(f)));
    let adoption = colored(&t, &overview.adoption, |a| (a.as_str(), adoption_key(a)));
    let charts = vec![
        bars(&t, "sign-ins", "console-overview-sign-ins", &days, sign_ins, None),
        bars(&t, "failures", "console-overview-failures", &days, failures, None),
        lines(&t, "adoption", "console-overview-adoption", &days, adoption, Some(t.get("console-overview-adoption-note"))),
    ];
    let (any_open_alert, open_alerts) = (open_alerts > 0, t.arg("console-overview-open-alerts", "count", open_alerts));
    page(&OverviewPage { figures: figures(&t, &overview), charts, open_alerts, any_open_alert, frame }, &CsrfCookie::from_request(&req))
}

fn figures(t: &Tr, o: &Overview) -> Vec<Figure> {
    let a = &o.figures.accounts;
    let share = |n: i64| Some(t.arg("console-overview-share", "pct", pct(usize::try_from(n).unwrap_or(0), usize::try_from(a.users).unwrap_or(0))));
    let figure = |key, label: &str, value, note| Figure { key, label: t.get(label), value, note, alert: false };
    vec![
        figure("users", "console-overview-users", a.users, None),
        figure("sessions", "console-overview-sessions", o.figures.active_sessions, None),
        figure("passkey", "console-overview-with-passkey", a.with_passkey, share(a.with_passkey)),
        figure("second-factor", "console-overview-with-second-factor", a.with_second_factor, share(a.with_second_factor)),
        figure("password-only", "console-overview-password-only", a.password_only, share(a.password_only)),
        figure("passkey-only", "console-overview-passkey-only", o.figures.passkey_only, share(o.figures.passkey_only)),
        figure("failures", "console-overview-failures-24h", o.figures.failures_24h, None),
        Figure { alert: o.figures.reuse_24h > 0, ..figure("reuse", "console-overview-reuse-24h", o.figures.reuse_24h, None) },
    ]
}

fn sign_in_key(m: SignInMethod) -> &'static str {
    match m {
        SignInMethod::Passkey => "console-overview-method-passkey",
        SignInMethod::PasswordAndSecondFactor => "console-overview-method-password-second-factor",
        SignInMethod::PasswordOnly => "console-overview-method-password-only",
        SignInMethod::Federated => "console-overview-method-federated",
        SignInMethod::Other => "console-overview-method-other",
    }
}

fn failure_key(f: Failure) -> &'static str {
    match f {
        Failure::WrongPassword => "console-overview-failure-password",
        Failure::WrongSecondFactor => "console-overview-failure-second-factor",
        Failure::Refused => "console-overview-failure-refused",
        Failure::Throttled => "console-overview-failure-throttled",
        Failure::RateLimited => "console-overview-failure-rate-limited",
    }
}

fn adoption_key(a: Adoption) -> &'static str {
    match a {
        Adoption::Passkey => "console-overview-adoption-passkey",
        Adoption::SecondFactor => "console-overview-adoption-second-factor",
    }
}

/// The colours, in order.
const CLASSES: [&str; 5] = ["c1", "c2", "c3", "c4", "c5"];

/// The use case's series as the charts draw them: named in the reader's
/// language, coloured in order.
fn colored<K: Copy>(t: &Tr, series: &[Series<K>], names: impl Fn(K) -> (&'static str, &'static str)) -> Vec<charts::Series> {
    series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (key, label) = names(s.of);
            charts::Series { key, class: CLASSES[i % CLASSES.len()], label: t.get(label), values: s.per_day.clone() }
        })
        .collect()
}

/// A day as the charts label it, in the reader's language.
fn day(t: &Tr, start: i64) -> Day {
    let n = start.div_euclid(86_400);
    let (year, month, d) = charts::civil_date(n);
    let date = t.args("console-overview-date", &[("day", d.to_string().into()), ("month", t.get(&format!("month-{month}")).into()), ("year", year.to_string().into())]);
    Day {
        iso: format!("{year:04}-{month:02}-{d:02}"),
        short: t.arg2("console-overview-date-short", "day", d.to_string(), "month", t.get(&format!("console-overview-month-{month}"))),
        long: t.arg2("console-overview-weekday-date", "weekday", t.get(&format!("weekday-{}", charts::weekday(n))), "date", date),
    }
}

/// The first and last day, for a summary.
fn span(days: &[Day]) -> (String, String) {
    let long = |d: Option<&Day>| d.map(|d| d.long.clone()).unwrap_or_default();
    (long(days.first()), long(days.last()))
}

/// A stacked bar chart: its summary says the total, each series' part and
/// the busiest day.
fn bars(t: &Tr, id: &'static str, title_key: &str, days: &[Day], series: Vec<charts::Series>, note: Option<String>) -> ChartView {
    let title = t.get(title_key);
    let per_day: Vec<i64> = (0..days.len()).map(|d| series.iter().map(|s| s.values.get(d).copied().unwrap_or(0)).sum()).collect();
    let total: i64 = per_day.iter().sum();
    let parts: Vec<String> = series.iter().map(|s| t.arg2("console-overview-part", "series", &s.label, "count", s.total())).collect();
    let (from, to) = span(days);
    let mut summary = t.args("console-overview-summary", &[("title", title.clone().into()), ("from", from.into()), ("to", to.into()), ("total", total.into()), ("parts", parts.join("; ").into())]);
    summary.push(' ');
    // The busiest day: the first of the highest.
    let peak = per_day.iter().enumerate().rev().max_by_key(|(_, n)| **n).filter(|(_, n)| **n > 0);
    match peak.and_then(|(d, n)| Some((days.get(d)?, *n))) {
        Some((day, n)) => summary.push_str(&t.arg2("console-overview-peak", "day", &day.long, "count", n)),
        None => summary.push_str(&t.get("console-overview-none")),
    }
    let svg = charts::stacked_bars(&Chart { id, title: &title, summary: &summary, days, series: &series });
    let rows = days.iter().zip(per_day).enumerate().map(|(d, (day, total))| row(day, &series, d, total)).collect();
    ChartView { id, title, note, svg, series, rows, totals: true, line: false }
}

/// A line chart: its summary says where each line starts and ends.
fn lines(t: &Tr, id: &'static str, title_key: &str, days: &[Day], series: Vec<charts::Series>, note: Option<String>) -> ChartView {
    let title = t.get(title_key);
    let parts: Vec<String> = series
        .iter()
        .map(|s| {
            let (first, last) = (s.values.first().copied().unwrap_or(0), s.values.last().copied().unwrap_or(0));
            t.args("console-overview-line-part", &[("series", s.label.clone().into()), ("first", first.into()), ("last", last.into())])
        })
        .collect();
    let (from, to) = span(days);
    let summary = t.args("console-overview-line-summary", &[("title", title.clone().into()), ("from", from.into()), ("to", to.into()), ("parts", parts.join("; ").into())]);
    let svg = charts::lines(&Chart { id, title: &title, summary: &summary, days, series: &series });
    let rows = days.iter().enumerate().map(|(d, day)| row(day, &series, d, 0)).collect();
    ChartView { id, title, note, svg, series, rows, totals: false, line: true }
}

fn row(day: &Day, series: &[charts::Series], d: usize, total: i64) -> Row {
    Row { iso: day.iso.clone(), long: day.long.clone(), values: series.iter().map(|s| s.values.get(d).copied().unwrap_or(0)).collect(), total }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_i18n::Locale;

    /// Every message this page builds in code exists in every language (the
    /// templates' own are checked by the i18n crate).
    #[test]
    fn every_message_exists_in_every_language() {
        let mut keys: Vec<String> =
            SignInMethod::ALL.into_iter().map(sign_in_key).chain(Failure::ALL.into_iter().map(failure_key)).chain(Adoption::ALL.into_iter().map(adoption_key)).map(str::to_string).collect();
        keys.extend(
            [
                "console-overview-users",
                "console-overview-sessions",
                "console-overview-with-passkey",
                "console-overview-with-second-factor",
                "console-overview-password-only",
                "console-overview-failures-24h",
                "console-overview-reuse-24h",
                "console-overview-share",
                "console-overview-sign-ins",
                "console-overview-failures",
                "console-overview-adoption",
                "console-overview-adoption-note",
                "console-overview-date",
                "console-overview-date-short",
                "console-overview-weekday-date",
                "console-overview-part",
                "console-overview-summary",
                "console-overview-peak",
                "console-overview-none",
                "console-overview-line-part",
                "console-overview-line-summary",
            ]
            .map(str::to_string),
        );
        keys.extend((1..=12).map(|m| format!("console-overview-month-{m}")));
        for locale in Locale::ALL {
            let t = Tr::new(locale);
            for key in &keys {
                assert!(t.has(key), "{locale}: {key}");
            }
        }
    }

    #[test]
    fn days_are_dates_in_the_readers_language() {
        // 2026-12-07, a Monday.
        let start = 20_794 * 86_400;
        let en = day(&Tr::new(Locale::En), start);
        assert_eq!((en.iso.as_str(), en.short.as_str(), en.long.as_str()), ("2026-12-07", "7 Dec", "Monday, 7 December 2026"));
        let de = day(&Tr::new(Locale::De), start);
        assert_eq!((de.short.as_str(), de.long.as_str()), ("7. Dez.", "Montag, 7. Dezember 2026"));
    }

    fn days(n: usize) -> Vec<Day> {
        (0..n as i64).map(|d| day(&Tr::new(Locale::En), (20_794 + d) * 86_400)).collect()
    }

    #[test]
    fn a_summary_says_what_the_chart_shows() {
        let t = Tr::new(Locale::En);
        let d = days(3);
        let s = vec![
            charts::Series { key: "a", class: "c1", label: "Passkey".into(), values: vec![1, 4, 0] },
            charts::Series { key: "b", class: "c2", label: "Password only".into(), values: vec![0, 0, 4] },
        ];
        let chart = bars(&t, "x", "console-overview-sign-ins", &d, s.clone(), None);
        assert!(
            chart
                .svg
                .contains(r#"aria-label="Sign-ins per day, Monday, 7 December 2026 to Wednesday, 9 December 2026: 9 in all (Passkey: 5; Password only: 4). Most on Tuesday, 8 December 2026: 4.""#),
            "{}",
            chart.svg
        );
        assert_eq!(chart.rows.iter().map(|r| r.total).collect::<Vec<_>>(), vec![1, 4, 4]);
        assert_eq!(chart.rows[1].values, vec![4, 0]);
        let empty = bars(&t, "x", "console-overview-sign-ins", &d, s.iter().map(|s| charts::Series { values: vec![0; 3], ..s.clone() }).collect(), None);
        assert!(empty.svg.contains("0 in all (Passkey: 0; Password only: 0). None in these 30 days."), "{}", empty.svg);
        let line = lines(&Tr::new(Locale::De), "y", "console-overview-adoption", &d, s, None);
        assert!(line.svg.contains("Passkey von 1 auf 0; Password only von 0 auf 4."), "{}", line.svg);
    }
}
