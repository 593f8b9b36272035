//! Gathers a sign-in's facts (the account's history, its failures of the
//! last hour, the location database, the blocklist), assesses them, and
//! remembers each completed sign-in for the next assessment.

use std::net::IpAddr;
use std::sync::Arc;

use latchkey_domain::{EventKind, SharedClock, SignInRisk, UserId};
use latchkey_store::repo::risk as repo;
use latchkey_store::Db;

use super::{assess, Blocklist, Coordinates, Facts, GeoDb, History, Observation, Remembered, RiskPolicy};
use super::{COUNTRY_WINDOW_SECS, FAILURE_WINDOW_SECS, REMEMBERED_PER_KIND};
use crate::device_name::{family, network};
use crate::error::AuthnError;
use crate::sessions::ClientInfo;

/// The failed password attempts a sign-in counts ([`super::RiskSignal::RecentFailures`]).
const FAILURE_KINDS: [EventKind; 2] = [EventKind::LoginFailed, EventKind::LoginThrottled];

/// The operator's choices, with their files already read and checked.
#[derive(Debug, Clone, Default)]
pub struct RiskConfig {
    /// `LATCHKEY_RISK_POLICY`: every account's, unless its own is set.
    pub policy: RiskPolicy,
    /// `LATCHKEY_RISK_POLICY_ADMINS`: administrators' (`None`: [`RiskConfig::policy`]).
    pub admins: Option<RiskPolicy>,
    /// `LATCHKEY_GEOIP_DB`, opened.
    pub geo: Option<Arc<GeoDb>>,
    /// `LATCHKEY_RISK_BLOCKLIST`, parsed (empty without one).
    pub blocklist: Arc<Blocklist>,
}

impl RiskConfig {
    /// The policy of an account: its own (set in the console), else the
    /// administrators' for an administrator, else the deployment's.
    pub fn policy_of(&self, admin: bool, own: Option<RiskPolicy>) -> RiskPolicy {
        own.or(if admin { self.admins } else { None }).unwrap_or(self.policy)
    }
}

/// A sign-in's risk and what it was made of (remembered once the sign-in completes).
#[derive(Debug, Clone)]
pub struct Assessment {
    pub risk: SignInRisk,
    pub observation: Observation,
}

#[derive(Clone)]
pub struct RiskService {
    db: Db,
    clock: SharedClock,
    config: RiskConfig,
}

impl RiskService {
    pub fn new(db: Db, clock: SharedClock, config: RiskConfig) -> RiskService {
        RiskService { db, clock, config }
    }

    /// The deployment's policy (`LATCHKEY_RISK_POLICY`).
    pub fn policy(&self) -> RiskPolicy {
        self.config.policy
    }

    /// The administrators' policy (`LATCHKEY_RISK_POLICY_ADMINS`, else the deployment's).
    pub fn admins_policy(&self) -> RiskPolicy {
        self.config.policy_of(true, None)
    }

    /// The policy `user`'s sign-ins are assessed under ([`RiskConfig::policy_of`]);
    /// the deployment's for no such user.
    pub async fn policy_for(&self, user: &UserId) -> Result<RiskPolicy, AuthnError> {
        let uid = user.0.clone();
        let row = self.db.run(move |c| repo::user_policy(c, &uid)).await?;
        Ok(match row {
            Some((admin, own)) => self.config.policy_of(admin, own.as_deref().and_then(RiskPolicy::parse)),
            None => self.config.policy,
        })
    }

    /// The user's own policy, if one is set (`None`: the deployment's).
    pub async fn own_policy(&self, user: &UserId) -> Result<Option<RiskPolicy>, AuthnError> {
        let uid = user.0.clone();
        let row = self.db.run(move |c| repo::user_policy(c, &uid)).await?;
        Ok(row.and_then(|(_, own)| own.as_deref().and_then(RiskPolicy::parse)))
    }

    /// Sets the user's own policy (`None`: the deployment's again); whether the user exists.
    pub async fn set_own_policy(&self, user: &UserId, policy: Option<RiskPolicy>) -> Result<bool, AuthnError> {
        let uid = user.0.clone();
        Ok(self.db.run(move |c| repo::set_user_policy(c, &uid, policy.map(RiskPolicy::as_str))).await?)
    }

    pub fn geo(&self) -> Option<&GeoDb> {
        self.config.geo.as_deref()
    }

    /// What a sign-in from `client` looks like (no database involved).
    pub fn observe(&self, client: &ClientInfo) -> Observation {
        let ip = client.ip.as_deref().and_then(|i| i.parse::<IpAddr>().ok());
        let network = ip.map(|ip| network(Some(&ip.to_string())));
        let browser = Some(family(client.user_agent.as_deref())).filter(|f| !f.is_empty());
        let place = match (ip, self.geo()) {
            (Some(ip), Some(geo)) => geo.lookup(ip),
            _ => None,
        };
        Observation { network, browser, place, blocklisted: ip.is_some_and(|ip| self.config.blocklist.contains(ip)) }
    }

    /// Assesses a sign-in of `user` from `client` (`known_device`: the
    /// browser holds the account's known-device cookie); `None` when the
    /// user's policy is off (then nothing but the policy is read, and nothing
    /// is counted or remembered).
    pub async fn assess(&self, user: &UserId, client: &ClientInfo, known_device: bool) -> Result<Option<Assessment>, AuthnError> {
        let policy = self.policy_for(user).await?;
        if policy == RiskPolicy::Off {
            return Ok(None);
        }
        let observation = self.observe(client);
        let now = self.clock.now();
        let (uid, since, failures_since) = (user.0.clone(), now - COUNTRY_WINDOW_SECS, now - FAILURE_WINDOW_SECS);
        let kinds: Vec<&'static str> = FAILURE_KINDS.iter().map(|k| k.as_str()).collect();
        let (seen, last, failures) = self
            .db
            .run(move |c| {
                let (seen, last) = repo::history(c, &uid, since)?;
                Ok((seen, last, repo::events_since(c, &uid, &kinds, failures_since)?))
            })
            .await?;
        let history = History {
            seen: seen.into_iter().filter_map(|s| Some((Remembered::parse(&s.kind)?, s.value, s.last_seen_at))).collect(),
            last_place: last.map(|l| (Coordinates { latitude: l.latitude, longitude: l.longitude }, l.at)),
        };
        let facts = Facts { known_device, observation: &observation, history: &history, failures_last_hour: u32::try_from(failures).unwrap_or(u32::MAX), now };
        let risk = assess(policy, &facts);
        metrics::counter!("latchkey_sign_in_risk_total", "level" => risk.level.as_str()).increment(1);
        Ok(Some(Assessment { risk, observation }))
    }

    /// Remembers a completed sign-in of `user` that looked like
    /// `observation` (called for assessed sign-ins only: never with the
    /// user's policy off).
    pub async fn remember(&self, user: &UserId, observation: &Observation) -> Result<(), AuthnError> {
        let mut seen: Vec<(&'static str, String)> = Vec::new();
        seen.extend(observation.network.clone().map(|n| (Remembered::Network.as_str(), n)));
        seen.extend(observation.browser.clone().map(|b| (Remembered::Browser.as_str(), b)));
        seen.extend(observation.place.as_ref().and_then(|p| p.country.clone()).map(|c| (Remembered::Country.as_str(), c)));
        let place = observation.place.as_ref().and_then(|p| p.coordinates).map(|c| (c.latitude, c.longitude));
        let (uid, now) = (user.0.clone(), self.clock.now());
        self.db.run(move |c| repo::remember(c, &uid, &seen, place, now, REMEMBERED_PER_KIND, now - COUNTRY_WINDOW_SECS)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accounts_own_policy_wins_then_the_admins_then_the_deployments() {
        use RiskPolicy::*;
        let plain = RiskConfig { policy: Standard, ..RiskConfig::default() };
        assert_eq!(plain.policy_of(false, None), Standard);
        assert_eq!(plain.policy_of(true, None), Standard, "admins default to the deployment's policy");
        assert_eq!(plain.policy_of(true, Some(Off)), Off);
        let strict_admins = RiskConfig { policy: Off, admins: Some(Strict), ..RiskConfig::default() };
        assert_eq!(strict_admins.policy_of(false, None), Off);
        assert_eq!(strict_admins.policy_of(true, None), Strict);
        assert_eq!(strict_admins.policy_of(true, Some(Standard)), Standard, "the account's own choice wins");
        assert_eq!(strict_admins.policy_of(false, Some(Strict)), Strict);
    }
}
