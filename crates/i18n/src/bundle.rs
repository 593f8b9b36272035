//! The Fluent bundles, built once from the `.ftl` files embedded at compile
//! time, and [`Tr`]: one request's (or one mail's) view of them.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

use crate::locale::Locale;

/// The resource files of every locale, in this order.
pub const FILES: [&str; 5] = ["common.ftl", "pages.ftl", "mail.ftl", "console.ftl", "events.ftl"];

macro_rules! locale_files {
    ($code:literal) => {
        [
            include_str!(concat!("../locales/", $code, "/common.ftl")),
            include_str!(concat!("../locales/", $code, "/pages.ftl")),
            include_str!(concat!("../locales/", $code, "/mail.ftl")),
            include_str!(concat!("../locales/", $code, "/console.ftl")),
            include_str!(concat!("../locales/", $code, "/events.ftl")),
        ]
    };
}

/// The text of a locale's resource files (in the order of [`FILES`]).
pub fn sources(locale: Locale) -> [&'static str; 5] {
    match locale {
        Locale::En => locale_files!("en"),
        Locale::De => locale_files!("de"),
    }
}

static BUNDLES: LazyLock<Vec<FluentBundle<FluentResource>>> = LazyLock::new(|| Locale::ALL.into_iter().map(build).collect());

fn build(locale: Locale) -> FluentBundle<FluentResource> {
    let langid = locale.code().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
    // No Unicode isolation marks around placeables: the text goes into HTML
    // and mail, where they would show up as stray characters in some clients.
    bundle.set_use_isolating(false);
    for source in sources(locale) {
        // A syntax error drops only the broken entry (the tests forbid any).
        let resource = FluentResource::try_new(source.to_string()).unwrap_or_else(|(partial, _)| partial);
        // A duplicate id keeps the first (the tests forbid duplicates too).
        let _ = bundle.add_resource(resource);
    }
    bundle
}

fn bundle(locale: Locale) -> Option<&'static FluentBundle<FluentResource>> {
    let i = Locale::ALL.iter().position(|l| *l == locale)?;
    BUNDLES.get(i)
}

/// A value for a message argument (`{ $name }`): text, or a number (which
/// plural selectors such as `[one]` can match).
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(String),
    Number(i64),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(v.to_string())
    }
}
impl From<&&str> for Arg {
    fn from(v: &&str) -> Arg {
        Arg::Text((*v).to_string())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::Text(v)
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Arg {
        Arg::Text(v.clone())
    }
}
// Templates bind values by reference (`{% if let Some(c) = client %}`).
impl From<&&String> for Arg {
    fn from(v: &&String) -> Arg {
        Arg::Text((*v).clone())
    }
}
macro_rules! number_arg {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(v: $t) -> Arg {
                Arg::Number(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
        impl From<&$t> for Arg {
            fn from(v: &$t) -> Arg {
                Arg::from(*v)
            }
        }
    )*};
}
number_arg!(i32, i64, u32, u64, usize);

impl From<Arg> for FluentValue<'static> {
    fn from(a: Arg) -> FluentValue<'static> {
        match a {
            Arg::Text(s) => FluentValue::from(s),
            Arg::Number(n) => FluentValue::from(n),
        }
    }
}

/// Translations in one language. Cheap to copy: carry it in every page
/// struct as the field `t` and call it from the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tr {
    locale: Locale,
}

/// Stands in for an argument that [`Tr::strong`] wraps in markup after
/// escaping: a private-use character no message or argument contains.
const MARK: char = '\u{E000}';

impl Tr {
    pub const fn new(locale: Locale) -> Tr {
        Tr { locale }
    }

    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// The BCP 47 code for `<html lang="{{ t.lang() }}">`.
    pub fn lang(&self) -> &'static str {
        self.locale.code()
    }

    /// Whether this language (not the English fallback) has `key`.
    pub fn has(&self, key: &str) -> bool {
        bundle(self.locale).is_some_and(|b| b.has_message(key))
    }

    /// The message `key` without arguments.
    pub fn get(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with one argument: `t.arg("recover-intro", "minutes", minutes)`.
    pub fn arg(&self, key: &str, name: &str, value: impl Into<Arg>) -> String {
        self.args(key, &[(name, value.into())])
    }

    /// The message `key` with two arguments.
    pub fn arg2(&self, key: &str, name1: &str, value1: impl Into<Arg>, name2: &str, value2: impl Into<Arg>) -> String {
        self.args(key, &[(name1, value1.into()), (name2, value2.into())])
    }

    /// The message `key` with any number of arguments.
    pub fn args(&self, key: &str, args: &[(&str, Arg)]) -> String {
        let mut fluent = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            fluent.set(name.to_string(), FluentValue::from(value.clone()));
        }
        self.format(key, Some(&fluent))
    }

    /// The message `key` as HTML with the argument `name` in `<strong>`:
    /// both the message and the value are escaped, so the result is safe to
    /// insert unescaped (`{{ t.strong("…", "username", username)|safe }}`).
    pub fn strong(&self, key: &str, name: &str, value: impl Into<Arg>) -> String {
        let value = match value.into() {
            Arg::Text(s) => s,
            Arg::Number(n) => n.to_string(),
        };
        let text = self.arg(key, name, MARK.to_string());
        html_escape(&text).replace(MARK, &format!("<strong>{}</strong>", html_escape(&value)))
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        let chain: Vec<_> = std::iter::once(self.locale).chain((self.locale != Locale::En).then_some(Locale::En)).filter_map(bundle).collect();
        format_first(&chain, key, args)
    }
}

/// `key` from the first bundle of `chain` that has it (the request's
/// language, then English); unknown everywhere, the key itself shows up
/// (and the tests catch it).
fn format_first(chain: &[&FluentBundle<FluentResource>], key: &str, args: Option<&FluentArgs>) -> String {
    for bundle in chain {
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else { continue };
        let mut errors = Vec::new();
        return bundle.format_pattern(pattern, args, &mut errors).into_owned();
    }
    key.to_string()
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle_of(code: &str, source: &str) -> FluentBundle<FluentResource> {
        let mut b = FluentBundle::new_concurrent(vec![code.parse().unwrap_or_default()]);
        b.set_use_isolating(false);
        let _ = b.add_resource(FluentResource::try_new(source.to_string()).unwrap_or_else(|(r, _)| r));
        b
    }

    #[test]
    fn a_message_missing_in_a_language_falls_back_to_english() {
        let de = bundle_of("de", "a = A auf Deutsch\n");
        let en = bundle_of("en", "a = A in English\nb = B in English\n");
        assert_eq!(format_first(&[&de, &en], "a", None), "A auf Deutsch");
        assert_eq!(format_first(&[&de, &en], "b", None), "B in English");
        assert_eq!(format_first(&[&de, &en], "c", None), "c");
    }
}
