//! Claims about the user (OIDC Core §5.1, §5.3), released by scope (§5.4).

use latchkey_domain::{Scope, ScopeSet, User};
use serde_json::{json, Map, Value};

/// The claims `scopes` release about `user` (`groups`: the user's groups).
pub fn claims_for(user: &User, scopes: &ScopeSet, groups: Option<&[String]>) -> Value {
    let mut m = Map::new();
    m.insert("sub".into(), json!(user.id.0));
    if scopes.contains(Scope::Profile) {
        let p = &user.profile;
        m.insert("preferred_username".into(), json!(user.username));
        m.insert("name".into(), json!(p.name.clone().unwrap_or_else(|| user.username.clone())));
        for (k, v) in [("given_name", &p.given_name), ("family_name", &p.family_name), ("locale", &p.locale), ("zoneinfo", &p.zoneinfo)] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        if let Some(t) = p.updated_at {
            m.insert("updated_at".into(), json!(t));
        }
    }
    if let (true, Some(g)) = (scopes.contains(Scope::Groups), groups) {
        m.insert("groups".into(), json!(g));
    }
    if scopes.contains(Scope::Email) {
        m.insert("email".into(), json!(user.email));
        // True only after a link sent to this address was used.
        m.insert("email_verified".into(), json!(user.email_verified));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_domain::UserId;

    #[test]
    fn claims_follow_scopes() {
        let u = User {
            id: UserId("u1".into()),
            username: "alice".into(),
            email: "a@x".into(),
            password_hash: None,
            admin: false,
            created_at: 0,
            email_verified: false,
            profile: Default::default(),
            disabled_at: None,
            passkey_only: false,
        };
        let c = claims_for(&u, &ScopeSet::parse_lenient("openid"), None);
        assert_eq!(c, json!({"sub": "u1"}));
        let c = claims_for(&u, &ScopeSet::parse_lenient("openid email profile groups"), Some(&["staff".to_string()]));
        assert_eq!(c["groups"], json!(["staff"]));
        assert_eq!(c["email"], "a@x");
        assert_eq!(c["preferred_username"], "alice");
    }
}
