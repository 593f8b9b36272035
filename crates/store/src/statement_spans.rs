//! A trace span per SQL statement (issue #31), from diesel's connection
//! instrumentation: the statement's text without its parameters, the
//! database system, and whether it failed (the kind of failure only).
//!
//! Parameters are never recorded: they are token hashes, codes' state,
//! usernames and emails. diesel's rendering of a statement ends with
//! `-- binds: [...]`; everything from there on is cut, and the SQL before it
//! holds only placeholders (`$1`, `?`) and the constants of our own code.
//!
//! The span is a child of the current span of the thread that runs the
//! statement: [`crate::Db`] carries the caller's span onto its blocking and
//! writer threads. Outside any span (upkeep, start-up) the exporter keeps
//! none of them, and when nobody exports or logs at DEBUG no statement is
//! rendered at all.

use diesel::connection::{Instrumentation, InstrumentationEvent};
use tracing::field::Empty;

/// Longest statement text recorded; longer ones are cut (with `…`).
const MAX_SQL_CHARS: usize = 2_000;

/// The diesel instrumentation of one connection.
pub(crate) struct StatementSpans {
    /// `db.system.name`: `postgresql` or `sqlite`.
    system: &'static str,
    /// The statements started and not yet finished (one at a time in
    /// practice; a stack in case diesel ever nests them).
    open: Vec<tracing::Span>,
}

impl StatementSpans {
    pub(crate) fn new(system: &'static str) -> StatementSpans {
        StatementSpans { system, open: Vec::new() }
    }
}

impl Instrumentation for StatementSpans {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                let span = tracing::debug_span!(
                    target: "latchkey_trace",
                    "db",
                    otel.name = Empty,
                    otel.kind = "client",
                    db.system.name = self.system,
                    db.operation.name = Empty,
                    db.query.text = Empty,
                    "error.type" = Empty,
                    otel.status_code = Empty,
                );
                if !span.is_disabled() {
                    let text = sql_only(&query.to_string());
                    let operation = operation(&text);
                    span.record("otel.name", operation.as_str());
                    span.record("db.operation.name", operation.as_str());
                    span.record("db.query.text", text.as_str());
                }
                self.open.push(span);
            }
            InstrumentationEvent::FinishQuery { error, .. } => {
                let span = self.open.pop();
                if let (Some(span), Some(kind)) = (span, error.and_then(failure)) {
                    span.record("error.type", kind.as_str());
                    span.record("otel.status_code", "error");
                }
            }
            _ => {}
        }
    }
}

/// The statement without diesel's `-- binds: [...]` suffix (the first one:
/// the SQL before it is ours), without surrounding blank space, and cut to
/// [`MAX_SQL_CHARS`].
pub(crate) fn sql_only(rendered: &str) -> String {
    let sql = rendered.split_once(" -- binds: ").map_or(rendered, |(sql, _)| sql).trim();
    if sql.chars().count() <= MAX_SQL_CHARS {
        return sql.to_string();
    }
    let mut cut: String = sql.chars().take(MAX_SQL_CHARS).collect();
    cut.push('…');
    cut
}

/// The statement's first keyword (`SELECT`, `INSERT`, `WITH`, `BEGIN`…).
fn operation(sql: &str) -> String {
    sql.split(|c: char| c.is_whitespace() || c == '(' || c == ';').find(|w| !w.is_empty()).unwrap_or("SQL").to_ascii_uppercase()
}

/// What kind of failure a statement met, in words that carry no data (a
/// unique violation's message names the clashing value). "No row" is an
/// answer, not a failure.
fn failure(error: &diesel::result::Error) -> Option<String> {
    use diesel::result::Error;
    match error {
        Error::NotFound => None,
        Error::DatabaseError(kind, _) => Some(format!("{kind:?}")),
        _ => Some("diesel".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_cut_off() {
        assert_eq!(sql_only(r#"SELECT "users"."id" FROM "users" WHERE "users"."username" = $1 -- binds: ["alice"]"#), r#"SELECT "users"."id" FROM "users" WHERE "users"."username" = $1"#);
        // A value that itself looks like the marker changes nothing.
        assert_eq!(sql_only(r#"UPDATE t SET a = ? WHERE b = ? -- binds: ["x -- binds: y", "secret"]"#), "UPDATE t SET a = ? WHERE b = ?");
        assert_eq!(sql_only("BEGIN"), "BEGIN");
        assert!(sql_only(&format!("SELECT {} -- binds: []", "x".repeat(5000))).chars().count() <= MAX_SQL_CHARS + 1);
    }

    #[test]
    fn operations_are_the_first_keyword() {
        assert_eq!(operation("select 1"), "SELECT");
        assert_eq!(operation("  WITH spent AS (UPDATE …)"), "WITH");
        assert_eq!(operation("(SELECT 1)"), "SELECT");
        assert_eq!(operation(""), "SQL");
    }
}
