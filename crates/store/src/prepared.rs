//! Hand-written PostgreSQL statements that are prepared once per connection.
//!
//! diesel's `sql_query` is never put in the connection's statement cache, so
//! PostgreSQL parsed and planned latchkey's one-statement refresh rotation
//! again on every call. [`Prepared`] carries the same SQL text (with `$n`
//! placeholders) and its parameters, and lets diesel cache it by that text:
//! from the second call on a connection only Bind and Execute go over the
//! wire, and PostgreSQL reuses the plan.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// One parameter of a [`Prepared`] statement.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    BigInt(i64),
    Text(&'a str),
    NullableText(Option<&'a str>),
}

/// `sql` with `$1`..`$n` standing for `params[0]`..`params[n-1]`. A number
/// may appear several times (each use is sent as a parameter of its own).
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    sql: &'static str,
    params: Vec<Param<'a>>,
}

impl<'a> Prepared<'a> {
    pub fn new(sql: &'static str, params: Vec<Param<'a>>) -> Prepared<'a> {
        Prepared { sql, params }
    }
}

/// Splits `sql` at its `$n` placeholders: (text before, n) pairs and the tail.
fn pieces(sql: &str) -> (Vec<(&str, usize)>, &str) {
    let (mut out, mut rest) = (Vec::new(), sql);
    while let Some(at) = rest.find('$') {
        let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            // Not a placeholder ($ inside a literal is not used by our statements).
            let (head, tail) = rest.split_at(at + 1);
            out.push((head, 0));
            rest = tail;
            continue;
        }
        let n = rest[at + 1..at + 1 + digits].parse().unwrap_or(0);
        out.push((&rest[..at], n));
        rest = &rest[at + 1 + digits..];
    }
    (out, rest)
}

impl QueryFragment<Pg> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let (pieces, tail) = pieces(self.sql);
        for (text, n) in pieces {
            out.push_sql(text);
            if n == 0 {
                continue;
            }
            match self.params.get(n - 1) {
                Some(Param::BigInt(v)) => out.push_bind_param::<BigInt, _>(v)?,
                Some(Param::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                Some(Param::NullableText(v)) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                None => return Err(diesel::result::Error::QueryBuilderError(format!("${n} has no parameter").into())),
            }
        }
        out.push_sql(tail);
        Ok(())
    }
}

impl QueryId for Prepared<'_> {
    type QueryId = ();
    /// No static id: diesel caches the statement by its SQL text and bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Prepared<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_with_their_numbers() {
        let (p, tail) = pieces("SELECT $1, $10 + $2 WHERE x = $1");
        assert_eq!(p, vec![("SELECT ", 1), (", ", 10), (" + ", 2), (" WHERE x = ", 1)]);
        assert_eq!(tail, "");
        let (p, tail) = pieces("no params");
        assert!(p.is_empty());
        assert_eq!(tail, "no params");
        assert_eq!(pieces("a $ b").0, vec![("a $", 0)]);
    }

    #[test]
    fn the_sql_is_the_same_every_time_so_it_can_be_cached() {
        let q = |v| Prepared::new("SELECT $1::bigint + $1, $2", vec![Param::BigInt(v), Param::Text("x")]);
        let sql = |p: &Prepared<'_>| diesel::debug_query::<Pg, _>(p).to_string();
        let (a, b) = (sql(&q(1)), sql(&q(2)));
        assert_eq!(a.split(" -- ").next(), b.split(" -- ").next(), "{a} / {b}");
        assert!(a.starts_with("SELECT $1::bigint + $2, $3"), "{a}");
    }
}
