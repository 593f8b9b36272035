//! The operator's blocklist (`LATCHKEY_RISK_BLOCKLIST`): a text file of one
//! IP address or CIDR range per line (`203.0.113.7`, `198.51.100.0/24`,
//! `2001:db8::/32`); `#` starts a comment, blank lines are skipped. A
//! sign-in from a listed address is high risk. Read once at start-up: a
//! line that is neither an address nor a range is a start-up error naming
//! the file and the line, never silently skipped.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

use super::RiskConfigError;

/// The parsed list (a linear scan: even a few thousand ranges cost
/// microseconds, once per sign-in).
#[derive(Debug, Clone, Default)]
pub struct Blocklist {
    ranges: Vec<IpNet>,
}

impl Blocklist {
    /// The list in `text`; on a bad line, its number (from 1) and text.
    pub fn parse(text: &str) -> Result<Blocklist, (usize, String)> {
        let mut ranges = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let entry = line.split('#').next().unwrap_or_default().trim();
            if entry.is_empty() {
                continue;
            }
            let range = match entry.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip.to_canonical()),
                    Err(_) => return Err((i + 1, entry.to_string())),
                },
            };
            ranges.push(range);
        }
        Ok(Blocklist { ranges })
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Blocklist, RiskConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RiskConfigError::Unreadable { setting: "LATCHKEY_RISK_BLOCKLIST", path: shown.clone(), source })?;
        Blocklist::parse(&text).map_err(|(line, text)| RiskConfigError::BlocklistLine { path: shown, line, text })
    }

    /// Whether `ip` (an IPv4-mapped IPv6 address as its IPv4 address) is listed.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.ranges.iter().any(|net| net.contains(&ip))
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn addresses_ranges_comments_and_blank_lines() {
        let list = Blocklist::parse("# Tor exits, 2026-12-01\n203.0.113.7\n\n198.51.100.0/24   # a hosting range\n  2001:db8::/32\n192.0.2.77/24\n").expect("parses");
        assert_eq!(list.len(), 4);
        assert!(list.contains(ip("203.0.113.7")));
        assert!(!list.contains(ip("203.0.113.8")), "a single address is a /32");
        assert!(list.contains(ip("198.51.100.255")) && !list.contains(ip("198.51.101.0")));
        assert!(list.contains(ip("2001:db8:ffff::1")) && !list.contains(ip("2001:db9::1")));
        assert!(list.contains(ip("::ffff:203.0.113.7")), "an IPv4-mapped address is its IPv4 address");
        assert!(list.contains(ip("192.0.2.1")), "host bits in a range are ignored: 192.0.2.77/24 is 192.0.2.0/24");
        assert!(Blocklist::parse("").expect("empty").is_empty());
    }

    #[test]
    fn a_bad_line_is_named_by_its_number() {
        assert_eq!(Blocklist::parse("203.0.113.7\n# fine\nexample.com\n").err(), Some((3, "example.com".to_string())));
        assert_eq!(Blocklist::parse("10.0.0.0/33").err(), Some((1, "10.0.0.0/33".to_string())));
        assert_eq!(Blocklist::parse("1.2.3.4 5.6.7.8").err(), Some((1, "1.2.3.4 5.6.7.8".to_string())));
    }

    #[test]
    fn a_missing_file_names_the_setting() {
        let e = Blocklist::load(Path::new("/nonexistent/blocklist.txt")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("LATCHKEY_RISK_BLOCKLIST=/nonexistent/blocklist.txt"), "{e}");
    }
}
