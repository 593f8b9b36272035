//! Accounts that start with a passkey and never lock their owner out:
//! invitations, sign-up, recovery, email change, password policy, limits.

mod account_page;
mod added_credentials;
mod email;
mod invitations;
pub(crate) mod recovery;
mod signup;

use std::time::Duration;

use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;

use crate::support::raw::{bearer, post_form};
use crate::support::{Browser, TestApp};

/// One message of the outbox.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Undoes quoted-printable (soft breaks and `=XX`), enough for our mails.
pub(crate) fn unqp(s: &str) -> String {
    let s = s.replace("=\r\n", "").replace("=\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn mails(app: &TestApp) -> Vec<Mail> {
    let Ok(dir) = std::fs::read_dir(app.settings.outbox_dir()) else { return Vec::new() };
    // Oldest first, by write time (file names order only by the second).
    let mut files: Vec<_> = dir.flatten().map(|e| (e.metadata().and_then(|m| m.modified()).ok(), e.path())).collect();
    files.sort();
    let files: Vec<_> = files.into_iter().map(|(_, p)| p).collect();
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|raw| {
            let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
            let header = |name: &str| head.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).unwrap_or_default().trim().to_string();
            let decoded = match boundary(&header("Content-Type")) {
                Some(b) => decode_parts(body, &b),
                None if header("Content-Transfer-Encoding") == "quoted-printable" => unqp(body),
                None => body.to_string(),
            };
            Mail { to: header("To"), subject: header("Subject"), body: decoded }
        })
        .collect()
}

/// The `boundary` of a multipart `Content-Type`.
fn boundary(content_type: &str) -> Option<String> {
    let rest = content_type.split("boundary=").nth(1)?;
    Some(rest.trim_matches(|c| c == '"' || c == ';' || c == ' ').split('"').next().unwrap_or_default().to_string())
}

/// Each part decoded by its own `Content-Transfer-Encoding` (the text part is
/// 8bit, where `t=d1…` must stay as written; the HTML part quoted-printable).
fn decode_parts(body: &str, boundary: &str) -> String {
    let delimiter = format!("--{boundary}");
    body.split(&delimiter)
        .map(|part| {
            let (head, content) = part.split_once("\r\n\r\n").or_else(|| part.split_once("\n\n")).unwrap_or(("", part));
            let qp = head.lines().any(|l| l.eq_ignore_ascii_case("Content-Transfer-Encoding: quoted-printable"));
            let content = if qp { unqp(content) } else { content.to_string() };
            format!("{head}\r\n\r\n{content}")
        })
        .collect::<Vec<_>>()
        .join(&delimiter)
}

/// Waits (background tasks send some mail after the response) for a mail to
/// `to` with `subject`; the newest one.
pub async fn wait_for_mail(app: &TestApp, to: &str, subject: &str) -> Mail {
    for _ in 0..MAIL_POLLS {
        if let Some(m) = mails(app).into_iter().rev().find(|m| m.to.contains(to) && m.subject == subject) {
            return m;
        }
        tokio::time::sleep(MAIL_POLL).await;
    }
    panic!("no mail to {to} with subject {subject:?}; outbox: {:?}", mails(app).iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>());
}

/// How many mails to `to` with `subject` the outbox holds now.
pub fn count_mail(app: &TestApp, to: &str, subject: &str) -> usize {
    mails(app).iter().filter(|m| m.to.contains(to) && m.subject == subject).count()
}

/// Waits (a bounded poll: background tasks send mail after the response)
/// until `n` mails to `to` with `subject` are in the outbox; returns how many
/// there are then (fewer than `n` only when they never came).
pub async fn wait_for_mail_count(app: &TestApp, to: &str, subject: &str, n: usize) -> usize {
    for _ in 0..MAIL_POLLS {
        let count = count_mail(app, to, subject);
        if count >= n {
            return count;
        }
        tokio::time::sleep(MAIL_POLL).await;
    }
    count_mail(app, to, subject)
}

/// How often, and how many times, the outbox is looked at while waiting for
/// a mail sent in the background (5 s in all: far above a loaded machine's
/// delay, and a failing test still ends).
const MAIL_POLL: Duration = Duration::from_millis(50);
const MAIL_POLLS: usize = 100;

/// The first link in `body` that starts with `prefix`.
pub fn link_in(body: &str, prefix: &str) -> String {
    let start = body.find(prefix).unwrap_or_else(|| panic!("no link {prefix} in {body}"));
    body[start..].split_whitespace().next().unwrap_or_default().to_string()
}

/// The `t` of a link.
pub fn token_of(link: &str) -> String {
    link.split("t=").nth(1).unwrap_or_default().to_string()
}

/// An admin API token.
pub async fn admin_token(app: &TestApp) -> String {
    let (id, secret) = app.add_admin_client().await;
    post_form(app, "/token", &[("grant_type", "client_credentials")], Some((&id, &secret))).await.body["access_token"].as_str().unwrap_or_default().to_string()
}

/// POSTs JSON to the admin API (with a bearer token if given).
pub async fn admin_post(app: &TestApp, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = app.http().post(app.url(path)).header("content-type", "application/json").body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("admin API");
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null))
}

/// Invites `username` through the admin API; returns the user id and link.
pub async fn invite(app: &TestApp, username: &str, email: &str) -> (String, String) {
    let token = admin_token(app).await;
    let (status, body) = admin_post(app, "/admin/api/v1/users", Some(&token), &json!({ "username": username, "email": email, "invite": true })).await;
    assert_eq!(status, 201, "{body}");
    (body["user_id"].as_str().unwrap_or_default().to_string(), body["invite_url"].as_str().unwrap_or_default().to_string())
}

/// On a set-up or recovery page (`page` at `link`), creates a passkey with a
/// new software authenticator; returns it and the finish answer.
pub async fn create_passkey(app: &TestApp, browser: &mut Browser, base: &str, link: &str) -> (SoftPasskey, u16, Value) {
    let page = browser.get(link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(">Create a passkey</button>"), "{}", page.body);
    let csrf = page.field("csrf_token").unwrap_or_default();
    let t = token_of(link);
    let (status, start) = browser.post_json(&format!("{base}/passkey/start"), &csrf, &json!({ "t": t })).await;
    assert_eq!(status, 200, "{start}");
    let options: CreationChallengeResponse = serde_json::from_value(start["options"].clone()).expect("creation options");
    let mut key = SoftPasskey::new(true);
    let credential = key.do_registration(Url::parse(&app.issuer).expect("origin"), options).expect("registers");
    let (status, done) = browser.post_json(&format!("{base}/passkey/finish"), &csrf, &json!({ "t": t, "ceremony": start["ceremony"], "name": "Phone", "credential": credential })).await;
    (key, status, done)
}

/// Sets a password on a set-up or recovery page.
pub async fn set_password(browser: &mut Browser, base: &str, link: &str, password: &str) -> crate::support::browser::Page {
    let page = browser.get(link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.field("csrf_token").unwrap_or_default();
    browser.post_form(&format!("{base}/password"), &[("csrf_token", &csrf), ("t", &token_of(link)), ("new_password", password)]).await
}

/// The userinfo of an access token.
pub async fn userinfo(app: &TestApp, access_token: &str) -> Value {
    bearer(app, "GET", "/userinfo", access_token).await.body
}
