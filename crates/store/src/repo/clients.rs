use diesel::prelude::*;
use latchkey_domain::{Client, ClientId, ClientLinks, GrantType, ScopeSet, SigningAlg, TokenExchangePolicy};

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::clients;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
struct ClientRow {
    id: String,
    name: String,
    secret_hash: Option<String>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    scopes: String,
    admin: bool,
    id_token_alg: String,
    created_at: i64,
    backchannel_logout_uri: Option<String>,
    disabled_at: Option<i64>,
    require_par: bool,
    jwks: Option<String>,
    require_private_key_jwt: bool,
    require_dpop: bool,
    jwks_uri: Option<String>,
    logo_uri: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
    self_registered: bool,
    registration_token_hash: Option<String>,
    /// JSON array of API audiences.
    token_exchange_to: String,
    token_exchange_impersonation: bool,
    /// JSON array of client ids.
    may_act: String,
    metadata_expires_at: Option<i64>,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;

    fn try_from(r: ClientRow) -> Result<Self, StoreError> {
        let grant_names: Vec<String> = serde_json::from_str(&r.grant_types)?;
        Ok(Client {
            id: ClientId(r.id),
            name: r.name,
            secret_hash: r.secret_hash,
            redirect_uris: serde_json::from_str(&r.redirect_uris)?,
            post_logout_redirect_uris: serde_json::from_str(&r.post_logout_redirect_uris)?,
            grant_types: grant_names.iter().filter_map(|g| GrantType::parse(g)).collect(),
            allowed_scopes: ScopeSet::parse_lenient(&r.scopes),
            admin: r.admin,
            id_token_alg: SigningAlg::parse(&r.id_token_alg).ok_or_else(|| StoreError::Corrupt(format!("unknown id_token_alg {}", r.id_token_alg)))?,
            created_at: r.created_at,
            backchannel_logout_uri: r.backchannel_logout_uri,
            disabled_at: r.disabled_at,
            require_par: r.require_par,
            jwks: r.jwks,
            require_private_key_jwt: r.require_private_key_jwt,
            require_dpop: r.require_dpop,
            jwks_uri: r.jwks_uri,
            links: ClientLinks { logo_uri: r.logo_uri, policy_uri: r.policy_uri, tos_uri: r.tos_uri },
            self_registered: r.self_registered,
            token_exchange: TokenExchangePolicy { to: serde_json::from_str(&r.token_exchange_to)?, impersonation: r.token_exchange_impersonation, may_act: serde_json::from_str(&r.may_act)? },
        })
    }
}

pub fn insert(conn: &mut DbConnection, c: &Client) -> Result<(), StoreError> {
    diesel::insert_into(clients::table).values(&row_of(c)?).execute(conn)?;
    Ok(())
}

fn row_of(c: &Client) -> Result<ClientRow, StoreError> {
    let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
    Ok(ClientRow {
        id: c.id.0.clone(),
        name: c.name.clone(),
        secret_hash: c.secret_hash.clone(),
        redirect_uris: serde_json::to_string(&c.redirect_uris)?,
        post_logout_redirect_uris: serde_json::to_string(&c.post_logout_redirect_uris)?,
        grant_types: serde_json::to_string(&grants)?,
        scopes: c.allowed_scopes.to_string(),
        admin: c.admin,
        id_token_alg: c.id_token_alg.as_str().to_string(),
        created_at: c.created_at,
        backchannel_logout_uri: c.backchannel_logout_uri.clone(),
        disabled_at: c.disabled_at,
        require_par: c.require_par,
        jwks: c.jwks.clone(),
        require_private_key_jwt: c.require_private_key_jwt,
        require_dpop: c.require_dpop,
        jwks_uri: c.jwks_uri.clone(),
        logo_uri: c.links.logo_uri.clone(),
        policy_uri: c.links.policy_uri.clone(),
        tos_uri: c.links.tos_uri.clone(),
        self_registered: c.self_registered,
        registration_token_hash: None,
        token_exchange_to: serde_json::to_string(&c.token_exchange.to)?,
        token_exchange_impersonation: c.token_exchange.impersonation,
        may_act: serde_json::to_string(&c.token_exchange.may_act)?,
        metadata_expires_at: None,
    })
}

/// When the metadata document of client `id` (a client ID metadata
/// document client) is due to be fetched again; `None` for other clients.
pub fn metadata_expires_at(conn: &mut DbConnection, id: &str) -> Result<Option<i64>, StoreError> {
    Ok(clients::table.find(id).select(clients::metadata_expires_at).first::<Option<i64>>(conn).optional()?.flatten())
}

/// Stores a client described by its metadata document (id = the document's
/// URL), new or changed, good until `expires_at`. What the document says
/// replaces what was stored; the creation time stays.
pub fn upsert_from_metadata(conn: &mut DbConnection, c: &Client, expires_at: i64) -> Result<(), StoreError> {
    let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
    let (redirects, grants) = (serde_json::to_string(&c.redirect_uris)?, serde_json::to_string(&grants)?);
    let exists = clients::table.find(&c.id.0).select(clients::id).first::<String>(conn).optional()?.is_some();
    if !exists {
        match insert(conn, c) {
            // Another node stored the same document a moment ago: update it.
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    diesel::update(clients::table.find(&c.id.0))
        .set((
            clients::name.eq(&c.name),
            clients::secret_hash.eq(&c.secret_hash),
            clients::redirect_uris.eq(&redirects),
            clients::grant_types.eq(&grants),
            clients::scopes.eq(c.allowed_scopes.to_string()),
            clients::jwks.eq(&c.jwks),
            clients::jwks_uri.eq(&c.jwks_uri),
            clients::require_private_key_jwt.eq(c.require_private_key_jwt),
            clients::logo_uri.eq(&c.links.logo_uri),
            clients::policy_uri.eq(&c.links.policy_uri),
            clients::tos_uri.eq(&c.links.tos_uri),
            clients::self_registered.eq(true),
            clients::metadata_expires_at.eq(Some(expires_at)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Client>, StoreError> {
    clients::table.find(id).select(ClientRow::as_select()).first(conn).optional()?.map(Client::try_from).transpose()
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Client>, StoreError> {
    clients::table.order(clients::created_at.asc()).select(ClientRow::as_select()).load(conn)?.into_iter().map(Client::try_from).collect()
}

/// Removes a client; its grants go with it (ON DELETE CASCADE). Returns whether it existed.
pub fn remove(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(clients::table.find(id)).execute(conn)? > 0)
}

/// Replaces the scopes a client may be granted.
pub fn set_scopes(conn: &mut DbConnection, id: &str, scopes: &str) -> Result<bool, StoreError> {
    Ok(diesel::update(clients::table.find(id)).set(clients::scopes.eq(scopes)).execute(conn)? == 1)
}

/// Disables (`Some(now)`) or enables (`None`) a client.
pub fn set_disabled(conn: &mut DbConnection, id: &str, at: Option<i64>) -> Result<bool, StoreError> {
    Ok(diesel::update(clients::table.find(id)).set(clients::disabled_at.eq(at)).execute(conn)? == 1)
}

/// Requires (or not) pushed authorization requests of a client.
pub fn set_require_par(conn: &mut DbConnection, id: &str, required: bool) -> Result<bool, StoreError> {
    Ok(diesel::update(clients::table.find(id)).set(clients::require_par.eq(required)).execute(conn)? == 1)
}

/// Replaces a client's public keys (private_key_jwt) and whether it must use them.
pub fn set_keys(conn: &mut DbConnection, id: &str, jwks: Option<&str>, required: bool) -> Result<bool, StoreError> {
    Ok(diesel::update(clients::table.find(id)).set((clients::jwks.eq(jwks), clients::require_private_key_jwt.eq(required))).execute(conn)? == 1)
}

/// Requires (or not) DPoP-bound tokens of a client (RFC 9449).
pub fn set_require_dpop(conn: &mut DbConnection, id: &str, required: bool) -> Result<bool, StoreError> {
    Ok(diesel::update(clients::table.find(id)).set(clients::require_dpop.eq(required)).execute(conn)? == 1)
}

/// Changes the algorithm a client's ID tokens are signed with.
pub fn set_id_token_alg(conn: &mut DbConnection, id: &str, alg: &str) -> Result<bool, StoreError> {
    Ok(diesel::update(clients::table.find(id)).set(clients::id_token_alg.eq(alg)).execute(conn)? == 1)
}

/// Sets (or clears) the URL a client publishes its public keys at.
pub fn set_jwks_uri(conn: &mut DbConnection, id: &str, uri: Option<&str>) -> Result<bool, StoreError> {
    Ok(diesel::update(clients::table.find(id)).set(clients::jwks_uri.eq(uri)).execute(conn)? == 1)
}

/// Replaces a client's logo, privacy policy and terms-of-service URLs.
pub fn set_links(conn: &mut DbConnection, id: &str, links: &ClientLinks) -> Result<bool, StoreError> {
    let set = (clients::logo_uri.eq(&links.logo_uri), clients::policy_uri.eq(&links.policy_uri), clients::tos_uri.eq(&links.tos_uri));
    Ok(diesel::update(clients::table.find(id)).set(set).execute(conn)? == 1)
}

/// Replaces a client's token exchange policy (RFC 8693).
pub fn set_token_exchange(conn: &mut DbConnection, id: &str, policy: &TokenExchangePolicy) -> Result<bool, StoreError> {
    let set = (
        clients::token_exchange_to.eq(serde_json::to_string(&policy.to)?),
        clients::token_exchange_impersonation.eq(policy.impersonation),
        clients::may_act.eq(serde_json::to_string(&policy.may_act)?),
    );
    Ok(diesel::update(clients::table.find(id)).set(set).execute(conn)? == 1)
}

/// Replaces a client's secret hash (rotation).
pub fn set_secret_hash(conn: &mut DbConnection, id: &str, hash: &str) -> Result<bool, StoreError> {
    Ok(diesel::update(clients::table.find(id)).set(clients::secret_hash.eq(hash)).execute(conn)? == 1)
}

/// Replaces a client's name and URIs.
pub fn update(conn: &mut DbConnection, id: &str, name: &str, redirect_uris: &[String], post_logout: &[String], backchannel: Option<&str>) -> Result<bool, StoreError> {
    Ok(diesel::update(clients::table.find(id))
        .set((
            clients::name.eq(name),
            clients::redirect_uris.eq(serde_json::to_string(redirect_uris)?),
            clients::post_logout_redirect_uris.eq(serde_json::to_string(post_logout)?),
            clients::backchannel_logout_uri.eq(backchannel),
        ))
        .execute(conn)?
        == 1)
}

/// Marks a client as registered by itself (RFC 7591) and keeps the keyed
/// hash of its registration access token.
pub fn set_registration(conn: &mut DbConnection, id: &str, token_hash: &str) -> Result<bool, StoreError> {
    Ok(diesel::update(clients::table.find(id)).set((clients::self_registered.eq(true), clients::registration_token_hash.eq(Some(token_hash)))).execute(conn)? == 1)
}

/// The keyed hash of a self-registered client's registration access token.
pub fn registration_token_hash(conn: &mut DbConnection, id: &str) -> Result<Option<String>, StoreError> {
    Ok(clients::table.find(id).select(clients::registration_token_hash).first::<Option<String>>(conn).optional()?.flatten())
}

/// Self-registered clients created before `cutoff` that have not been used
/// since: no consent given (a grant written) and no refresh token used at
/// or after it. Operator-registered clients are never listed.
pub fn unused_self_registered(conn: &mut DbConnection, cutoff: i64) -> Result<Vec<String>, StoreError> {
    use crate::schema::{grants, refresh_families};
    let candidates: Vec<String> = clients::table.filter(clients::self_registered.eq(true)).filter(clients::created_at.lt(cutoff)).select(clients::id).load(conn)?;
    let mut unused = Vec::new();
    for id in candidates {
        let granted: i64 = grants::table.filter(grants::client_id.eq(&id)).filter(grants::updated_at.ge(cutoff)).count().get_result(conn)?;
        let refreshed: i64 = refresh_families::table.filter(refresh_families::client_id.eq(&id)).filter(refresh_families::last_used_at.ge(cutoff)).count().get_result(conn)?;
        if granted == 0 && refreshed == 0 {
            unused.push(id);
        }
    }
    Ok(unused)
}
