//! Translations for pages and mail (Project Fluent), and the choice of
//! language for a request. Framework-free: no actix, no askama.
//!
//! # Files
//! `locales/<code>/{common,pages,mail,console,events}.ftl`, embedded at compile time.
//! English (`en`) is complete by definition; every other language must have
//! exactly English's message ids (a unit test fails otherwise), and a
//! message missing at run time falls back to English.
//!
//! # Choosing the language
//! [`negotiate`]`(ui_locales, accept_language)`: the OIDC `ui_locales`
//! parameter (first supported tag) beats `Accept-Language` (q-values), else
//! English. Malformed, oversized or control-character input is never an
//! error. The web crate wraps this per request: `lang::tr(&req)`, or
//! `lang::tr_for(&req, Some(&pending))` on the pages of an authorization
//! request (its `ui_locales` is kept with it), or the `lang::Lang`
//! extractor; `lang::for_user(&user, t)` picks the language of mail.
//!
//! # In a page
//! Give the page struct a field `t: Tr`, set it as above, and write in the
//! template:
//! ```text
//! {% block lang %}{{ t.lang() }}{% endblock %}   (a page extending base.html, whose
//!                                                  line is <html lang="{% block lang %}en{% endblock %}">)
//! <html lang="{{ t.lang() }}">                    (a page of its own)
//! <h1>{{ t.get("login-title") }}</h1>
//! <p>{{ t.arg("recover-intro", "minutes", minutes) }}</p>
//! <p>{{ t.arg2("some-key", "a", a, "b", b) }}</p>
//! <p>{{ t.strong("not-me-device", "device", device)|safe }}</p>   (value in <strong>, all escaped)
//! ```
//! `get`/`arg`/`arg2` return plain text (askama escapes it as usual).
//! Arguments are text or integers (`[one]`/`*[other]` plural selectors work
//! on integers). A new key goes into `locales/en/*.ftl` and every other
//! locale's file of the same name; the template scan test checks that
//! every `t.…("key"` in `templates/` exists.
//!
//! # In Rust
//! `Tr::new(Locale::De).get("mail-footer")`, `.args(key, &[("name",
//! value.into())])`, and [`Tr::datetime`] for dates in words in a time zone.

mod bundle;
mod dates;
mod locale;
mod negotiate;

pub use bundle::{html_escape, sources, Arg, Tr, FILES};
pub use dates::known_zone;
pub use locale::Locale;
pub use negotiate::{from_accept_language, from_ui_locales, negotiate, MAX_ENTRIES, MAX_INPUT_LEN};

#[cfg(test)]
mod completeness;
