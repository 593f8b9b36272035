//! Whether this build speaks TLS to PostgreSQL, and what a database URL
//! may ask of it.
//!
//! libpq is compiled in (no libpq on the host needed). Its TLS needs
//! OpenSSL, whose vendored build was a third of a newcomer's cold release
//! build (docs/BENCHMARKS.md, "Cold build"), for a feature the embedded
//! default (SQLite) and a PostgreSQL on the same host never use. So it is a
//! cargo feature, `postgres-tls`, which the deployment image turns on.
//!
//! Without it, libpq itself still refuses `sslmode=require` and stricter,
//! but with a message that does not say how to get TLS; and with the default
//! `sslmode=prefer` it would silently speak plain text to a remote server.
//! [`check_url`] refuses the first with a message naming the feature, and
//! the second unless the URL says `sslmode=disable` outright.

use crate::error::StoreError;

/// Whether libpq in this binary was built with TLS.
pub const POSTGRES_TLS: bool = cfg!(feature = "postgres-tls");

/// What the URL asks of TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsNeed {
    /// `sslmode=disable`, or a server on this host (loopback, a Unix
    /// socket) with `allow`/`prefer`/nothing: plain text is what libpq does
    /// or may do.
    None,
    /// A remote server with `allow`/`prefer`/nothing: libpq with TLS would
    /// encrypt, without it would not.
    Preferred,
    /// `require`, `verify-ca`, `verify-full`.
    Required,
}

/// Reads `sslmode` and the host (the URL's, or a `host=` parameter) of a
/// `postgres://` URL. An unparsable URL asks for TLS: it is left to libpq
/// to refuse it.
pub fn tls_need(url: &str) -> TlsNeed {
    let Ok(parsed) = url::Url::parse(url) else { return TlsNeed::Required };
    let param = |name: &str| parsed.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.to_string());
    match param("sslmode").as_deref() {
        Some("disable") => return TlsNeed::None,
        Some("allow" | "prefer") | None => {}
        Some(_) => return TlsNeed::Required,
    }
    let host = param("host").unwrap_or_else(|| parsed.host_str().unwrap_or("").trim_matches(['[', ']']).to_string());
    if is_local(&host) {
        TlsNeed::None
    } else {
        TlsNeed::Preferred
    }
}

fn is_local(host: &str) -> bool {
    host.is_empty() || host.starts_with('/') || host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Refuses a URL this build cannot honour: TLS required, or a remote
/// server that would get plain text where the URL did not ask for it.
pub fn check_url(url: &str) -> Result<(), StoreError> {
    check_url_for(url, POSTGRES_TLS)
}

fn check_url_for(url: &str, tls_built_in: bool) -> Result<(), StoreError> {
    if tls_built_in {
        return Ok(());
    }
    match tls_need(url) {
        TlsNeed::None => Ok(()),
        TlsNeed::Required => Err(StoreError::Unavailable(
            "the database URL requires TLS (sslmode=require or verify-*), and this latchkey was built without TLS for PostgreSQL: \
             build it with `--features postgres-tls` (the deploy/Dockerfile image has it)"
                .into(),
        )),
        TlsNeed::Preferred => Err(StoreError::Unavailable(
            "the database is on another host, and this latchkey was built without TLS for PostgreSQL, so the connection would be \
             plain text: build it with `--features postgres-tls` (the deploy/Dockerfile image has it), or add `sslmode=disable` \
             to the URL to accept plain text on a network you trust"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_each_url_asks_of_tls() {
        for (url, need) in [
            ("postgres://postgres@127.0.0.1:5432/db", TlsNeed::None),
            ("postgres://u@localhost/db", TlsNeed::None),
            ("postgres://u@[::1]:5432/db", TlsNeed::None),
            ("postgres://u@localhost/db?host=/var/run/postgresql", TlsNeed::None),
            ("postgres://u@db.internal:5432/db?sslmode=disable", TlsNeed::None),
            ("postgres://u@db.internal:5432/db", TlsNeed::Preferred),
            ("postgres://u@10.0.0.5/db?sslmode=prefer", TlsNeed::Preferred),
            ("postgres://u@localhost/db?host=db.internal", TlsNeed::Preferred),
            ("postgres://u@127.0.0.1/db?sslmode=require", TlsNeed::Required),
            ("postgres://u@db.internal/db?sslmode=verify-full", TlsNeed::Required),
            ("not a url", TlsNeed::Required),
        ] {
            assert_eq!(tls_need(url), need, "{url}");
        }
    }

    #[test]
    fn a_build_without_tls_refuses_what_it_cannot_honour_and_says_how() {
        assert!(check_url_for("postgres://postgres@127.0.0.1:5432/db", false).is_ok());
        assert!(check_url_for("postgres://u@db.internal/db?sslmode=disable", false).is_ok());
        for url in ["postgres://u@db.internal/db?sslmode=require", "postgres://u@db.internal/db"] {
            let refused = check_url_for(url, false).expect_err(url).to_string();
            assert!(refused.contains("--features postgres-tls"), "{refused}");
        }
        assert!(check_url_for("postgres://u@db.internal/db?sslmode=verify-full", true).is_ok());
    }
}
