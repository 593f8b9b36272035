//! Which address a request comes from.
//!
//! The TCP peer, unless the peer is one of `LATCHKEY_TRUSTED_PROXIES`: then the
//! one header the operator names in `LATCHKEY_FORWARDED_HEADER` (`X-Forwarded-For`
//! by default, or `Forwarded`, RFC 7239) is walked from the right, past every
//! trusted proxy, to the first address no trusted proxy vouches for. Headers
//! from anyone else are ignored: a client cannot choose its own rate-limit
//! bucket. The other header is never read: a proxy that sets one of them
//! passes the other through as the client sent it (nginx forwards a client's
//! `Forwarded` untouched while setting `X-Forwarded-For`).

use std::net::IpAddr;

use ipnet::IpNet;

/// Parses `LATCHKEY_TRUSTED_PROXIES`: comma- or space-separated CIDRs or
/// single addresses.
pub fn parse_trusted_proxies(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<IpNet>().or_else(|_| s.parse::<IpAddr>().map(IpNet::from)).map_err(|_| format!("LATCHKEY_TRUSTED_PROXIES: {s:?} is not an address or CIDR")))
        .collect()
}

/// Which forwarding header the trusted proxies set (`LATCHKEY_FORWARDED_HEADER`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For`: what the documented nginx (`deploy/nginx.conf`) sets.
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239 §4), `for=` parameters.
    Forwarded,
}

impl ForwardedHeader {
    /// Parses `LATCHKEY_FORWARDED_HEADER` (`x-forwarded-for` or `forwarded`,
    /// any case).
    pub fn parse(text: &str) -> Result<ForwardedHeader, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
            "forwarded" => Ok(ForwardedHeader::Forwarded),
            _ => Err(format!("LATCHKEY_FORWARDED_HEADER={text:?} must be x-forwarded-for or forwarded (the header your reverse proxy sets)")),
        }
    }

    /// The header's name, lower case as actix looks it up.
    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        }
    }
}

/// The peers whose forwarding header is believed, and which header that is.
#[derive(Clone, Debug, Default)]
pub struct Proxies {
    pub trusted: Vec<IpNet>,
    pub header: ForwardedHeader,
}

impl Proxies {
    /// Whether `peer` is one of the trusted proxies (whose forwarding and
    /// `traceparent` headers are believed).
    pub fn trust(&self, peer: IpAddr) -> bool {
        trusted(&peer, &self.trusted)
    }
}

fn trusted(ip: &IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|n| n.contains(ip))
}

/// One `for=` value of `Forwarded`, or one `X-Forwarded-For` entry:
/// `1.2.3.4`, `1.2.3.4:80`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let v = raw.trim().trim_matches('"');
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    v.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

/// The forwarded chain, client first; `None` when an entry cannot be read
/// (then nothing in it is believed).
fn chain(header: ForwardedHeader, value: Option<&str>) -> Option<Vec<IpAddr>> {
    let Some(value) = value else {
        return Some(Vec::new());
    };
    match header {
        ForwardedHeader::Forwarded => {
            value.split(',').filter_map(|element| element.split(';').find_map(|pair| pair.trim().strip_prefix("for=").or_else(|| pair.trim().strip_prefix("FOR=")))).map(parse_node).collect()
        }
        ForwardedHeader::XForwardedFor => value.split(',').map(parse_node).collect(),
    }
}

/// The client's address, given the TCP peer and the value of the forwarding
/// header `proxies.header` names (the caller reads only that header).
pub fn client_ip(peer: IpAddr, forwarded_value: Option<&str>, proxies: &Proxies) -> IpAddr {
    let (header, proxies) = (proxies.header, proxies.trusted.as_slice());
    if !trusted(&peer, proxies) {
        return peer;
    }
    let Some(hops) = chain(header, forwarded_value) else {
        return peer;
    };
    let mut client = peer;
    for hop in hops.iter().rev() {
        client = *hop;
        if !trusted(hop, proxies) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    fn xff(list: &str) -> Proxies {
        Proxies { trusted: parse_trusted_proxies(list).unwrap_or_default(), header: ForwardedHeader::XForwardedFor }
    }

    fn fwd(list: &str) -> Proxies {
        Proxies { trusted: parse_trusted_proxies(list).unwrap_or_default(), header: ForwardedHeader::Forwarded }
    }

    #[test]
    fn untrusted_peers_cannot_choose_their_address() {
        assert_eq!(client_ip(ip("203.0.113.9"), Some("1.1.1.1"), &xff("10.0.0.0/8")), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("203.0.113.9"), Some("1.1.1.1"), &Proxies::default()), ip("203.0.113.9"), "no proxies configured: headers ignored");
    }

    #[test]
    fn walks_past_trusted_proxies_only() {
        let proxies = xff("10.0.0.0/8, 192.168.1.1");
        // The client forged the leftmost entry; the proxy appended the real one.
        assert_eq!(client_ip(ip("10.0.0.2"), Some("6.6.6.6, 198.51.100.7"), &proxies), ip("198.51.100.7"));
        assert_eq!(client_ip(ip("10.0.0.2"), Some("198.51.100.7, 192.168.1.1"), &proxies), ip("198.51.100.7"));
        assert_eq!(client_ip(ip("10.0.0.2"), Some(r#"for="[2001:db8::1]:4711";proto=https, for=10.1.1.1"#), &fwd("10.0.0.0/8")), ip("2001:db8::1"));
        assert_eq!(client_ip(ip("10.0.0.2"), Some("garbage\r\n"), &proxies), ip("10.0.0.2"), "unreadable chain: the peer");
        assert_eq!(client_ip(ip("10.0.0.2"), None, &proxies), ip("10.0.0.2"));
    }

    #[test]
    fn only_the_named_header_is_read() {
        // A `Forwarded` value read as X-Forwarded-For is unreadable: the peer,
        // never an address the client wrote.
        assert_eq!(client_ip(ip("10.0.0.2"), Some("for=6.6.6.6"), &xff("10.0.0.0/8")), ip("10.0.0.2"));
        assert_eq!(client_ip(ip("10.0.0.2"), Some("6.6.6.6"), &fwd("10.0.0.0/8")), ip("10.0.0.2"), "no for= parameter: no hop");
        assert_eq!(ForwardedHeader::parse("X-Forwarded-For").map(ForwardedHeader::name), Ok("x-forwarded-for"));
        assert_eq!(ForwardedHeader::parse("forwarded").map(ForwardedHeader::name), Ok("forwarded"));
        assert!(ForwardedHeader::parse("x-real-ip").is_err_and(|e| e.contains("LATCHKEY_FORWARDED_HEADER")));
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(parse_trusted_proxies("10.0.0.0/8 nonsense").is_err());
        assert_eq!(parse_trusted_proxies("").map(|v| v.len()), Ok(0));
    }

    proptest::proptest! {
        /// Any header values and proxy lists: never a panic; the answer is the
        /// peer or an address named in the headers, and the peer itself when
        /// it is not a trusted proxy.
        #[test]
        fn client_ip_never_panics_and_trusts_only_proxies(
            forwarded in proptest::option::of("(for=\"?\\[?[0-9a-f:.]{0,40}\\]?(:[0-9]{1,5})?\"?[;, ]{0,2}){0,4}|\\PC{0,60}"),
            xff in proptest::option::of("([0-9.]{0,15}|[0-9a-f:]{0,39})(, ?([0-9.]{0,15}|[0-9a-f:]{0,39})){0,4}|\\PC{0,60}"),
            proxies in "(10.0.0.0/8|127.0.0.1/32|::1/128|garbage|[0-9./]{0,18})(,(10.0.0.0/8|127.0.0.1/32|[0-9./]{0,18})){0,3}",
            peer_trusted in proptest::bool::ANY,
        ) {
            let list = parse_trusted_proxies(&proxies).unwrap_or_default();
            let peer: IpAddr = if peer_trusted { "127.0.0.1".parse().expect("ip") } else { "203.0.113.9".parse().expect("ip") };
            for (header, value) in [(ForwardedHeader::Forwarded, &forwarded), (ForwardedHeader::XForwardedFor, &xff), (ForwardedHeader::XForwardedFor, &forwarded), (ForwardedHeader::Forwarded, &xff)] {
                let ip = client_ip(peer, value.as_deref(), &Proxies { trusted: list.clone(), header });
                if !trusted(&peer, &list) {
                    proptest::prop_assert_eq!(ip, peer);
                }
            }
        }
    }
}
