//! The server-rendered pages (askama templates under `templates/`).
//! A page with a field `t` ([`Tr`]) is translated: its template calls
//! `t.get("key")` (see `latchkey_i18n`), and `crate::lang` picks the language.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use latchkey_i18n::Tr;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub t: Tr,
    pub client_name: Option<String>,
    pub error: Option<String>,
    pub authz: Option<String>,
    /// Where to go after signing in (a local `/account…` path).
    pub next: Option<String>,
    pub username: String,
    pub csrf_token: String,
    /// Link to `/signup` (`LATCHKEY_SIGNUP=open`).
    pub signup_open: bool,
    /// "Continue with …": each enabled upstream provider's start URL and label.
    pub providers: Vec<(String, String)>,
    /// "Sign in to link your … account": an upstream account waits for this sign-in.
    pub link_notice: Option<String>,
}

/// Allow or Deny: for an authorization request (`/consent`) or a device (`/device/approve`).
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub t: Tr,
    pub client_name: String,
    /// The client's logo, privacy policy and terms, when registered.
    pub links: latchkey_domain::ClientLinks,
    /// The client registered itself (RFC 7591): "not verified by …".
    pub self_registered: bool,
    /// The host of the client's metadata document, when its id is one.
    pub metadata_host: Option<String>,
    pub username: String,
    /// What the client may do, in plain words.
    pub scopes: Vec<String>,
    /// "<actor> may act on your behalf at <API>": the clients the client's
    /// `may_act` names (RFC 8693 token exchange), one sentence each.
    pub delegations: Vec<String>,
    /// Where the answer sends the user: the redirect URI's host (none for a device).
    pub destination: Option<String>,
    /// Offer "Not you?" (sign out, then sign in to the same request).
    pub switch_user: bool,
    /// Where the answer is posted.
    pub action: &'static str,
    /// The hidden field naming what is answered (`authz`, `user_code`).
    pub field: (&'static str, String),
    /// A line above the buttons.
    pub note: Option<String>,
    pub csrf_token: String,
}

/// `/device`: the user types the code their device shows.
#[derive(Template)]
#[template(path = "device.html")]
pub struct DevicePage {
    pub t: Tr,
    pub user_code: String,
    pub error: Option<String>,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub t: Tr,
    pub title: String,
    pub message: String,
    pub request_id: Option<String>,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub t: Tr,
    pub username: String,
    pub email: String,
    /// The profile's name, if the user gave one.
    pub name: Option<String>,
    /// When this session signed in, and how ("password and passkey").
    pub signed_in: When,
    pub methods: String,
    pub passkeys: Vec<PasskeyRow>,
    /// An authenticator app is set up.
    pub totp: bool,
    /// Unused backup codes.
    pub backup_codes: i64,
    pub has_password: bool,
    /// "Remove password" is offered: a passkey and a second way in exist.
    pub can_remove_password: bool,
    /// The account signs in with passkeys only (issue #29): no password forms.
    pub passkey_only: bool,
    pub sessions: Vec<SessionRow>,
    /// Remembered ("Keep me signed in") devices, including those whose
    /// browser session has expired: each can still start one.
    pub devices: Vec<DeviceRow>,
    pub apps: Vec<AppRow>,
    /// Upstream accounts that sign in to this one ("Linked sign-ins").
    pub linked: Vec<LinkedRow>,
    /// Enabled providers not linked yet: "Link your … account" (id, name).
    pub linkable: Vec<(String, String)>,
    /// The user's own recent security events.
    pub activity: Vec<ActivityRow>,
    /// Default name for a new passkey ("Chrome on Linux").
    pub device_name: String,
    /// Show "Upgrade your sign-in with a passkey".
    pub passkey_prompt: bool,
    /// What the page tells the password manager (WebAuthn Signal API).
    pub signals: PasskeySignals,
    pub csrf_token: String,
}

/// The account as the password manager should know it (issue #29, the
/// WebAuthn Signal API): its passkeys that still work, its names.
pub struct PasskeySignals {
    pub rp_id: String,
    /// The user handle (base64url).
    pub user_id: String,
    /// Credential ids (base64url), comma-separated.
    pub accepted: String,
    /// The passkeys' account name (the username) and the name to show.
    pub name: String,
    pub display_name: String,
}

/// A moment, in words ("2 hours ago") and exactly (RFC 3339, for `<time>` and its tooltip).
pub struct When {
    pub words: String,
    pub exact: String,
}

impl When {
    /// `then` as seen at `now` (epoch seconds), in `t`'s words.
    pub fn at(t: Tr, now: i64, then: i64) -> When {
        When { words: crate::plain_words::ago(t, now, then), exact: format_utc(then) }
    }
}

pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    /// Its provider ("iCloud Keychain") when a list knows its AAGUID, else
    /// "Synced passkey", "Saved on one device", "Security key" or "Passkey".
    pub kind: String,
    /// The provider's icon, light and dark.
    pub icon: Option<PasskeyIcon>,
    pub created: When,
    pub last_used: Option<When>,
}

/// A passkey provider's icon: the addresses of its light and dark variants
/// on this server (`<picture>` picks by `prefers-color-scheme`).
pub struct PasskeyIcon {
    pub light: String,
    pub dark: String,
}

impl PasskeyIcon {
    pub fn of(provider: Option<&latchkey_authn::ProviderName>) -> Option<PasskeyIcon> {
        let p = provider?;
        Some(PasskeyIcon { light: p.icon_light.clone()?, dark: p.icon_dark.clone()? })
    }
}

/// One remembered device.
pub struct DeviceRow {
    pub id: String,
    pub name: String,
    pub created: When,
    pub last_used: When,
    pub expires: String,
    pub current: bool,
}

/// One browser session ("Chrome on Linux").
pub struct SessionRow {
    pub sid: String,
    pub device: String,
    pub ip: String,
    pub created: When,
    pub last_seen: When,
    pub current: bool,
}

/// One connected app.
pub struct AppRow {
    pub client_id: String,
    pub name: String,
    /// Shown when the client has one (see `ConnectedApp::logo_uri`).
    pub logo_uri: Option<String>,
    /// What it may do, in plain words.
    pub can: Vec<String>,
    pub last_used: When,
}

/// One linked upstream account.
pub struct LinkedRow {
    pub provider_id: String,
    pub provider: String,
    /// What the upstream account showed of itself (its email or name).
    pub upstream: String,
    pub last_used: Option<When>,
}

/// One line of "Recent activity".
pub struct ActivityRow {
    pub id: String,
    pub what: String,
    pub when: When,
    /// "Chrome on Linux · 203.0.113.5"
    pub from: String,
    /// It happened in this browser's session (no "This wasn't me" for it).
    pub here: bool,
}

#[derive(Template)]
#[template(path = "password.html")]
pub struct PasswordPage {
    /// Change it (current and new), or set a first one (new only).
    pub has_password: bool,
    pub min_chars: usize,
    pub t: Tr,
    pub error: Option<String>,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "confirm_logout.html")]
pub struct ConfirmLogoutPage {
    pub t: Tr,
    pub client_name: Option<String>,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "not_me.html")]
pub struct NotMePage {
    pub t: Tr,
    pub done: bool,
    /// After "done": whether a session was ended (or there was none left to end).
    pub ended: bool,
    pub device: String,
    pub token: String,
    pub csrf_token: String,
    /// After "done", from a mail link: what was added recently, to remove
    /// here (the form carries the link as `link_token`).
    pub added: Vec<AddedRow>,
    pub remove_action: &'static str,
    pub link_token: String,
    /// After "done" from the account page: link to `/account/review`.
    pub review: bool,
    pub error: Option<String>,
}

impl NotMePage {
    pub fn new(t: Tr, csrf_token: String) -> NotMePage {
        NotMePage {
            t,
            done: false,
            ended: false,
            device: String::new(),
            token: String::new(),
            csrf_token,
            added: Vec::new(),
            remove_action: "/account/not-me/remove",
            link_token: String::new(),
            review: false,
            error: None,
        }
    }
}

/// A recently added sign-in method, with its remove button.
pub struct AddedRow {
    /// `passkey` or `app` (the form's `kind`).
    pub kind: &'static str,
    pub id: String,
    pub label: String,
    pub added: String,
}

/// `/account/review`: what was added in the last days.
#[derive(Template)]
#[template(path = "review.html")]
pub struct ReviewPage {
    pub t: Tr,
    pub added: Vec<AddedRow>,
    pub days: i64,
    pub error: Option<String>,
    pub csrf_token: String,
    /// Where the remove buttons post, and no link token (the session authorises).
    pub remove_action: &'static str,
    pub link_token: String,
}

/// The issuer's own address (`/`): the brand, and the way to sign in or to
/// the account.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub t: Tr,
    pub brand_name: String,
    pub signed_in: bool,
}

#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage {
    pub t: Tr,
}

/// The auto-submitting form of `response_mode=form_post`.
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage {
    pub t: Tr,
    pub action: String,
    pub fields: Vec<(String, String)>,
    /// Lets this page's one inline script run (CSP), and nothing else.
    pub nonce: String,
}

/// A short message with an optional link ("Check your email").
#[derive(Template)]
#[template(path = "notice.html")]
pub struct NoticePage {
    pub t: Tr,
    pub title: String,
    pub message: String,
    pub link: Option<(String, String)>,
}

/// Choosing a credential from a link: account set-up or recovery.
#[derive(Template)]
#[template(path = "setup.html")]
pub struct SetupPage {
    pub t: Tr,
    pub title: String,
    /// `/setup` or `/recover`: where the forms and the passkey script post.
    pub base: &'static str,
    pub username: String,
    pub token: String,
    /// Recovery of an account with a second factor: ask for it first, with
    /// what the account has (a code field, a passkey button, or both).
    pub needs_factor: bool,
    pub factor_code: bool,
    pub factor_passkey: bool,
    pub min_chars: usize,
    /// Not for a passkey-only account (issue #29): "Create a passkey" only.
    pub password_allowed: bool,
    pub error: Option<String>,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "recover.html")]
pub struct RecoverPage {
    pub t: Tr,
    pub minutes: i64,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignupPage {
    pub t: Tr,
    pub error: Option<String>,
    pub username: String,
    pub email: String,
    pub csrf_token: String,
}

/// A mailed link's landing page: one button that does what the link is for
/// (GET never changes anything: mail scanners open links).
#[derive(Template)]
#[template(path = "confirm_link.html")]
pub struct ConfirmLinkPage {
    pub t: Tr,
    pub title: String,
    pub message: String,
    pub action: &'static str,
    pub button: String,
    pub token: String,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "email.html")]
pub struct EmailPage {
    pub t: Tr,
    pub current: String,
    pub error: Option<String>,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "delete_account.html")]
pub struct DeleteAccountPage {
    pub t: Tr,
    pub username: String,
    pub error: Option<String>,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub t: Tr,
    pub codes: Option<Vec<String>>,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfilePage {
    pub t: Tr,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub locale: String,
    pub zoneinfo: String,
    pub error: Option<String>,
    pub csrf_token: String,
}

/// Renders a page. Pages are never cached: they carry CSRF tokens and user data.
pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status).content_type("text/html; charset=utf-8").insert_header(("Cache-Control", "no-store")).body(html),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body("Internal error")
        }
    }
}

#[derive(Template)]
#[template(path = "mfa.html")]
pub struct MfaPage {
    pub t: Tr,
    pub m: String,
    /// Offer the code field (TOTP or backup code).
    pub totp: bool,
    /// Offer "Use a passkey".
    pub passkey: bool,
    pub error: Option<String>,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "totp.html")]
pub struct TotpPage {
    pub t: Tr,
    pub error: Option<String>,
    pub enrolled: bool,
    pub unused_codes: i64,
    pub backup_codes: Option<Vec<String>>,
    pub qr_svg: String,
    pub secret: String,
    pub csrf_token: String,
}

/// Epoch seconds as RFC 3339, UTC (for the CLI's text output).
pub fn format_utc(secs: i64) -> String {
    crate::format::format_rfc3339(secs)
}

#[cfg(test)]
mod tests {
    use askama::Template;
    use latchkey_i18n::{Locale, Tr};

    use super::ConsentPage;

    /// A client's name, a username and a destination host go into German
    /// sentences escaped: only our `<strong>` is markup.
    #[test]
    fn a_translated_consent_page_escapes_what_it_is_told() {
        let page = ConsentPage {
            t: Tr::new(Locale::De),
            client_name: "<script>alert(1)</script>".into(),
            links: latchkey_domain::ClientLinks::default(),
            self_registered: true,
            metadata_host: Some("<i>evil</i>.example".into()),
            username: "<img src=x onerror=alert(2)>".into(),
            scopes: vec!["<b>API</b>: x".into()],
            delegations: vec![latchkey_i18n::Tr::new(Locale::De).arg2("consent-may-act", "actor", "<u>Agent</u>", "apis", "Orders")],
            destination: Some("\"><svg onload=alert(3)>".into()),
            switch_user: true,
            action: "/consent",
            field: ("authz", "a".into()),
            note: None,
            csrf_token: "c".into(),
        };
        let html = page.render().unwrap_or_default();
        assert!(html.contains("<html lang=\"de\">"), "{html}");
        assert!(html.contains("<h1>&#60;script&#62;alert(1)&#60;/script&#62; erlauben?</h1>"), "{html}");
        assert!(html.contains("Angemeldet als <strong>&lt;img src=x onerror=alert(2)&gt;</strong>"), "{html}");
        assert!(html.contains("zurück zu <strong>&quot;&gt;&lt;svg onload=alert(3)&gt;</strong>"), "{html}");
        assert!(html.contains("&#60;u&#62;Agent&#60;/u&#62; darf bei Orders in Ihrem Namen handeln.") && !html.contains("<u>Agent"), "{html}");
        assert!(html.contains("Dokument auf <strong>&lt;i&gt;evil&lt;/i&gt;.example</strong>"), "{html}");
        assert!(!html.contains("<script>") && !html.contains("<img src=x") && !html.contains("<svg") && !html.contains("<b>API") && !html.contains("<i>evil"), "{html}");
    }
}
