//! Friendly device names and "same device?" checks from the User-Agent header,
//! parsed with `woothee` (a maintained, table-driven parser).

/// "Chrome on Linux", "Safari on iPhone", or "Unknown device".
pub fn friendly_name(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else { return "Unknown device".into() };
    match woothee::parser::Parser::new().parse(ua) {
        Some(r) if r.name != "UNKNOWN" && r.os != "UNKNOWN" => format!("{} on {}", r.name, r.os),
        Some(r) if r.name != "UNKNOWN" => r.name.to_string(),
        _ => "Unknown device".into(),
    }
}

/// The parts of a user agent that identify a device family (browser + OS),
/// ignoring version bumps, so an update does not look like a new device.
pub fn family(user_agent: Option<&str>) -> String {
    match user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua)) {
        Some(r) if r.name != "UNKNOWN" => format!("{}/{}", r.name, r.os),
        _ => user_agent.unwrap_or("").to_string(),
    }
}

/// The network an address belongs to: /24 for IPv4, /48 for IPv6. Addresses
/// in one network count as "the same place".
pub fn network(ip: Option<&str>) -> String {
    match ip.and_then(|i| i.parse::<std::net::IpAddr>().ok()) {
        Some(std::net::IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Some(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        None => ip.unwrap_or("").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_families() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        assert_eq!(friendly_name(Some(chrome)), "Chrome on Linux");
        let newer = chrome.replace("120.0.0.0", "121.0.0.0");
        assert_eq!(family(Some(chrome)), family(Some(&newer)), "a version bump is the same device");
        assert_eq!(friendly_name(None), "Unknown device");
    }

    #[test]
    fn networks() {
        assert_eq!(network(Some("192.0.2.17")), "192.0.2.0/24");
        assert_eq!(network(Some("192.0.2.17")), network(Some("192.0.2.200")));
        assert_ne!(network(Some("192.0.2.17")), network(Some("198.51.100.1")));
        assert_eq!(network(Some("2001:db8:1:2::1")), "2001:db8:1::/48");
    }
}
