//! Token introspection (RFC 7662) and revocation (RFC 7009).

use latchkey_domain::{Client, ClientKind};
use latchkey_store::repo::refresh as repo;
use serde_json::{json, Value};

use crate::client_auth::ClientCredentials;
use crate::error::OAuthError;
use crate::issue::REFRESH_PREFIX;
use crate::service::OAuthService;

fn looks_like_refresh(token: &str, hint: Option<&str>) -> bool {
    token.starts_with(REFRESH_PREFIX) || hint == Some("refresh_token")
}

impl OAuthService {
    /// An API introspecting with its own credentials (`api add
    /// --introspection-secret`): the API id and secret, as client credentials.
    async fn authenticate_api(&self, creds: &ClientCredentials) -> Result<Option<latchkey_domain::Api>, OAuthError> {
        let Some(secret) = creds.secret() else { return Ok(None) };
        let apis = self.apis().await?;
        let hasher = self.tokens.master().hasher(latchkey_token::crypto::KeyPurpose::ClientSecret);
        Ok(apis.iter().find(|a| a.id == creds.client_id && a.introspection_secret_hash.as_deref().is_some_and(|h| hasher.verify(secret.expose(), h))).cloned())
    }

    /// RFC 7662. Confidential clients may introspect the tokens issued to
    /// them; an API (with its own credentials) the access tokens whose
    /// audience it is. Anything else is `active: false`.
    pub async fn introspect(&self, creds: &ClientCredentials, token: Option<&str>, hint: Option<&str>) -> Result<Value, OAuthError> {
        // A client, or else an API with its introspection credentials; the
        // rate limit (if any) counts whichever authenticated, or a failure.
        if let Some(gate) = &creds.gate {
            gate.admit(&creds.client_id)?;
        }
        let client = match self.check_client_credentials(creds).await {
            Ok(c) if c.kind() == ClientKind::Confidential => c,
            Ok(_) => return Err(creds.failure()),
            Err(e) => {
                let Some(api) = self.authenticate_api(creds).await? else {
                    if let (Some(gate), OAuthError::ClientAuthentication { .. }) = (&creds.gate, &e) {
                        gate.failed(&creds.client_id).await?;
                    }
                    return Err(e);
                };
                if let Some(gate) = &creds.gate {
                    gate.authenticated(&api.id, true).await?;
                }
                let token = token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
                return self.introspect_for_api(&api, token).await;
            }
        };
        if let Some(gate) = &creds.gate {
            gate.authenticated(&client.id.0, true).await?;
        }
        let token = token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        let inactive = json!({ "active": false });
        if looks_like_refresh(token, hint) {
            let hash = self.tokens.refresh_hasher().hash(token);
            let now = self.clock.now();
            let rules = self.rotation_rules(now);
            let (client_id, idle) = (client.id.0.clone(), self.tokens.config.refresh.idle);
            return Ok(self
                .db
                .run(move |c| {
                    let Some((t, f)) = repo::find(c, &hash)? else { return Ok(None) };
                    if f.client_id != client_id || !repo::is_active(c, &t, &f, rules)? {
                        return Ok(None);
                    }
                    let mut answer = json!({
                        "active": true, "token_type": "refresh_token", "client_id": f.client_id, "sub": f.user_id,
                        "scope": f.scope, "iat": t.created_at, "exp": f.absolute_expires_at.min(f.last_used_at + idle),
                    });
                    if let Some(jkt) = f.dpop_jkt {
                        answer["cnf"] = json!({ "jkt": jkt });
                    }
                    Ok(Some(answer))
                })
                .await?
                .unwrap_or(inactive));
        }
        match self.tokens.verify_access_token(token).await {
            // An access token is described only to the client it was issued
            // to: other clients learn nothing about whose token it is.
            Ok(c) if c.client_id != client.id.0 => Ok(inactive),
            Ok(c) => Ok(describe(&c)),
            Err(latchkey_token::TokenError::Store(e)) => Err(e.into()),
            Err(_) => Ok(inactive),
        }
    }

    /// An API sees only access tokens for its own audience.
    async fn introspect_for_api(&self, api: &latchkey_domain::Api, token: &str) -> Result<Value, OAuthError> {
        match self.tokens.verify_access_token(token).await {
            Ok(c) if c.aud == api.audience => Ok(describe(&c)),
            Err(latchkey_token::TokenError::Store(e)) => Err(e.into()),
            _ => Ok(json!({ "active": false })),
        }
    }

    /// RFC 7009. Revoking a refresh token revokes its family and the access
    /// tokens it issued. Unknown tokens and other clients' tokens are ignored
    /// (the answer is the same 200, §2.2).
    pub async fn revoke(&self, creds: &ClientCredentials, token: Option<&str>, hint: Option<&str>) -> Result<(), OAuthError> {
        let client = self.authenticate_client(creds).await?;
        let token = token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        if looks_like_refresh(token, hint) && self.revoke_refresh(&client, token).await? {
            return Ok(());
        }
        if let Ok(claims) = self.tokens.parse_access_token(token).await {
            if claims.client_id == client.id.0 {
                self.tokens.revoke_jti(&claims.jti, claims.exp).await?;
                tracing::info!(target: "security", event = "access_token_revoked", client_id = %client.id, jti = %claims.jti);
            }
        }
        Ok(())
    }

    async fn revoke_refresh(&self, client: &Client, token: &str) -> Result<bool, OAuthError> {
        let hash = self.tokens.refresh_hasher().hash(token);
        let (now, client_id) = (self.clock.now(), client.id.0.clone());
        let jtis = self
            .db
            .run(move |c| match repo::find(c, &hash)? {
                Some((_, f)) if f.client_id == client_id => repo::revoke_family(c, &f.id, now, "revoked by the client").map(Some),
                _ => Ok(None),
            })
            .await?;
        match jtis {
            Some(jtis) => {
                self.tokens.revoke_jtis(&jtis).await?;
                tracing::info!(target: "security", event = "refresh_token_revoked", client_id = %client.id);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

fn describe(c: &latchkey_token::AccessTokenClaims) -> Value {
    // RFC 9449 §6.2: a bound token says so, and to which key.
    let token_type = if c.cnf.is_some() { "DPoP" } else { "Bearer" };
    let mut v = json!({
        "active": true, "token_type": token_type, "client_id": c.client_id, "sub": c.sub, "scope": c.scope,
        "exp": c.exp, "iat": c.iat, "iss": c.iss, "aud": c.aud, "jti": c.jti,
    });
    if let Some(acr) = &c.acr {
        v["acr"] = json!(acr);
    }
    if let Some(t) = c.auth_time {
        v["auth_time"] = json!(t);
    }
    if let Some(r) = &c.roles {
        v["roles"] = json!(r);
    }
    if let Some(g) = &c.groups {
        v["groups"] = json!(g);
    }
    if let Some(cnf) = &c.cnf {
        v["cnf"] = json!({ "jkt": cnf.jkt });
    }
    // RFC 8693 §4.1, §4.4: who acts for `sub` with an exchanged token, and who may.
    if let Some(act) = &c.act {
        v["act"] = json!(act);
    }
    if let Some(may_act) = &c.may_act {
        v["may_act"] = json!(may_act);
    }
    v
}
