//! Dates in words, in a language and a time zone: "Wednesday, 2 December
//! 2026 at 14:05 (UTC)", "Mittwoch, 2. Dezember 2026 um 15:05 Uhr
//! (Europe/Berlin)". Month and weekday names come from the `.ftl` files.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::bundle::Tr;

/// Longest time-zone name looked up (the longest IANA name is ~30 bytes).
const MAX_ZONE_LEN: usize = 64;

/// Whether `name` is a time zone of the (compiled-in) tz database.
pub fn known_zone(name: &str) -> bool {
    name.len() <= MAX_ZONE_LEN && TimeZone::get(name).is_ok()
}

impl Tr {
    /// `epoch` seconds as a date and time in words, in `zone` (an IANA name
    /// such as the OIDC `zoneinfo` claim); an unknown or absent zone is UTC,
    /// and the text says which zone it is.
    pub fn datetime(&self, epoch: i64, zone: Option<&str>) -> String {
        let tz = zone.filter(|z| z.len() <= MAX_ZONE_LEN && *z != "UTC").and_then(|z| TimeZone::get(z).ok().map(|tz| (z.to_string(), tz)));
        let (label, tz) = tz.unwrap_or_else(|| ("UTC".to_string(), TimeZone::UTC));
        let Ok(ts) = Timestamp::from_second(epoch) else {
            return epoch.to_string();
        };
        let when = ts.to_zoned(tz);
        self.args(
            "datetime",
            &[
                ("weekday", self.get(&format!("weekday-{}", when.weekday().to_monday_one_offset())).into()),
                ("day", when.day().to_string().into()),
                ("month", self.get(&format!("month-{}", when.month())).into()),
                ("year", when.year().to_string().into()),
                ("time", format!("{:02}:{:02}", when.hour(), when.minute()).into()),
                ("zone", label.into()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::{Locale, Tr};

    // 2026-12-02T14:05:00Z, a Wednesday.
    const WHEN: i64 = 1_796_220_300;

    #[test]
    fn english_in_utc_says_utc() {
        assert_eq!(Tr::new(Locale::En).datetime(WHEN, None), "Wednesday, 2 December 2026 at 14:05 (UTC)");
    }

    #[test]
    fn german_in_the_users_zone() {
        assert_eq!(Tr::new(Locale::De).datetime(WHEN, Some("Europe/Berlin")), "Mittwoch, 2. Dezember 2026 um 15:05 Uhr (Europe/Berlin)");
        // Summer time moves the clock, not the words.
        assert_eq!(Tr::new(Locale::De).datetime(WHEN - 150 * 86_400, Some("Europe/Berlin")), "Sonntag, 5. Juli 2026 um 16:05 Uhr (Europe/Berlin)");
    }

    #[test]
    fn an_unknown_zone_is_utc_and_says_so() {
        for zone in ["Mars/Olympus", "", "../../etc/passwd", &"A".repeat(500), "UTC"] {
            assert_eq!(Tr::new(Locale::En).datetime(WHEN, Some(zone)), "Wednesday, 2 December 2026 at 14:05 (UTC)", "{zone}");
        }
    }

    #[test]
    fn known_zones() {
        assert!(crate::known_zone("Europe/Berlin") && crate::known_zone("UTC") && crate::known_zone("America/Argentina/Buenos_Aires"));
        for bad in ["Mars/Olympus", "", "../../etc/passwd", "/etc/localtime", "Europe/Berlin\r\n", &"A".repeat(500)] {
            assert!(!crate::known_zone(bad), "{bad}");
        }
    }

    #[test]
    fn every_month_and_weekday_has_a_name() {
        for locale in Locale::ALL {
            let t = Tr::new(locale);
            for n in 1..=12 {
                assert!(t.has(&format!("month-{n}")), "{locale} month-{n}");
            }
            for n in 1..=7 {
                assert!(t.has(&format!("weekday-{n}")), "{locale} weekday-{n}");
            }
        }
    }

    #[test]
    fn out_of_range_times_do_not_panic() {
        assert_eq!(Tr::new(Locale::En).datetime(i64::MAX, None), i64::MAX.to_string());
        assert_eq!(Tr::new(Locale::En).datetime(i64::MIN, None), i64::MIN.to_string());
    }
}
