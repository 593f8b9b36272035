//! The languages latchkey speaks.

/// A supported language. English is the default and the fallback for any
/// message another language lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    #[default]
    En,
    De,
}

impl Locale {
    /// Every supported language, English first.
    pub const ALL: [Locale; 2] = [Locale::En, Locale::De];

    /// The BCP 47 code, as in `<html lang="…">` and the `.ftl` folders.
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
        }
    }

    /// The supported language a BCP 47 tag asks for, by its primary
    /// subtag (`de-AT` → German, `EN_us` → English); `None` for anything
    /// else, including `*` and malformed tags.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?;
        // A primary language subtag is 2–8 ASCII letters (RFC 5646 §2.1).
        if !(2..=8).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
            return None;
        }
        Locale::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(primary))
    }
}

impl std::fmt::Display for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
