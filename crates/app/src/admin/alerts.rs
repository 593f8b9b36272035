//! Security alerts (issue #32), as administrators see them: the open ones
//! first, each newest first, then the latest acknowledged; acknowledging
//! one (audited). The alerts are raised by [`crate::anomalies`].

use latchkey_domain::{Acknowledgement, Alert, Anomaly, SecurityEvent};
use latchkey_store::repo::alerts::{self as repo, AlertRow};

use super::Admin;
use crate::AppError;

/// Open alerts a page lists at most (an attack that raised more is still
/// all in the trail; the oldest open ones wait for the newest to be dealt with).
pub const MAX_OPEN: i64 = 500;
/// Acknowledged alerts a page lists: the latest, for context.
pub const MAX_ACKNOWLEDGED: i64 = 50;

/// The alerts of the console's page.
#[derive(Debug, Clone)]
pub struct Alerts {
    /// Unacknowledged, most recently seen first.
    pub open: Vec<Alert>,
    /// Acknowledged, most recently seen first.
    pub acknowledged: Vec<Alert>,
}

/// A stored alert as the domain value; `None` for a row whose anomaly this
/// version cannot read (written by a later one).
pub fn alert_of(row: AlertRow) -> Option<Alert> {
    let anomaly: Anomaly = match serde_json::from_str(&row.facts) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(alert = %row.id, error = %e, "an alert this version cannot read");
            return None;
        }
    };
    let acknowledged = match (row.acknowledged_by, row.acknowledged_at) {
        (Some(by), Some(at)) => Some(Acknowledgement { by, at }),
        _ => None,
    };
    Some(Alert { id: row.id, anomaly, address: row.ip, first_seen: row.first_seen, last_seen: row.last_seen, count: row.count, acknowledged })
}

impl Admin<'_> {
    /// The open alerts and the latest acknowledged ones.
    pub async fn alerts(&self) -> Result<Alerts, AppError> {
        let (open, acknowledged) = self.app.stores.db.run(|c| Ok((repo::open(c, MAX_OPEN)?, repo::acknowledged(c, MAX_ACKNOWLEDGED)?))).await?;
        Ok(Alerts { open: open.into_iter().filter_map(alert_of).collect(), acknowledged: acknowledged.into_iter().filter_map(alert_of).collect() })
    }

    /// How many alerts are open.
    pub async fn open_alerts(&self) -> Result<i64, AppError> {
        Ok(self.app.stores.db.run(repo::count_open).await?)
    }

    /// Acknowledges the alert `id` (audited, naming the actor). Acknowledging
    /// one already acknowledged changes nothing and records nothing.
    pub async fn acknowledge_alert(&self, id: &str) -> Result<Alert, AppError> {
        let by = self.actor.audited().stored().unwrap_or_default();
        let (key, now) = (id.to_string(), self.app.clock.now());
        let (done, row) = self.app.stores.db.run(move |c| Ok((repo::acknowledge(c, &key, &by, now)?, repo::find(c, &key)?))).await?;
        let alert = row.and_then(alert_of).ok_or(AppError::NotFound("alert"))?;
        if done {
            let event = SecurityEvent::AlertAcknowledged { alert: alert.id.clone(), anomaly: alert.anomaly.kind(), user: alert.anomaly.user().cloned() };
            self.app.oauth.record(&self.actor.audited(), event).await;
        }
        Ok(alert)
    }
}
