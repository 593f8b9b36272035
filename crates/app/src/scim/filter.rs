//! SCIM filters (RFC 7644 §3.4.2.2): parsed into a tree, evaluated against
//! a resource as JSON. Attribute names are matched whatever their case;
//! string comparisons ignore case except for `id` and `externalId`
//! (case-exact in RFC 7643).
//!
//! Grammar, by precedence: `or` < `and` < `not (…)` / `(…)` / comparisons.

use serde_json::Value;

use super::ScimError;

/// The longest filter read (a provisioner's filters are a line).
pub const MAX_FILTER_CHARS: usize = 4096;
/// The deepest nesting of parentheses and `not`s read.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// `[urn:…:]attr[.sub]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN, if the path named one (as written; compared whatever its case).
    pub schema: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare(AttrPath, Op, Value),
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`: an element of a multi-valued attribute matches.
    ValuePath(AttrPath, Box<Filter>),
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::InvalidFilter(detail.into())
}

/// Parses an attribute path (`name.givenName`, `urn:…:User:department`).
pub fn parse_attr_path(text: &str) -> Result<AttrPath, ScimError> {
    // An extension's URN alone names its whole object (a top attribute).
    if text.eq_ignore_ascii_case(super::ENTERPRISE_SCHEMA) {
        return Ok(AttrPath { schema: None, attr: super::ENTERPRISE_SCHEMA.to_string(), sub: None });
    }
    let (schema, rest) = match text.rfind(':') {
        Some(i) if text[..i].to_ascii_lowercase().starts_with("urn:") => (Some(text[..i].to_string()), &text[i + 1..]),
        _ => (None, text),
    };
    let (attr, sub) = match rest.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (rest, None),
    };
    let name_ok = |s: &str| {
        !s.is_empty() && s.len() <= 128 && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '$') && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
    };
    if !name_ok(attr) || sub.is_some_and(|s| !name_ok(s)) {
        return Err(invalid(format!("{text:?} is not an attribute path")));
    }
    Ok(AttrPath { schema, attr: attr.to_string(), sub: sub.map(str::to_string) })
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

fn tokens(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(invalid("an unterminated string")),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(other) => s.push(other),
                            None => return Err(invalid("an unterminated string")),
                        },
                        Some(other) => s.push(other),
                    }
                }
                out.push(Token::Str(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Token::Word(w));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.next();
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.next();
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn nested(&mut self, close: Token) -> Result<Filter, ScimError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(invalid("the filter nests too deeply"));
        }
        let inner = self.or()?;
        self.depth -= 1;
        match self.next() {
            Some(t) if t == close => Ok(inner),
            _ => Err(invalid("a bracket is not closed")),
        }
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        if self.keyword("not") {
            self.next();
            if self.next() != Some(Token::Open) {
                return Err(invalid("`not` takes a filter in parentheses"));
            }
            return Ok(Filter::Not(Box::new(self.nested(Token::Close)?)));
        }
        match self.next() {
            Some(Token::Open) => self.nested(Token::Close),
            Some(Token::Word(w)) => {
                let path = parse_attr_path(&w)?;
                if self.peek() == Some(&Token::OpenBracket) {
                    self.next();
                    let inner = self.nested(Token::CloseBracket)?;
                    return Ok(Filter::ValuePath(path, Box::new(inner)));
                }
                let op = match self.next() {
                    Some(Token::Word(op)) => op.to_ascii_lowercase(),
                    _ => return Err(invalid(format!("{w} needs an operator"))),
                };
                let op = match op.as_str() {
                    "pr" => return Ok(Filter::Present(path)),
                    "eq" => Op::Eq,
                    "ne" => Op::Ne,
                    "co" => Op::Co,
                    "sw" => Op::Sw,
                    "ew" => Op::Ew,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    other => return Err(invalid(format!("{other:?} is not an operator"))),
                };
                let value = match self.next() {
                    Some(Token::Str(s)) => Value::String(s),
                    Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        "null" => Value::Null,
                        _ => serde_json::from_str::<serde_json::Number>(&w).map(Value::Number).map_err(|_| invalid(format!("{w:?} is not a value")))?,
                    },
                    _ => return Err(invalid("a comparison needs a value")),
                };
                Ok(Filter::Compare(path, op, value))
            }
            _ => Err(invalid("expected an attribute, `not` or `(`")),
        }
    }
}

/// Parses a filter.
pub fn parse(text: &str) -> Result<Filter, ScimError> {
    if text.chars().count() > MAX_FILTER_CHARS {
        return Err(invalid("the filter is too long"));
    }
    let mut p = Parser { tokens: tokens(text)?, at: 0, depth: 0 };
    let f = p.or()?;
    if p.at != p.tokens.len() {
        return Err(invalid("unexpected text after the filter"));
    }
    Ok(f)
}

/// The member of `obj` named `name`, whatever its case.
pub fn member<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// The values at `path` in `resource` (multi-valued attributes flattened).
fn values<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let base = match &path.schema {
        Some(urn) => match member(resource, urn) {
            Some(ext) => ext,
            // A core schema's URN names the resource itself.
            None if is_core(urn) => resource,
            None => return Vec::new(),
        },
        None => resource,
    };
    let Some(top) = member(base, &path.attr) else { return Vec::new() };
    let items: Vec<&Value> = match top {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    match &path.sub {
        None => items
            .into_iter()
            // A multi-valued attribute of objects compares by their `value`.
            .map(|v| if v.is_object() { member(v, "value").unwrap_or(v) } else { v })
            .collect(),
        Some(sub) => items.into_iter().filter_map(|v| member(v, sub)).collect(),
    }
}

/// Whether a schema URN is a core schema's (its attributes live at the top).
pub fn is_core(urn: &str) -> bool {
    urn.to_ascii_lowercase().starts_with("urn:ietf:params:scim:schemas:core:")
}

fn case_exact(path: &AttrPath) -> bool {
    path.sub.is_none() && (path.attr.eq_ignore_ascii_case("id") || path.attr.eq_ignore_ascii_case("externalId"))
}

fn compare(actual: &Value, op: Op, wanted: &Value, exact: bool) -> bool {
    use std::cmp::Ordering;
    let ordering = match (actual, wanted) {
        (Value::String(a), Value::String(b)) => {
            let (a, b) = if exact { (a.clone(), b.clone()) } else { (a.to_lowercase(), b.to_lowercase()) };
            match op {
                Op::Co => return a.contains(&b),
                Op::Sw => return a.starts_with(&b),
                Op::Ew => return a.ends_with(&b),
                _ => a.cmp(&b),
            }
        }
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
            _ => return false,
        },
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        // Provisioners send booleans as strings ("True").
        (Value::Bool(a), Value::String(b)) | (Value::String(b), Value::Bool(a)) => match b.to_ascii_lowercase().as_str() {
            "true" => a.cmp(&true),
            "false" => a.cmp(&false),
            _ => return op == Op::Ne,
        },
        _ => return op == Op::Ne,
    };
    match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Co | Op::Sw | Op::Ew => false,
    }
}

/// Whether `resource` matches `filter`.
pub fn matches(resource: &Value, filter: &Filter) -> bool {
    match filter {
        Filter::And(a, b) => matches(resource, a) && matches(resource, b),
        Filter::Or(a, b) => matches(resource, a) || matches(resource, b),
        Filter::Not(f) => !matches(resource, f),
        Filter::Present(path) => values(resource, path).iter().any(|v| !v.is_null() && v.as_str() != Some("") && v.as_array().is_none_or(|a| !a.is_empty())),
        Filter::Compare(path, op, wanted) => {
            let found = values(resource, path);
            if *wanted == Value::Null {
                let present = found.iter().any(|v| !v.is_null());
                return if *op == Op::Eq { !present } else { present };
            }
            if *op == Op::Ne {
                return !found.iter().any(|v| compare(v, Op::Eq, wanted, case_exact(path)));
            }
            found.iter().any(|v| compare(v, *op, wanted, case_exact(path)))
        }
        Filter::ValuePath(path, inner) => {
            let base = AttrPath { sub: None, ..path.clone() };
            let base = match &base.schema {
                Some(urn) => member(resource, urn).and_then(|ext| member(ext, &base.attr)),
                None => member(resource, &base.attr),
            };
            match base {
                Some(Value::Array(items)) => items.iter().any(|item| matches(item, inner)),
                Some(item @ Value::Object(_)) => matches(item, inner),
                _ => false,
            }
        }
    }
}

/// `userName eq "x"`: the name a filter looks one user up by, if that is all
/// it does (what provisioners ask before creating a user).
pub fn equality_on(filter: &Filter, attr: &str) -> Option<String> {
    match filter {
        Filter::Compare(AttrPath { schema: None, attr: a, sub: None }, Op::Eq, Value::String(v)) if a.eq_ignore_ascii_case(attr) => Some(v.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "Bjensen",
            "userName": "bjensen@example.com",
            "name": { "givenName": "Barbara", "familyName": "Jensen" },
            "active": true,
            "emails": [{ "value": "bjensen@example.com", "type": "work", "primary": true }, { "value": "babs@jensen.org", "type": "home" }],
            "meta": { "lastModified": "2026-12-01T10:00:00Z", "resourceType": "User" },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "Tour Operations" },
        })
    }

    fn yes(f: &str) -> bool {
        matches(&user(), &parse(f).unwrap_or_else(|e| panic!("{f}: {e:?}")))
    }

    #[test]
    fn every_operator_and_connective() {
        assert!(yes(r#"userName eq "BJENSEN@example.com""#), "userName ignores case");
        assert!(!yes(r#"externalId eq "bjensen""#), "externalId is case-exact");
        assert!(yes(r#"name.familyName co "ense""#) && yes(r#"userName sw "bj""#) && yes(r#"userName ew ".COM""#));
        assert!(!yes("title pr") && yes("emails pr") && yes("name.givenName pr"));
        assert!(yes(r#"meta.lastModified gt "2026-11-30T00:00:00Z""#) && !yes(r#"meta.lastModified lt "2026-11-30T00:00:00Z""#));
        assert!(yes(r#"meta.lastModified ge "2026-12-01T10:00:00Z" and meta.lastModified le "2026-12-01T10:00:00Z""#));
        assert!(yes(r#"userName ne "someone""#) && !yes(r#"userName ne "bjensen@example.com""#));
        assert!(yes("active eq true") && yes(r#"active eq "True""#) && !yes("active eq false"));
        assert!(yes(r#"emails[type eq "work" and value co "@example.com"]"#));
        assert!(!yes(r#"emails[type eq "other"]"#));
        assert!(yes(r#"emails.value eq "babs@jensen.org""#) && yes(r#"emails eq "babs@jensen.org""#));
        assert!(yes(r#"not (userName eq "x") and (name.givenName eq "x" or name.givenName eq "barbara")"#));
        assert!(yes(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#));
        assert!(yes(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com""#));
        assert!(yes(r#"USERNAME EQ "bjensen@example.com" OR userName eq "x""#), "keywords and names in any case");
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        // a or b and c == a or (b and c)
        assert!(yes(r#"userName eq "bjensen@example.com" or userName eq "x" and userName eq "y""#));
        assert!(!yes(r#"(userName eq "bjensen@example.com" or userName eq "x") and userName eq "y""#));
    }

    #[test]
    fn nonsense_is_an_invalid_filter_not_a_panic() {
        for bad in
            ["", "userName", "userName eq", r#"userName xx "a""#, r#"userName eq "open"#, "(userName pr", "not userName pr", "emails[type eq \"a\"", "userName eq bare", "a..b pr", "userName pr extra"]
        {
            assert!(matches!(parse(bad), Err(ScimError::InvalidFilter(_))), "{bad:?}");
        }
        assert!(parse(&"(".repeat(100)).is_err(), "nesting is bounded");
        assert!(parse(&format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_CHARS))).is_err());
        assert_eq!(equality_on(&parse(r#"userName eq "a@b""#).expect("parses"), "username").as_deref(), Some("a@b"));
    }
}
