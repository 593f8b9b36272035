//! Security alerts (issue #32): anomalies noticed in the stream of security
//! events — a failure spike on one account, one address failing on many
//! accounts (credential stuffing), a refresh token used twice, a sign-in from
//! a new country, a sign-in from a new device right after a recovery or an
//! email change.
//!
//! An [`Anomaly`] is what was noticed, typed, with its evidence; the
//! detector (`latchkey_app::anomalies`) raises one as a stored alert, an
//! audit event of its own kind (`anomaly_<kind>`, [`AnomalyKind::event_kind`];
//! the typed `SecurityEvent::AnomalyDetected` carries the [`Anomaly`], so it
//! serializes with it), a `latchkey_security_alerts_total{kind}` sample and
//! an entry of the console's "Security alerts" page.
//!
//! **Webhooks seam.** There is no webhook system yet (the provisioning
//! issue, #30, will add an outbox of signed deliveries). An [`Alert`] is the
//! value such an outbox publishes: it serializes with a stable shape
//! (`{"id", "anomaly": {"anomaly": "<kind>", …}, "first_seen", …}`), and the
//! detector hands every new one to `latchkey_app::anomalies::publish`, the
//! one place the outbox will be called from.

use serde::{Deserialize, Serialize};

use crate::{ClientId, EventKind, UserId};

/// One kind of anomaly: the `kind` label of `latchkey_security_alerts_total`
/// and the stored alert's `kind` (never change one: rules and rows use it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    FailureSpike,
    CredentialStuffing,
    RefreshTokenReuse,
    NewCountry,
    NewDeviceAfterChange,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 5] = [AnomalyKind::FailureSpike, AnomalyKind::CredentialStuffing, AnomalyKind::RefreshTokenReuse, AnomalyKind::NewCountry, AnomalyKind::NewDeviceAfterChange];

    /// As stored and as the metric's label.
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::FailureSpike => "failure_spike",
            AnomalyKind::CredentialStuffing => "credential_stuffing",
            AnomalyKind::RefreshTokenReuse => "refresh_token_reuse",
            AnomalyKind::NewCountry => "new_country",
            AnomalyKind::NewDeviceAfterChange => "new_device_after_change",
        }
    }

    pub fn from_kind(kind: &str) -> Option<AnomalyKind> {
        AnomalyKind::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    /// The audit event kind an alert of this kind is recorded as: one per
    /// anomaly, so the trail can be filtered by it.
    pub fn event_kind(self) -> EventKind {
        match self {
            AnomalyKind::FailureSpike => EventKind::AnomalyFailureSpike,
            AnomalyKind::CredentialStuffing => EventKind::AnomalyCredentialStuffing,
            AnomalyKind::RefreshTokenReuse => EventKind::AnomalyRefreshTokenReuse,
            AnomalyKind::NewCountry => EventKind::AnomalyNewCountry,
            AnomalyKind::NewDeviceAfterChange => EventKind::AnomalyNewDeviceAfterChange,
        }
    }
}

impl std::fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What changed on an account shortly before a sign-in from a new device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountChange {
    /// The account was recovered (a mailed recovery link set a new credential).
    Recovery,
    /// Its email address was changed.
    EmailChange,
}

/// An anomaly, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "anomaly", rename_all = "snake_case")]
pub enum Anomaly {
    /// `failures` failed sign-ins (wrong passwords, refused attempts, wrong
    /// second factors) on one account within `minutes`.
    FailureSpike { user: UserId, failures: i64, minutes: i64 },
    /// Failed password sign-ins on `accounts` different accounts from one
    /// `address` within `minutes`.
    CredentialStuffing { address: String, accounts: i64, minutes: i64 },
    /// A refresh token of `client` was used a second time: someone holds a
    /// copy (its family was revoked).
    RefreshTokenReuse { user: UserId, client: ClientId },
    /// A sign-in from a country the account has not signed in from lately.
    NewCountry { user: UserId, country: String },
    /// A sign-in from a new device `minutes` after the account was
    /// recovered or its email address changed: how a takeover continues.
    NewDeviceAfterChange { user: UserId, change: AccountChange, minutes: i64 },
}

impl Anomaly {
    pub fn kind(&self) -> AnomalyKind {
        match self {
            Anomaly::FailureSpike { .. } => AnomalyKind::FailureSpike,
            Anomaly::CredentialStuffing { .. } => AnomalyKind::CredentialStuffing,
            Anomaly::RefreshTokenReuse { .. } => AnomalyKind::RefreshTokenReuse,
            Anomaly::NewCountry { .. } => AnomalyKind::NewCountry,
            Anomaly::NewDeviceAfterChange { .. } => AnomalyKind::NewDeviceAfterChange,
        }
    }

    /// The account it concerns, if one.
    pub fn user(&self) -> Option<&UserId> {
        match self {
            Anomaly::FailureSpike { user, .. } | Anomaly::RefreshTokenReuse { user, .. } | Anomaly::NewCountry { user, .. } | Anomaly::NewDeviceAfterChange { user, .. } => Some(user),
            Anomaly::CredentialStuffing { .. } => None,
        }
    }

    /// The client it concerns, if one.
    pub fn client(&self) -> Option<&ClientId> {
        match self {
            Anomaly::RefreshTokenReuse { client, .. } => Some(client),
            _ => None,
        }
    }

    /// The address it concerns when that is the point (credential stuffing).
    pub fn address(&self) -> Option<&str> {
        match self {
            Anomaly::CredentialStuffing { address, .. } => Some(address),
            _ => None,
        }
    }

    /// What it is raised once per window for: the same kind about the same
    /// subject is one alert (its count grows), not one alert per event.
    pub fn subject(&self) -> String {
        match self {
            Anomaly::FailureSpike { user, .. } | Anomaly::NewDeviceAfterChange { user, .. } => user.0.clone(),
            Anomaly::CredentialStuffing { address, .. } => address.clone(),
            Anomaly::RefreshTokenReuse { user, client } => format!("{}:{}", user.0, client.0),
            Anomaly::NewCountry { user, country } => format!("{}:{country}", user.0),
        }
    }

    /// The evidence in English words (the audit row's detail, the alert's
    /// `evidence` column; the console words it in the reader's language).
    pub fn evidence(&self) -> String {
        match self {
            Anomaly::FailureSpike { failures, minutes, .. } => format!("{failures} failed sign-ins on this account within {minutes} minutes"),
            Anomaly::CredentialStuffing { accounts, minutes, .. } => format!("failed password sign-ins on {accounts} different accounts from one address within {minutes} minutes"),
            Anomaly::RefreshTokenReuse { client, .. } => format!("a refresh token of client {} was used twice; the tokens of that sign-in were revoked", client.0),
            Anomaly::NewCountry { country, .. } => format!("a sign-in from {country}, a country this account has not signed in from lately"),
            Anomaly::NewDeviceAfterChange { change, minutes, .. } => {
                let what = match change {
                    AccountChange::Recovery => "the account was recovered",
                    AccountChange::EmailChange => "its email address was changed",
                };
                format!("a sign-in from a new device {minutes} minutes after {what}")
            }
        }
    }
}

/// An anomaly raised as the stored alert `alert`: what the audit event
/// `SecurityEvent::AnomalyDetected` carries. Serialized as the other events
/// are, tagged by its stored kind: `{"event": "anomaly_<kind>", "alert": …,
/// "anomaly": {"anomaly": "<kind>", …}}` (the webhooks' shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedAnomaly {
    pub alert: String,
    pub anomaly: Anomaly,
}

impl Serialize for RaisedAnomaly {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("RaisedAnomaly", 3)?;
        s.serialize_field("event", self.anomaly.kind().event_kind().as_str())?;
        s.serialize_field("alert", &self.alert)?;
        s.serialize_field("anomaly", &self.anomaly)?;
        s.end()
    }
}

/// Who acknowledged an alert, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// As the audit trail's `actor` column stores it (`admin:<user id>`).
    pub by: String,
    pub at: i64,
}

/// A raised alert: one anomaly, seen `count` times between `first_seen` and
/// `last_seen` (epoch seconds) — what the console lists and what a future
/// webhook outbox publishes (see the module notes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub anomaly: Anomaly,
    /// The client address it was noticed from, if any.
    pub address: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: i64,
    pub acknowledged: Option<Acknowledgement>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_serialize_as_stored() {
        for k in AnomalyKind::ALL {
            assert_eq!(AnomalyKind::from_kind(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).expect("serializes"), k.as_str());
            assert_eq!(k.event_kind().as_str(), format!("anomaly_{k}"), "its audit kind names it");
        }
        let a = Anomaly::FailureSpike { user: UserId("u1".into()), failures: 20, minutes: 10 };
        let json = serde_json::to_value(&a).expect("serializes");
        assert_eq!(json["anomaly"], "failure_spike", "tagged by its kind");
        assert_eq!(serde_json::from_value::<Anomaly>(json).expect("reads back"), a);
        assert_eq!(a.evidence(), "20 failed sign-ins on this account within 10 minutes");
    }

    #[test]
    fn the_same_subject_is_one_alert() {
        let u = UserId("u1".into());
        let spike = |failures| Anomaly::FailureSpike { user: u.clone(), failures, minutes: 10 };
        assert_eq!(spike(20).subject(), spike(35).subject(), "more failures fold into the same alert");
        let here = Anomaly::NewCountry { user: u.clone(), country: "DE".into() };
        let there = Anomaly::NewCountry { user: u, country: "FR".into() };
        assert_ne!(here.subject(), there.subject(), "another country is another alert");
    }
}
