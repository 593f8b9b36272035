//! Ending sessions as relying parties see it: RP-Initiated Logout 1.0 (which
//! redirects are allowed) and Back-Channel Logout 1.0 (logout tokens POSTed to
//! every relying party a session signed in to).

use latchkey_domain::{Actor, ClientId, SecurityEvent, UserId};
use std::sync::Arc;
use std::time::Duration;

use latchkey_domain::{Client, Session};
use latchkey_store::repo::backchannel::{self as delivery_repo, Delivery};
use latchkey_store::repo::sessions as session_repo;
use latchkey_token::IdTokenClaims;
use serde::Serialize;
use serde_json::json;

use crate::error::OAuthError;
use crate::service::OAuthService;
use crate::trace::SendTraced;

/// A logout token is valid for 2 minutes: enough for delivery and retries.
const LOGOUT_TOKEN_TTL: i64 = 120;
/// Delivery attempts per relying party, with 1 s, 2 s, 4 s between them.
const BACKCHANNEL_ATTEMPTS: u32 = 4;
/// A relying party gets 5 s to answer each attempt.
const BACKCHANNEL_TIMEOUT: Duration = Duration::from_secs(5);
/// A node working on a delivery holds it this long (longer than its 4
/// attempts take); if it stops, another node (or the next start) retries.
const DELIVERY_LEASE: i64 = 60;
/// A delivery is picked up at most this many times (each with its 4
/// attempts) before it is given up and audited as failed.
const DELIVERY_ROUNDS: i32 = 3;
/// Longest a CLI command waits for its back-channel deliveries before it
/// exits: one whole round (4 attempts of at most 5 s, 7 s of pauses) and a
/// margin. What is still undelivered then stays recorded for the nodes.
pub const DELIVERY_WAIT: Duration = Duration::from_secs(30);
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

#[derive(Debug, Serialize)]
struct LogoutTokenClaims {
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    jti: String,
    sub: String,
    sid: String,
    events: serde_json::Value,
}

/// The parameters of an RP-initiated logout request.
#[derive(Debug, Default, Clone)]
pub struct EndSessionRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// What to do with it.
#[derive(Debug, Default)]
pub struct EndSessionPlan {
    /// The verified hint: who the relying party believes is signed in.
    pub hint: Option<IdTokenClaims>,
    /// Where to send the browser afterwards; only with a valid hint and a
    /// registered URI. `None`: show latchkey's own page.
    pub redirect: Option<String>,
    pub client_name: Option<String>,
}

impl OAuthService {
    /// Validates an RP-initiated logout request. Never fails: anything not
    /// proven (bad or missing hint, unregistered URI, client mismatch) just
    /// means no redirect.
    pub async fn plan_end_session(&self, req: &EndSessionRequest) -> Result<EndSessionPlan, OAuthError> {
        let hint = match req.id_token_hint.as_deref() {
            Some(h) => match self.tokens.verify_id_token_ignoring_expiry(h).await {
                Ok(claims) => Some(claims),
                Err(latchkey_token::TokenError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    tracing::info!(target: "security", event = "logout_hint_rejected", error = %e);
                    None
                }
            },
            None => None,
        };
        let Some(hint) = hint else { return Ok(EndSessionPlan::default()) };
        if req.client_id.as_deref().is_some_and(|c| c != hint.aud) {
            return Ok(EndSessionPlan::default());
        }
        let client = self.client(&hint.aud).await?;
        let redirect = match (&client, req.post_logout_redirect_uri.as_deref()) {
            (Some(c), Some(uri)) if c.post_logout_redirect_uris.iter().any(|u| u == uri) => Some(with_state(uri, req.state.as_deref())),
            _ => None,
        };
        Ok(EndSessionPlan { client_name: client.map(|c| c.name), hint: Some(hint), redirect })
    }

    /// After sessions ended: their session-bound refresh families and access
    /// tokens go, and every relying party they signed in to with a
    /// back-channel logout URI is told (in the background, with retries).
    pub async fn sessions_ended(self: &Arc<Self>, ended: &[Session]) -> Result<(), OAuthError> {
        for s in ended {
            self.end_session_tokens(&s.sid).await?;
            let sid = s.sid.clone();
            let clients = self.db.run(move |c| session_repo::clients_of(c, &sid)).await?;
            for client_id in clients {
                // CAEP session-revoked to its SSF stream, if it asked (issue #30).
                self.ssf_signal(&client_id, &s.user_id.0, &crate::ssf::Signal::SessionRevoked { sid: s.sid.clone() }).await?;
                let Some(client) = self.client(&client_id).await? else { continue };
                if client.backchannel_logout_uri.is_some() {
                    // Recorded before the first attempt: a stop cannot lose it.
                    let now = self.clock.now();
                    let d = Delivery {
                        id: uuid::Uuid::new_v4().to_string(),
                        client_id: client.id.0.clone(),
                        user_id: s.user_id.0.clone(),
                        sid: s.sid.clone(),
                        next_at: now + DELIVERY_LEASE,
                        rounds: 1,
                        created_at: now,
                    };
                    let row = d.clone();
                    self.db.run(move |c| delivery_repo::insert(c, &row)).await?;
                    let (me, running) = (self.clone(), self.deliveries.start());
                    // In the trace of the request that ended the session,
                    // without keeping that request's span open.
                    let span = crate::trace::in_current_trace(tracing::info_span!(target: "latchkey_trace", parent: None, "backchannel_logout", client_id = %client.id.0));
                    tokio::spawn(tracing::Instrument::instrument(
                        async move {
                            me.deliver_logout(d).await;
                            drop(running);
                        },
                        span,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Waits, at most `within`, until every delivery this process started
    /// is done (acknowledged, or its round of attempts over). `false`: some
    /// are still running; their rows stay, and a node retries them.
    pub async fn finish_backchannel_deliveries(&self, within: Duration) -> bool {
        let mut count = self.deliveries.subscribe();
        tokio::time::timeout(within, count.wait_for(|n| *n == 0)).await.is_ok_and(|r| r.is_ok())
    }

    /// Retries the deliveries whose node stopped (or gave up a round) before
    /// they were acknowledged; every node runs this in its upkeep.
    pub async fn retry_backchannel_deliveries(self: &Arc<Self>) -> Result<usize, OAuthError> {
        let now = self.clock.now();
        let due = self.db.run(move |c| delivery_repo::claim_due(c, now, now + DELIVERY_LEASE, 100)).await?;
        let n = due.len();
        for d in due {
            let (me, running) = (self.clone(), self.deliveries.start());
            tokio::spawn(async move {
                me.deliver_logout(d).await;
                drop(running);
            });
        }
        Ok(n)
    }

    /// Deliveries not yet acknowledged (for tests and metrics).
    pub async fn pending_backchannel_deliveries(&self) -> Result<i64, OAuthError> {
        Ok(self.db.run(delivery_repo::pending).await?)
    }

    fn logout_token_for(&self, client: &Client, sub: &str, sid: &str) -> Result<String, OAuthError> {
        let now = self.clock.now();
        let claims = LogoutTokenClaims {
            iss: self.config.issuer.clone(),
            aud: client.id.0.clone(),
            iat: now,
            exp: now + LOGOUT_TOKEN_TTL,
            jti: uuid::Uuid::new_v4().to_string(),
            sub: sub.to_string(),
            sid: sid.to_string(),
            events: json!({ BACKCHANNEL_EVENT: {} }),
        };
        Ok(self.tokens.sign_logout_token(&claims, client.id_token_alg)?)
    }

    /// One round of up to 4 attempts (1 s, 2 s, 4 s apart). Acknowledged: the
    /// row goes. Not: the row stays for the next round after its lease, until
    /// the last round gives up (audited).
    async fn deliver_logout(&self, d: Delivery) {
        let client_id = d.client_id.clone();
        let target = match self.client(&client_id).await {
            Ok(Some(c)) => c.backchannel_logout_uri.clone().map(|uri| (c, uri)),
            _ => None,
        };
        let Some((client, uri)) = target else {
            let id = d.id.clone();
            let _ = self.db.run(move |c| delivery_repo::delete(c, &id)).await;
            return;
        };
        let mut delay = Duration::from_secs(1);
        for attempt in 1..=BACKCHANNEL_ATTEMPTS {
            // A fresh token per attempt: a retry after a restart must not send an expired one.
            let Ok(token) = self.logout_token_for(&client, &d.user_id, &d.sid) else { return };
            let sent = self.http.post(&uri).timeout(BACKCHANNEL_TIMEOUT).form(&[("logout_token", token.as_str())]).send_traced().await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    let id = d.id.clone();
                    if let Err(e) = self.db.run(move |c| delivery_repo::delete(c, &id)).await {
                        tracing::warn!(error = %e, "could not clear a delivered back-channel logout");
                    }
                    let delivered = SecurityEvent::BackchannelLogoutDelivered { user: UserId(d.user_id.clone()), client: ClientId(client_id.clone()), round: d.rounds, attempt };
                    self.record(&Actor::System, delivered).await;
                    return;
                }
                Ok(r) => tracing::warn!(event = "backchannel_attempt_failed", client_id = %client_id, status = r.status().as_u16(), attempt),
                Err(e) => tracing::warn!(event = "backchannel_attempt_failed", client_id = %client_id, error = %e, attempt),
            }
            if attempt < BACKCHANNEL_ATTEMPTS {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        if d.rounds >= DELIVERY_ROUNDS {
            let id = d.id.clone();
            let _ = self.db.run(move |c| delivery_repo::delete(c, &id)).await;
            let failed = SecurityEvent::BackchannelLogoutFailed { user: UserId(d.user_id.clone()), client: ClientId(client_id.clone()), rounds: d.rounds, attempts: BACKCHANNEL_ATTEMPTS };
            self.record(&Actor::System, failed).await;
        }
    }
}

fn with_state(uri: &str, state: Option<&str>) -> String {
    match (url::Url::parse(uri), state) {
        (Ok(mut u), Some(s)) => {
            u.query_pairs_mut().append_pair("state", s);
            u.to_string()
        }
        _ => uri.to_string(),
    }
}
