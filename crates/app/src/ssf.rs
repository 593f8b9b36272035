//! SSF streams (issue #30): a relying party, authenticated as its client,
//! makes, reads, changes and removes its one stream, and asks for a
//! verification event (OpenID SSF 1.0 §8.1). What is sent on it is
//! `latchkey_oauth::ssf`'s; how, the webhooks' outbox.

use latchkey_oauth::ssf::{self, Signal, EVENTS_SUPPORTED, PUSH};
use latchkey_store::repo::webhooks::{self as repo, SubscriptionRow};
use serde_json::{json, Value};

use crate::{App, AppError};

/// What a stream's configuration may say (SSF 1.0 §8.1.1).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct StreamRequest {
    #[serde(default)]
    pub delivery: Option<Delivery>,
    #[serde(default)]
    pub events_requested: Option<Vec<String>>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Delivery {
    pub method: String,
    pub endpoint_url: Option<String>,
}

impl App {
    fn stream_config(&self, s: &SubscriptionRow) -> Value {
        let requested: Vec<&str> = s.events.split(' ').filter(|e| !e.is_empty()).collect();
        let delivered: Vec<&str> = requested.iter().copied().filter(|e| EVENTS_SUPPORTED.contains(e)).collect();
        json!({
            "stream_id": s.id,
            "iss": self.issuer,
            "aud": s.client_id,
            "delivery": { "method": PUSH, "endpoint_url": s.url },
            "events_supported": EVENTS_SUPPORTED,
            "events_requested": requested,
            "events_delivered": delivered,
        })
    }

    /// Checks a request's delivery and events; the endpoint and the events (space-separated).
    fn stream_fields(&self, req: &StreamRequest, current: Option<&SubscriptionRow>) -> Result<(String, String), AppError> {
        let url = match (&req.delivery, current) {
            (Some(d), _) => {
                if d.method != PUSH {
                    return Err(AppError::Invalid(format!("the delivery method is {PUSH} (push)")));
                }
                d.endpoint_url.clone().ok_or_else(|| AppError::Invalid("push delivery needs an endpoint_url".into()))?
            }
            (None, Some(c)) => c.url.clone(),
            (None, None) => return Err(AppError::Invalid("a stream needs a delivery".into())),
        };
        crate::webhooks::check_url(&url, self.ssf_allow_private)?;
        let events = match (&req.events_requested, current) {
            (Some(list), _) => {
                if let Some(bad) = list.iter().find(|e| e.contains(char::is_whitespace) || e.len() > 200) {
                    return Err(AppError::Invalid(format!("{bad:?} is not an event type")));
                }
                list.join(" ")
            }
            (None, Some(c)) => c.events.clone(),
            (None, None) => EVENTS_SUPPORTED.join(" "),
        };
        Ok((url, events))
    }

    /// The client's stream's configuration, if it has one.
    pub async fn ssf_stream(&self, client: &str) -> Result<Option<Value>, AppError> {
        let c = client.to_string();
        Ok(self.stores.db.run(move |db| repo::stream_of(db, &c)).await?.map(|s| self.stream_config(&s)))
    }

    /// Creates the client's stream (409 when it has one).
    pub async fn create_ssf_stream(&self, client: &str, req: &StreamRequest) -> Result<Value, AppError> {
        if self.ssf_stream(client).await?.is_some() {
            return Err(AppError::Conflict("this client has a stream; change it with PATCH or PUT".into()));
        }
        let (url, events) = self.stream_fields(req, None)?;
        let row = SubscriptionRow {
            id: uuid::Uuid::new_v4().to_string(),
            url,
            events,
            // Streams sign with latchkey's keys: no shared secret.
            secret: String::new(),
            allow_private: self.ssf_allow_private,
            created_at: self.clock.now(),
            disabled_at: None,
            failing_since: None,
            kind: repo::SSF.into(),
            client_id: Some(client.to_string()),
        };
        let r = row.clone();
        self.stores.db.run(move |db| repo::insert_subscription(db, &r)).await.map_err(|e| match e {
            latchkey_store::StoreError::Conflict(_) => AppError::Conflict("this client has a stream".into()),
            other => other.into(),
        })?;
        Ok(self.stream_config(&row))
    }

    /// Changes the client's stream (what the request leaves out stays).
    pub async fn update_ssf_stream(&self, client: &str, req: &StreamRequest) -> Result<Value, AppError> {
        let c = client.to_string();
        let current = self.stores.db.run(move |db| repo::stream_of(db, &c)).await?.ok_or(AppError::NotFound("stream"))?;
        let (url, events) = self.stream_fields(req, Some(&current))?;
        let (id, u, e) = (current.id.clone(), url.clone(), events.clone());
        self.stores.db.run(move |db| repo::update_stream(db, &id, &u, &e)).await?;
        Ok(self.stream_config(&SubscriptionRow { url, events, ..current }))
    }

    pub async fn delete_ssf_stream(&self, client: &str) -> Result<(), AppError> {
        let c = client.to_string();
        let current = self.stores.db.run(move |db| repo::stream_of(db, &c)).await?.ok_or(AppError::NotFound("stream"))?;
        self.stores.db.run(move |db| repo::remove_subscription(db, &current.id)).await?;
        Ok(())
    }

    /// Queues a verification event on the client's stream (SSF §8.1.4).
    pub async fn verify_ssf_stream(&self, client: &str, state: Option<String>) -> Result<(), AppError> {
        if self.ssf_stream(client).await?.is_none() {
            return Err(AppError::NotFound("stream"));
        }
        let queued = self.oauth.ssf_signal(client, client, &Signal::Verification { state }).await?;
        if !queued {
            return Err(AppError::NotFound("stream"));
        }
        Ok(())
    }

    /// `/.well-known/ssf-configuration` (SSF 1.0 §7.1).
    pub fn ssf_configuration(&self) -> Value {
        json!({
            "spec_version": "1_0",
            "issuer": self.issuer,
            "jwks_uri": format!("{}/jwks", self.issuer),
            "delivery_methods_supported": [PUSH],
            "configuration_endpoint": format!("{}/ssf/stream", self.issuer),
            "verification_endpoint": format!("{}/ssf/verify", self.issuer),
            "authorization_schemes": [{ "spec_urn": "urn:ietf:rfc:6749" }],
            "default_subjects": "ALL",
            "events_supported": ssf::EVENTS_SUPPORTED,
        })
    }
}
