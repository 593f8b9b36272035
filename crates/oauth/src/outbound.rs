//! Fetching a small document from a URL a stranger chose (a client ID
//! metadata document): the request must not reach inside the network
//! latchkey runs in (SSRF), hang the endpoint, or fill its memory.
//!
//! - **The address connected to is checked**, not the name: the client's
//!   resolver ([`PublicOnly`]) looks the host up once, drops every address
//!   that is not public (loopback, private, link-local, CGNAT, unique-local,
//!   documentation, multicast…) and hands reqwest only what is left, so a
//!   name that resolves to a public address for a check and to 10.0.0.1 for
//!   the connection (DNS rebinding) cannot get through. A URL with an IP
//!   literal never reaches a resolver and is checked before the request.
//! - https only; plain http only on a loopback host when development allows
//!   loopback (`allow_loopback`).
//! - No redirects, no proxy from the environment, [`FETCH_TIMEOUT`] in all,
//!   at most [`MAX_DOCUMENT_BYTES`] read.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::trace::SendTraced;

/// A document server must answer within this (connection, headers and body).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A client metadata document is a few hundred bytes; anything past this is
/// refused rather than read.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// A document is kept at least this long whatever its `Cache-Control` says
/// (a client cannot make every authorization request fetch it again)…
pub const MIN_CACHE_SECS: i64 = 60;
/// …at most this long (a changed document is seen within a day)…
pub const MAX_CACHE_SECS: i64 = 24 * 3600;
/// …and this long when it says nothing.
pub const DEFAULT_CACHE_SECS: i64 = 5 * 60;

/// Why a document could not be fetched; the message is safe to show the
/// user (it names the problem, never an internal address).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("the URL must be https")]
    NotHttps,
    #[error("the URL's host is not a public address")]
    NotPublic,
    #[error("the document server did not answer within {} seconds", FETCH_TIMEOUT.as_secs())]
    Timeout,
    #[error("the document server answered with a redirect; it must serve the document itself")]
    Redirect,
    #[error("the document server answered HTTP {0}")]
    Status(u16),
    #[error("the document is larger than {} KiB", MAX_DOCUMENT_BYTES / 1024)]
    TooLarge,
    #[error("the document server could not be reached")]
    Unreachable,
}

/// Whether latchkey may connect to `ip` for a stranger: public unicast
/// only, or loopback too when development allows it.
pub fn allowed_address(ip: IpAddr, allow_loopback: bool) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    if ip.is_loopback() {
        return allow_loopback;
    }
    match ip {
        IpAddr::V4(a) => {
            let [o0, o1, ..] = a.octets();
            !(a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_documentation()
                || a.is_multicast()
                || o0 == 0
                // 100.64.0.0/10, carrier-grade NAT (RFC 6598).
                || (o0 == 100 && (64..128).contains(&o1))
                // 192.0.0.0/24, IETF protocol assignments; 198.18.0.0/15, benchmarking.
                || (o0 == 192 && o1 == 0 && a.octets()[2] == 0)
                || (o0 == 198 && (18..20).contains(&o1))
                // 240.0.0.0/4, reserved.
                || o0 >= 240)
        }
        IpAddr::V6(a) => {
            let first = a.segments()[0];
            !(a.is_unspecified()
                || a.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local, 2001:db8::/32 documentation.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && a.segments()[1] == 0x0db8)
                // 64:ff9b::/96 NAT64 could reach any IPv4 address.
                || (first == 0x64 && a.segments()[1] == 0xff9b))
        }
    }
}

/// reqwest's resolver for stranger-chosen URLs: only allowed addresses.
pub struct PublicOnly {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| allowed_address(a.ip(), allow_loopback)).collect();
            if allowed.is_empty() {
                return Err(Box::new(NotPublicError) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[derive(Debug)]
struct NotPublicError;

impl std::fmt::Display for NotPublicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host has no public address")
    }
}

impl std::error::Error for NotPublicError {}

/// A client that posts to receivers the operator named (webhooks): no
/// redirects, no proxy, `timeout` for the whole exchange; to public
/// addresses only (each name's addresses checked when resolved) unless
/// `allow_private`.
pub fn guarded_client(allow_private: bool, timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    let builder =
        crate::http::client_builder().no_proxy().redirect(reqwest::redirect::Policy::none()).timeout(timeout).connect_timeout(timeout).user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")));
    if allow_private {
        builder.build()
    } else {
        builder.dns_resolver(Arc::new(PublicOnly { allow_loopback: false })).build()
    }
}

/// Whether `url`'s host names the loopback interface.
fn loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    }
}

/// A fetched document and how long it may be kept (seconds).
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub cache_secs: i64,
}

/// How long a response may be kept, from its `Cache-Control`, within
/// [`MIN_CACHE_SECS`]..=[`MAX_CACHE_SECS`].
pub fn cache_secs(cache_control: Option<&str>) -> i64 {
    let Some(cc) = cache_control else { return DEFAULT_CACHE_SECS };
    let mut max_age = None;
    for directive in cc.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if directive == "no-store" || directive == "no-cache" {
            return MIN_CACHE_SECS;
        }
        if let Some(v) = directive.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<i64>().ok();
        }
    }
    max_age.unwrap_or(DEFAULT_CACHE_SECS).clamp(MIN_CACHE_SECS, MAX_CACHE_SECS)
}

/// Fetches stranger-chosen URLs within the rules of this module.
#[derive(Clone)]
pub struct GuardedFetcher {
    http: reqwest::Client,
    allow_loopback: bool,
}

impl GuardedFetcher {
    /// `allow_loopback`: development only — documents on this machine
    /// (`http://localhost`, `127.0.0.1`, `[::1]`) are fetched too.
    pub fn new(allow_loopback: bool) -> Result<GuardedFetcher, reqwest::Error> {
        let http = crate::http::client_builder()
            .dns_resolver(Arc::new(PublicOnly { allow_loopback }))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(GuardedFetcher { http, allow_loopback })
    }

    /// Whether documents on this machine are fetched (development).
    pub fn allows_loopback(&self) -> bool {
        self.allow_loopback
    }

    /// Checks `url` before any connection: scheme, and an IP literal's address.
    pub fn check_url(&self, url: &url::Url) -> Result<(), FetchError> {
        let loopback = loopback_host(url);
        match url.scheme() {
            "https" => {}
            "http" if loopback && self.allow_loopback => {}
            _ => return Err(FetchError::NotHttps),
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(FetchError::NotPublic),
        };
        if literal.is_some_and(|ip| !allowed_address(ip, self.allow_loopback)) || (loopback && !self.allow_loopback) {
            return Err(FetchError::NotPublic);
        }
        Ok(())
    }

    /// GETs `url` as JSON: 200 only, no redirect, the body whole but no larger
    /// than [`MAX_DOCUMENT_BYTES`].
    pub async fn fetch(&self, url: &url::Url) -> Result<Fetched, FetchError> {
        self.check_url(url)?;
        let work = async {
            let mut resp = self.http.get(url.clone()).header("accept", "application/json").send_traced().await.map_err(classify)?;
            let status = resp.status();
            if status.is_redirection() {
                return Err(FetchError::Redirect);
            }
            if status != reqwest::StatusCode::OK {
                return Err(FetchError::Status(status.as_u16()));
            }
            if resp.content_length().is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64) {
                return Err(FetchError::TooLarge);
            }
            let cache = cache_secs(resp.headers().get("cache-control").and_then(|v| v.to_str().ok()));
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(classify)? {
                if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                    return Err(FetchError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Fetched { body, cache_secs: cache })
        };
        // The client's timeout covers each request; this bounds the whole.
        tokio::time::timeout(FETCH_TIMEOUT, work).await.unwrap_or(Err(FetchError::Timeout))
    }
}

fn classify(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout;
    }
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = source {
        if s.is::<NotPublicError>() {
            return FetchError::NotPublic;
        }
        source = s.source();
    }
    FetchError::Unreachable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_allowed() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "240.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!allowed_address(inside.parse().unwrap(), false), "{inside}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "100.128.0.1"] {
            assert!(allowed_address(public.parse().unwrap(), false), "{public}");
        }
        assert!(allowed_address("127.0.0.1".parse().unwrap(), true), "development allows loopback");
        assert!(!allowed_address("10.0.0.1".parse().unwrap(), true), "but never the private network");
    }

    #[test]
    fn urls_are_checked_before_any_connection() {
        let strict = GuardedFetcher::new(false).unwrap();
        let dev = GuardedFetcher::new(true).unwrap();
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(strict.check_url(&url("http://example.com/c")), Err(FetchError::NotHttps));
        assert_eq!(strict.check_url(&url("https://127.0.0.1/c")), Err(FetchError::NotPublic));
        assert_eq!(strict.check_url(&url("https://[::1]/c")), Err(FetchError::NotPublic));
        assert_eq!(strict.check_url(&url("https://localhost/c")), Err(FetchError::NotPublic));
        assert_eq!(strict.check_url(&url("https://169.254.169.254/latest")), Err(FetchError::NotPublic));
        assert_eq!(strict.check_url(&url("https://example.com/c")), Ok(()));
        assert_eq!(dev.check_url(&url("http://127.0.0.1:8080/c")), Ok(()));
        assert_eq!(dev.check_url(&url("http://example.com/c")), Err(FetchError::NotHttps), "http only on loopback");
        assert_eq!(dev.check_url(&url("https://10.0.0.1/c")), Err(FetchError::NotPublic));
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_is_refused_at_connection() {
        // `localhost` is a name (the resolver runs), not a literal: the
        // resolver drops its loopback addresses and nothing is left.
        let strict = GuardedFetcher { http: GuardedFetcher::new(false).unwrap().http, allow_loopback: true };
        let err = strict.fetch(&url::Url::parse("http://localhost:9/c").unwrap()).await.unwrap_err();
        assert_eq!(err, FetchError::NotPublic);
    }

    #[test]
    fn cache_lifetimes_stay_within_bounds() {
        assert_eq!(cache_secs(None), DEFAULT_CACHE_SECS);
        assert_eq!(cache_secs(Some("public, max-age=600")), 600);
        assert_eq!(cache_secs(Some("max-age=5")), MIN_CACHE_SECS);
        assert_eq!(cache_secs(Some("max-age=99999999")), MAX_CACHE_SECS);
        assert_eq!(cache_secs(Some("no-store")), MIN_CACHE_SECS);
        assert_eq!(cache_secs(Some("max-age=garbage")), DEFAULT_CACHE_SECS);
    }
}
