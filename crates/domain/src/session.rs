//! Browser sessions (server side).

use crate::auth_method::{Acr, Amr};
use crate::user::UserId;

/// The keyed hash of a session cookie value: what the store indexes sessions by.
/// The raw cookie value is never stored.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionKey(pub String);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(<hash>)")
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Session {
    pub key: SessionKey,
    /// Public session id (`sid` claim); not a secret and not the cookie value.
    pub sid: String,
    pub user_id: UserId,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// When the user last proved who they are in this session (`auth_time`).
    pub auth_time: i64,
    pub amr: Vec<Amr>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub revoked_at: Option<i64>,
    /// A friendly name for the device list ("Chrome on Linux").
    pub device_name: Option<String>,
    /// The remember-me device this session belongs to, if any.
    pub device_id: Option<String>,
    /// Restored from a remember-me device token rather than an interactive sign-in.
    pub restored: bool,
}

impl Session {
    pub fn acr(&self) -> Acr {
        Acr::from_methods(&self.amr)
    }

    /// Whether the session is still usable at `now` under the given limits.
    pub fn is_live(&self, now: i64, idle_secs: i64, absolute_secs: i64) -> bool {
        self.revoked_at.is_none() && now - self.last_seen_at <= idle_secs && now - self.created_at <= absolute_secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness() {
        let s = Session {
            key: SessionKey("h".into()),
            sid: "sid".into(),
            user_id: UserId("u".into()),
            created_at: 1000,
            last_seen_at: 1000,
            auth_time: 1000,
            amr: vec![Amr::Pwd],
            ip: None,
            user_agent: None,
            revoked_at: None,
            device_name: None,
            device_id: None,
            restored: false,
        };
        assert!(s.is_live(1100, 200, 500));
        assert!(!s.is_live(1300, 200, 5000), "idle");
        assert!(!s.is_live(1600, 5000, 500), "absolute");
        assert!(!Session { revoked_at: Some(1), ..s }.is_live(1001, 200, 500));
    }
}
