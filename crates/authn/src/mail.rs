//! Notification mail: SMTP (lettre) when `LATCHKEY_SMTP_URL` is set, otherwise
//! one `.eml` file per message in a local outbox directory. Never dropped:
//! a message that cannot be sent by SMTP is written to the outbox instead.
//! Every message is `multipart/alternative`: plain text first, then HTML
//! (what [`crate::notice::Notice::compose`] makes). [`read_outbox`] reads the
//! outbox back (`latchkey mail list`, `latchkey mail show`).

use std::path::{Path, PathBuf};

use base64::Engine;

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
/// greppable. Quoted-printable fits any text. For the HTML part.
fn body(text: &str) -> Body {
    Body::new_with_encoding(text.to_string(), ContentTransferEncoding::SevenBit)
        .or_else(|_| Body::new_with_encoding(text.to_string(), ContentTransferEncoding::QuotedPrintable))
        .unwrap_or_else(|_| Body::new(text.to_string()))
}

/// RFC 5322 §2.1.1: a line is at most 998 characters (plus CRLF).
const MAX_LINE_BYTES: usize = 998;

/// The text part as written: 7bit (ASCII) or 8bit (UTF-8), so a link stays
/// verbatim on its own line for whoever reads the outbox with `cat` and
/// pastes it. Quoted-printable, which lettre picks for any line of 76
/// characters or more, broke long links with soft line breaks and turned
/// `=` into `=3D` (issue #24, finding 26). Quoted-printable only for a line
/// over [`MAX_LINE_BYTES`] or a control character, which no notice has.
/// (8bit needs SMTP's 8BITMIME, which every current server offers.)
fn text_body(text: &str) -> Body {
    let lines: Vec<&str> = text.lines().collect();
    let plain = lines.iter().all(|l| l.len() <= MAX_LINE_BYTES && !l.chars().any(|c| c.is_control() && c != '\t'));
    if !plain {
        return body(text);
    }
    let encoding = if text.is_ascii() { ContentTransferEncoding::SevenBit } else { ContentTransferEncoding::EightBit };
    let mut crlf = lines.join("\r\n");
    crlf.push_str("\r\n");
    Body::dangerous_pre_encoded(crlf.into_bytes(), encoding)
}

fn build(from: &str, mail: &Mail) -> Result<Message, AuthnError> {
    let bad = |e: String| AuthnError::InvalidInput(format!("mail: {e}"));
    Message::builder()
        .from(from.parse().map_err(|e: lettre::address::AddressError| bad(e.to_string()))?)
        .to(mail.to.parse().map_err(|e: lettre::address::AddressError| bad(e.to_string()))?)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(text_body(&mail.text), body(&mail.html)))
        .map_err(|e| bad(e.to_string()))
}

/// Mail holds sign-in and recovery links: the outbox directory is 0700
/// and each message 0600, readable by this user only.
fn write_outbox(dir: &Path, from: &str, mail: &Mail) -> Result<(), AuthnError> {
    let failed = |e: std::io::Error| AuthnError::InvalidInput(format!("outbox {}: {e}", dir.display()));
    latchkey_store::db::private_dir(dir).map_err(failed)?;
    let message = build(from, mail)?;
    let name = format!("{}-{}.eml", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0), uuid::Uuid::new_v4().simple());
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

/// One message of the outbox, as read back from its file.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub file: PathBuf,
    pub date: String,
    pub to: String,
    pub subject: String,
    /// The plain-text part, decoded.
    pub text: String,
}

/// The outbox's messages, oldest first (file names start with the time).
/// Files that are not messages of ours are skipped.
pub fn read_outbox(dir: &Path) -> Result<Vec<OutboxMessage>, AuthnError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AuthnError::InvalidInput(format!("outbox {}: {e}", dir.display()))),
    };
    let mut files: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect();
    files.sort();
    Ok(files
        .into_iter()
        .filter_map(|file| std::fs::read(&file).ok().and_then(|raw| parse_message(&String::from_utf8_lossy(&raw))).map(|(date, to, subject, text)| OutboxMessage { file, date, to, subject, text }))
        .collect())
}

/// Headers (unfolded, names lower-cased) and the body of a message or part.
fn split_headers(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw.split_once("\r\n\r\n").or_else(|| raw.split_once("\n\n")).unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    (headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// `(date, to, subject, text)` of one of our messages.
fn parse_message(raw: &str) -> Option<(String, String, String, String)> {
    let (headers, body) = split_headers(raw);
    let content_type = header(&headers, "content-type").unwrap_or("text/plain");
    let text = match content_type.split_once("boundary=") {
        Some((_, b)) => {
            let boundary = format!("--{}", b.split(';').next().unwrap_or("").trim().trim_matches('"'));
            body.split(boundary.as_str())
                .map(split_headers)
                .find(|(h, _)| header(h, "content-type").is_some_and(|c| c.to_ascii_lowercase().starts_with("text/plain")))
                .map(|(h, b)| decode_body(header(&h, "content-transfer-encoding"), b))?
        }
        None => decode_body(header(&headers, "content-transfer-encoding"), body),
    };
    let get = |name: &str| header(&headers, name).map(decode_words).unwrap_or_default();
    Some((get("date"), get("to"), get("subject"), text))
}

/// A part's body in its transfer encoding, as text with `\n` line ends.
fn decode_body(encoding: Option<&str>, body: &str) -> String {
    let bytes = match encoding.map(str::to_ascii_lowercase).as_deref() {
        Some("quoted-printable") => quoted_printable::decode(body.trim_end().as_bytes(), quoted_printable::ParseMode::Robust).unwrap_or_else(|_| body.as_bytes().to_vec()),
        Some("base64") => base64::engine::general_purpose::STANDARD.decode(body.split_whitespace().collect::<String>()).unwrap_or_else(|_| body.as_bytes().to_vec()),
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8_lossy(&bytes).replace("\r\n", "\n").trim_end().to_string() + "\n"
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header,
/// decoded; anything else as it is.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let word = rest[start + 2..].splitn(3, '?').collect::<Vec<_>>();
        let decoded = match word.as_slice() {
            [charset, enc, tail] => tail.find("?=").and_then(|end| {
                let data = &tail[..end];
                let bytes = match enc.to_ascii_lowercase().as_str() {
                    "b" => base64::engine::general_purpose::STANDARD.decode(data).ok(),
                    "q" => quoted_printable::decode(data.replace('_', " ").as_bytes(), quoted_printable::ParseMode::Robust).ok(),
                    _ => None,
                }?;
                let consumed = start + 2 + charset.len() + 1 + enc.len() + 1 + end + 2;
                Some((String::from_utf8_lossy(&bytes).into_owned(), consumed))
            }),
            _ => None,
        };
        match decoded {
            Some((text, consumed)) => {
                let between = &rest[..start];
                // Whitespace between two encoded words is not part of the text.
                if !(last_was_word && between.trim().is_empty()) {
                    out.push_str(between);
                }
                out.push_str(&text);
                rest = &rest[consumed..];
                last_was_word = true;
            }
            None => {
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
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
        let dir = std::env::temp_dir().join(format!("latchkey-outbox-{}", uuid::Uuid::new_v4().simple()));
        let mailer = Mailer::new(None, "latchkey <no-reply@localhost>", dir.clone()).expect("mailer");
        mailer.send(&mail("hello", "<p>hello</p>")).await.expect("send");
        let mode = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
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
    fn the_html_part_with_non_ascii_and_long_lines_is_quoted_printable() {
        let long = format!("<p>{}</p>", "ä".repeat(2000));
        let raw = String::from_utf8(build("latchkey <no-reply@localhost>", &mail("Grüße", &long)).expect("build").formatted()).expect("utf-8");
        assert!(raw.contains("Content-Transfer-Encoding: quoted-printable"), "{raw}");
        assert!(raw.contains("=C3=A4=C3=A4"));
        assert!(raw.contains("Content-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n"), "the text part as written: {raw}");
        assert!(!raw.contains("base64"));
    }

    /// Finding 26 of issue #24: a long link in a UTF-8 text stays whole on
    /// its line in the file, and reads back decoded.
    #[test]
    fn a_long_link_stays_whole_on_its_line_and_reads_back() {
        let link = format!("https://id.example.com/recover?t=lkl_{}", "A1b2=C3d4".repeat(10));
        let text = format!("Hallo jörg,\n\n{}\n\n  {link}\n\n-- \nFooter\n", "Jemand möchte Ihr Konto wiederherstellen. ".repeat(5));
        let raw = String::from_utf8(build("latchkey <no-reply@localhost>", &mail(&text, "<p>x</p>")).expect("build").formatted()).expect("utf-8");
        assert!(raw.lines().any(|l| l == format!("  {link}")), "verbatim on one line: {raw}");
        assert!(!raw.contains("=3D"));
        let (_, to, subject, decoded) = parse_message(&raw).expect("parse");
        assert_eq!((to.as_str(), subject.as_str()), ("alice@example.com", "New sign-in"));
        assert_eq!(decoded, text);
    }

    #[test]
    fn quoted_printable_and_encoded_headers_of_older_messages_decode() {
        let raw = "To: a@example.com\r\nSubject: =?utf-8?b?TmV1ZSBBbm1lbGR1bmcgYmVpIElocmVtIEtvbnRv?=\r\nContent-Type: multipart/alternative; boundary=\"XyZ\"\r\n\r\n--XyZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe https://x.example/?t=3Dabc=\r\ndef\r\n--XyZ\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>x</p>\r\n--XyZ--\r\n";
        let (_, _, subject, text) = parse_message(raw).expect("parse");
        assert_eq!(subject, "Neue Anmeldung bei Ihrem Konto");
        assert_eq!(text, "Grüße https://x.example/?t=abcdef\n");
        assert_eq!(decode_words("=?utf-8?q?Gr=C3=BC=C3=9Fe_aus?= =?utf-8?q?_Berlin?="), "Grüße aus Berlin");
    }
}
