//! Where an address is, from the operator's offline location database
//! (`LATCHKEY_GEOIP_DB`): a MaxMind DB file such as MaxMind's GeoLite2-City
//! or DB-IP's IP-to-City Lite, read with the `maxminddb` crate. Nothing is
//! fetched at run time: the operator downloads the file (both need it
//! refreshed monthly) and restarts. Without one, sign-ins have no place, and
//! the country and travel signals stay silent.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::{geoip2, Reader};

use super::RiskConfigError;

/// The Earth's mean radius (IUGG), for great-circle distances.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;
/// An address every location database places (Cloudflare's resolver):
/// looked up once at start-up, so a file whose tree opens but whose data
/// does not decode is refused there and not at the first sign-in.
const PROBE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(1, 1, 1, 1));

/// A point on the Earth, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

/// Where the location database places an address.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Place {
    /// ISO 3166-1 alpha-2 code (`DE`).
    pub country: Option<String>,
    /// In English (`Germany`).
    pub country_name: Option<String>,
    /// In English (`Berlin`).
    pub city: Option<String>,
    pub coordinates: Option<Coordinates>,
}

impl Place {
    /// "Berlin, Germany", "Germany", or `None` when the database names
    /// neither (the words of the audit row, the mail and the account page).
    pub fn words(&self) -> Option<String> {
        let country = self.country_name.clone().or_else(|| self.country.clone());
        match (&self.city, country) {
            (Some(city), Some(country)) => Some(format!("{city}, {country}")),
            (Some(city), None) => Some(city.clone()),
            (None, country) => country,
        }
    }
}

/// The great-circle distance between two points (haversine), in km.
pub fn distance_km(a: Coordinates, b: Coordinates) -> f64 {
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let (dlat, dlon) = ((b.latitude - a.latitude).to_radians(), (b.longitude - a.longitude).to_radians());
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// An opened location database.
pub struct GeoDb {
    reader: Reader<Vec<u8>>,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl GeoDb {
    /// Reads the whole file into memory and checks that it is a MaxMind DB
    /// whose records decode; a missing, unreadable or corrupt file is an
    /// error that names the setting and the path.
    pub fn open(path: &Path) -> Result<GeoDb, RiskConfigError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| RiskConfigError::Unreadable { setting: "LATCHKEY_GEOIP_DB", path: shown.clone(), source })?;
        let reader = Reader::from_source(bytes).map_err(|e| RiskConfigError::NotALocationDatabase { path: shown.clone(), problem: e.to_string() })?;
        reader.lookup(PROBE).and_then(|r| r.decode::<geoip2::City>()).map_err(|e| RiskConfigError::NotALocationDatabase { path: shown, problem: e.to_string() })?;
        Ok(GeoDb { reader })
    }

    /// What the file is: its type and build date (`GeoLite2-City, built 2026-12-01`).
    pub fn describe(&self) -> String {
        let m = self.reader.metadata();
        let days = i64::try_from(m.build_epoch).unwrap_or(0) / 86_400;
        let (year, month, day) = latchkey_domain::clock::civil_from_days(days);
        let built = format!("{year:04}-{month:02}-{day:02}");
        format!("{}, built {built}", m.database_type)
    }

    /// Whether the file has cities and coordinates (a Country database
    /// has neither: no impossible travel, no "Berlin").
    pub fn has_cities(&self) -> bool {
        self.reader.metadata().database_type.contains("City")
    }

    /// Days since the file was built, at `now` (epoch seconds).
    pub fn age_days(&self, now: i64) -> i64 {
        (now - i64::try_from(self.reader.metadata().build_epoch).unwrap_or(0)) / 86_400
    }

    /// Walks the whole file (every node and record): `latchkey doctor`'s
    /// check, too slow for every start.
    pub fn verify(&self) -> Result<(), String> {
        self.reader.verify().map_err(|e| e.to_string())
    }

    /// Where `ip` is, if the database knows. Private and unknown addresses,
    /// and records that do not decode, have no place (logged, never an
    /// error: a sign-in does not fail for want of a location).
    pub fn lookup(&self, ip: IpAddr) -> Option<Place> {
        let found = match self.reader.lookup(ip.to_canonical()).and_then(|r| r.decode::<geoip2::City>()) {
            Ok(found) => found?,
            Err(e) => {
                tracing::debug!(error = %e, "no location for an address");
                return None;
            }
        };
        let coordinates = match (found.location.latitude, found.location.longitude) {
            (Some(latitude), Some(longitude)) if latitude.is_finite() && longitude.is_finite() => Some(Coordinates { latitude, longitude }),
            _ => None,
        };
        let place = Place {
            country: found.country.iso_code.map(str::to_string),
            country_name: found.country.names.english.map(str::to_string),
            city: found.city.names.english.map(str::to_string),
            coordinates,
        };
        (place.country.is_some() || place.coordinates.is_some()).then_some(place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERLIN: Coordinates = Coordinates { latitude: 52.52, longitude: 13.405 };
    const NEW_YORK: Coordinates = Coordinates { latitude: 40.7128, longitude: -74.006 };
    const MUNICH: Coordinates = Coordinates { latitude: 48.137, longitude: 11.575 };

    #[test]
    fn great_circle_distances() {
        let bny = distance_km(BERLIN, NEW_YORK);
        assert!((6370.0..6400.0).contains(&bny), "Berlin-New York {bny}");
        assert!((distance_km(NEW_YORK, BERLIN) - bny).abs() < 1e-6, "symmetric");
        let bm = distance_km(BERLIN, MUNICH);
        assert!((500.0..510.0).contains(&bm), "Berlin-Munich {bm}");
        assert_eq!(distance_km(BERLIN, BERLIN), 0.0);
        let antipodes = distance_km(Coordinates { latitude: 0.0, longitude: 0.0 }, Coordinates { latitude: 0.0, longitude: 180.0 });
        assert!((antipodes - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6, "half the circumference");
    }

    #[test]
    fn places_in_words() {
        let berlin = Place { country: Some("DE".into()), country_name: Some("Germany".into()), city: Some("Berlin".into()), coordinates: None };
        assert_eq!(berlin.words().as_deref(), Some("Berlin, Germany"));
        assert_eq!(Place { city: None, ..berlin.clone() }.words().as_deref(), Some("Germany"));
        assert_eq!(Place { city: None, country_name: None, ..berlin }.words().as_deref(), Some("DE"));
        assert_eq!(Place::default().words(), None);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_named() {
        let dir = std::env::temp_dir().join(format!("latchkey-geo-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let missing = GeoDb::open(&dir.join("nope.mmdb")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(missing.contains("LATCHKEY_GEOIP_DB") && missing.contains("nope.mmdb"), "{missing}");
        let garbage = dir.join("garbage.mmdb");
        std::fs::write(&garbage, b"not a database at all").expect("write");
        let corrupt = GeoDb::open(&garbage).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(corrupt.contains("not a MaxMind DB file"), "{corrupt}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
