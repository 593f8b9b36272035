//! Which address a request comes from.
//!
//! The TCP peer, unless the peer is one of `LATCHKEY_TRUSTED_PROXIES`: then the
//! `Forwarded` (RFC 7239) or `X-Forwarded-For` chain is walked from the right,
//! past every trusted proxy, to the first address no trusted proxy vouches
//! for. Headers from anyone else are ignored: a client cannot choose its own
//! rate-limit bucket.

use std::net::IpAddr;

use ipnet::IpNet;

/// Parses `LATCHKEY_TRUSTED_PROXIES`: comma- or space-separated CIDRs or
/// single addresses.
pub fn parse_trusted_proxies(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("LATCHKEY_TRUSTED_PROXIES: {s:?} is not an address or CIDR"))
        })
        .collect()
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

/// The forwarded chain, client first; `None` when a header is present but an
/// entry cannot be read (then nothing in it is believed).
fn chain(forwarded: Option<&str>, x_forwarded_for: Option<&str>) -> Option<Vec<IpAddr>> {
    if let Some(f) = forwarded {
        return f
            .split(',')
            .filter_map(|element| element.split(';').find_map(|pair| pair.trim().strip_prefix("for=").or_else(|| pair.trim().strip_prefix("FOR="))))
            .map(parse_node)
            .collect();
    }
    x_forwarded_for.map(|x| x.split(',').map(parse_node).collect::<Option<Vec<_>>>()).unwrap_or(Some(Vec::new()))
}

/// The client's address, given the TCP peer and the forwarding headers.
pub fn client_ip(peer: IpAddr, forwarded: Option<&str>, x_forwarded_for: Option<&str>, proxies: &[IpNet]) -> IpAddr {
    if !trusted(&peer, proxies) {
        return peer;
    }
    let Some(hops) = chain(forwarded, x_forwarded_for) else { return peer };
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

    #[test]
    fn untrusted_peers_cannot_choose_their_address() {
        let proxies = parse_trusted_proxies("10.0.0.0/8").unwrap_or_default();
        assert_eq!(client_ip(ip("203.0.113.9"), None, Some("1.1.1.1"), &proxies), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("203.0.113.9"), None, Some("1.1.1.1"), &[]), ip("203.0.113.9"), "no proxies configured: headers ignored");
    }

    #[test]
    fn walks_past_trusted_proxies_only() {
        let proxies = parse_trusted_proxies("10.0.0.0/8, 192.168.1.1").unwrap_or_default();
        // The client forged the leftmost entry; the proxy appended the real one.
        assert_eq!(client_ip(ip("10.0.0.2"), None, Some("6.6.6.6, 198.51.100.7"), &proxies), ip("198.51.100.7"));
        assert_eq!(client_ip(ip("10.0.0.2"), None, Some("198.51.100.7, 192.168.1.1"), &proxies), ip("198.51.100.7"));
        assert_eq!(client_ip(ip("10.0.0.2"), Some(r#"for="[2001:db8::1]:4711";proto=https, for=10.1.1.1"#), None, &proxies), ip("2001:db8::1"));
        assert_eq!(client_ip(ip("10.0.0.2"), None, Some("garbage\r\n"), &proxies), ip("10.0.0.2"), "unreadable chain: the peer");
        assert_eq!(client_ip(ip("10.0.0.2"), None, None, &proxies), ip("10.0.0.2"));
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
            let ip = client_ip(peer, forwarded.as_deref(), xff.as_deref(), &list);
            if !trusted(&peer, &list) {
                proptest::prop_assert_eq!(ip, peer);
            }
        }
    }
}
