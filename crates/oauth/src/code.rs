//! Authorization codes: single-use, short-lived, bound to everything the token
//! request must repeat. Kept in the fast store under a keyed hash of the code.

use serde::{Deserialize, Serialize};

/// RFC 6749 §4.1.2 recommends at most 10 minutes; a code is redeemed by a
/// back-end within a second or two, so 60 s leaves room for slow networks and
/// little for a stolen code.
pub const CODE_TTL_SECS: i64 = 60;

/// What a code stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub pkce: Option<String>,
    pub sid: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub acr: String,
    pub expires_at: i64,
    /// The API (audience) named by `resource` at the authorization endpoint.
    #[serde(default)]
    pub resource: Option<String>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code is bound to
    /// (`dpop_jkt` at `/authorize`, or the key of the proof sent to `/par`):
    /// only a token request with a proof of that key redeems it.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// RFC 8707 §2: the APIs named at the authorization endpoint when it
    /// named several (`resource` is then `None`): each token request picks one.
    #[serde(default)]
    pub resources: Vec<String>,
}

/// What a code is swapped for when it is redeemed (atomically, before anything
/// is issued), so a second redemption can revoke what the first one issued
/// (RFC 6749 §4.1.2, RFC 9700 §4.5).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Redemption {
    pub access_jtis: Vec<(String, i64)>,
    /// The refresh-token family the redemption started, if any.
    #[serde(default)]
    pub family_id: Option<String>,
}

pub fn code_key(hash: &str) -> String {
    format!("code:{hash}")
}

/// Set when a spent code is presented again, before anything is revoked: a
/// redemption still in flight checks it after creating its refresh family.
pub fn replayed_key(hash: &str) -> String {
    format!("code-replayed:{hash}")
}
