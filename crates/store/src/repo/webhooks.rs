//! Webhooks (issue #30): subscriptions, the durable outbox of deliveries
//! (written in the transaction that records the event), and the log of
//! attempts.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::{webhook_attempts as wa, webhook_deliveries as wd, webhook_subscriptions as ws};

/// The attempts kept per subscription (the console's "last 50").
pub const KEPT_ATTEMPTS: i64 = 50;

#[derive(Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ws)]
pub struct SubscriptionRow {
    pub id: String,
    pub url: String,
    pub events: String,
    pub secret: String,
    pub allow_private: bool,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    pub failing_since: Option<i64>,
    /// `webhook`, or `ssf` (a relying party's stream of security event tokens).
    pub kind: String,
    /// An SSF stream's client.
    pub client_id: Option<String>,
}

/// The sealed secret never reaches a log line, even encrypted.
impl std::fmt::Debug for SubscriptionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionRow").field("id", &self.id).field("kind", &self.kind).field("client_id", &self.client_id).field("disabled_at", &self.disabled_at).finish_non_exhaustive()
    }
}

/// A webhook subscription's kind.
pub const WEBHOOK: &str = "webhook";
/// An SSF stream's kind.
pub const SSF: &str = "ssf";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = wd)]
pub struct DeliveryRow {
    pub seq: i64,
    pub subscription_id: String,
    pub event_id: String,
    pub payload: String,
    pub created_at: i64,
    pub next_at: i64,
    pub attempts: i32,
    pub delivered_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = wa)]
pub struct AttemptRow {
    pub id: String,
    pub subscription_id: String,
    pub event_id: String,
    pub at: i64,
    pub status: Option<i32>,
    pub error: Option<String>,
    pub millis: i64,
}

pub fn insert_subscription(conn: &mut DbConnection, row: &SubscriptionRow) -> Result<(), StoreError> {
    diesel::insert_into(ws::table).values(row).execute(conn)?;
    Ok(())
}

/// The webhook subscriptions (not SSF streams).
pub fn subscriptions(conn: &mut DbConnection) -> Result<Vec<SubscriptionRow>, StoreError> {
    Ok(ws::table.filter(ws::kind.eq(WEBHOOK)).order(ws::created_at.asc()).select(SubscriptionRow::as_select()).load(conn)?)
}

/// The SSF stream of a client, if it has one.
pub fn stream_of(conn: &mut DbConnection, client_id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
    Ok(ws::table.filter(ws::kind.eq(SSF)).filter(ws::client_id.eq(client_id)).select(SubscriptionRow::as_select()).first(conn).optional()?)
}

/// Sets a stream's endpoint and requested events.
pub fn update_stream(conn: &mut DbConnection, id: &str, url: &str, events: &str) -> Result<bool, StoreError> {
    Ok(diesel::update(ws::table.find(id).filter(ws::kind.eq(SSF))).set((ws::url.eq(url), ws::events.eq(events))).execute(conn)? == 1)
}

/// Queues `payload` as event `event_id` for one subscription (an SSF stream's SET claims).
pub fn enqueue_for(conn: &mut DbConnection, subscription_id: &str, event_id: &str, payload: &str, now: i64) -> Result<(), StoreError> {
    diesel::insert_into(wd::table)
        .values((wd::subscription_id.eq(subscription_id), wd::event_id.eq(event_id), wd::payload.eq(payload), wd::created_at.eq(now), wd::next_at.eq(now), wd::attempts.eq(0)))
        .execute(conn)?;
    Ok(())
}

pub fn subscription(conn: &mut DbConnection, id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
    Ok(ws::table.find(id).select(SubscriptionRow::as_select()).first(conn).optional()?)
}

/// Removes a subscription with its pending deliveries and its log.
pub fn remove_subscription(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    crate::db::write_transaction(conn, |c| {
        diesel::delete(wd::table.filter(wd::subscription_id.eq(id))).execute(c)?;
        diesel::delete(wa::table.filter(wa::subscription_id.eq(id))).execute(c)?;
        Ok(diesel::delete(ws::table.find(id)).execute(c)? == 1)
    })
}

/// Disables (`Some(now)`) or enables a subscription; enabling forgets its failures.
pub fn set_disabled(conn: &mut DbConnection, id: &str, at: Option<i64>) -> Result<bool, StoreError> {
    let n = match at {
        Some(now) => diesel::update(ws::table.find(id)).set(ws::disabled_at.eq(Some(now))).execute(conn)?,
        None => diesel::update(ws::table.find(id)).set((ws::disabled_at.eq(None::<i64>), ws::failing_since.eq(None::<i64>))).execute(conn)?,
    };
    Ok(n == 1)
}

/// Queues `payload` (the event `event_id` of `kind`) for every enabled
/// subscription to that kind. Called inside the transaction that records
/// the event: an event recorded is an event delivered.
pub fn enqueue(conn: &mut DbConnection, event_id: &str, kind: &str, payload: &str, now: i64) -> Result<usize, StoreError> {
    let pattern = format!("%,{kind},%");
    let subscribers: Vec<String> = ws::table.filter(ws::kind.eq(WEBHOOK)).filter(ws::disabled_at.is_null()).filter(ws::events.eq("*").or(ws::events.like(pattern))).select(ws::id).load(conn)?;
    for sub in &subscribers {
        enqueue_for(conn, sub, event_id, payload, now)?;
    }
    Ok(subscribers.len())
}

/// Claims the oldest undelivered delivery of each enabled subscription
/// that is due at `now`, until `lease_until` (a conditional update: of two
/// nodes, one gets it; a node that dies holding it loses it at the lease's
/// end). Only a subscription's head is ever claimed, so deliveries go out
/// in order.
pub fn claim_heads(conn: &mut DbConnection, now: i64, lease_until: i64) -> Result<Vec<(SubscriptionRow, DeliveryRow)>, StoreError> {
    let subs: Vec<SubscriptionRow> = ws::table.filter(ws::disabled_at.is_null()).select(SubscriptionRow::as_select()).load(conn)?;
    let mut claimed = Vec::new();
    for sub in subs {
        let head: Option<DeliveryRow> =
            wd::table.filter(wd::subscription_id.eq(&sub.id)).filter(wd::delivered_at.is_null()).order(wd::seq.asc()).select(DeliveryRow::as_select()).first(conn).optional()?;
        let Some(head) = head.filter(|h| h.next_at <= now) else { continue };
        let n = diesel::update(wd::table.find(head.seq).filter(wd::next_at.eq(head.next_at)).filter(wd::delivered_at.is_null()))
            .set((wd::next_at.eq(lease_until), wd::attempts.eq(head.attempts + 1)))
            .execute(conn)?;
        if n == 1 {
            claimed.push((sub, DeliveryRow { next_at: lease_until, attempts: head.attempts + 1, ..head }));
        }
    }
    Ok(claimed)
}

/// Records an attempt and keeps only the newest [`KEPT_ATTEMPTS`] of its subscription.
pub fn log_attempt(conn: &mut DbConnection, row: &AttemptRow) -> Result<(), StoreError> {
    diesel::insert_into(wa::table).values(row).execute(conn)?;
    let keep: Vec<String> = wa::table.filter(wa::subscription_id.eq(&row.subscription_id)).order((wa::at.desc(), wa::id.desc())).limit(KEPT_ATTEMPTS).select(wa::id).load(conn)?;
    diesel::delete(wa::table.filter(wa::subscription_id.eq(&row.subscription_id)).filter(wa::id.ne_all(keep))).execute(conn)?;
    Ok(())
}

/// A delivery went through: done, and its subscription is healthy again.
pub fn delivered(conn: &mut DbConnection, seq: i64, subscription_id: &str, now: i64) -> Result<(), StoreError> {
    crate::db::write_transaction(conn, |c| {
        diesel::update(wd::table.find(seq)).set(wd::delivered_at.eq(Some(now))).execute(c)?;
        diesel::update(ws::table.find(subscription_id)).set(ws::failing_since.eq(None::<i64>)).execute(c)?;
        Ok(())
    })
}

/// A delivery failed: tried again at `retry_at`; the subscription is marked
/// failing since `now` if it was not already. Returns since when it fails.
pub fn failed(conn: &mut DbConnection, seq: i64, subscription_id: &str, now: i64, retry_at: i64) -> Result<i64, StoreError> {
    crate::db::write_transaction(conn, |c| {
        diesel::update(wd::table.find(seq)).set(wd::next_at.eq(retry_at)).execute(c)?;
        diesel::update(ws::table.find(subscription_id).filter(ws::failing_since.is_null())).set(ws::failing_since.eq(Some(now))).execute(c)?;
        Ok(ws::table.find(subscription_id).select(ws::failing_since).first::<Option<i64>>(c)?.unwrap_or(now))
    })
}

/// The newest attempts of a subscription, newest first.
pub fn attempts(conn: &mut DbConnection, subscription_id: &str) -> Result<Vec<AttemptRow>, StoreError> {
    Ok(wa::table.filter(wa::subscription_id.eq(subscription_id)).order((wa::at.desc(), wa::id.desc())).limit(KEPT_ATTEMPTS).select(AttemptRow::as_select()).load(conn)?)
}

/// How many deliveries of a subscription wait.
pub fn pending(conn: &mut DbConnection, subscription_id: &str) -> Result<i64, StoreError> {
    Ok(wd::table.filter(wd::subscription_id.eq(subscription_id)).filter(wd::delivered_at.is_null()).count().get_result(conn)?)
}

/// Forgets deliveries delivered before `before` (the outbox does not grow forever).
pub fn sweep_delivered(conn: &mut DbConnection, before: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(wd::table.filter(wd::delivered_at.lt(before))).execute(conn)?)
}
