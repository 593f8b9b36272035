//! The notification mails, composed from the `mail-*` messages of
//! `latchkey_i18n` in the recipient's language: a greeting, paragraphs,
//! at most one action, and details (the new-device mail's table). Each mail
//! is plain text and HTML with the same content; the HTML looks like the
//! pages (brand line, card, the action as a button) with inline CSS only,
//! since mail clients drop style sheets.

use askama::Template;
use latchkey_i18n::Tr;

use crate::mail::Mail;

/// The default brand colour of the pages (`--accent` in `static/latchkey.css`).
pub const BRAND_COLOUR: &str = "#2457c5";
/// The default product name.
pub const BRAND_NAME: &str = "latchkey";

/// What a mail shows of the product: the pages' brand
/// (`LATCHKEY_BRAND_NAME`, `LATCHKEY_BRAND_COLOR`).
#[derive(Debug, Clone, PartialEq)]
pub struct MailBrand {
    pub name: String,
    /// `#rrggbb` (it goes into inline CSS).
    pub color: String,
}

impl Default for MailBrand {
    fn default() -> Self {
        MailBrand { name: BRAND_NAME.to_string(), color: BRAND_COLOUR.to_string() }
    }
}

impl MailBrand {
    /// `color` must be `#rrggbb` (as the brand settings are checked at
    /// start-up); anything else falls back to the default colour.
    pub fn new(name: &str, color: &str) -> MailBrand {
        let hex = color.strip_prefix('#').is_some_and(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        MailBrand { name: name.to_string(), color: if hex { color.to_string() } else { BRAND_COLOUR.to_string() } }
    }
}

/// Every notification latchkey sends, with what it says.
#[derive(Debug, Clone)]
pub enum Notice<'a> {
    /// An administrator created the account; `url` sets it up.
    Invitation {
        username: &'a str,
        url: &'a str,
        hours: i64,
    },
    /// Sign-up with an address that has an account already.
    SignupAddressTaken {
        recover_url: &'a str,
    },
    /// Sign-up with a taken username.
    SignupUsernameTaken {
        username: &'a str,
        signup_url: &'a str,
    },
    /// Sign-up: confirm the address and choose a credential.
    SignupConfirm {
        username: &'a str,
        url: &'a str,
        hours: i64,
    },
    /// "Can't sign in?" was asked for this account.
    Recovery {
        username: &'a str,
        url: &'a str,
        minutes: i64,
    },
    /// An administrator sent a recovery link.
    AdminRecovery {
        username: &'a str,
        url: &'a str,
        minutes: i64,
    },
    /// A recovery set a new credential; `not_me_url` ends the new session.
    Recovered {
        username: &'a str,
        not_me_url: &'a str,
    },
    PasswordChanged {
        username: &'a str,
    },
    /// A first password was set on an account that signed in with passkeys only.
    PasswordSet {
        username: &'a str,
    },
    /// The password was removed: passkeys carry the account now.
    PasswordRemoved {
        username: &'a str,
    },
    AccountDeleted {
        username: &'a str,
    },
    /// To the new address of an email change.
    EmailConfirm {
        username: &'a str,
        url: &'a str,
        hours: i64,
    },
    /// To the old address after an email change; `revert_url` undoes it.
    EmailChanged {
        username: &'a str,
        new_email: &'a str,
        revert_url: &'a str,
        days: i64,
    },
    /// To the restored address after an undo.
    EmailRestored {
        username: &'a str,
        recover_url: &'a str,
    },
    /// An administrator removed the second factor.
    MfaReset {
        username: &'a str,
        recover_url: &'a str,
    },
    /// A sign-in method was added (`passkey`: its name; `None`: an
    /// authenticator app or new backup codes, `app` says which);
    /// `not_me_url` ends the session that added it and offers to remove it.
    CredentialAdded {
        username: &'a str,
        passkey: Option<&'a str>,
        /// The passkey's provider ("iCloud Keychain"), when a list knows it.
        provider: Option<&'a str>,
        app: bool,
        not_me_url: &'a str,
    },
    /// An account at an upstream provider was linked: it signs in here now.
    ProviderLinked {
        username: &'a str,
        provider: &'a str,
        not_me_url: &'a str,
    },
    /// An account at an upstream provider was unlinked.
    ProviderUnlinked {
        username: &'a str,
        provider: &'a str,
    },
    /// A sign-in from a device not seen recently, at `at` (epoch seconds).
    NewDevice {
        username: &'a str,
        device: Option<&'a str>,
        /// The passkey it signed in with, if it did: its provider's name when
        /// a list knows it, else its own name.
        passkey: Option<&'a str>,
        at: i64,
        ip: Option<&'a str>,
        not_me_url: &'a str,
    },
    /// A risky password sign-in (issue #32) waits for `code`, mailed to the
    /// account's verified address, with where the attempt came from;
    /// `not_me_url` stops it (and ends the session it would start).
    SignInCode {
        username: &'a str,
        code: &'a str,
        minutes: i64,
        device: Option<&'a str>,
        place: Option<&'a str>,
        at: i64,
        ip: Option<&'a str>,
        not_me_url: &'a str,
    },
    /// A high-risk password sign-in of an account without a second factor
    /// was refused (issue #32); `password_url` changes the password.
    SignInBlocked {
        username: &'a str,
        device: Option<&'a str>,
        place: Option<&'a str>,
        at: i64,
        ip: Option<&'a str>,
        password_url: &'a str,
    },
    /// To administrators: a webhook subscription was disabled after a day
    /// of failed deliveries (issue #30); `console_url` shows its log.
    WebhookDisabled {
        url: &'a str,
        last_error: &'a str,
        console_url: &'a str,
    },
}

/// One piece of a mail's body.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    Para(String),
    /// Label–value rows.
    Details(Vec<(String, String)>),
    /// The one thing to do: a button in HTML, the link on its own line in text.
    Action {
        label: String,
        url: String,
    },
}

impl Notice<'_> {
    /// The mail to `to`, in `t`'s language, times in `zone` (an IANA name;
    /// `None` or unknown: UTC, and the mail says so), with `brand`'s name and colour.
    pub fn compose(&self, to: &str, t: Tr, zone: Option<&str>, brand: &MailBrand) -> Mail {
        let (id, username, blocks) = self.content(t, zone);
        let subject = t.get(&format!("mail-{id}-subject"));
        let greeting = match username {
            Some(u) => t.arg("mail-hello", "username", u),
            None => t.get("mail-hello-anonymous"),
        };
        let footer = t.arg("mail-footer", "brand", brand.name.as_str());
        Mail { to: to.to_string(), text: text(&greeting, &blocks, &footer), html: html(&t, brand, &subject, &greeting, &blocks, &footer), subject }
    }

    /// The message id stem, the name to greet, and the body.
    fn content(&self, t: Tr, zone: Option<&str>) -> (&'static str, Option<&str>, Vec<Block>) {
        let para = |key: &str| Block::Para(t.get(key));
        let action = |key: &str, url: &str| Block::Action { label: t.get(key), url: url.to_string() };
        match *self {
            Notice::Invitation { username, url, hours } => {
                ("invitation", Some(username), vec![Block::Para(t.arg("mail-invitation-intro", "hours", hours)), action("mail-invitation-action", url), para("mail-invitation-after")])
            }
            Notice::SignupAddressTaken { recover_url } => {
                ("signup-address-taken", None, vec![para("mail-signup-address-taken-intro"), action("mail-signup-address-taken-action", recover_url), para("mail-signup-address-taken-after")])
            }
            Notice::SignupUsernameTaken { username, signup_url } => {
                ("signup-username-taken", None, vec![Block::Para(t.arg("mail-signup-username-taken-intro", "username", username)), action("mail-signup-username-taken-action", signup_url)])
            }
            Notice::SignupConfirm { username, url, hours } => {
                ("signup-confirm", Some(username), vec![Block::Para(t.arg("mail-signup-confirm-intro", "hours", hours)), action("mail-signup-confirm-action", url), para("mail-signup-confirm-after")])
            }
            Notice::Recovery { username, url, minutes } => {
                ("recovery", Some(username), vec![Block::Para(t.arg("mail-recovery-intro", "minutes", minutes)), action("mail-recovery-action", url), para("mail-recovery-after")])
            }
            Notice::AdminRecovery { username, url, minutes } => (
                "admin-recovery",
                Some(username),
                vec![Block::Para(t.arg("mail-admin-recovery-intro", "minutes", minutes)), action("mail-admin-recovery-action", url), para("mail-admin-recovery-after")],
            ),
            Notice::Recovered { username, not_me_url } => ("recovered", Some(username), vec![para("mail-recovered-intro"), para("mail-recovered-if-not"), action("mail-recovered-action", not_me_url)]),
            Notice::PasswordChanged { username } => ("password-changed", Some(username), vec![para("mail-password-changed-intro"), para("mail-password-changed-if-not")]),
            Notice::PasswordSet { username } => ("password-set", Some(username), vec![para("mail-password-set-intro"), para("mail-password-changed-if-not")]),
            Notice::PasswordRemoved { username } => ("password-removed", Some(username), vec![para("mail-password-removed-intro"), para("mail-password-changed-if-not")]),
            Notice::AccountDeleted { username } => ("account-deleted", Some(username), vec![para("mail-account-deleted-intro")]),
            Notice::EmailConfirm { username, url, hours } => {
                ("email-confirm", Some(username), vec![Block::Para(t.arg("mail-email-confirm-intro", "hours", hours)), action("mail-email-confirm-action", url), para("mail-email-confirm-after")])
            }
            Notice::EmailChanged { username, new_email, revert_url, days } => (
                "email-changed",
                Some(username),
                vec![
                    Block::Para(t.arg("mail-email-changed-intro", "email", new_email)),
                    Block::Para(t.arg("mail-email-changed-if-not", "days", days)),
                    action("mail-email-changed-action", revert_url),
                ],
            ),
            Notice::EmailRestored { username, recover_url } => ("email-restored", Some(username), vec![para("mail-email-restored-intro"), action("mail-email-restored-action", recover_url)]),
            Notice::MfaReset { username, recover_url } => ("mfa-reset", Some(username), vec![para("mail-mfa-reset-intro"), action("mail-mfa-reset-action", recover_url), para("mail-mfa-reset-after")]),
            Notice::CredentialAdded { username, passkey, provider, app, not_me_url } => (
                "credential-added",
                Some(username),
                vec![
                    match (passkey, app) {
                        (Some(name), _) => Block::Para(match provider {
                            Some(provider) => t.arg2("mail-credential-added-passkey-from", "name", name, "provider", provider),
                            None => t.arg("mail-credential-added-passkey", "name", name),
                        }),
                        (None, true) => para("mail-credential-added-app"),
                        (None, false) => para("mail-credential-added-codes"),
                    },
                    para("mail-credential-added-if-not"),
                    action("mail-credential-added-action", not_me_url),
                ],
            ),
            Notice::ProviderLinked { username, provider, not_me_url } => (
                "provider-linked",
                Some(username),
                vec![Block::Para(t.arg("mail-provider-linked-intro", "provider", provider)), para("mail-credential-added-if-not"), action("mail-credential-added-action", not_me_url)],
            ),
            Notice::ProviderUnlinked { username, provider } => {
                ("provider-unlinked", Some(username), vec![Block::Para(t.arg("mail-provider-unlinked-intro", "provider", provider)), para("mail-provider-unlinked-if-not")])
            }
            Notice::NewDevice { username, device, passkey, at, ip, not_me_url } => (
                "new-device",
                Some(username),
                vec![
                    para("mail-new-device-intro"),
                    Block::Details(
                        [
                            Some((t.get("mail-new-device-device"), device.map_or_else(|| t.get("mail-new-device-unknown-device"), str::to_string))),
                            passkey.map(|p| (t.get("mail-new-device-passkey"), p.to_string())),
                            Some((t.get("mail-new-device-time"), t.datetime(at, zone))),
                            Some((t.get("mail-new-device-ip"), ip.map_or_else(|| t.get("mail-new-device-unknown"), str::to_string))),
                        ]
                        .into_iter()
                        .flatten()
                        .collect(),
                    ),
                    para("mail-new-device-if-you"),
                    para("mail-new-device-if-not"),
                    action("mail-new-device-action", not_me_url),
                ],
            ),
            Notice::SignInCode { username, code, minutes, device, place, at, ip, not_me_url } => (
                "sign-in-code",
                Some(username),
                vec![
                    para("mail-sign-in-code-intro"),
                    Block::Details([(t.get("mail-sign-in-code-code"), code.to_string())].into_iter().chain(attempt_details(t, zone, device, place, at, ip)).collect()),
                    Block::Para(t.arg("mail-sign-in-code-once", "minutes", minutes)),
                    para("mail-sign-in-code-if-not"),
                    action("mail-new-device-action", not_me_url),
                ],
            ),
            Notice::SignInBlocked { username, device, place, at, ip, password_url } => (
                "sign-in-blocked",
                Some(username),
                vec![
                    para("mail-sign-in-blocked-intro"),
                    Block::Details(attempt_details(t, zone, device, place, at, ip)),
                    para("mail-sign-in-blocked-if-you"),
                    para("mail-sign-in-blocked-if-not"),
                    action("mail-sign-in-blocked-action", password_url),
                ],
            ),
            Notice::WebhookDisabled { url, last_error, console_url } => (
                "webhook-disabled",
                None,
                vec![
                    para("mail-webhook-disabled-intro"),
                    Block::Details(vec![(t.get("mail-webhook-disabled-url"), url.to_string()), (t.get("mail-webhook-disabled-error"), last_error.to_string())]),
                    para("mail-webhook-disabled-what"),
                    action("mail-webhook-disabled-action", console_url),
                ],
            ),
        }
    }
}

/// Where a sign-in attempt came from: device, place, time, address (the
/// rows of the risky sign-in mails, issue #32).
fn attempt_details(t: Tr, zone: Option<&str>, device: Option<&str>, place: Option<&str>, at: i64, ip: Option<&str>) -> Vec<(String, String)> {
    let unknown = || t.get("mail-new-device-unknown");
    vec![
        (t.get("mail-new-device-device"), device.map_or_else(|| t.get("mail-new-device-unknown-device"), str::to_string)),
        (t.get("mail-sign-in-place"), place.map_or_else(unknown, str::to_string)),
        (t.get("mail-new-device-time"), t.datetime(at, zone)),
        (t.get("mail-new-device-ip"), ip.map_or_else(unknown, str::to_string)),
    ]
}

/// The plain-text part: paragraphs, the link alone on an indented line
/// (mail clients make it clickable; nothing around it sticks to it).
fn text(greeting: &str, blocks: &[Block], footer: &str) -> String {
    let mut out = format!("{greeting}\n\n");
    for block in blocks {
        match block {
            Block::Para(p) => out.push_str(&format!("{p}\n\n")),
            Block::Action { url, .. } => out.push_str(&format!("  {url}\n\n")),
            Block::Details(rows) => {
                let width = rows.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0) + 1;
                for (label, value) in rows {
                    out.push_str(&format!("  {:<width$} {value}\n", format!("{label}:")));
                }
                out.push('\n');
            }
        }
    }
    out.push_str(&format!("-- \n{footer}\n"));
    out
}

const MUTED: &str = "color:#5f6368;font-size:13px;line-height:1.5";

/// The HTML part (`templates/mail/notice.html`): the same blocks in a card,
/// like the pages, with the brand's name and colour; askama escapes every
/// value, as on the pages.
#[derive(Template)]
#[template(path = "mail/notice.html")]
struct HtmlMail<'a> {
    lang: &'a str,
    subject: &'a str,
    brand: &'a str,
    color: &'a str,
    greeting: &'a str,
    blocks: &'a [Block],
    link_hint: String,
    footer: &'a str,
    muted: &'static str,
}

fn html(t: &Tr, brand: &MailBrand, subject: &str, greeting: &str, blocks: &[Block], footer: &str) -> String {
    let page = HtmlMail { lang: t.lang(), subject, brand: &brand.name, color: &brand.color, greeting, blocks, link_hint: t.get("mail-link-hint"), footer, muted: MUTED };
    // Rendering fails only on a formatter error, which writing into a
    // String never raises; the text part carries everything anyway.
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not render a mail's HTML part");
        String::new()
    })
}

#[cfg(test)]
mod tests {
    use latchkey_i18n::Locale;

    use super::*;

    const URL: &str = "https://id.example.com/setup?t=abc&x=<1>";

    fn every_notice() -> Vec<Notice<'static>> {
        vec![
            Notice::Invitation { username: "alice", url: URL, hours: 72 },
            Notice::SignupAddressTaken { recover_url: URL },
            Notice::SignupUsernameTaken { username: "alice", signup_url: URL },
            Notice::SignupConfirm { username: "alice", url: URL, hours: 24 },
            Notice::Recovery { username: "alice", url: URL, minutes: 30 },
            Notice::AdminRecovery { username: "alice", url: URL, minutes: 30 },
            Notice::Recovered { username: "alice", not_me_url: URL },
            Notice::PasswordChanged { username: "alice" },
            Notice::PasswordSet { username: "alice" },
            Notice::PasswordRemoved { username: "alice" },
            Notice::AccountDeleted { username: "alice" },
            Notice::EmailConfirm { username: "alice", url: URL, hours: 24 },
            Notice::EmailChanged { username: "alice", new_email: "new@example.com", revert_url: URL, days: 7 },
            Notice::EmailRestored { username: "alice", recover_url: URL },
            Notice::MfaReset { username: "alice", recover_url: URL },
            Notice::NewDevice { username: "alice", device: Some("Safari on iPhone"), passkey: None, at: 1_796_220_300, ip: Some("192.0.2.7"), not_me_url: URL },
            Notice::NewDevice { username: "alice", device: Some("Safari on iPhone"), passkey: Some("iCloud Keychain"), at: 1_796_220_300, ip: Some("192.0.2.7"), not_me_url: URL },
            Notice::SignInCode {
                username: "alice",
                code: "048213",
                minutes: 10,
                device: Some("Firefox on Linux"),
                place: Some("Berlin, Germany"),
                at: 1_796_220_300,
                ip: Some("198.51.100.7"),
                not_me_url: URL,
            },
            Notice::SignInCode { username: "alice", code: "048213", minutes: 10, device: None, place: None, at: 1_796_220_300, ip: None, not_me_url: URL },
            Notice::SignInBlocked { username: "alice", device: Some("Firefox on Linux"), place: Some("New York, United States"), at: 1_796_220_300, ip: Some("203.0.113.9"), password_url: URL },
            Notice::CredentialAdded { username: "alice", passkey: Some("Phone"), provider: None, app: false, not_me_url: URL },
            Notice::CredentialAdded { username: "alice", passkey: Some("Phone"), provider: Some("iCloud Keychain"), app: false, not_me_url: URL },
            Notice::CredentialAdded { username: "alice", passkey: None, provider: None, app: true, not_me_url: URL },
            Notice::CredentialAdded { username: "alice", passkey: None, provider: None, app: false, not_me_url: URL },
            Notice::ProviderLinked { username: "alice", provider: "Corp SSO", not_me_url: URL },
            Notice::ProviderUnlinked { username: "alice", provider: "Corp SSO" },
            Notice::WebhookDisabled { url: "https://hooks.example.com/latchkey", last_error: "503 Service Unavailable", console_url: URL },
        ]
    }

    #[test]
    fn every_notice_in_every_language_uses_only_messages_that_exist() {
        for locale in Locale::ALL {
            for notice in every_notice() {
                let mail = notice.compose("alice@example.com", Tr::new(locale), None, &MailBrand::default());
                // A missing message shows up as its id ("mail-…").
                for part in [&mail.subject, &mail.text, &mail.html] {
                    assert!(!part.contains("mail-"), "{locale} {notice:?}: {part}");
                }
                assert!(!mail.subject.is_empty());
            }
        }
    }

    #[test]
    fn both_parts_carry_the_same_link_and_the_html_escapes_it() {
        let mail = Notice::Recovery { username: "<alice>", url: URL, minutes: 30 }.compose("a@example.com", Tr::new(Locale::En), None, &MailBrand::default());
        assert!(mail.text.contains(&format!("\n  {URL}\n")), "{}", mail.text);
        // askama's escaping, as on the pages (numeric character references).
        assert!(mail.html.contains("<a class=\"button\" href=\"https://id.example.com/setup?t=abc&#38;x=&#60;1&#62;\""), "{}", mail.html);
        assert!(mail.html.contains("Hello &#60;alice&#62;,"), "names are escaped");
        assert!(!mail.html.contains("<alice>"));
        assert!(mail.html.contains(BRAND_COLOUR));
        assert!(mail.html.starts_with("<!doctype html>\n<html lang=\"en\">"));
    }

    #[test]
    fn the_english_texts_stay_what_they_were() {
        let mail = Notice::NewDevice { username: "alice", device: None, passkey: None, at: 1_796_220_300, ip: None, not_me_url: URL }.compose(
            "a@example.com",
            Tr::new(Locale::En),
            None,
            &MailBrand::default(),
        );
        assert_eq!(mail.subject, "New sign-in to your account");
        assert!(mail.text.starts_with("Hello alice,\n\nSomeone signed in to your latchkey account from a device we have not seen recently:\n\n"), "{}", mail.text);
        assert!(mail.text.contains("  Device:     Unknown device\n  Time:       Wednesday, 2 December 2026 at 14:05 (UTC)\n  IP address: unknown\n"), "{}", mail.text);
    }

    #[test]
    fn german_with_the_date_in_words_in_the_users_zone() {
        let mail = Notice::NewDevice { username: "alice", device: Some("Safari on iPhone"), passkey: None, at: 1_796_220_300, ip: Some("192.0.2.7"), not_me_url: URL }.compose(
            "a@example.com",
            Tr::new(Locale::De),
            Some("Europe/Berlin"),
            &MailBrand::default(),
        );
        assert_eq!(mail.subject, "Neue Anmeldung bei Ihrem Konto");
        assert!(mail.text.starts_with("Hallo alice,"));
        assert!(mail.text.contains("Mittwoch, 2. Dezember 2026 um 15:05 Uhr (Europe/Berlin)"), "{}", mail.text);
        assert!(mail.html.contains("Das war ich nicht</a>"));
        assert!(mail.html.contains("<html lang=\"de\">"));
    }

    /// Issue #32: the code mail shows the code and where the attempt came
    /// from, and offers "This wasn't me".
    #[test]
    fn the_sign_in_code_mail_says_where_the_attempt_came_from() {
        let notice = Notice::SignInCode {
            username: "alice",
            code: "048213",
            minutes: 10,
            device: Some("Firefox on Linux"),
            place: Some("Berlin, Germany"),
            at: 1_796_220_300,
            ip: Some("198.51.100.7"),
            not_me_url: URL,
        };
        let mail = notice.compose("a@example.com", Tr::new(Locale::En), None, &MailBrand::default());
        assert_eq!(mail.subject, "Your sign-in code");
        for part in ["Code:", "048213", "Firefox on Linux", "Berlin, Germany", "198.51.100.7", "10 minutes", URL] {
            assert!(mail.text.contains(part), "{part}: {}", mail.text);
        }
        assert!(mail.html.contains("This wasn&#39;t me</a>") || mail.html.contains("This wasn't me</a>"), "{}", mail.html);
    }

    /// Finding 33 of issue #24: the brand settings reach the mail, and a
    /// hostile product name is escaped like any other value.
    #[test]
    fn the_brand_name_and_colour_reach_the_mail_escaped() {
        let brand = MailBrand::new("Acme <ID> & \"Co\"", "#0b5d1e");
        let mail = Notice::Recovery { username: "alice", url: URL, minutes: 30 }.compose("a@example.com", Tr::new(Locale::En), None, &brand);
        assert!(mail.html.contains("color:#0b5d1e\">Acme &#60;ID&#62; &#38; &#34;Co&#34;</p>"), "{}", mail.html);
        assert!(mail.html.contains("background:#0b5d1e;"), "the button is in the brand colour");
        assert!(!mail.html.contains(BRAND_COLOUR), "no hard-coded colour left");
        assert!(!mail.html.contains("<ID>"), "the name is escaped");
        assert!(mail.text.ends_with("-- \nThis is an automatic message from Acme <ID> & \"Co\".\n"), "{}", mail.text);
        let fallback = MailBrand::new("Acme", "red;background:url(x)");
        assert_eq!(fallback.color, BRAND_COLOUR, "only #rrggbb reaches the CSS");
    }
}
