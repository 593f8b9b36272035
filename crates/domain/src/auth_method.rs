//! How a user authenticated: `amr` values (RFC 8176) and `acr` levels.

use serde::{Deserialize, Serialize};

/// Authentication Method Reference values, RFC 8176 §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Amr {
    /// Password-based authentication.
    Pwd,
    /// One-time password (TOTP or backup code).
    Otp,
    /// Proof of possession of a hardware-secured key (passkey on an authenticator).
    Hwk,
    /// Proof of possession of a software-secured key.
    Swk,
    /// User presence / verification test (WebAuthn UV).
    User,
    /// Multiple-factor authentication.
    Mfa,
    /// Federated: an upstream identity provider signed the user in (issue #26).
    Fed,
    /// Multiple-channel authentication (RFC 8176 §2 `mca`): a code mailed to
    /// the account's verified address was typed into the browser signing in
    /// (a risky sign-in's step-up, issue #32). Not `otp`, which claims an
    /// authenticator the user holds, nor a second factor: a mailbox proves
    /// no device (NIST SP 800-63B §5.1.3.1), so it raises no `acr`.
    Mca,
}

impl Amr {
    pub fn as_str(self) -> &'static str {
        match self {
            Amr::Pwd => "pwd",
            Amr::Otp => "otp",
            Amr::Hwk => "hwk",
            Amr::Swk => "swk",
            Amr::User => "user",
            Amr::Mfa => "mfa",
            Amr::Fed => "fed",
            Amr::Mca => "mca",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pwd" => Amr::Pwd,
            "otp" => Amr::Otp,
            "hwk" => Amr::Hwk,
            "swk" => Amr::Swk,
            "user" => Amr::User,
            "mfa" => Amr::Mfa,
            "fed" => Amr::Fed,
            "mca" => Amr::Mca,
            _ => return None,
        })
    }

    /// Space-separated list, as stored with a session.
    pub fn join(list: &[Amr]) -> String {
        list.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(" ")
    }

    pub fn split(s: &str) -> Vec<Amr> {
        s.split_whitespace().filter_map(Amr::parse).collect()
    }
}

/// Authentication Context Class References that latchkey defines and advertises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Acr {
    /// Something the user knows (a password) and nothing more.
    #[serde(rename = "urn:latchkey:acr:pwd")]
    Password,
    /// Two factors.
    #[serde(rename = "urn:latchkey:acr:mfa")]
    MultiFactor,
    /// Phishing-resistant (a passkey with user verification).
    #[serde(rename = "urn:latchkey:acr:phr")]
    PhishingResistant,
}

impl Acr {
    pub const ALL: [Acr; 3] = [Acr::Password, Acr::MultiFactor, Acr::PhishingResistant];

    pub fn as_str(self) -> &'static str {
        match self {
            Acr::Password => "urn:latchkey:acr:pwd",
            Acr::MultiFactor => "urn:latchkey:acr:mfa",
            Acr::PhishingResistant => "urn:latchkey:acr:phr",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Acr::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The level a set of methods reaches.
    pub fn from_methods(methods: &[Amr]) -> Acr {
        let possession = methods.iter().any(|m| matches!(m, Amr::Hwk | Amr::Swk));
        let verified = methods.contains(&Amr::User);
        if possession && verified {
            Acr::PhishingResistant
        } else if methods.contains(&Amr::Mfa) || ((methods.contains(&Amr::Pwd) || methods.contains(&Amr::Fed)) && (possession || methods.contains(&Amr::Otp))) {
            Acr::MultiFactor
        } else {
            Acr::Password
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acr_levels() {
        assert_eq!(Acr::from_methods(&[Amr::Pwd]), Acr::Password);
        assert_eq!(Acr::from_methods(&[Amr::Pwd, Amr::Otp, Amr::Mfa]), Acr::MultiFactor);
        assert_eq!(Acr::from_methods(&[Amr::Hwk, Amr::User]), Acr::PhishingResistant);
        assert!(Acr::PhishingResistant > Acr::MultiFactor);
        assert!(Acr::MultiFactor > Acr::Password);
        // An upstream sign-in is one factor; latchkey's own second makes two.
        assert_eq!(Acr::from_methods(&[Amr::Fed]), Acr::Password);
        assert_eq!(Acr::from_methods(&[Amr::Fed, Amr::Otp]), Acr::MultiFactor);
        // A mailed code is a second channel, not a second factor (issue #32).
        assert_eq!(Acr::from_methods(&[Amr::Pwd, Amr::Mca]), Acr::Password);
    }

    #[test]
    fn amr_round_trip() {
        let list = [Amr::Pwd, Amr::Otp];
        assert_eq!(Amr::split(&Amr::join(&list)), list);
        assert_eq!(Acr::parse("urn:latchkey:acr:mfa"), Some(Acr::MultiFactor));
        assert_eq!(Acr::parse("bogus"), None);
    }
}
