//! Shared signals (OpenID SSF 1.0, CAEP, RISC; issue #30): latchkey as a
//! transmitter. A relying party makes a stream (`/ssf/stream`, as its
//! client) and is pushed Security Event Tokens (RFC 8417, RFC 8935) about
//! the users it knows: a session it got tokens in ended (CAEP
//! `session-revoked`), a credential changed (CAEP `credential-change`), the
//! account disabled or deleted (RISC `account-disabled`, `account-purged`).
//!
//! A signal is queued in the outbox the webhooks use (a stream is a
//! subscription of kind `ssf`); the SET is signed when it is sent.

use latchkey_domain::{ClientId, UserId};
use latchkey_store::repo::webhooks::{self as outbox, SubscriptionRow};
use serde_json::{json, Value};

use crate::error::OAuthError;
use crate::service::OAuthService;

pub const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
pub const CREDENTIAL_CHANGE: &str = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
pub const ACCOUNT_DISABLED: &str = "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
pub const ACCOUNT_PURGED: &str = "https://schemas.openid.net/secevent/risc/event-type/account-purged";
pub const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";

/// The event types a stream may ask for.
pub const EVENTS_SUPPORTED: [&str; 4] = [SESSION_REVOKED, CREDENTIAL_CHANGE, ACCOUNT_DISABLED, ACCOUNT_PURGED];

/// RFC 8935 push delivery, the one method latchkey transmits with.
pub const PUSH: &str = "urn:ietf:rfc:8935";

/// What happened, to be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// The session `sid` (the `sid` of the ID tokens the client got) ended.
    SessionRevoked {
        sid: String,
    },
    /// A credential was added, removed or changed: `credential_type` as CAEP
    /// names them (`password`, `fido2-platform`, `fido2-roaming`, `app`), `change_type` `create`, `revoke` or `update`.
    CredentialChange {
        credential_type: &'static str,
        change_type: &'static str,
    },
    AccountDisabled,
    AccountPurged,
    /// The stream's verification (SSF §8.1.4), echoing `state`.
    Verification {
        state: Option<String>,
    },
}

impl Signal {
    pub fn event_type(&self) -> &'static str {
        match self {
            Signal::SessionRevoked { .. } => SESSION_REVOKED,
            Signal::CredentialChange { .. } => CREDENTIAL_CHANGE,
            Signal::AccountDisabled => ACCOUNT_DISABLED,
            Signal::AccountPurged => ACCOUNT_PURGED,
            Signal::Verification { .. } => VERIFICATION,
        }
    }

    /// The SET's `sub_id` (SSF 1.0 §3.2): the user by issuer and subject;
    /// with the session for `session-revoked`; the stream for verification.
    fn subject(&self, iss: &str, user: &str, stream: &str) -> Value {
        let user = json!({ "format": "iss_sub", "iss": iss, "sub": user });
        match self {
            Signal::SessionRevoked { sid } => json!({ "format": "complex", "user": user, "session": { "format": "opaque", "id": sid } }),
            Signal::Verification { .. } => json!({ "format": "opaque", "id": stream }),
            _ => user,
        }
    }

    fn event(&self, at: i64) -> Value {
        match self {
            Signal::SessionRevoked { .. } => json!({ "event_timestamp": at, "initiating_entity": "policy" }),
            Signal::CredentialChange { credential_type, change_type } => json!({ "event_timestamp": at, "credential_type": credential_type, "change_type": change_type, "initiating_entity": "user" }),
            Signal::AccountDisabled => json!({ "event_timestamp": at, "reason": "administrative" }),
            Signal::AccountPurged => json!({ "event_timestamp": at }),
            Signal::Verification { state } => state.as_ref().map(|s| json!({ "state": s })).unwrap_or_else(|| json!({})),
        }
    }
}

/// Whether `stream` asked for `event_type` (verification always goes).
pub fn wants(stream: &SubscriptionRow, event_type: &str) -> bool {
    event_type == VERIFICATION || stream.events.split(' ').any(|e| e == event_type)
}

impl OAuthService {
    /// Queues `signal` about `user` for `client`'s stream, if it has one
    /// that asked for it. Returns whether it was queued.
    pub async fn ssf_signal(&self, client: &str, user: &str, signal: &Signal) -> Result<bool, OAuthError> {
        let c = client.to_string();
        let Some(stream) = self.db.run(move |db| outbox::stream_of(db, &c)).await? else { return Ok(false) };
        if stream.disabled_at.is_some() || !wants(&stream, signal.event_type()) {
            return Ok(false);
        }
        let alg = match self.client(client).await? {
            Some(cl) => cl.id_token_alg,
            None => return Ok(false),
        };
        let (now, jti) = (self.clock.now(), uuid::Uuid::new_v4().to_string());
        let iss = self.config.issuer.clone();
        let claims = json!({
            "iss": iss,
            "aud": client,
            "iat": now,
            "jti": jti,
            "sub_id": signal.subject(&iss, user, &stream.id),
            "events": { signal.event_type(): signal.event(now) },
        });
        let payload = json!({ "alg": alg.as_str(), "claims": claims }).to_string();
        let sid = stream.id.clone();
        self.db.run(move |db| outbox::enqueue_for(db, &sid, &jti, &payload, now)).await?;
        Ok(true)
    }

    /// Queues `signal` about `user` for every client that holds a grant of theirs.
    pub async fn ssf_signal_user(&self, user: &UserId, signal: &Signal) -> Result<usize, OAuthError> {
        let u = user.clone();
        let grants = self.db.run(move |db| latchkey_store::repo::grants::list_for_user(db, &u)).await?;
        let mut clients: Vec<ClientId> = grants.into_iter().map(|g| g.client_id).collect();
        clients.sort_by(|a, b| a.0.cmp(&b.0));
        clients.dedup();
        let mut queued = 0;
        for c in clients {
            if self.ssf_signal(&c.0, &user.0, signal).await? {
                queued += 1;
            }
        }
        Ok(queued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_events_have_their_shapes() {
        let s = Signal::SessionRevoked { sid: "s1".into() };
        assert_eq!(s.subject("https://id.example", "u1", "st")["session"], json!({ "format": "opaque", "id": "s1" }));
        assert_eq!(s.subject("https://id.example", "u1", "st")["user"]["format"], "iss_sub");
        assert_eq!(Signal::AccountPurged.subject("https://id.example", "u1", "st"), json!({ "format": "iss_sub", "iss": "https://id.example", "sub": "u1" }));
        let c = Signal::CredentialChange { credential_type: "password", change_type: "update" };
        assert_eq!(c.event(7)["credential_type"], "password");
        assert_eq!(Signal::Verification { state: Some("x".into()) }.event(7), json!({ "state": "x" }));
    }
}
