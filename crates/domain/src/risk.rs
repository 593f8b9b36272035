//! Risky sign-ins (issue #32): what a sign-in looked like next to the
//! account's recent ones (its [`RiskSignal`]s), how risky that makes it
//! (its [`RiskLevel`]) and what it was asked for because of it
//! ([`StepUp`]).
//!
//! The rules that turn signals into a level live in `latchkey_authn::risk`;
//! these are the values the audit trail, the account page, the console and
//! (later) webhooks carry. A sign-in's risk is worded into its audit row's
//! detail by [`SignInRisk::to_detail`] and read back by
//! [`SignInRisk::from_detail`], so the words are the contract: never change
//! one (old rows, the account page and the console read them).

use serde::{Deserialize, Serialize};

/// How risky a sign-in looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    pub const ALL: [RiskLevel; 3] = [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High];

    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<RiskLevel> {
        RiskLevel::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

impl std::fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing that made a sign-in look unlike the account's recent ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "signal", rename_all = "snake_case")]
pub enum RiskSignal {
    /// The browser holds no known-device cookie for this account.
    UnknownDevice,
    /// A browser family (browser and OS) none of the account's sign-ins of
    /// the last 30 days used.
    NewBrowser,
    /// A network (/24 for IPv4, /48 for IPv6) none of the account's sign-ins
    /// of the last 30 days came from.
    NewNetwork,
    /// Failed password attempts on the account in the last hour.
    RecentFailures { count: u32 },
    /// A country (ISO 3166-1 code) none of the account's sign-ins of the
    /// last 90 days came from.
    NewCountry { country: String },
    /// Farther from the account's previous sign-in than an airliner flies
    /// in the time between.
    ImpossibleTravel { km: u32, minutes: u32 },
    /// The address is on the operator's blocklist.
    Blocklisted,
}

impl RiskSignal {
    /// The signal as the audit row words it (the inverse of [`RiskSignal::parse`]).
    pub fn words(&self) -> String {
        match self {
            RiskSignal::UnknownDevice => "unknown device".into(),
            RiskSignal::NewBrowser => "new browser".into(),
            RiskSignal::NewNetwork => "new network".into(),
            RiskSignal::RecentFailures { count } => format!("{count} failures in the last hour"),
            RiskSignal::NewCountry { country } => format!("new country {country}"),
            RiskSignal::ImpossibleTravel { km, minutes } => format!("impossible travel {km} km in {minutes} min"),
            RiskSignal::Blocklisted => "blocklisted address".into(),
        }
    }

    /// A signal from its words, if they are a signal's.
    pub fn parse(words: &str) -> Option<RiskSignal> {
        Some(match words {
            "unknown device" => RiskSignal::UnknownDevice,
            "new browser" => RiskSignal::NewBrowser,
            "new network" => RiskSignal::NewNetwork,
            "blocklisted address" => RiskSignal::Blocklisted,
            other => {
                if let Some(n) = other.strip_suffix(" failures in the last hour") {
                    RiskSignal::RecentFailures { count: n.parse().ok()? }
                } else if let Some(country) = other.strip_prefix("new country ") {
                    RiskSignal::NewCountry { country: country.to_string() }
                } else {
                    let rest = other.strip_prefix("impossible travel ")?;
                    let (km, minutes) = rest.strip_suffix(" min")?.split_once(" km in ")?;
                    RiskSignal::ImpossibleTravel { km: km.parse().ok()?, minutes: minutes.parse().ok()? }
                }
            }
        })
    }
}

/// A sign-in's risk: its level, the signals behind it, and where it came
/// from in words ("Berlin, Germany"), when the operator's location database
/// knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInRisk {
    pub level: RiskLevel,
    pub signals: Vec<RiskSignal>,
    pub place: Option<String>,
}

/// What starts the risk part of a detail, and the place part.
const RISK_PREFIX: &str = "risk ";
const PLACE_PREFIX: &str = "from ";

impl SignInRisk {
    pub fn has(&self, wanted: impl Fn(&RiskSignal) -> bool) -> bool {
        self.signals.iter().any(wanted)
    }

    /// The new country, if the sign-in came from one.
    pub fn new_country(&self) -> Option<&str> {
        self.signals.iter().find_map(|s| match s {
            RiskSignal::NewCountry { country } => Some(country.as_str()),
            _ => None,
        })
    }

    /// `risk medium: unknown device, new country DE; from Berlin, Germany`
    /// (`risk low` alone when nothing stood out and the place is unknown).
    pub fn to_detail(&self) -> String {
        let mut out = format!("{RISK_PREFIX}{}", self.level);
        if !self.signals.is_empty() {
            out.push_str(": ");
            out.push_str(&self.signals.iter().map(RiskSignal::words).collect::<Vec<_>>().join(", "));
        }
        if let Some(place) = &self.place {
            // A place never carries the section separator.
            out.push_str(&format!("; {PLACE_PREFIX}{}", place.replace(';', ",")));
        }
        out
    }

    /// The risk worded into a detail by [`SignInRisk::to_detail`], found
    /// among its `; `-separated sections; `None` when it has none (old rows,
    /// the policy off) or it does not read as one.
    pub fn from_detail(detail: &str) -> Option<SignInRisk> {
        let mut sections = detail.split("; ");
        let risk = sections.find_map(|s| s.strip_prefix(RISK_PREFIX))?;
        let (level, signals) = match risk.split_once(": ") {
            Some((level, list)) => (level, list.split(", ").map(RiskSignal::parse).collect::<Option<Vec<_>>>()?),
            None => (risk, Vec::new()),
        };
        let place = sections.find_map(|s| s.strip_prefix(PLACE_PREFIX)).map(str::to_string);
        Some(SignInRisk { level: RiskLevel::parse(level)?, signals, place })
    }
}

/// What a risky sign-in was asked for beyond its first factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepUp {
    /// A 6-digit code mailed to the account's verified address.
    MailedCode,
    /// The account's own second factor (authenticator app, passkey).
    SecondFactor,
    /// A remembered device's restore became a fresh sign-in.
    FreshSignIn,
}

impl StepUp {
    pub fn words(self) -> &'static str {
        match self {
            StepUp::MailedCode => "a mailed code asked for",
            StepUp::SecondFactor => "the second factor asked for",
            StepUp::FreshSignIn => "a fresh sign-in asked for instead of a remembered device",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_signal() -> Vec<RiskSignal> {
        vec![
            RiskSignal::UnknownDevice,
            RiskSignal::NewBrowser,
            RiskSignal::NewNetwork,
            RiskSignal::RecentFailures { count: 4 },
            RiskSignal::NewCountry { country: "DE".into() },
            RiskSignal::ImpossibleTravel { km: 6385, minutes: 60 },
            RiskSignal::Blocklisted,
        ]
    }

    #[test]
    fn every_signal_reads_back_from_its_words() {
        for s in every_signal() {
            assert_eq!(RiskSignal::parse(&s.words()), Some(s.clone()), "{}", s.words());
        }
        assert_eq!(RiskSignal::parse("something else"), None);
        assert_eq!(RiskSignal::parse("x failures in the last hour"), None);
    }

    #[test]
    fn a_risk_reads_back_from_a_sign_in_detail() {
        let risk = SignInRisk { level: RiskLevel::Medium, signals: every_signal(), place: Some("Berlin, Germany".into()) };
        let detail = format!("methods pwd mca, new device; {}", risk.to_detail());
        assert_eq!(
            detail,
            "methods pwd mca, new device; risk medium: unknown device, new browser, new network, 4 failures in the last hour, new country DE, \
             impossible travel 6385 km in 60 min, blocklisted address; from Berlin, Germany"
        );
        assert_eq!(SignInRisk::from_detail(&detail), Some(risk));
        let low = SignInRisk { level: RiskLevel::Low, signals: vec![], place: None };
        assert_eq!(low.to_detail(), "risk low");
        assert_eq!(SignInRisk::from_detail(&format!("methods hwk user; {}", low.to_detail())), Some(low));
        assert_eq!(SignInRisk::from_detail("methods pwd, new device"), None, "rows from before, or with the policy off");
        let odd = SignInRisk { level: RiskLevel::High, signals: vec![RiskSignal::Blocklisted], place: Some("A; B".into()) };
        assert_eq!(SignInRisk::from_detail(&odd.to_detail()).and_then(|r| r.place), Some("A, B".into()));
    }

    #[test]
    fn levels_are_ordered() {
        assert!(RiskLevel::High > RiskLevel::Medium && RiskLevel::Medium > RiskLevel::Low);
        assert_eq!(RiskLevel::parse("medium"), Some(RiskLevel::Medium));
    }
}
