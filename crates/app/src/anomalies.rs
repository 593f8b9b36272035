//! Anomaly detection (issue #32): noticing, as events are recorded, what no
//! single event says — one account failing again and again, one address
//! failing on many accounts, a refresh token used twice, a sign-in from a
//! new country, a sign-in from a new device right after the account was
//! recovered or its email changed.
//!
//! **Where it hangs.** The [`Detector`] is the audit recorder's watcher
//! (`latchkey_oauth::audit::Watcher`): every event `OAuthService::record`
//! (and the token endpoint) writes is shown to it right after its row, in
//! the same request, so the alert is there when the request answers. What
//! it decides from an event is [`Trigger::of`], a pure function; the
//! counting and the thresholds are below it.
//!
//! **Counting across nodes.** Counters live in the fast store (Redis when
//! configured, so every node counts together; the in-process store counts
//! one node's). Windows are aligned to the app clock, in two grids offset by
//! half a window ([`windows`]): any burst shorter than half a window falls
//! whole into one window of one grid, so 20 failures within 5 minutes are
//! always seen together whatever the boundaries, and no estimate is
//! involved. Distinct accounts per address are counted with a marker per
//! (window, address, account) — `put_if_absent` — and a counter bumped only
//! by a new marker.
//!
//! **Once per window.** An anomaly is raised once per [`ALERT_WINDOW_SECS`]
//! per kind and subject (the account, the address, the account and client,
//! the account and country): the first node to claim the fast-store key
//! `anomaly:alerted:<kind>:<subject>` creates the alert, the audit event and
//! the metric sample; later sightings in the window add to the alert's count
//! and move its "last seen" (one database update, no event, no sample). A
//! sighting that finds the claimed alert not written yet (its node is still
//! at it, or died) writes it under the claimed id, so of the two only one
//! insert succeeds and the other becomes a sighting. An alert acknowledged
//! in its window makes the next sighting a new alert.
//!
//! **Failing to detect fails nothing.** Errors of the fast store or the
//! database are logged; the request that recorded the event goes on.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use latchkey_domain::{AccountChange, Actor, Alert, Anomaly, ClientId, EventKind, RaisedAnomaly, SecurityEvent, SharedClock, UserId};
use latchkey_oauth::audit::{Seen, Watcher};
use latchkey_store::repo::alerts::{self as repo, AlertRow, Folded};
use latchkey_store::{Db, FastStore, StoreError};

/// The counting window: 10 minutes, long enough to hold a scripted attack's
/// burst, short enough that a person's mistakes over a day never add up.
pub const WINDOW_SECS: i64 = 10 * 60;

/// Failed sign-ins on one account within [`WINDOW_SECS`] that raise a
/// failure spike: 20. The account lockout (`latchkey_authn::throttle`)
/// refuses unknown devices after 10 failures in 15 minutes; a person who
/// mistypes gives up or recovers long before 20, so 20 means someone keeps
/// going past the lockout (each refused attempt counts too) — a guessing
/// script, or a second factor being guessed after the password was right.
pub const FAILURE_SPIKE_THRESHOLD: i64 = 20;

/// Different accounts with a failed password sign-in from one address
/// within [`WINDOW_SECS`] that raise credential stuffing: 10. A household
/// or an office behind one NAT address has a few people mistyping, not ten
/// within ten minutes; a list of leaked credentials tried one account at a
/// time looks exactly like this, and stays far below the per-address
/// lockout (100 failures) that would otherwise be the only sign.
pub const STUFFING_ACCOUNTS_THRESHOLD: i64 = 10;

/// A sign-in from a new device within this long after a recovery or an
/// email change is suspect: 24 hours, the time a takeover by a stolen
/// mailbox needs to be useful, and the time the owner's "This wasn't me"
/// mail is most likely still unread.
pub const AFTER_CHANGE_SECS: i64 = 24 * 3600;

/// One alert per kind and subject per hour: an administrator looks at the
/// page within that; more than one an hour about the same account or
/// address says nothing new, fewer would hide an attack that resumed.
pub const ALERT_WINDOW_SECS: i64 = 3600;

/// What an event counts toward, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A failed sign-in on `user`'s account; `password` when a password
    /// was tried (what credential stuffing is made of), else a second
    /// factor or a passkey failed.
    Failure { user: UserId, password: bool },
    /// A refresh token of `client` replayed.
    Reuse { user: UserId, client: ClientId },
    /// A sign-in from a country the user has not used lately.
    NewCountry { user: UserId, country: String },
    /// A sign-in from a device the user's recent sessions did not come from.
    NewDevice { user: UserId },
}

impl Trigger {
    /// The trigger of a recorded event: the pure part of detection.
    pub fn of(event: &SecurityEvent) -> Option<Trigger> {
        use SecurityEvent as E;
        Some(match event {
            E::LoginFailed { user: Some(user), .. } | E::LoginThrottled { user: Some(user), .. } => Trigger::Failure { user: user.clone(), password: true },
            E::SecondFactorFailed { user, .. } | E::PasskeySignInFailed { user: Some(user), .. } => Trigger::Failure { user: user.clone(), password: false },
            E::RefreshTokenReuse { user, client, .. } => Trigger::Reuse { user: user.clone(), client: client.clone() },
            E::NewCountrySignIn { user, country } => Trigger::NewCountry { user: user.clone(), country: country.clone() },
            E::SignIn { user, new_device: true, .. } => Trigger::NewDevice { user: user.clone() },
            _ => return None,
        })
    }
}

/// The windows `now` falls in: the start of one window in each of the two
/// grids (the second offset by half a window). Every span of at most half
/// a window lies wholly inside one of them.
pub fn windows(now: i64) -> [i64; 2] {
    let half = WINDOW_SECS / 2;
    [now.div_euclid(WINDOW_SECS) * WINDOW_SECS, (now - half).div_euclid(WINDOW_SECS) * WINDOW_SECS + half]
}

/// The anomaly a failure spike count is, if it is one.
pub fn failure_spike(user: &UserId, failures: i64) -> Option<Anomaly> {
    (failures >= FAILURE_SPIKE_THRESHOLD).then(|| Anomaly::FailureSpike { user: user.clone(), failures, minutes: WINDOW_SECS / 60 })
}

/// The anomaly a count of distinct failing accounts is, if it is one.
pub fn stuffing(address: &str, accounts: i64) -> Option<Anomaly> {
    (accounts >= STUFFING_ACCOUNTS_THRESHOLD).then(|| Anomaly::CredentialStuffing { address: address.to_string(), accounts, minutes: WINDOW_SECS / 60 })
}

/// The anomaly a new-device sign-in at `now` is, given the latest recovery
/// or email change of the account (its kind and time), if it is one.
pub fn after_change(user: &UserId, latest: Option<(EventKind, i64)>, now: i64) -> Option<Anomaly> {
    let (kind, at) = latest?;
    let change = match kind {
        EventKind::AccountRecovered => AccountChange::Recovery,
        EventKind::EmailChanged => AccountChange::EmailChange,
        _ => return None,
    };
    let since = now - at;
    (0..=AFTER_CHANGE_SECS).contains(&since).then(|| Anomaly::NewDeviceAfterChange { user: user.clone(), change, minutes: since / 60 })
}

/// The stored value of an "alerted" key: the alert's id and when it was raised.
fn stamp(id: &str, at: i64) -> String {
    format!("{id} {at}")
}

fn parse_stamp(value: &str) -> Option<(&str, i64)> {
    let (id, at) = value.split_once(' ')?;
    Some((id, at.parse().ok()?))
}

/// The webhooks seam (see `latchkey_domain::alert`): every new alert is
/// handed here. There is no webhook outbox yet (issue #30); when there is,
/// this is where an alert is written to it, in the transaction of its row.
/// Today the `anomaly_<kind>` audit event and its `security` log line are
/// the only ways out.
pub fn publish(alert: &Alert) {
    tracing::debug!(target: "security", alert = %alert.id, kind = %alert.anomaly.kind(), "security alert raised (no webhook outbox yet)");
}

/// Watches recorded events and raises alerts (see the module notes).
pub struct Detector {
    db: Db,
    fast: FastStore,
    clock: SharedClock,
}

impl Watcher for Detector {
    fn observe<'a>(&'a self, event: &'a SecurityEvent, seen: Seen) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let Some(trigger) = Trigger::of(event) else { return };
            if let Err(e) = self.detect(trigger, &seen).await {
                tracing::warn!(error = %e, event = event.kind(), "anomaly detection skipped an event");
            }
        })
    }
}

impl Detector {
    pub fn new(db: Db, fast: FastStore, clock: SharedClock) -> Detector {
        Detector { db, fast, clock }
    }

    async fn detect(&self, trigger: Trigger, seen: &Seen) -> Result<(), StoreError> {
        match trigger {
            Trigger::Failure { user, password } => {
                let failures = self.count_failures(&user, seen.at).await?;
                if let Some(a) = failure_spike(&user, failures) {
                    self.raise(a, seen, failures).await?;
                }
                if let (true, Some(address)) = (password, seen.ip.as_deref()) {
                    if let Some(accounts) = self.count_account(address, &user, seen.at).await? {
                        if let Some(a) = stuffing(address, accounts) {
                            self.raise(a, seen, accounts).await?;
                        }
                    }
                }
            }
            Trigger::Reuse { user, client } => self.raise(Anomaly::RefreshTokenReuse { user, client }, seen, 1).await?,
            Trigger::NewCountry { user, country } => self.raise(Anomaly::NewCountry { user, country }, seen, 1).await?,
            Trigger::NewDevice { user } => {
                let (uid, since) = (user.0.clone(), seen.at - AFTER_CHANGE_SECS);
                let kinds = [EventKind::AccountRecovered.as_str(), EventKind::EmailChanged.as_str()];
                let latest = self.db.run(move |c| repo::latest_event_of(c, &uid, &kinds, since)).await?;
                let latest = latest.and_then(|(kind, at)| Some((EventKind::from_kind(&kind)?, at)));
                if let Some(a) = after_change(&user, latest, seen.at) {
                    self.raise(a, seen, 1).await?;
                }
            }
        }
        Ok(())
    }

    /// Counts one failure on `user` in both windows; the larger count.
    async fn count_failures(&self, user: &UserId, now: i64) -> Result<i64, StoreError> {
        let mut most = 0;
        for start in windows(now) {
            most = most.max(self.fast.incr_window(&format!("anomaly:fail:{start}:{}", user.0), window_ttl()).await?);
        }
        Ok(most)
    }

    /// Notes a failure on `user` from `address` in both windows: the larger
    /// count of distinct accounts, if this account was new to a window
    /// (else nothing changed and `None`).
    async fn count_account(&self, address: &str, user: &UserId, now: i64) -> Result<Option<i64>, StoreError> {
        let mut most = None;
        for start in windows(now) {
            if self.fast.single_use().put_if_absent(&format!("anomaly:addr-account:{start}:{address}:{}", user.0), "1", window_ttl()).await? {
                let n = self.fast.incr_window(&format!("anomaly:addr:{start}:{address}"), window_ttl()).await?;
                most = Some(most.unwrap_or(0).max(n));
            }
        }
        Ok(most)
    }

    /// Raises `anomaly` once per [`ALERT_WINDOW_SECS`]: a new alert that
    /// starts at `count` (the failures or accounts of the window, else 1),
    /// or one more sighting of the open one.
    async fn raise(&self, anomaly: Anomaly, seen: &Seen, count: i64) -> Result<(), StoreError> {
        let key = format!("anomaly:alerted:{}:{}", anomaly.kind(), anomaly.subject());
        let id = uuid::Uuid::new_v4().to_string();
        let ttl = Duration::from_secs(ALERT_WINDOW_SECS.unsigned_abs());
        if !self.fast.single_use().put_if_absent(&key, &stamp(&id, seen.at), ttl).await? {
            if let Some((open, since)) = self.fast.single_use().get(&key).await?.as_deref().and_then(parse_stamp).map(|(i, s)| (i.to_string(), s)) {
                // Within its window (by the app clock), an open alert takes the sighting.
                let (at, claimed) = (seen.at, open.clone());
                if at - since < ALERT_WINDOW_SECS {
                    match self.db.run(move |c| repo::fold(c, &claimed, 1, at)).await? {
                        Folded::Open => return Ok(()),
                        // Claimed by another node (or request) that has not written it
                        // yet: written under the claimed id, so only one of them does.
                        Folded::Missing => return self.create(open, anomaly, seen, count).await,
                        Folded::Acknowledged => {}
                    }
                }
            }
            // Its window is over or it was acknowledged: this is a new one.
            self.fast.single_use().put(&key, &stamp(&id, seen.at), ttl).await?;
        }
        self.create(id, anomaly, seen, count).await
    }

    /// Writes the alert `id` with its event, sample and webhook hand-off;
    /// if another node wrote that id first, adds the sighting to it instead.
    async fn create(&self, id: String, anomaly: Anomaly, seen: &Seen, n: i64) -> Result<(), StoreError> {
        let kind = anomaly.kind();
        let address = anomaly.address().map(str::to_string).or_else(|| seen.ip.clone());
        let row = AlertRow {
            id: id.clone(),
            kind: kind.as_str().to_string(),
            user_id: anomaly.user().map(|u| u.0.clone()),
            ip: address.clone(),
            evidence: anomaly.evidence(),
            facts: serde_json::to_string(&anomaly).map_err(|e| StoreError::Unavailable(e.to_string()))?,
            first_seen: seen.at,
            last_seen: seen.at,
            count: n,
            acknowledged_by: None,
            acknowledged_at: None,
        };
        if !self.db.run(move |c| repo::insert(c, &row)).await? {
            let (key, at) = (id, seen.at);
            self.db.run(move |c| repo::fold(c, &key, 1, at)).await?;
            return Ok(());
        }
        metrics::counter!("latchkey_security_alerts_total", "kind" => kind.as_str()).increment(1);
        let alert = Alert { id: id.clone(), anomaly: anomaly.clone(), address, first_seen: seen.at, last_seen: seen.at, count: n, acknowledged: None };
        latchkey_oauth::audit::record(&self.db, &self.clock, &Actor::System, &SecurityEvent::AnomalyDetected(RaisedAnomaly { alert: id, anomaly })).await;
        publish(&alert);
        Ok(())
    }
}

/// How long a window's counters are kept: the window, and a minute for
/// clocks of different nodes that disagree a little.
fn window_ttl() -> Duration {
    Duration::from_secs((WINDOW_SECS + 60).unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_domain::Amr;

    fn u() -> UserId {
        UserId("u1".into())
    }

    #[test]
    fn events_trigger_what_they_are_evidence_of() {
        let failed = SecurityEvent::LoginFailed { user: Some(u()), known_device: false };
        assert_eq!(Trigger::of(&failed), Some(Trigger::Failure { user: u(), password: true }));
        let throttled = SecurityEvent::LoginThrottled { user: Some(u()), known_device: false };
        assert_eq!(Trigger::of(&throttled), Some(Trigger::Failure { user: u(), password: true }), "a refused attempt is still an attempt");
        assert_eq!(Trigger::of(&SecurityEvent::LoginFailed { user: None, known_device: false }), None, "a name that is no account is not counted");
        assert_eq!(Trigger::of(&SecurityEvent::SecondFactorFailed { user: u(), throttled: false }), Some(Trigger::Failure { user: u(), password: false }));
        let reuse = SecurityEvent::RefreshTokenReuse { user: u(), client: ClientId("c1".into()), family: "f".into(), generation: 2 };
        assert_eq!(Trigger::of(&reuse), Some(Trigger::Reuse { user: u(), client: ClientId("c1".into()) }));
        let sign_in = |new_device| SecurityEvent::SignIn { user: u(), client: None, methods: vec![Amr::Pwd], remembered: false, new_device, risk: None };
        assert_eq!(Trigger::of(&sign_in(true)), Some(Trigger::NewDevice { user: u() }));
        assert_eq!(Trigger::of(&sign_in(false)), None);
        assert_eq!(Trigger::of(&SecurityEvent::NewCountrySignIn { user: u(), country: "DE".into() }), Some(Trigger::NewCountry { user: u(), country: "DE".into() }));
        let raised = SecurityEvent::AnomalyDetected(RaisedAnomaly { alert: "a".into(), anomaly: Anomaly::RefreshTokenReuse { user: u(), client: ClientId("c1".into()) } });
        assert_eq!(Trigger::of(&raised), None, "an alert is not evidence of another");
    }

    #[test]
    fn thresholds_are_where_they_say() {
        assert_eq!(failure_spike(&u(), FAILURE_SPIKE_THRESHOLD - 1), None);
        assert_eq!(failure_spike(&u(), FAILURE_SPIKE_THRESHOLD), Some(Anomaly::FailureSpike { user: u(), failures: 20, minutes: 10 }));
        assert_eq!(stuffing("203.0.113.9", STUFFING_ACCOUNTS_THRESHOLD - 1), None);
        assert!(matches!(stuffing("203.0.113.9", STUFFING_ACCOUNTS_THRESHOLD), Some(Anomaly::CredentialStuffing { accounts: 10, .. })));
    }

    #[test]
    fn a_new_device_is_suspect_for_a_day_after_a_recovery_or_an_email_change() {
        let now = 1_800_000_000;
        assert_eq!(after_change(&u(), None, now), None);
        assert_eq!(after_change(&u(), Some((EventKind::AccountRecovered, now - 600)), now), Some(Anomaly::NewDeviceAfterChange { user: u(), change: AccountChange::Recovery, minutes: 10 }));
        assert!(matches!(after_change(&u(), Some((EventKind::EmailChanged, now - AFTER_CHANGE_SECS)), now), Some(Anomaly::NewDeviceAfterChange { change: AccountChange::EmailChange, .. })));
        assert_eq!(after_change(&u(), Some((EventKind::EmailChanged, now - AFTER_CHANGE_SECS - 1)), now), None, "a day later it is a sign-in like any other");
        assert_eq!(after_change(&u(), Some((EventKind::SignIn, now)), now), None);
    }

    #[test]
    fn any_burst_of_half_a_window_falls_in_one_window() {
        let half = WINDOW_SECS / 2;
        for start in (0..2 * WINDOW_SECS).step_by(7) {
            let (first, last) = (windows(1_800_000_000 + start), windows(1_800_000_000 + start + half - 1));
            assert!(first[0] == last[0] || first[1] == last[1], "a burst from {start} is split in both grids");
        }
        let w = windows(1_800_000_000);
        assert!(w.iter().all(|s| *s <= 1_800_000_000 && 1_800_000_000 < s + WINDOW_SECS), "each window holds now");
        assert_ne!(w[0], w[1]);
    }

    #[test]
    fn stamps_round_trip() {
        assert_eq!(parse_stamp(&stamp("a-1", 42)), Some(("a-1", 42)));
        assert_eq!(parse_stamp("nonsense"), None);
    }
}
