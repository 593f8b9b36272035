//! Delivering webhooks from the outbox: every node runs
//! [`App::deliver_webhooks`] every second; each claims the oldest pending
//! delivery of each subscription (so a subscription's events go out in
//! order), posts it, and marks it delivered or due again later.
//!
//! At least once: a delivery is marked done only after the receiver said
//! 2xx; a node that dies mid-delivery holds its claim only for
//! [`LEASE_SECS`], then another node sends it again (same `webhook-id`, so
//! receivers can tell). Nothing is ever lost: the row was written with the
//! event.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use latchkey_domain::SecurityEvent;
use latchkey_oauth::trace::SendTraced;
use latchkey_store::repo::webhooks::{self as repo, AttemptRow, DeliveryRow, SubscriptionRow};

use super::signing;
use crate::{App, AppError};

/// A receiver has this long to answer (then the attempt failed).
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a claim holds: longer than an attempt can take, short enough
/// that a dead node's delivery is soon sent by another.
pub const LEASE_SECS: i64 = 30;
/// After a day of nothing but failures a subscription is disabled (and the
/// administrators mailed); its queue waits for it.
pub const GIVE_UP_AFTER_SECS: i64 = 24 * 3600;
/// Retries back off exponentially from 5 s to at most an hour.
pub const FIRST_RETRY_SECS: i64 = 5;
pub const MAX_RETRY_SECS: i64 = 3600;
/// Delivered rows are forgotten after a week (the audit trail keeps the events).
pub const KEEP_DELIVERED_SECS: i64 = 7 * 24 * 3600;

/// The wait before attempt `attempts + 1`.
pub fn backoff(attempts: i32) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(20);
    FIRST_RETRY_SECS.saturating_mul(1_i64 << doublings).min(MAX_RETRY_SECS)
}

/// The HTTP clients: to public addresses only (names resolved and checked,
/// as client metadata documents are fetched), or to any (subscriptions the
/// operator allowed private receivers for). Neither follows redirects.
fn clients() -> &'static Result<(reqwest::Client, reqwest::Client), String> {
    static CLIENTS: OnceLock<Result<(reqwest::Client, reqwest::Client), String>> = OnceLock::new();
    CLIENTS.get_or_init(|| {
        let public = latchkey_oauth::outbound::guarded_client(false, TIMEOUT).map_err(|e| e.to_string())?;
        let private = latchkey_oauth::outbound::guarded_client(true, TIMEOUT).map_err(|e| e.to_string())?;
        Ok((public, private))
    })
}

/// What one attempt got.
struct Outcome {
    status: Option<u16>,
    error: Option<String>,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn words(&self) -> String {
        match (&self.status, &self.error) {
            (_, Some(e)) => e.clone(),
            (Some(s), None) => format!("HTTP {s}"),
            (None, None) => "no answer".into(),
        }
    }
}

fn outcome_of(sent: Result<reqwest::Response, reqwest::Error>) -> Outcome {
    match sent {
        Ok(r) => Outcome { status: Some(r.status().as_u16()), error: None },
        Err(e) if e.is_timeout() => Outcome { status: None, error: Some(format!("no answer within {} s", TIMEOUT.as_secs())) },
        Err(e) if e.is_connect() => Outcome { status: None, error: Some("could not connect (or the address is not allowed)".into()) },
        Err(e) => Outcome { status: None, error: Some(format!("request failed: {e}")) },
    }
}

impl App {
    async fn post_webhook(&self, sub: &SubscriptionRow, d: &DeliveryRow, now: i64) -> Outcome {
        let fail = |e: String| Outcome { status: None, error: Some(e) };
        if let Err(e) = super::check_url(&sub.url, sub.allow_private) {
            return fail(e.to_string());
        }
        let http = match clients() {
            Ok((public, private)) => {
                if sub.allow_private {
                    private
                } else {
                    public
                }
            }
            Err(e) => return fail(e.clone()),
        };
        if sub.kind == repo::SSF {
            return self.push_security_event(http, sub, d).await;
        }
        let secret = match self.stores.master.decrypt(&sub.secret, "webhook-secret").ok().and_then(|s| String::from_utf8(s).ok()).and_then(|s| signing::secret_bytes(&s)) {
            Some(s) => s,
            None => return fail("the signing secret could not be read".into()),
        };
        let signature = signing::sign(&secret, &d.event_id, now, &d.payload);
        let sent = http
            .post(&sub.url)
            .header("content-type", "application/json")
            .header("webhook-id", &d.event_id)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signature)
            .body(d.payload.clone())
            .send_traced()
            .await;
        outcome_of(sent)
    }

    /// An SSF stream's delivery: the SET signed now (RFC 8417), pushed as
    /// RFC 8935 says (`application/secevent+jwt`; 202 is success).
    async fn push_security_event(&self, http: &reqwest::Client, sub: &SubscriptionRow, d: &DeliveryRow) -> Outcome {
        let fail = |e: String| Outcome { status: None, error: Some(e) };
        let Ok(queued) = serde_json::from_str::<serde_json::Value>(&d.payload) else { return fail("the queued event does not read".into()) };
        let alg = queued["alg"].as_str().and_then(latchkey_domain::SigningAlg::parse).unwrap_or(latchkey_domain::SigningAlg::RS256);
        let set = match self.tokens.sign_security_event(&queued["claims"], alg) {
            Ok(set) => set,
            Err(e) => return fail(format!("could not sign: {e}")),
        };
        let sent = http.post(&sub.url).header("content-type", "application/secevent+jwt").header("accept", "application/json").body(set).send_traced().await;
        outcome_of(sent)
    }

    /// One round: claims each subscription's due head and tries it.
    /// Returns how many were delivered.
    pub async fn deliver_webhooks(&self) -> Result<usize, AppError> {
        let now = self.clock.now();
        let claimed = self.stores.db.run(move |c| repo::claim_heads(c, now, now + LEASE_SECS)).await?;
        let mut delivered = 0;
        for (sub, d) in &claimed {
            // One subscription's failure does not stop the others'. Each
            // delivery is a trace of its own (issue #31).
            let span = tracing::info_span!(target: "latchkey_trace", "webhook_delivery", webhook.subscription = %sub.id, webhook.kind = %sub.kind, webhook.event_id = %d.event_id);
            match tracing::Instrument::instrument(self.deliver_one(sub, d), span).await {
                Ok(true) => delivered += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, subscription = %sub.id, "a webhook delivery could not be recorded; it is tried again"),
            }
        }
        Ok(delivered)
    }

    async fn deliver_one(&self, sub: &SubscriptionRow, d: &DeliveryRow) -> Result<bool, AppError> {
        let started = Instant::now();
        let now = self.clock.now();
        let outcome = self.post_webhook(sub, d, now).await;
        let attempt = AttemptRow {
            // Time-ordered: the log reads newest first even within a second.
            id: uuid::Uuid::now_v7().to_string(),
            subscription_id: sub.id.clone(),
            event_id: d.event_id.clone(),
            at: now,
            status: outcome.status.map(i32::from),
            error: outcome.error.clone(),
            millis: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        };
        self.stores.db.run(move |c| repo::log_attempt(c, &attempt)).await?;
        let (seq, sid) = (d.seq, sub.id.clone());
        metrics::counter!("latchkey_webhook_attempts_total", "outcome" => if outcome.ok() { "delivered" } else { "failed" }).increment(1);
        if outcome.ok() {
            self.stores.db.run(move |c| repo::delivered(c, seq, &sid, now)).await?;
            return Ok(true);
        }
        let retry_at = now + backoff(d.attempts);
        let failing_since = self.stores.db.run(move |c| repo::failed(c, seq, &sid, now, retry_at)).await?;
        if now - failing_since >= GIVE_UP_AFTER_SECS {
            self.give_up_on(sub, &outcome.words()).await?;
        }
        Ok(false)
    }

    /// Disables a subscription that failed for a day; audited, administrators mailed.
    async fn give_up_on(&self, sub: &SubscriptionRow, last_error: &str) -> Result<(), AppError> {
        let (id, now) = (sub.id.clone(), self.clock.now());
        self.stores.db.run(move |c| repo::set_disabled(c, &id, Some(now))).await?;
        self.oauth.record(&latchkey_domain::Actor::System, SecurityEvent::WebhookDisabled { subscription: sub.id.clone(), url: sub.url.clone() }).await;
        let console_url = format!("{}/admin/webhooks", self.issuer);
        for admin in self.authn.list_users().await?.into_iter().filter(|u| u.admin && u.disabled_at.is_none() && !u.email.is_empty()) {
            let notice = latchkey_authn::Notice::WebhookDisabled { url: &sub.url, last_error, console_url: &console_url };
            self.notify(&admin.email, crate::sessions::mail_language(&admin, latchkey_i18n::Tr::default()), notice).await;
        }
        Ok(())
    }

    /// Forgets deliveries delivered more than a week ago.
    pub async fn sweep_webhook_deliveries(&self) -> Result<usize, AppError> {
        let before = self.clock.now() - KEEP_DELIVERED_SECS;
        Ok(self.stores.db.run(move |c| repo::sweep_delivered(c, before)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!((backoff(1), backoff(2), backoff(3), backoff(10), backoff(1000)), (5, 10, 20, 2560, 3600));
        assert_eq!(backoff(0), 5);
    }
}
