//! Charts drawn on the server as inline SVG, for the console's overview.
//!
//! No script (the pages' Content-Security-Policy allows none) and no
//! `style` attribute (nor inline styles: `style-src` falls back to
//! `'self'`): geometry is in SVG attributes, colours come from the
//! stylesheet through classes (`c1`…`c5`, light and dark, see
//! `/* console overview */` in `static/latchkey.css`) and text is
//! `currentColor`. Each chart is one image for assistive technology
//! (`role="img"`, an `aria-label` summing it up, a `<title>`); the page puts
//! a legend in text and a table of the same numbers beside it. Every bar
//! and point names what it draws (`data-series`, `data-day`, `data-value`)
//! and has a `<title>` (a tooltip), so what is drawn can be read back
//! exactly. Every text is escaped here; the result is inserted as is.

use std::fmt::Write;

use latchkey_i18n::html_escape as esc;

/// A day of a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    /// `2026-12-07`.
    pub iso: String,
    /// For the axis: "7 Dec".
    pub short: String,
    /// For tooltips and tables: "Monday, 7 December 2026".
    pub long: String,
}

/// One stack of bars, or one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// What it counts, for markup and tests (`passkey`).
    pub key: &'static str,
    /// Its colour: `c1`…`c5`.
    pub class: &'static str,
    pub label: String,
    /// One number per day of [`Chart::days`].
    pub values: Vec<i64>,
}

impl Series {
    pub fn total(&self) -> i64 {
        self.values.iter().sum()
    }
}

/// What a chart draws.
pub struct Chart<'a> {
    /// Names the chart's numbers in markup (`sign-ins`).
    pub id: &'a str,
    pub title: &'a str,
    /// What a screen reader says of the whole image.
    pub summary: &'a str,
    pub days: &'a [Day],
    pub series: &'a [Series],
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;
/// A date under every 7th day, counted back from the last (today).
const LABEL_EVERY: usize = 7;

/// The top of the value axis and its step for values up to `max`: a step
/// of 1, 2 or 5 times a power of ten, about four steps high. Nothing to
/// draw still draws an axis from 0 to 1.
pub fn scale(max: i64) -> (i64, i64) {
    let max = max.max(1);
    let raw = max / 4 + i64::from(max % 4 != 0);
    let mut power = 1i64;
    let step = loop {
        if let Some(step) = [1i64, 2, 5].iter().filter_map(|m| m.checked_mul(power)).find(|s| *s >= raw) {
            break step;
        }
        match power.checked_mul(10) {
            Some(p) => power = p,
            None => break raw,
        }
    };
    let steps = max / step + i64::from(max % step != 0);
    (steps.saturating_mul(step), step)
}

/// The SVG root, its title and the value axis with its grid lines.
fn open(c: &Chart, kind: &str, top: i64, step: i64) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart {kind}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{}" data-chart="{}"><title>{}</title>"#,
        esc(c.summary),
        esc(c.id),
        esc(c.title)
    );
    svg.push_str(r#"<g class="value-axis">"#);
    let mut tick = Some(0);
    while let Some(at) = tick.filter(|at| *at <= top) {
        let y = y_of(at, top);
        let _ = write!(svg, r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text x="{}" y="{:.1}" text-anchor="end">{at}</text>"#, WIDTH - RIGHT, LEFT - 6.0, y + 4.0);
        tick = at.checked_add(step.max(1));
    }
    svg.push_str("</g>");
    svg
}

/// The dates under the plot and the closing tag.
fn close(mut svg: String, c: &Chart) -> String {
    let n = c.days.len();
    svg.push_str(r#"<g class="day-axis">"#);
    let _ = write!(svg, r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{:.1}" y2="{:.1}"/>"#, WIDTH - RIGHT, TOP + PLOT_H, TOP + PLOT_H);
    for (i, day) in c.days.iter().enumerate() {
        if (n - 1 - i).is_multiple_of(LABEL_EVERY) {
            let _ = write!(svg, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#, x_mid(i, n), HEIGHT - 8.0, esc(&day.short));
        }
    }
    svg.push_str("</g></svg>");
    svg
}

fn slot(n: usize) -> f64 {
    PLOT_W / n.max(1) as f64
}

fn x_mid(i: usize, n: usize) -> f64 {
    LEFT + slot(n) * (i as f64 + 0.5)
}

fn y_of(value: i64, top: i64) -> f64 {
    TOP + PLOT_H - PLOT_H * value as f64 / top.max(1) as f64
}

fn value(series: &Series, day: usize) -> i64 {
    series.values.get(day).copied().unwrap_or(0).max(0)
}

/// What a bar's or point's tooltip says.
fn tooltip(day: &Day, series: &Series, v: i64) -> String {
    esc(&format!("{} – {}: {v}", day.long, series.label))
}

/// Bars per day, the series stacked in their order from the bottom.
pub fn stacked_bars(c: &Chart) -> String {
    let n = c.days.len();
    let highest = (0..n).map(|d| c.series.iter().fold(0i64, |sum, s| sum.saturating_add(value(s, d)))).max().unwrap_or(0);
    let (top, step) = scale(highest);
    let mut svg = open(c, "bars", top, step);
    let width = slot(n) * 0.7;
    for (d, day) in c.days.iter().enumerate() {
        let _ = write!(svg, r#"<g data-day="{}">"#, esc(&day.iso));
        let mut below = 0i64;
        for s in c.series {
            let v = value(s, d);
            let (y_top, y_bottom) = (y_of(below.saturating_add(v), top), y_of(below, top));
            let _ = write!(
                svg,
                r#"<rect class="bar {}" x="{:.1}" y="{y_top:.1}" width="{width:.1}" height="{:.1}" data-series="{}" data-day="{}" data-value="{v}"><title>{}</title></rect>"#,
                s.class,
                x_mid(d, n) - width / 2.0,
                y_bottom - y_top,
                esc(s.key),
                esc(&day.iso),
                tooltip(day, s, v)
            );
            below = below.saturating_add(v);
        }
        svg.push_str("</g>");
    }
    close(svg, c)
}

/// A line per series, with a point per day.
pub fn lines(c: &Chart) -> String {
    let n = c.days.len();
    let highest = c.series.iter().flat_map(|s| (0..n).map(|d| value(s, d))).max().unwrap_or(0);
    let (top, step) = scale(highest);
    let mut svg = open(c, "lines", top, step);
    for s in c.series {
        let points: Vec<String> = (0..n).map(|d| format!("{:.1},{:.1}", x_mid(d, n), y_of(value(s, d), top))).collect();
        let _ = write!(svg, r#"<g class="series {}"><polyline class="line" fill="none" points="{}"/>"#, s.class, points.join(" "));
        for (d, day) in c.days.iter().enumerate() {
            let v = value(s, d);
            let _ = write!(
                svg,
                r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="3.5" data-series="{}" data-day="{}" data-value="{v}"><title>{}</title></circle>"#,
                x_mid(d, n),
                y_of(v, top),
                esc(s.key),
                esc(&day.iso),
                tooltip(day, s, v)
            );
        }
        svg.push_str("</g>");
    }
    close(svg, c)
}

/// The calendar date of `days` after 1970-01-01: `(year, month, day)`
/// (proleptic Gregorian, as [`crate::format::civil`]).
pub fn civil_date(days: i64) -> (i64, u32, u32) {
    let (year, month, day, ..) = crate::format::civil(days.saturating_mul(86_400));
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

/// The weekday of `days` after 1970-01-01 (a Thursday): 1 is Monday, 7 Sunday.
pub fn weekday(days: i64) -> u32 {
    u32::try_from((days + 3).rem_euclid(7) + 1).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(n: usize) -> Vec<Day> {
        (0..n).map(|i| Day { iso: format!("2026-12-{:02}", i + 1), short: format!("{} Dec", i + 1), long: format!("{} December 2026", i + 1) }).collect()
    }

    fn series(key: &'static str, label: &str, values: Vec<i64>) -> Series {
        Series { key, class: "c1", label: label.into(), values }
    }

    /// `(series, day, value, y, height)` of every bar, or `(series, day, value, cy, 0)` of every point.
    fn drawn(svg: &str) -> Vec<(String, String, i64, f64, f64)> {
        let re = regex::Regex::new(r#"(?:y|cy)="([\d.]+)"(?: width="[\d.]+" height="([\d.]+)")?(?: r="[\d.]+")? data-series="([^"]+)" data-day="([^"]+)" data-value="(\d+)""#).expect("regex");
        re.captures_iter(svg)
            .map(|c| (c[3].to_string(), c[4].to_string(), c[5].parse().unwrap_or(-1), c[1].parse().unwrap_or(-1.0), c.get(2).map_or(0.0, |h| h.as_str().parse().unwrap_or(-1.0))))
            .collect()
    }

    #[test]
    fn the_scale_is_round_and_holds_the_highest_value() {
        assert_eq!(scale(0), (1, 1), "nothing: still an axis");
        assert_eq!(scale(1), (1, 1));
        assert_eq!(scale(3), (3, 1));
        assert_eq!(scale(4), (4, 1));
        assert_eq!(scale(5), (6, 2));
        assert_eq!(scale(7), (8, 2));
        assert_eq!(scale(10), (10, 5));
        assert_eq!(scale(100), (100, 50));
        assert_eq!(scale(101), (150, 50));
        assert_eq!(scale(1234), (1500, 500));
        assert_eq!(scale(-5), (1, 1));
        let (top, step) = scale(i64::MAX);
        assert!(top >= step && step > 0);
        for max in 0..2000 {
            let (top, step) = scale(max);
            assert!(top >= max && top % step == 0 && top / step <= 5, "{max}: {top}/{step}");
        }
    }

    #[test]
    fn bars_stack_in_proportion() {
        let d = days(3);
        let s = [series("a", "A", vec![1, 0, 2]), series("b", "B", vec![1, 0, 6])];
        let svg = stacked_bars(&Chart { id: "x", title: "T", summary: "S", days: &d, series: &s });
        let bars = drawn(&svg);
        assert_eq!(bars.len(), 6, "every series on every day, zero included");
        let of = |k: &str, day: usize| bars.iter().find(|b| b.0 == k && b.1 == d[day].iso).cloned().expect("bar");
        // Highest stack 8: the axis tops at 8 (step 2).
        let full = PLOT_H;
        assert!((of("a", 2).4 - full * 2.0 / 8.0).abs() < 0.2);
        assert!((of("b", 2).4 - full * 6.0 / 8.0).abs() < 0.2);
        assert!((of("b", 2).3 - TOP).abs() < 0.2, "the highest stack reaches the top");
        assert!((of("a", 2).3 - (of("b", 2).3 + of("b", 2).4)).abs() < 0.2, "b sits on a");
        assert_eq!((of("a", 1).2, of("a", 1).4), (0, 0.0), "a day without events is a zero");
        assert!(svg.contains(r#"role="img" aria-label="S""#) && svg.contains("<title>T</title>"));
        assert!(svg.contains(">8</text>") && svg.contains(">0</text>"), "the axis is labelled");
    }

    #[test]
    fn empty_data_draws_an_empty_chart() {
        let d = days(30);
        let s = [series("a", "A", vec![0; 30]), series("b", "B", vec![])];
        for svg in [stacked_bars(&Chart { id: "x", title: "T", summary: "S", days: &d, series: &s }), lines(&Chart { id: "x", title: "T", summary: "S", days: &d, series: &s })] {
            let drawn = drawn(&svg);
            assert_eq!(drawn.len(), 60);
            assert!(drawn.iter().all(|b| b.2 == 0 && b.4 == 0.0 && b.3.is_finite()), "{svg}");
            assert!(!svg.contains("NaN") && !svg.contains("inf"));
        }
        let huge = [series("a", "A", vec![i64::MAX, i64::MAX]), series("b", "B", vec![i64::MAX, -4])];
        let svg = stacked_bars(&Chart { id: "x", title: "T", summary: "S", days: &d[..2], series: &huge });
        assert!(!svg.contains("NaN") && drawn(&svg).len() == 4, "no overflow, nothing negative");
        let nothing = stacked_bars(&Chart { id: "x", title: "T", summary: "S", days: &[], series: &[] });
        assert!(nothing.starts_with("<svg") && nothing.ends_with("</svg>"));
    }

    #[test]
    fn every_label_is_escaped() {
        let d = vec![Day { iso: "2026-12-01\"><script>".into(), short: "<b>1</b>".into(), long: "1 & 2".into() }];
        let s = [series("a", "<img src=x onerror=alert(1)>", vec![3])];
        for svg in [
            stacked_bars(&Chart { id: "x\"", title: "</title><script>", summary: "\" onload=\"alert(1)", days: &d, series: &s }),
            lines(&Chart { id: "x\"", title: "</title><script>", summary: "\" onload=\"alert(1)", days: &d, series: &s }),
        ] {
            for raw in ["<script>", "<img", "<b>", "\" onload", "1 & 2", "x\""] {
                assert!(!svg.contains(raw), "{raw} unescaped in {svg}");
            }
            assert!(svg.contains("&lt;img src=x onerror=alert(1)&gt;: 3") && svg.contains("&lt;b&gt;1&lt;/b&gt;") && svg.contains("&quot; onload=&quot;alert(1)"));
        }
    }

    #[test]
    fn lines_put_each_point_at_its_value() {
        let d = days(5);
        let s = [series("p", "P", vec![0, 1, 2, 3, 4]), series("q", "Q", vec![4, 4, 4, 4, 4])];
        let svg = lines(&Chart { id: "x", title: "T", summary: "S", days: &d, series: &s });
        let points = drawn(&svg);
        assert_eq!(points.len(), 10);
        for (key, day, v, cy, _) in &points {
            assert!((cy - y_of(*v, 4)).abs() < 0.1, "{key} {day}");
        }
        assert_eq!(svg.matches("<polyline").count(), 2);
        // Dates under every 7th day counted back from the last: here only the last.
        assert!(svg.contains(">5 Dec</text>") && !svg.contains(">4 Dec</text>"));
    }

    #[test]
    fn dates_from_days() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(weekday(0), 4, "a Thursday");
        // 2026-12-02, a Wednesday (as crates/i18n/src/dates.rs).
        assert_eq!(civil_date(1_796_220_300 / 86_400), (2026, 12, 2));
        assert_eq!(weekday(1_796_220_300 / 86_400), 3);
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(-1), (1969, 12, 31));
        assert_eq!(civil_date(20_819), (2027, 1, 1));
    }
}
