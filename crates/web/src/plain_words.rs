//! The account page's plain words, in the reader's language: how long ago
//! something happened, how a session was signed in, and what an app may do.
//! Never `pwd`, `otp` or raw scope strings on a page people read.

use latchkey_authn::PasskeyKind;
use latchkey_domain::{Amr, Scope};
use latchkey_i18n::Tr;

/// How long ago `then` was, seen at `now` ("just now", "2 hours ago",
/// "3 days ago"). A time in the future (clock skew between nodes) is "just now".
pub fn ago(t: Tr, now: i64, then: i64) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let secs = now - then;
    let (n, key) = match secs {
        s if s < MINUTE => return t.get("ago-just-now"),
        s if s < HOUR => (s / MINUTE, "ago-minutes"),
        s if s < DAY => (s / HOUR, "ago-hours"),
        s if s < 2 * DAY => return t.get("ago-yesterday"),
        s if s < 30 * DAY => (s / DAY, "ago-days"),
        s if s < 365 * DAY => (s / (30 * DAY), "ago-months"),
        s => (s / (365 * DAY), "ago-years"),
    };
    t.arg(key, "n", n)
}

/// How a session proved who it is ("password and authenticator app", "passkey").
pub fn methods(t: Tr, amr: &[Amr]) -> String {
    let mut keys: Vec<&str> = Vec::new();
    for a in amr {
        let key = match a {
            Amr::Pwd => "method-password",
            Amr::Otp => "method-otp",
            Amr::Hwk | Amr::Swk => "method-passkey",
            Amr::Fed => "method-federated",
            Amr::Mca => "method-mailed-code",
            Amr::User | Amr::Mfa => continue,
        };
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let words: Vec<String> = keys.into_iter().map(|k| t.get(k)).collect();
    match words.as_slice() {
        [] => t.get("method-remembered"),
        [one] => one.clone(),
        [rest @ .., last] => t.arg2("list-and", "rest", rest.join(", "), "last", last.as_str()),
    }
}

/// The message id of what a scope lets an app do, on the consent page
/// ("See your email address").
pub fn scope_key(scope: Scope) -> &'static str {
    match scope {
        Scope::OpenId => "scope-openid",
        Scope::Profile => "scope-profile",
        Scope::Email => "scope-email",
        Scope::OfflineAccess => "scope-offline-access",
        Scope::Admin => "scope-admin",
        Scope::Groups => "scope-groups",
        Scope::Scim => "scope-scim",
    }
}

/// The same for the account page's list of connected apps (shorter for `admin`).
pub fn scope_key_short(scope: Scope) -> &'static str {
    match scope {
        Scope::Admin => "scope-admin-short",
        other => scope_key(other),
    }
}

/// What holds a passkey, in words: its provider's name when a list knows
/// its AAGUID ("iCloud Keychain"), else its kind.
pub fn passkey_holder(t: Tr, p: &latchkey_authn::PasskeyInfo) -> String {
    p.provider.as_ref().map(|pr| pr.name.clone()).unwrap_or_else(|| passkey_kind(t, p.kind))
}

/// A passkey's kind in words ("Synced passkey", "Security key").
pub fn passkey_kind(t: Tr, kind: PasskeyKind) -> String {
    t.get(match kind {
        PasskeyKind::Synced => "passkey-kind-synced",
        PasskeyKind::DeviceBound => "passkey-kind-device-bound",
        PasskeyKind::SecurityKey => "passkey-kind-security-key",
        PasskeyKind::Unknown => "passkey-kind-unknown",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_i18n::Locale;

    const NOW: i64 = 1_800_000_000;
    const EN: Tr = Tr::new(Locale::En);
    const DE: Tr = Tr::new(Locale::De);

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
            assert_eq!(ago(EN, NOW, NOW - secs), words, "{secs} s");
        }
    }

    #[test]
    fn times_in_german_words() {
        assert_eq!(ago(DE, NOW, NOW), "gerade eben");
        assert_eq!(ago(DE, NOW, NOW - 60), "vor 1 Minute");
        assert_eq!(ago(DE, NOW, NOW - 2 * 3600), "vor 2 Stunden");
        assert_eq!(ago(DE, NOW, NOW - 86_400), "gestern");
        assert_eq!(ago(DE, NOW, NOW - 3 * 86_400), "vor 3 Tagen");
    }

    #[test]
    fn sign_in_methods_in_words() {
        assert_eq!(methods(EN, &[Amr::Pwd]), "password");
        assert_eq!(methods(EN, &[Amr::Pwd, Amr::Otp, Amr::Mfa]), "password and authenticator app or backup code");
        assert_eq!(methods(EN, &[Amr::Hwk, Amr::User]), "passkey");
        assert_eq!(methods(EN, &[Amr::Pwd, Amr::Swk, Amr::User, Amr::Mfa]), "password and passkey");
        assert_eq!(methods(EN, &[Amr::Pwd, Amr::Otp, Amr::Hwk]), "password, authenticator app or backup code and passkey");
        assert_eq!(methods(EN, &[]), "a remembered device");
        assert_eq!(methods(DE, &[Amr::Pwd, Amr::Otp, Amr::Hwk]), "Passwort, Authenticator-App oder Backup-Code und Passkey");
    }

    #[test]
    fn scopes_in_words() {
        assert_eq!(EN.get(scope_key(Scope::OpenId)), "Know who you are");
        assert_eq!(EN.get(scope_key_short(Scope::OfflineAccess)), "Stay connected when you're not using it");
        assert_eq!(EN.get(scope_key_short(Scope::Admin)), "Administer latchkey");
        assert_eq!(DE.get(scope_key(Scope::Email)), "Ihre E-Mail-Adresse sehen");
    }
}
