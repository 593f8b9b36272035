//! Token endpoint request and response shapes (RFC 6749 §4.1.3, §5.1).

use serde::{Deserialize, Serialize};

/// The form parameters of a token request that the grants read.
#[derive(Default, Clone)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub scope: Option<String>,
    pub refresh_token: Option<String>,
    /// RFC 8707: the API the access token is for.
    pub resource: Option<String>,
    /// RFC 8628 §3.4: the device code being polled for.
    pub device_code: Option<String>,
    /// RFC 9449: the request's `DPoP` header (a proof JWT), unchecked.
    pub dpop: Option<String>,
    /// RFC 8693 §2.1: the token exchanged (an access token of ours) and its type.
    pub subject_token: Option<String>,
    pub subject_token_type: Option<String>,
    /// RFC 8693 §2.1: the acting party's own token (delegation) and its type.
    pub actor_token: Option<String>,
    pub actor_token_type: Option<String>,
    /// RFC 8693 §2.1: the API (its audience) the new token is for.
    pub audience: Option<String>,
    /// RFC 8693 §2.1: the type of token asked for (an access token).
    pub requested_token_type: Option<String>,
}

/// RFC 6749 §5.1 (+ `id_token`, OIDC Core §3.1.3.3).
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// RFC 8693 §2.2.1: the type of the token issued by an exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<String>,
}

fn redacted<T>(v: &Option<T>) -> Option<&'static str> {
    v.as_ref().map(|_| "<redacted>")
}

/// Codes, verifiers and tokens never reach a log line.
impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("code", &redacted(&self.code))
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &redacted(&self.code_verifier))
            .field("scope", &self.scope)
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("resource", &self.resource)
            .field("device_code", &redacted(&self.device_code))
            .field("dpop", &redacted(&self.dpop))
            .field("subject_token", &redacted(&self.subject_token))
            .field("subject_token_type", &self.subject_token_type)
            .field("actor_token", &redacted(&self.actor_token))
            .field("actor_token_type", &self.actor_token_type)
            .field("audience", &self.audience)
            .field("requested_token_type", &self.requested_token_type)
            .finish()
    }
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("id_token", &redacted(&self.id_token))
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("issued_token_type", &self.issued_token_type)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_codes_and_tokens() {
        let req = TokenRequest {
            code: Some("lkc_SECRETCODE".into()),
            code_verifier: Some("VERIFIER".into()),
            refresh_token: Some("lkr_SECRETREFRESH".into()),
            device_code: Some("lkd_SECRETDEVICE".into()),
            subject_token: Some("eyJ.SECRETSUBJECT".into()),
            actor_token: Some("eyJ.SECRETACTOR".into()),
            ..Default::default()
        };
        let resp = TokenResponse {
            access_token: "eyJ.SECRETACCESS".into(),
            token_type: "Bearer".into(),
            expires_in: 300,
            scope: "openid".into(),
            id_token: Some("eyJ.SECRETID".into()),
            refresh_token: Some("lkr_SECRETREFRESH".into()),
            issued_token_type: None,
        };
        let text = format!("{req:?} {resp:?}");
        for secret in ["SECRETCODE", "VERIFIER", "SECRETREFRESH", "SECRETACCESS", "SECRETID", "SECRETDEVICE", "SECRETSUBJECT", "SECRETACTOR"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("<redacted>"));
    }
}
