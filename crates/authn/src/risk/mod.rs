//! Risky sign-ins (issue #32): the signals of one sign-in, the level they
//! add up to, and what that level asks of the person signing in.
//!
//! Pure rules here ([`signals`], [`level`], [`decide`]), unit tested
//! without a database or HTTP; [`RiskService`] gathers their inputs (the
//! account's history, its failures of the last hour, the location database,
//! the blocklist) and remembers each completed sign-in.
//!
//! | level | when (standard policy) | why |
//! |---|---|---|
//! | high | the address is on the operator's blocklist | the operator said so |
//! | high | impossible travel from the last sign-in | the password (or cookie) is being used in two places |
//! | medium | unknown device after [`FAILURES_BEFORE_SUCCESS`]+ failures in the hour | guessing, then a right guess |
//! | medium | unknown device in a country not seen in 90 days | a phished password used from abroad |
//! | low | anything else | |
//!
//! The strict policy adds medium for a new country on any device, for
//! [`FAILURES_BEFORE_SUCCESS`]+ failures on any device, and for an unknown
//! device on a network or browser not used in 30 days. See [`decide`] for
//! what each level asks of each way of signing in.

pub mod blocklist;
pub mod geo;
mod service;

use latchkey_domain::{RiskLevel, RiskSignal, SignInRisk};

pub use blocklist::Blocklist;
pub use geo::{Coordinates, GeoDb, Place};
pub use service::{Assessment, RiskConfig, RiskService};

/// A browser family or network not used for this long is "new".
pub const DEVICE_WINDOW_SECS: i64 = 30 * 24 * 3600;
/// A country not signed in from for this long is "new": longer than the
/// device window, so a yearly holiday is new but a monthly trip is not.
pub const COUNTRY_WINDOW_SECS: i64 = 90 * 24 * 3600;
/// Failed passwords on the account are counted over the last hour.
pub const FAILURE_WINDOW_SECS: i64 = 3600;
/// An unknown device signing in after this many failed passwords on the
/// account within the hour is medium risk: a person who mistypes gets there
/// rarely, someone guessing (or working through a leaked list) always.
pub const FAILURES_BEFORE_SUCCESS: u32 = 3;
/// Faster than an airliner (cruising at 800-950 km/h): a sign-in this far
/// from the last one, this soon, was not made by someone who travelled.
pub const AIRLINER_KMH: f64 = 1000.0;
/// Below this distance no travel counts as impossible: city-level locations
/// of one person's addresses are often this far apart (a mobile carrier's
/// addresses are placed at its exchange, a VPN's at its exit).
pub const MIN_TRAVEL_KM: f64 = 500.0;
/// Values remembered per user and kind (networks, browsers, countries):
/// more than a person uses in a month, few enough that every user's
/// history stays a handful of rows.
pub const REMEMBERED_PER_KIND: usize = 20;

/// `LATCHKEY_RISK_POLICY`: how risk changes sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RiskPolicy {
    /// No assessment at all: sign-ins are as they were before issue #32.
    Off,
    /// The rules of the table above (the default).
    #[default]
    Standard,
    /// Also medium: a new country on any device, failures on any device,
    /// an unknown device on a network or browser not used in 30 days.
    Strict,
}

impl RiskPolicy {
    pub fn parse(s: &str) -> Option<RiskPolicy> {
        match s.trim() {
            "off" => Some(RiskPolicy::Off),
            "standard" => Some(RiskPolicy::Standard),
            "strict" => Some(RiskPolicy::Strict),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RiskPolicy::Off => "off",
            RiskPolicy::Standard => "standard",
            RiskPolicy::Strict => "strict",
        }
    }
}

/// The configuration files could not be used: each error names the
/// setting, the path and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum RiskConfigError {
    #[error("{setting}={path}: cannot read it ({source})")]
    Unreadable { setting: &'static str, path: String, source: std::io::Error },
    #[error("LATCHKEY_GEOIP_DB={path}: not a MaxMind DB file ({problem}); use a GeoLite2-City or DB-IP City Lite .mmdb file, or unset it")]
    NotALocationDatabase { path: String, problem: String },
    #[error("LATCHKEY_RISK_BLOCKLIST={path}, line {line}: {text:?} is neither an IP address nor a CIDR range")]
    BlocklistLine { path: String, line: usize, text: String },
}

/// What a sign-in looked like: what the signals compare.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// `198.51.100.0/24`, `2001:db8:1::/48`.
    pub network: Option<String>,
    /// `Chrome/Linux`.
    pub browser: Option<String>,
    pub place: Option<Place>,
    pub blocklisted: bool,
}

/// A kind of remembered value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remembered {
    Network,
    Browser,
    Country,
}

impl Remembered {
    pub fn as_str(self) -> &'static str {
        match self {
            Remembered::Network => "network",
            Remembered::Browser => "browser",
            Remembered::Country => "country",
        }
    }

    pub fn parse(s: &str) -> Option<Remembered> {
        [Remembered::Network, Remembered::Browser, Remembered::Country].into_iter().find(|k| k.as_str() == s)
    }
}

/// The account's recent sign-ins: each remembered value with when it was
/// last seen, and the last sign-in's coordinates and time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub seen: Vec<(Remembered, String, i64)>,
    pub last_place: Option<(Coordinates, i64)>,
}

impl History {
    /// `Some(true)`: `value` was seen within `window` of `now`; `Some(false)`:
    /// other values of that kind were, not this one; `None`: nothing of that
    /// kind was (a first sign-in has nothing to compare with).
    fn seen_within(&self, kind: Remembered, value: &str, now: i64, window: i64) -> Option<bool> {
        let mut recent = self.seen.iter().filter(|(k, _, at)| *k == kind && now - at <= window).peekable();
        recent.peek()?;
        Some(recent.any(|(_, v, _)| v == value))
    }
}

/// Everything a sign-in's signals are made of.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The browser holds a known-device cookie for the account.
    pub known_device: bool,
    pub observation: &'a Observation,
    pub history: &'a History,
    /// Failed passwords on the account within [`FAILURE_WINDOW_SECS`].
    pub failures_last_hour: u32,
    pub now: i64,
}

/// The signals of a sign-in, in a fixed order.
pub fn signals(f: &Facts<'_>) -> Vec<RiskSignal> {
    let obs = f.observation;
    let mut out = Vec::new();
    if !f.known_device {
        out.push(RiskSignal::UnknownDevice);
    }
    let is_new = |kind, value: &Option<String>, window| value.as_deref().and_then(|v| f.history.seen_within(kind, v, f.now, window)) == Some(false);
    if is_new(Remembered::Browser, &obs.browser, DEVICE_WINDOW_SECS) {
        out.push(RiskSignal::NewBrowser);
    }
    if is_new(Remembered::Network, &obs.network, DEVICE_WINDOW_SECS) {
        out.push(RiskSignal::NewNetwork);
    }
    if f.failures_last_hour > 0 {
        out.push(RiskSignal::RecentFailures { count: f.failures_last_hour });
    }
    let country = obs.place.as_ref().and_then(|p| p.country.clone());
    if is_new(Remembered::Country, &country, COUNTRY_WINDOW_SECS) {
        out.extend(country.map(|country| RiskSignal::NewCountry { country }));
    }
    if let (Some(here), Some((there, then))) = (obs.place.as_ref().and_then(|p| p.coordinates), f.history.last_place) {
        out.extend(impossible_travel(there, then, here, f.now));
    }
    if obs.blocklisted {
        out.push(RiskSignal::Blocklisted);
    }
    out
}

/// The travel signal between the last sign-in (`there` at `then`) and this
/// one (`here` at `now`), if no airliner could have made it.
pub fn impossible_travel(there: Coordinates, then: i64, here: Coordinates, now: i64) -> Option<RiskSignal> {
    let km = geo::distance_km(there, here);
    let hours = (now - then).max(0) as f64 / 3600.0;
    if km < MIN_TRAVEL_KM || km <= AIRLINER_KMH * hours {
        return None;
    }
    Some(RiskSignal::ImpossibleTravel { km: km.round() as u32, minutes: u32::try_from((now - then).max(0) / 60).unwrap_or(u32::MAX) })
}

/// The level `signals` add up to under `policy` (the table of the module notes).
pub fn level(policy: RiskPolicy, signals: &[RiskSignal]) -> RiskLevel {
    let has = |wanted: fn(&RiskSignal) -> bool| signals.iter().any(wanted);
    let failures = signals
        .iter()
        .filter_map(|s| match s {
            RiskSignal::RecentFailures { count } => Some(*count),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let unknown_device = has(|s| matches!(s, RiskSignal::UnknownDevice));
    let new_country = has(|s| matches!(s, RiskSignal::NewCountry { .. }));
    let unfamiliar = has(|s| matches!(s, RiskSignal::NewNetwork | RiskSignal::NewBrowser));
    let guessed = failures >= FAILURES_BEFORE_SUCCESS;
    match policy {
        RiskPolicy::Off => RiskLevel::Low,
        _ if has(|s| matches!(s, RiskSignal::Blocklisted | RiskSignal::ImpossibleTravel { .. })) => RiskLevel::High,
        _ if unknown_device && (guessed || new_country) => RiskLevel::Medium,
        RiskPolicy::Strict if new_country || guessed || (unknown_device && unfamiliar) => RiskLevel::Medium,
        _ => RiskLevel::Low,
    }
}

/// The sign-in's risk: its signals, their level, its place in words.
pub fn assess(policy: RiskPolicy, facts: &Facts<'_>) -> SignInRisk {
    let signals = signals(facts);
    SignInRisk { level: level(policy, &signals), place: facts.observation.place.as_ref().and_then(Place::words), signals }
}

/// How the person is signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    Password,
    /// A passkey as the only step: phishing-resistant already.
    Passkey,
    /// A remembered device ("Keep me signed in") restoring a session.
    Restore,
    /// An upstream provider or a mailed link: recorded, not stepped up.
    Other,
}

/// What the account can offer beyond its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    /// An authenticator app or a passkey.
    pub has_second_factor: bool,
    /// An address a code can be mailed to.
    pub verified_email: bool,
}

/// What a sign-in at some level asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing more than usual.
    Allow,
    /// A 6-digit code mailed to the account's verified address.
    MailedCode,
    /// The account's own second factor (its usual second step).
    SecondFactor,
    /// Refused: a page that says what to do, a mail to the owner.
    Refuse,
    /// A remembered device does not restore: sign in afresh.
    FreshSignIn,
}

/// What `level` asks of a sign-in by `method` for `account`:
///
/// - low: nothing, whatever the method;
/// - passkeys and other methods are never stepped up (a passkey is what
///   high risk asks for; location alone never counts against one);
/// - a remembered device's restore at medium or high becomes a fresh sign-in;
/// - a password at medium or high: the account's second factor if it has
///   one; else at medium a mailed code if it has a verified address; else refused.
pub fn decide(level: RiskLevel, method: SignInMethod, account: Account) -> Decision {
    match (method, level) {
        (_, RiskLevel::Low) | (SignInMethod::Passkey | SignInMethod::Other, _) => Decision::Allow,
        (SignInMethod::Restore, _) => Decision::FreshSignIn,
        (SignInMethod::Password, _) if account.has_second_factor => Decision::SecondFactor,
        (SignInMethod::Password, RiskLevel::Medium) if account.verified_email => Decision::MailedCode,
        (SignInMethod::Password, _) => Decision::Refuse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RiskSignal as S;

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 24 * 3600;
    const BERLIN: Coordinates = Coordinates { latitude: 52.52, longitude: 13.405 };
    const NEW_YORK: Coordinates = Coordinates { latitude: 40.7128, longitude: -74.006 };
    const MUNICH: Coordinates = Coordinates { latitude: 48.137, longitude: 11.575 };

    fn place(country: &str, city: &str, at: Coordinates) -> Place {
        Place { country: Some(country.into()), country_name: None, city: Some(city.into()), coordinates: Some(at) }
    }

    fn usual() -> History {
        History {
            seen: vec![(Remembered::Network, "198.51.100.0/24".into(), NOW - DAY), (Remembered::Browser, "Chrome/Linux".into(), NOW - DAY), (Remembered::Country, "DE".into(), NOW - DAY)],
            last_place: Some((BERLIN, NOW - DAY)),
        }
    }

    fn at_home() -> Observation {
        Observation { network: Some("198.51.100.0/24".into()), browser: Some("Chrome/Linux".into()), place: Some(place("DE", "Berlin", BERLIN)), blocklisted: false }
    }

    fn facts<'a>(obs: &'a Observation, history: &'a History, known_device: bool, failures: u32) -> Facts<'a> {
        Facts { known_device, observation: obs, history, failures_last_hour: failures, now: NOW }
    }

    #[test]
    fn the_usual_place_and_browser_raise_nothing() {
        let (obs, h) = (at_home(), usual());
        assert_eq!(signals(&facts(&obs, &h, true, 0)), vec![]);
        assert_eq!(signals(&facts(&obs, &h, false, 0)), vec![S::UnknownDevice]);
    }

    #[test]
    fn each_signal_on_its_own() {
        let h = usual();
        let other_net = Observation { network: Some("203.0.113.0/24".into()), ..at_home() };
        assert_eq!(signals(&facts(&other_net, &h, true, 0)), vec![S::NewNetwork]);
        let other_browser = Observation { browser: Some("Safari/iPhone".into()), ..at_home() };
        assert_eq!(signals(&facts(&other_browser, &h, true, 0)), vec![S::NewBrowser]);
        assert_eq!(signals(&facts(&at_home(), &h, true, 2)), vec![S::RecentFailures { count: 2 }]);
        let blocked = Observation { blocklisted: true, ..at_home() };
        assert_eq!(signals(&facts(&blocked, &h, true, 0)), vec![S::Blocklisted]);
        // Paris: a new country, 880 km from Berlin a day later (possible).
        let paris = Observation { place: Some(place("FR", "Paris", Coordinates { latitude: 48.8566, longitude: 2.3522 })), ..at_home() };
        assert_eq!(signals(&facts(&paris, &h, true, 0)), vec![S::NewCountry { country: "FR".into() }]);
    }

    #[test]
    fn new_means_not_within_the_window_and_nothing_to_compare_is_not_new() {
        let old = History { seen: vec![(Remembered::Network, "198.51.100.0/24".into(), NOW - 31 * DAY), (Remembered::Network, "192.0.2.0/24".into(), NOW - DAY)], last_place: None };
        assert_eq!(signals(&facts(&at_home(), &old, true, 0)), vec![S::NewNetwork], "not used in 30 days: new");
        let empty = History::default();
        assert_eq!(signals(&facts(&at_home(), &empty, true, 0)), vec![], "a first sign-in has nothing to compare with");
        let country_89_days = History { seen: vec![(Remembered::Country, "DE".into(), NOW - 89 * DAY)], last_place: None };
        assert_eq!(signals(&facts(&at_home(), &country_89_days, true, 0)), vec![]);
        let country_91_days = History { seen: vec![(Remembered::Country, "DE".into(), NOW - 91 * DAY), (Remembered::Country, "FR".into(), NOW - DAY)], last_place: None };
        assert_eq!(signals(&facts(&at_home(), &country_91_days, true, 0)), vec![S::NewCountry { country: "DE".into() }]);
    }

    #[test]
    fn impossible_travel_is_faster_than_an_airliner_and_far_enough() {
        // Berlin to New York (6,385 km) in an hour: impossible; in 8 hours: a flight.
        assert_eq!(impossible_travel(BERLIN, NOW - 3600, NEW_YORK, NOW), Some(S::ImpossibleTravel { km: 6385, minutes: 60 }));
        assert_eq!(impossible_travel(BERLIN, NOW - 8 * 3600, NEW_YORK, NOW), None);
        // Berlin to Munich (504 km) in ten minutes: far enough, too fast.
        assert!(impossible_travel(BERLIN, NOW - 600, MUNICH, NOW).is_some());
        // Closer than MIN_TRAVEL_KM: never, however fast (location noise).
        let potsdam = Coordinates { latitude: 52.39, longitude: 13.06 };
        assert_eq!(impossible_travel(BERLIN, NOW, potsdam, NOW), None);
        // At once, across the world: impossible (no division by zero).
        assert_eq!(impossible_travel(BERLIN, NOW, NEW_YORK, NOW), Some(S::ImpossibleTravel { km: 6385, minutes: 0 }));
        let ny = Observation { place: Some(place("US", "New York", NEW_YORK)), ..at_home() };
        let sigs = signals(&facts(&ny, &usual(), true, 0));
        assert!(sigs.contains(&S::NewCountry { country: "US".into() }) && !sigs.iter().any(|s| matches!(s, S::ImpossibleTravel { .. })), "a day later: {sigs:?}");
    }

    #[test]
    fn the_level_table() {
        use RiskLevel::*;
        use RiskPolicy::*;
        let fr = || S::NewCountry { country: "FR".into() };
        let cases: Vec<(Vec<RiskSignal>, RiskLevel, RiskLevel)> = vec![
            // signals, standard, strict
            (vec![], Low, Low),
            (vec![S::UnknownDevice], Low, Low),
            (vec![S::UnknownDevice, S::RecentFailures { count: 2 }], Low, Low),
            (vec![S::UnknownDevice, S::RecentFailures { count: 3 }], Medium, Medium),
            (vec![S::RecentFailures { count: 9 }], Low, Medium),
            (vec![S::UnknownDevice, fr()], Medium, Medium),
            (vec![fr()], Low, Medium),
            (vec![S::UnknownDevice, S::NewNetwork], Low, Medium),
            (vec![S::UnknownDevice, S::NewBrowser], Low, Medium),
            (vec![S::NewNetwork, S::NewBrowser], Low, Low),
            (vec![S::Blocklisted], High, High),
            (vec![S::ImpossibleTravel { km: 6385, minutes: 60 }], High, High),
            (vec![S::UnknownDevice, S::RecentFailures { count: 5 }, S::Blocklisted], High, High),
        ];
        for (sigs, standard, strict) in cases {
            assert_eq!(level(Standard, &sigs), standard, "standard {sigs:?}");
            assert_eq!(level(Strict, &sigs), strict, "strict {sigs:?}");
            assert_eq!(level(Off, &sigs), Low, "off {sigs:?}");
        }
    }

    #[test]
    fn what_each_level_asks_of_each_method() {
        use Decision::*;
        use RiskLevel::*;
        use SignInMethod::*;
        let only_password = Account { has_second_factor: false, verified_email: true };
        let unverified = Account { has_second_factor: false, verified_email: false };
        let two_factors = Account { has_second_factor: true, verified_email: true };
        assert_eq!(decide(Low, Password, only_password), Allow);
        assert_eq!(decide(Medium, Password, only_password), MailedCode);
        assert_eq!(decide(Medium, Password, unverified), Refuse, "no address to mail a code to");
        assert_eq!(decide(High, Password, only_password), Refuse);
        assert_eq!(decide(Medium, Password, two_factors), SecondFactor);
        assert_eq!(decide(High, Password, two_factors), SecondFactor);
        for level in RiskLevel::ALL {
            assert_eq!(decide(level, Passkey, only_password), Allow, "passkeys are never stepped up");
            assert_eq!(decide(level, Other, only_password), Allow);
        }
        assert_eq!(decide(Low, Restore, only_password), Allow);
        assert_eq!(decide(Medium, Restore, two_factors), FreshSignIn);
        assert_eq!(decide(High, Restore, two_factors), FreshSignIn);
    }

    #[test]
    fn the_assessment_names_the_place() {
        let (obs, h) = (Observation { place: Some(place("US", "New York", NEW_YORK)), ..at_home() }, usual());
        let risk = assess(RiskPolicy::Standard, &facts(&obs, &h, false, 0));
        assert_eq!(risk.level, RiskLevel::Medium, "unknown device in a new country");
        assert_eq!(risk.place.as_deref(), Some("New York, US"));
        assert_eq!(risk.signals, vec![S::UnknownDevice, S::NewCountry { country: "US".into() }]);
    }

    #[test]
    fn policies_parse() {
        assert_eq!(RiskPolicy::parse("strict"), Some(RiskPolicy::Strict));
        assert_eq!(RiskPolicy::parse("off"), Some(RiskPolicy::Off));
        assert_eq!(RiskPolicy::parse("lenient"), None);
        assert_eq!(RiskPolicy::default(), RiskPolicy::Standard);
    }
}
