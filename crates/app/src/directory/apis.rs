//! The API directory: registering APIs (RFC 8707 resources), their scopes
//! and the roles they map to groups. What a request's `resource` and scopes
//! select is the protocol's (`latchkey_oauth::apis`).

use latchkey_domain::api::{API_TOKEN_TTL_RANGE, DEFAULT_API_TOKEN_TTL};
use latchkey_domain::scope::valid_scope_token;
use latchkey_domain::SecurityEvent;
use latchkey_domain::{Api, ApiScope, Scope, Secret, SigningAlg};
use latchkey_store::repo::{apis as repo, groups as group_repo};
use latchkey_store::StoreError;
use latchkey_token::crypto::{random_token, KeyPurpose};

use crate::admin::Admin;
use crate::directory::clients::CLIENT_SECRET_PREFIX;
use crate::AppError;

pub struct NewApi {
    pub name: String,
    pub audience: String,
    pub scopes: Vec<ApiScope>,
    pub access_token_ttl: Option<i64>,
    pub signing_alg: SigningAlg,
    /// Give the API credentials to introspect its tokens.
    pub introspection_secret: bool,
    /// Clients that registered themselves may ask for its scopes.
    pub self_registration: bool,
    /// latchkey serves its protected resource metadata (RFC 9728).
    pub publish_metadata: bool,
}

/// Parses `name=description` (the description defaults to the name).
pub fn parse_scope_arg(arg: &str) -> Result<ApiScope, String> {
    let (name, description) = arg.split_once('=').map(|(n, d)| (n.trim(), d.trim())).unwrap_or((arg.trim(), ""));
    validate_scope_name(name)?;
    let description = if description.is_empty() { name.to_string() } else { description.chars().take(200).collect() };
    Ok(ApiScope { name: name.to_string(), description })
}

fn validate_scope_name(name: &str) -> Result<(), String> {
    if !valid_scope_token(name) {
        return Err(format!("{name:?} is not a valid scope name (RFC 6749 §3.3: printable ASCII without spaces, quotes or backslashes)"));
    }
    if Scope::parse(name).is_some() {
        return Err(format!("{name} is an OpenID Connect scope of latchkey's own"));
    }
    Ok(())
}

/// RFC 8707 §2: an absolute URI without a fragment.
fn validate_audience(aud: &str) -> Result<(), String> {
    let u = url::Url::parse(aud).map_err(|_| format!("the audience {aud:?} is not an absolute URI"))?;
    if u.fragment().is_some() || aud.len() > 512 {
        return Err("the audience must not have a fragment and must be at most 512 characters".into());
    }
    Ok(())
}

impl Admin<'_> {
    /// Registers an API; returns it and, if asked for, its introspection
    /// secret (shown once, stored as a keyed hash).
    pub async fn register_api(&self, new: NewApi) -> Result<(Api, Option<Secret>), AppError> {
        let app = self.app;
        if new.name.trim().is_empty() || new.name.len() > 200 {
            return Err(AppError::Invalid("an API needs a name (at most 200 characters)".into()));
        }
        validate_audience(&new.audience).map_err(AppError::Invalid)?;
        for s in &new.scopes {
            validate_scope_name(&s.name).map_err(AppError::Invalid)?;
        }
        let ttl = new.access_token_ttl.unwrap_or(DEFAULT_API_TOKEN_TTL);
        if !(API_TOKEN_TTL_RANGE.0..=API_TOKEN_TTL_RANGE.1).contains(&ttl) {
            return Err(AppError::Invalid(format!("the access-token lifetime must be {}-{} seconds", API_TOKEN_TTL_RANGE.0, API_TOKEN_TTL_RANGE.1)));
        }
        let secret = new.introspection_secret.then(|| Secret::new(random_token(CLIENT_SECRET_PREFIX)));
        let api = Api {
            id: uuid::Uuid::new_v4().to_string(),
            name: new.name.trim().to_string(),
            audience: new.audience,
            access_token_ttl: ttl,
            signing_alg: new.signing_alg,
            introspection_secret_hash: secret.as_ref().map(|s| app.stores.master.hasher(KeyPurpose::ClientSecret).hash(s.expose())),
            scopes: new.scopes,
            roles: Vec::new(),
            created_at: app.clock.now(),
            self_registration: new.self_registration,
            publish_metadata: new.publish_metadata,
        };
        let a = api.clone();
        app.stores.db.run(move |c| repo::insert(c, &a)).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Conflict("that audience or one of those scope names is already registered".into()),
            other => other.into(),
        })?;
        app.oauth.forget_cached_apis();
        app.oauth.record(&self.actor.audited(), SecurityEvent::ApiRegistered { name: api.name.clone(), audience: api.audience.clone() }).await;
        Ok((api, secret))
    }

    /// Changes what the API allows (`None`: as it was): self-registered
    /// clients asking for its scopes, latchkey publishing its metadata.
    /// Audited; returns the API as it now stands.
    pub async fn set_api_options(&self, id_or_audience: &str, self_registration: Option<bool>, publish_metadata: Option<bool>) -> Result<Api, AppError> {
        let app = self.app;
        let mut api = app.oauth.api(id_or_audience).await?.ok_or(AppError::NotFound("API"))?;
        api.self_registration = self_registration.unwrap_or(api.self_registration);
        api.publish_metadata = publish_metadata.unwrap_or(api.publish_metadata);
        let (id, sr, pm) = (api.id.clone(), api.self_registration, api.publish_metadata);
        app.stores.db.run(move |c| repo::set_options(c, &id, sr, pm)).await?;
        app.oauth.forget_cached_apis();
        let change = format!("self-registered clients: {}, published metadata: {}", if sr { "allowed" } else { "not allowed" }, if pm { "yes" } else { "no" });
        app.oauth.record(&self.actor.audited(), SecurityEvent::ApiChanged { name: api.name.clone(), audience: api.audience.clone(), change }).await;
        Ok(api)
    }

    pub async fn remove_api(&self, id_or_audience: &str) -> Result<bool, AppError> {
        let app = self.app;
        let Some(api) = app.oauth.api(id_or_audience).await? else { return Ok(false) };
        let id = api.id.clone();
        let removed = app.stores.db.run(move |c| repo::remove(c, &id)).await?;
        app.oauth.forget_cached_apis();
        app.oauth.record(&self.actor.audited(), SecurityEvent::ApiRemoved { name: api.name.clone(), audience: api.audience.clone() }).await;
        Ok(removed)
    }

    pub async fn add_api_scope(&self, id_or_audience: &str, scope: ApiScope) -> Result<(), AppError> {
        let app = self.app;
        validate_scope_name(&scope.name).map_err(AppError::Invalid)?;
        let api = app.oauth.api(id_or_audience).await?.ok_or(AppError::NotFound("API"))?;
        app.stores.db.run(move |c| repo::add_scope(c, &api.id, &scope)).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Conflict("that scope name is already registered".into()),
            other => other.into(),
        })?;
        app.oauth.forget_cached_apis();
        Ok(())
    }

    pub async fn remove_api_scope(&self, id_or_audience: &str, name: &str) -> Result<bool, AppError> {
        let app = self.app;
        let api = app.oauth.api(id_or_audience).await?.ok_or(AppError::NotFound("API"))?;
        let n = name.to_string();
        let removed = app.stores.db.run(move |c| repo::remove_scope(c, &api.id, &n)).await?;
        app.oauth.forget_cached_apis();
        Ok(removed)
    }

    /// Members of `group` hold `role` at the API.
    pub async fn add_api_role(&self, id_or_audience: &str, role: &str, group: &str) -> Result<(), AppError> {
        let app = self.app;
        if !valid_scope_token(role) {
            return Err(AppError::Invalid("a role name is printable ASCII without spaces".into()));
        }
        let api = app.oauth.api(id_or_audience).await?.ok_or(AppError::NotFound("API"))?;
        let g = group.to_string();
        let gid = app.stores.db.run(move |c| group_repo::find_id(c, &g)).await?.ok_or(AppError::NotFound("group"))?;
        let r = role.to_string();
        app.stores.db.run(move |c| repo::add_role(c, &api.id, &r, &gid)).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Invalid("that role mapping exists".into()),
            other => other.into(),
        })?;
        app.oauth.forget_cached_apis();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_arguments_and_names() {
        assert_eq!(parse_scope_arg("orders:read=Read your orders").ok().map(|s| s.description), Some("Read your orders".into()));
        assert!(parse_scope_arg("openid=no").is_err());
        assert!(parse_scope_arg("bad scope").is_err());
        assert!(validate_audience("https://api.example.com/orders").is_ok());
        assert!(validate_audience("not a uri").is_err());
        assert!(validate_audience("https://a.example/#frag").is_err());
    }
}
