//! Which language a request gets: the OIDC `ui_locales` parameter (OIDC Core
//! §3.1.2.1: space-separated BCP 47 tags in order of preference) beats the
//! browser's `Accept-Language` (RFC 9110 §12.5.4, with q-values); otherwise
//! English. Both come from strangers: anything malformed is skipped, never
//! an error, and only a bounded prefix is looked at.

use crate::locale::Locale;

/// At most this many bytes of a header or parameter are read: real ones are
/// well under 200 bytes, and the work per request stays bounded.
pub const MAX_INPUT_LEN: usize = 1024;
/// At most this many entries (tags) are weighed.
pub const MAX_ENTRIES: usize = 16;

/// The language for a request: the first supported tag of `ui_locales`,
/// else the best-weighted supported range of `accept_language`, else English.
pub fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> Locale {
    ui_locales.and_then(from_ui_locales).or_else(|| accept_language.and_then(from_accept_language)).unwrap_or_default()
}

/// The first supported tag of a `ui_locales` value, if any.
pub fn from_ui_locales(value: &str) -> Option<Locale> {
    bounded(value).split_ascii_whitespace().take(MAX_ENTRIES).find_map(Locale::from_tag)
}

/// The supported language with the highest q-value in an `Accept-Language`
/// header (the earlier one on a tie); `q=0` means "not this one".
pub fn from_accept_language(header: &str) -> Option<Locale> {
    let mut best: Option<(u16, Locale)> = None;
    for entry in bounded(header).split(',').take(MAX_ENTRIES) {
        let mut parts = entry.split(';');
        let Some(locale) = parts.next().and_then(Locale::from_tag) else { continue };
        let mut q = Some(1000);
        for param in parts {
            if let Some((name, value)) = param.split_once('=') {
                if name.trim().eq_ignore_ascii_case("q") {
                    q = parse_q(value.trim());
                }
            }
        }
        // A malformed weight drops the entry rather than guessing.
        let Some(q) = q.filter(|q| *q > 0) else { continue };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, locale));
        }
    }
    best.map(|(_, l)| l)
}

/// A q-value (RFC 9110 §12.4.2: `0`–`1` with up to three decimals) in thousandths.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

/// The first [`MAX_INPUT_LEN`] bytes (cut at a character boundary), with
/// control characters ending the input: nothing after one is trusted.
fn bounded(s: &str) -> &str {
    let mut end = s.len().min(MAX_INPUT_LEN);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let s = &s[..end];
    match s.find(|c: char| c.is_control() && c != '\t') {
        Some(i) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_locales_beats_accept_language() {
        assert_eq!(negotiate(Some("de"), Some("en")), Locale::De);
        assert_eq!(negotiate(Some("en"), Some("de")), Locale::En);
        // The first supported one wins, in the order given.
        assert_eq!(negotiate(Some("fr-CA de en"), Some("en")), Locale::De);
        // Nothing supported in ui_locales: the header decides.
        assert_eq!(negotiate(Some("fr ja"), Some("de-DE,en;q=0.5")), Locale::De);
        assert_eq!(negotiate(None, Some("de")), Locale::De);
        assert_eq!(negotiate(Some(""), Some("de")), Locale::De);
    }

    #[test]
    fn region_and_case_do_not_matter() {
        assert_eq!(negotiate(None, Some("de-AT")), Locale::De);
        assert_eq!(negotiate(Some("DE-ch"), None), Locale::De);
        assert_eq!(negotiate(None, Some("de_AT")), Locale::De);
        assert_eq!(negotiate(None, Some("en-GB")), Locale::En);
    }

    #[test]
    fn unsupported_or_nothing_is_english() {
        assert_eq!(negotiate(None, None), Locale::En);
        assert_eq!(negotiate(Some("fr"), Some("ja, zh-Hant")), Locale::En);
        assert_eq!(negotiate(None, Some("*")), Locale::En);
        assert_eq!(negotiate(None, Some("")), Locale::En);
    }

    #[test]
    fn q_values_weigh() {
        assert_eq!(negotiate(None, Some("en;q=0.5, de;q=0.9")), Locale::De);
        assert_eq!(negotiate(None, Some("de;q=0.5, en;q=0.9")), Locale::En);
        assert_eq!(negotiate(None, Some("fr, de;q=0.8, en;q=0.7")), Locale::De);
        // A tie keeps the earlier one.
        assert_eq!(negotiate(None, Some("de;q=0.8, en;q=0.8")), Locale::De);
        // q=0 refuses a language.
        assert_eq!(negotiate(None, Some("de;q=0, fr")), Locale::En);
        assert_eq!(negotiate(None, Some("de;q=0.000")), Locale::En);
        assert_eq!(negotiate(None, Some("de ; Q=1.000")), Locale::De);
        // A weight out of range or malformed drops that entry only.
        assert_eq!(negotiate(None, Some("en;q=2, de;q=0.1")), Locale::De);
        assert_eq!(negotiate(None, Some("en;q=0.5555, de;q=0.1")), Locale::De);
        assert_eq!(negotiate(None, Some("en;q=abc, de;q=0.1")), Locale::De);
        assert_eq!(negotiate(None, Some("en;q=-1, de;q=0.1")), Locale::De);
    }

    #[test]
    fn garbage_never_panics_and_is_english() {
        for junk in [";;;", ",,,,", "q=1", ";q=1", "de;q", "de;q=", "d", "deutsch-x", "12-34", "🦀;q=0.9", "é", "\u{0}de", "=", "de;q=1.", "de;q=.5", "0.5"] {
            let l = negotiate(None, Some(junk));
            assert!(l == Locale::En || l == Locale::De, "{junk}");
        }
        assert_eq!(negotiate(None, Some("🦀;q=0.9, de;q=0.1")), Locale::De);
        assert_eq!(negotiate(Some("🦀 \u{7f} de"), None), Locale::En, "nothing after a control character counts");
    }

    #[test]
    fn control_characters_end_the_input() {
        assert_eq!(negotiate(None, Some("en;q=0.1\r\nX-Evil: 1, de")), Locale::En);
        assert_eq!(negotiate(None, Some("\u{1b}[31mde")), Locale::En);
        assert_eq!(negotiate(Some("en\u{0}de"), Some("de")), Locale::En);
    }

    #[test]
    fn oversized_input_is_cut() {
        // German only after the cap: not seen.
        let long = format!("{}, de", "x-unknown;q=0.1, ".repeat(200));
        assert!(long.len() > MAX_INPUT_LEN);
        assert_eq!(negotiate(None, Some(&long)), Locale::En);
        // More entries than the cap: the tail is not weighed.
        let many = format!("{}de", "fr, ".repeat(MAX_ENTRIES));
        assert!(many.len() < MAX_INPUT_LEN);
        assert_eq!(negotiate(None, Some(&many)), Locale::En);
        let spaced = format!("{}de", "fr ".repeat(MAX_ENTRIES));
        assert_eq!(negotiate(Some(&spaced), None), Locale::En);
        // A multi-byte character on the cut does not panic.
        let multibyte = "ä".repeat(MAX_INPUT_LEN);
        assert_eq!(negotiate(Some(&multibyte), Some(&multibyte)), Locale::En);
    }
}
