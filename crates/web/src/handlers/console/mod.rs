//! The admin console (`/admin`): server-rendered pages over the same
//! use cases as the admin API (`latchkey_app::admin`). Admins only, with an
//! interactive multi-factor (or passkey) sign-in, never a session restored
//! from a remembered device; every action that changes anything needs that
//! sign-in to be within the last 5 minutes.
//!
//! One file per page group: [`overview`], [`users`], [`clients`],
//! [`audit`], [`alerts`], [`keys`], [`passkey_policy`] (sign-in providers are `console_providers`). What
//! they share lives here: the layout's navigation, notices, the page
//! renderer, the forms every action posts.

pub mod alerts;
pub mod audit;
pub mod clients;
pub mod keys;
pub mod overview;
pub mod passkey_only;
pub mod passkey_policy;
pub mod risk_policy;
pub mod users;
pub mod webhooks;

pub use alerts::{acknowledge_alert, alerts};
pub use audit::{audit, audit_csv, audit_export};
pub use clients::{client, client_action, clients, create_client};
pub use keys::{keys, rotate_keys};
pub use overview::overview;
pub use passkey_policy::{passkeys, set_policy as set_passkey_policy};
pub use users::{invite, user, user_action, users};
pub use webhooks::{webhook_action, webhooks};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use latchkey_i18n::Tr;
use serde::Deserialize;

use crate::browser::{with_cookies, CsrfCookie};
use crate::error::WebError;
use crate::pages::render;

/// A section of the console, as the navigation marks the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Users,
    Clients,
    Audit,
    Alerts,
    Keys,
    Passkeys,
    Webhooks,
    Providers,
}

/// The sections in the navigation's order: link, message id.
const SECTIONS: [(Section, &str, &str); 9] = [
    (Section::Overview, "/admin", "console-overview"),
    (Section::Users, "/admin/users", "console-users"),
    (Section::Clients, "/admin/clients", "console-clients"),
    (Section::Audit, "/admin/audit", "console-audit"),
    (Section::Alerts, "/admin/alerts", "console-alerts"),
    (Section::Keys, "/admin/keys", "console-keys"),
    (Section::Passkeys, "/admin/passkeys", "console-passkeys"),
    (Section::Webhooks, "/admin/webhooks", "console-webhooks"),
    (Section::Providers, "/admin/providers", "console-providers"),
];

/// A link of the navigation.
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    /// The page is in this section (`aria-current="page"`).
    pub current: bool,
}

/// What every console page shows around its own content
/// (`templates/admin/layout.html`): the reader's language, the navigation
/// with the current section marked, the notice an action left.
pub struct Frame {
    pub t: Tr,
    pub nav: Vec<NavItem>,
    pub notice: Option<String>,
}

impl Frame {
    pub fn new(req: &HttpRequest, section: Section, notice: Option<String>) -> Frame {
        let t = crate::lang::tr(req);
        let nav = SECTIONS.iter().map(|(s, href, key)| NavItem { href, label: t.get(key), current: *s == section }).collect();
        Frame { t, nav, notice }
    }
}

/// How many characters of an id a table shows (the whole id is its title
/// and one click away on its page): enough to tell rows apart.
pub const SHORT_ID_CHARS: usize = 8;

/// An id as a table shows it: its first [`SHORT_ID_CHARS`] characters and "…".
pub fn short_id(id: &str) -> String {
    match id.char_indices().nth(SHORT_ID_CHARS) {
        Some((cut, _)) => format!("{}…", &id[..cut]),
        None => id.to_string(),
    }
}

/// The status lines an action leaves for the page it redirects to, as
/// `?notice=<code>`: fixed codes with fixed texts, so a link cannot put its
/// own words on the console (an unknown code shows nothing). Counts and
/// names are in the audit trail.
const NOTICES: &[&str] = &[
    "sessions-ended",
    "user-disabled",
    "user-enabled",
    "admin-granted",
    "admin-revoked",
    "mfa-reset",
    "recovery-link-sent",
    "user-deleted",
    "grants-revoked",
    "user-grant-revoked",
    "client-disabled",
    "client-enabled",
    "client-updated",
    "client-deleted",
    "client-policies-updated",
    "keys-rotated",
    "alert-acknowledged",
    "risk-policy-set",
    "passkey-only-set",
    "passkey-policy-set",
    "webhook-enabled",
    "webhook-removed",
];

/// The fixed text of a notice code, if it is one, in `t`'s language
/// (message `console-notice-<code>`).
fn notice_text(t: Tr, code: Option<&str>) -> Option<String> {
    let code = code?;
    NOTICES.iter().find(|c| **c == code).map(|c| t.get(&format!("console-notice-{c}")))
}

pub(crate) fn page<T: Template>(p: &T, csrf: &CsrfCookie) -> Result<HttpResponse, WebError> {
    with_cookies(render(StatusCode::OK, p), &csrf.new)
}

fn pct(n: usize, of: usize) -> usize {
    (n * 100).checked_div(of).unwrap_or(0)
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct ActionForm {
    pub(crate) csrf_token: String,
    pub(crate) action: String,
    pub(crate) username: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) redirect_uris: Option<String>,
    pub(crate) post_logout_redirect_uris: Option<String>,
    pub(crate) backchannel_logout_uri: Option<String>,
    pub(crate) logo_uri: Option<String>,
    pub(crate) policy_uri: Option<String>,
    pub(crate) tos_uri: Option<String>,
    /// `yes` once the admin confirmed a destructive action.
    pub(crate) confirmed: Option<String>,
    /// The client policies form: checkboxes and the key set URL.
    pub(crate) require_par: Option<String>,
    pub(crate) require_dpop: Option<String>,
    pub(crate) jwks_uri: Option<String>,
}

/// `base` with a notice code (one of [`NOTICES`]).
fn notice_url(base: &str, code: &'static str) -> String {
    debug_assert!(NOTICES.contains(&code), "unknown notice code {code}");
    format!("{base}?notice={code}")
}

fn lines(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf_token: String,
}

/// "Are you sure?" before a destructive action: names what goes and how
/// much ("Revoke 12 grants of My app?"), and posts the same action again
/// with `confirmed=yes`. Every destructive console action shows it first.
#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub struct ConfirmPage {
    pub frame: Frame,
    /// The question, as the heading.
    pub question: String,
    /// What happens, one line each.
    pub consequences: Vec<String>,
    /// Where the form posts.
    pub action_url: String,
    /// The hidden fields of the original form (`csrf_token` and `action` included).
    pub fields: Vec<(String, String)>,
    /// The button's label ("Revoke 12 grants").
    pub confirm_label: String,
    /// Where "Cancel" goes.
    pub back: String,
}

/// Whether the form says its action was confirmed (`confirmed=yes`).
pub fn confirmed(value: Option<&str>) -> bool {
    value == Some("yes")
}

/// Renders `p` (a console page) with the CSRF cookie.
pub fn confirm(p: &ConfirmPage, csrf: &CsrfCookie) -> Result<HttpResponse, WebError> {
    page(p, csrf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_has_words_in_every_language() {
        for locale in latchkey_i18n::Locale::ALL {
            let t = Tr::new(locale);
            for code in NOTICES {
                assert!(t.has(&format!("console-notice-{code}")), "{code} in {}", locale.code());
            }
        }
        assert_eq!(notice_text(Tr::new(latchkey_i18n::Locale::En), Some("made-up")), None, "only fixed codes");
    }

    #[test]
    fn ids_are_shortened_on_a_character_boundary() {
        assert_eq!(short_id("9e3d0771-2b7c-4f5e-8d3a-0c1b2a3d4e5f"), "9e3d0771…");
        assert_eq!(short_id("short"), "short");
        assert_eq!(short_id("ääääääääää"), "ää".repeat(4) + "…");
    }
}
