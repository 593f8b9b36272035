//! Notification mail: SMTP (lettre) when `LATCHKEY_SMTP_URL` is set, otherwise
//! one `.eml` file per message in a local outbox directory. Never dropped:
//! a message that cannot be sent by SMTP is written to the outbox instead.
//! Every message is `multipart/alternative`: plain text first, then HTML
//! (what [`crate::notice::Notice::compose`] makes).

use std::path::PathBuf;

use lettre::message::header::ContentTransferEncoding;
use lettre::message::{Body, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::error::AuthnError;

/// One message to one user, as text and as HTML with the same content.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Clone)]
pub enum Mailer {
    Outbox { dir: PathBuf, from: String },
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, from: String, fallback: PathBuf },
}

impl Mailer {
    /// `smtp_url`: e.g. `smtps://user:pass@mail.example.com` or `smtp://localhost:25`.
    pub fn new(smtp_url: Option<&str>, from: &str, outbox: PathBuf) -> Result<Mailer, AuthnError> {
        match smtp_url.filter(|u| !u.is_empty()) {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| AuthnError::InvalidInput(format!("LATCHKEY_SMTP_URL: {e}")))?.build();
                Ok(Mailer::Smtp { transport, from: from.to_string(), fallback: outbox })
            }
            None => Ok(Mailer::Outbox { dir: outbox, from: from.to_string() }),
        }
    }

    pub async fn send(&self, mail: &Mail) -> Result<(), AuthnError> {
        match self {
            Mailer::Outbox { dir, from } => write_outbox(dir, from, mail),
            Mailer::Smtp { transport, from, fallback } => {
                let message = build(from, mail)?;
                if let Err(e) = transport.send(message).await {
                    tracing::error!(error = %e, to = %mail.to, "SMTP delivery failed; message kept in the outbox");
                    return write_outbox(fallback, from, mail);
                }
                Ok(())
            }
        }
    }
}

/// 7bit when the text allows it (plain ASCII, short lines: readable as
/// is), quoted-printable otherwise; never base64, so the outbox stays
/// greppable. Quoted-printable fits any text.
fn body(text: &str) -> Body {
    Body::new_with_encoding(text.to_string(), ContentTransferEncoding::SevenBit)
        .or_else(|_| Body::new_with_encoding(text.to_string(), ContentTransferEncoding::QuotedPrintable))
        .unwrap_or_else(|_| Body::new(text.to_string()))
}

fn build(from: &str, mail: &Mail) -> Result<Message, AuthnError> {
    let bad = |e: String| AuthnError::InvalidInput(format!("mail: {e}"));
    Message::builder()
        .from(from.parse().map_err(|e: lettre::address::AddressError| bad(e.to_string()))?)
        .to(mail.to.parse().map_err(|e: lettre::address::AddressError| bad(e.to_string()))?)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(body(&mail.text), body(&mail.html)))
        .map_err(|e| bad(e.to_string()))
}

/// Mail holds sign-in and recovery links: the outbox directory is 0700
/// and each message 0600, readable by this user only.
fn write_outbox(dir: &PathBuf, from: &str, mail: &Mail) -> Result<(), AuthnError> {
    let failed =
        |e: std::io::Error| AuthnError::InvalidInput(format!("outbox {}: {e}", dir.display()));
    latchkey_store::db::private_dir(dir).map_err(failed)?;
    let message = build(from, mail)?;
    let name = format!(
        "{}-{}.eml",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        uuid::Uuid::new_v4().simple()
    );
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(dir.join(name)).map_err(failed)?;
    std::io::Write::write_all(&mut file, &message.formatted()).map_err(failed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(text: &str, html: &str) -> Mail {
        Mail { to: "alice@example.com".into(), subject: "New sign-in".into(), text: text.into(), html: html.into() }
    }

    #[tokio::test]
    async fn outbox_keeps_every_message() {
        let dir = std::env::temp_dir().join(format!("latchkey-outbox-{}", uuid::Uuid::new_v4().simple()));
        let mailer = Mailer::new(None, "latchkey <no-reply@localhost>", dir.clone()).expect("mailer");
        mailer.send(&mail("hello", "<p>hello</p>")).await.expect("send");
        let files: Vec<_> = std::fs::read_dir(&dir).expect("dir").collect();
        assert_eq!(files.len(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Issue 24 item 12: mail carries sign-in and recovery links; the
    /// outbox and every message in it are this user's only.
    #[cfg(unix)]
    #[tokio::test]
    async fn the_outbox_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir =
            std::env::temp_dir().join(format!("latchkey-outbox-{}", uuid::Uuid::new_v4().simple()));
        let mailer =
            Mailer::new(None, "latchkey <no-reply@localhost>", dir.clone()).expect("mailer");
        mailer
            .send(&mail("hello", "<p>hello</p>"))
            .await
            .expect("send");
        let mode = |p: &std::path::Path| {
            std::fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0)
        };
        assert_eq!(mode(&dir), 0o700);
        for f in std::fs::read_dir(&dir).expect("dir").flatten() {
            assert_eq!(mode(&f.path()), 0o600, "{}", f.path().display());
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_message_is_multipart_alternative_text_then_html() {
        let raw = String::from_utf8(build("latchkey <no-reply@localhost>", &mail("hello https://x/?t=1", "<p>hello</p>")).expect("build").formatted()).expect("utf-8");
        assert!(raw.contains("Content-Type: multipart/alternative;"), "{raw}");
        let text = raw.find("Content-Type: text/plain; charset=utf-8").expect("a text part");
        let html = raw.find("Content-Type: text/html; charset=utf-8").expect("an HTML part");
        assert!(text < html, "text first: clients show the last part they understand");
        assert!(raw.contains("hello https://x/?t=1"), "ASCII stays 7bit and readable");
        assert!(!raw.contains("base64"));
    }

    #[test]
    fn non_ascii_and_long_lines_are_quoted_printable() {
        let long = format!("<p>{}</p>", "ä".repeat(2000));
        let raw = String::from_utf8(build("latchkey <no-reply@localhost>", &mail("Grüße", &long)).expect("build").formatted()).expect("utf-8");
        assert!(raw.contains("Content-Transfer-Encoding: quoted-printable"), "{raw}");
        assert!(raw.contains("Gr=C3=BC=C3=9Fe"));
        assert!(!raw.contains("base64"));
    }
}
