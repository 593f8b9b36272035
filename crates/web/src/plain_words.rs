//! The account page's plain words: how long ago something happened, how a
//! session was signed in, and what an app may do. Never `pwd`, `otp` or raw
//! scope strings on a page people read.

use latchkey_domain::{Amr, Scope};

/// How long ago `then` was, seen at `now` ("just now", "2 hours ago",
/// "3 days ago"). A time in the future (clock skew between nodes) is "just now".
pub fn ago(now: i64, then: i64) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let secs = now - then;
    let (n, unit) = match secs {
        s if s < MINUTE => return "just now".to_string(),
        s if s < HOUR => (s / MINUTE, "minute"),
        s if s < DAY => (s / HOUR, "hour"),
        s if s < 2 * DAY => return "yesterday".to_string(),
        s if s < 30 * DAY => (s / DAY, "day"),
        s if s < 365 * DAY => (s / (30 * DAY), "month"),
        s => (s / (365 * DAY), "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// How a session proved who it is ("password and authenticator app", "passkey").
pub fn methods(amr: &[Amr]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for a in amr {
        let w = match a {
            Amr::Pwd => "password",
            Amr::Otp => "authenticator app or backup code",
            Amr::Hwk | Amr::Swk => "passkey",
            Amr::User | Amr::Mfa => continue,
        };
        if !words.contains(&w) {
            words.push(w);
        }
    }
    match words.as_slice() {
        [] => "a remembered device".to_string(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// What a connected app may do, for the account page ("See your email address").
pub fn scope(scope: Scope) -> &'static str {
    match scope {
        Scope::OpenId => "Know who you are",
        Scope::Profile => "See your name and profile",
        Scope::Email => "See your email address",
        Scope::OfflineAccess => "Stay connected when you're not using it",
        Scope::Groups => "See the groups you belong to",
        Scope::Admin => "Administer latchkey",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn times_in_words() {
        let cases = [
            (0, "just now"),
            (59, "just now"),
            (-30, "just now"),
            (60, "1 minute ago"),
            (61, "1 minute ago"),
            (45 * 60, "45 minutes ago"),
            (3600, "1 hour ago"),
            (2 * 3600 + 59 * 60, "2 hours ago"),
            (23 * 3600 + 3599, "23 hours ago"),
            (24 * 3600, "yesterday"),
            (3 * 86_400, "3 days ago"),
            (29 * 86_400, "29 days ago"),
            (30 * 86_400, "1 month ago"),
            (200 * 86_400, "6 months ago"),
            (365 * 86_400, "1 year ago"),
            (3 * 365 * 86_400, "3 years ago"),
        ];
        for (secs, words) in cases {
            assert_eq!(ago(NOW, NOW - secs), words, "{secs} s");
        }
    }

    #[test]
    fn sign_in_methods_in_words() {
        assert_eq!(methods(&[Amr::Pwd]), "password");
        assert_eq!(methods(&[Amr::Pwd, Amr::Otp, Amr::Mfa]), "password and authenticator app or backup code");
        assert_eq!(methods(&[Amr::Hwk, Amr::User]), "passkey");
        assert_eq!(methods(&[Amr::Pwd, Amr::Swk, Amr::User, Amr::Mfa]), "password and passkey");
        assert_eq!(methods(&[Amr::Pwd, Amr::Otp, Amr::Hwk]), "password, authenticator app or backup code and passkey");
        assert_eq!(methods(&[]), "a remembered device");
    }

    #[test]
    fn scopes_in_words() {
        assert_eq!(scope(Scope::OpenId), "Know who you are");
        assert_eq!(scope(Scope::OfflineAccess), "Stay connected when you're not using it");
    }
}
