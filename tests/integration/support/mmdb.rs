//! A tiny MaxMind DB writer (the format is public:
//! <https://maxmind.github.io/MaxMind-DB/>), so the risk tests locate
//! sign-ins with a `.mmdb` file of their own instead of a downloaded one.
//!
//! It writes an IPv4 database (`ip_version` 4) with 24-bit records: a binary
//! search tree with one node per bit of each network, 16 zero bytes, a data
//! section of GeoLite2-City records (country, city, location) and the
//! metadata map after its marker. Networks must not overlap.

use std::net::Ipv4Addr;
use std::path::Path;

/// What separates the search tree from the data section.
const DATA_SECTION_SEPARATOR: [u8; 16] = [0; 16];
/// What precedes the metadata map, at the end of the file.
const METADATA_MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";
/// Bits per record: 24, the smallest the format allows (a test file has few nodes).
const RECORD_SIZE: u16 = 24;
/// The largest value a 24-bit record holds.
const MAX_RECORD: usize = (1 << 24) - 1;

/// One located network: `a.b.c.0/prefix` in a city.
#[derive(Debug, Clone)]
pub struct City {
    pub network: Ipv4Addr,
    pub prefix: u8,
    pub country_iso: &'static str,
    pub country: &'static str,
    pub city: &'static str,
    pub latitude: f64,
    pub longitude: f64,
}

/// A value of the format's data section.
enum Value {
    Str(String),
    Double(f64),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(&'static str, Value)>),
    Array(Vec<Value>),
}

fn str(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// The type numbers of the format (section "Output Data Section").
mod kind {
    pub const UTF8: u8 = 2;
    pub const DOUBLE: u8 = 3;
    pub const UINT16: u8 = 5;
    pub const UINT32: u8 = 6;
    pub const MAP: u8 = 7;
    pub const UINT64: u8 = 9;
    pub const ARRAY: u8 = 11;
}

/// A control byte (and the extended type byte and size bytes after it).
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (first, extended) = if kind <= 7 { (kind << 5, None) } else { (0, Some(kind - 7)) };
    let (size_bits, extra): (u8, Vec<u8>) = match size {
        0..=28 => (size as u8, vec![]),
        29..=284 => (29, vec![(size - 29) as u8]),
        285..=65_820 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        _ => (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec()),
    };
    out.push(first | size_bits);
    out.extend(extended);
    out.extend(extra);
}

/// An unsigned integer in as few big-endian bytes as it needs.
fn uint(out: &mut Vec<u8>, kind: u8, n: u64) {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, kind, 8 - skip);
    out.extend(&bytes[skip..]);
}

fn encode(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Str(s) => {
            control(out, kind::UTF8, s.len());
            out.extend(s.as_bytes());
        }
        Value::Double(d) => {
            control(out, kind::DOUBLE, 8);
            out.extend(d.to_be_bytes());
        }
        Value::U16(n) => uint(out, kind::UINT16, u64::from(*n)),
        Value::U32(n) => uint(out, kind::UINT32, u64::from(*n)),
        Value::U64(n) => uint(out, kind::UINT64, *n),
        Value::Map(pairs) => {
            control(out, kind::MAP, pairs.len());
            for (k, v) in pairs {
                encode(out, &str(k));
                encode(out, v);
            }
        }
        Value::Array(items) => {
            control(out, kind::ARRAY, items.len());
            for item in items {
                encode(out, item);
            }
        }
    }
}

fn city_record(c: &City) -> Value {
    let names = |en: &str| Value::Map(vec![("en", str(en))]);
    Value::Map(vec![
        ("city", Value::Map(vec![("names", names(c.city))])),
        ("country", Value::Map(vec![("iso_code", str(c.country_iso)), ("names", names(c.country))])),
        ("location", Value::Map(vec![("latitude", Value::Double(c.latitude)), ("longitude", Value::Double(c.longitude))])),
    ])
}

/// A record of the search tree while it is built.
#[derive(Clone, Copy)]
enum Record {
    Empty,
    Node(usize),
    Data(usize),
}

/// The bytes of a GeoLite2-City-like database of `cities`, built at `build_epoch`.
pub fn city_database(cities: &[City], build_epoch: u64) -> Vec<u8> {
    let mut data = Vec::new();
    let mut nodes: Vec<[Record; 2]> = vec![[Record::Empty; 2]];
    for c in cities {
        let offset = data.len();
        encode(&mut data, &city_record(c));
        let bits = u32::from(c.network);
        let mut node = 0;
        for i in 0..c.prefix {
            let bit = usize::from((bits >> (31 - i)) & 1 == 1);
            if i + 1 == c.prefix {
                nodes[node][bit] = Record::Data(offset);
                break;
            }
            node = match nodes[node][bit] {
                Record::Node(next) => next,
                Record::Empty => {
                    nodes.push([Record::Empty; 2]);
                    let next = nodes.len() - 1;
                    nodes[node][bit] = Record::Node(next);
                    next
                }
                Record::Data(_) => panic!("overlapping networks in a test database"),
            };
        }
    }
    let node_count = nodes.len();
    let mut out = Vec::new();
    for pair in &nodes {
        for record in pair {
            // "Not found" is the node count; data is past the tree and the separator.
            let value = match *record {
                Record::Empty => node_count,
                Record::Node(n) => n,
                Record::Data(offset) => node_count + DATA_SECTION_SEPARATOR.len() + offset,
            };
            assert!(value <= MAX_RECORD, "a test database fits 24-bit records");
            out.extend(&(value as u32).to_be_bytes()[1..]);
        }
    }
    out.extend(DATA_SECTION_SEPARATOR);
    out.extend(&data);
    out.extend(METADATA_MARKER);
    let metadata = Value::Map(vec![
        ("binary_format_major_version", Value::U16(2)),
        ("binary_format_minor_version", Value::U16(0)),
        ("build_epoch", Value::U64(build_epoch)),
        ("database_type", str("GeoLite2-City")),
        ("description", Value::Map(vec![("en", str("latchkey test cities"))])),
        ("ip_version", Value::U16(4)),
        ("languages", Value::Array(vec![str("en")])),
        ("node_count", Value::U32(u32::try_from(node_count).expect("few nodes"))),
        ("record_size", Value::U16(RECORD_SIZE)),
    ]);
    encode(&mut out, &metadata);
    out
}

/// Writes [`city_database`] to `path`.
pub fn write_city_database(path: &Path, cities: &[City], build_epoch: u64) {
    std::fs::write(path, city_database(cities, build_epoch)).expect("write the test .mmdb");
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_authn::risk::GeoDb;

    const BERLIN: City = City { network: Ipv4Addr::new(198, 51, 100, 0), prefix: 24, country_iso: "DE", country: "Germany", city: "Berlin", latitude: 52.52, longitude: 13.405 };
    const NEW_YORK: City = City { network: Ipv4Addr::new(203, 0, 113, 0), prefix: 24, country_iso: "US", country: "United States", city: "New York", latitude: 40.7128, longitude: -74.006 };

    #[test]
    fn sizes_and_integers_are_encoded_as_the_format_says() {
        let mut out = Vec::new();
        control(&mut out, kind::UTF8, 3);
        assert_eq!(out, [0x43]);
        out.clear();
        control(&mut out, kind::UTF8, 300);
        assert_eq!(out, [0x5e, 0x00, 0x0f], "285 + 15");
        out.clear();
        uint(&mut out, kind::UINT64, 1);
        assert_eq!(out, [0x01, 0x02, 0x01], "extended type 9 is 2 after 7; one byte");
        out.clear();
        encode(&mut out, &Value::Array(vec![]));
        assert_eq!(out, [0x00, 0x04]);
    }

    #[test]
    fn the_maxminddb_crate_reads_it_back() {
        let dir = std::env::temp_dir().join(super::super::services::unique("latchkey-mmdb-"));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("cities.mmdb");
        write_city_database(&path, &[BERLIN, NEW_YORK], 1_796_083_200);
        let db = GeoDb::open(&path).expect("opens");
        db.verify().expect("every node and record is valid");
        assert_eq!(db.describe(), "GeoLite2-City, built 2026-12-01");
        assert!(db.has_cities());
        let berlin = db.lookup("198.51.100.7".parse().expect("ip")).expect("Berlin is known");
        assert_eq!(berlin.words().as_deref(), Some("Berlin, Germany"));
        assert_eq!(berlin.country.as_deref(), Some("DE"));
        let at = berlin.coordinates.expect("coordinates");
        assert_eq!((at.latitude, at.longitude), (52.52, 13.405));
        let ny = db.lookup("203.0.113.255".parse().expect("ip")).expect("New York is known");
        assert_eq!(ny.words().as_deref(), Some("New York, United States"));
        assert_eq!(db.lookup("198.51.101.1".parse().expect("ip")), None, "outside every network");
        assert_eq!(db.lookup("10.0.0.1".parse().expect("ip")), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
