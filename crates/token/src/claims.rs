//! Token claim sets.

use serde::{Deserialize, Serialize};

/// ID Token claims, OIDC Core §2 (plus §5.1 standard claims when scopes allow).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub acr: String,
    pub amr: Vec<String>,
    pub sid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    /// The user's groups (scope `groups`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

/// JWT access token claims, RFC 9068 §2.2.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    /// The user, or the client itself for `client_credentials` (RFC 9068 §2.2).
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The user's groups (scope `groups`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// The user's roles at the token's API (from the API's group mapping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// RFC 9449 §6: the key the token is bound to (DPoP); absent for bearer tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// RFC 8693 §4.1: the client acting for `sub` (a token exchange), with
    /// the actors before it nested inside (a delegation chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
    /// RFC 8693 §4.4: the clients that may act for `sub` with this token
    /// (one: an object; several: an array of such objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub may_act: Option<MayAct>,
    /// latchkey's own claim on an exchanged token: what it was exchanged
    /// from, so that revoking that revokes it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchanged_from: Option<ExchangedFrom>,
}

/// RFC 8693 §4.1 `act`: who acts, and (nested) who acted before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The acting client's id.
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Actor>>,
}

impl Actor {
    /// How many actors the chain names (this one and those nested in it).
    pub fn depth(&self) -> usize {
        1 + self.act.as_ref().map_or(0, |a| a.depth())
    }
}

/// One party a `may_act` claim names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MayActParty {
    pub sub: String,
}

/// RFC 8693 §4.4 `may_act`: one party as the RFC's object, several as an
/// array of such objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MayAct {
    One(MayActParty),
    Several(Vec<MayActParty>),
}

impl MayAct {
    /// The claim naming `clients` (`None` for none).
    pub fn of(clients: &[String]) -> Option<MayAct> {
        match clients {
            [] => None,
            [one] => Some(MayAct::One(MayActParty { sub: one.clone() })),
            many => Some(MayAct::Several(many.iter().map(|c| MayActParty { sub: c.clone() }).collect())),
        }
    }

    /// Whether client `id` may act.
    pub fn names(&self, id: &str) -> bool {
        match self {
            MayAct::One(p) => p.sub == id,
            MayAct::Several(ps) => ps.iter().any(|p| p.sub == id),
        }
    }
}

/// What an exchanged token comes from: the client the user's grant (and
/// session) is with, and the `jti` of every token up the chain (the first
/// one's first). Revoking any of these, that client's grants, or the
/// session revokes the exchanged token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangedFrom {
    pub client_id: String,
    pub jti: Vec<String>,
}

/// RFC 7800 confirmation: the SHA-256 thumbprint of the holder's key (RFC 9449 §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn may_act_is_an_object_for_one_and_an_array_for_several() {
        assert_eq!(MayAct::of(&[]), None);
        let one = MayAct::of(&["agent".to_string()]).map(|m| serde_json::to_value(m).ok());
        assert_eq!(one, Some(Some(serde_json::json!({ "sub": "agent" }))));
        let several = MayAct::of(&["a".to_string(), "b".to_string()]);
        assert_eq!(several.as_ref().map(|m| serde_json::to_value(m).ok()), Some(Some(serde_json::json!([{ "sub": "a" }, { "sub": "b" }]))));
        assert!(several.as_ref().is_some_and(|m| m.names("b") && !m.names("c")));
        let back: Option<MayAct> = serde_json::from_value(serde_json::json!({ "sub": "agent" })).ok();
        assert!(back.is_some_and(|m| m.names("agent")));
    }

    #[test]
    fn act_chains_nest_and_count() {
        let chain = Actor { sub: "c".into(), act: Some(Box::new(Actor { sub: "b".into(), act: None })) };
        assert_eq!(chain.depth(), 2);
        assert_eq!(serde_json::to_value(&chain).ok(), Some(serde_json::json!({ "sub": "c", "act": { "sub": "b" } })));
    }
}
