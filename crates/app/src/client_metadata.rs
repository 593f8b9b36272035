//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document),
//! issue #27: a client nobody registered names itself by the https URL of a
//! JSON document that describes it, and latchkey fetches that document.
//!
//! On (`LATCHKEY_CLIENT_ID_METADATA=on`, off by default), a `client_id` that
//! is an https URL is resolved where a client first shows up (`/authorize`,
//! `/par`): the document is fetched within the rules of
//! [`latchkey_oauth::outbound`] (the address connected to must be public; 5 s;
//! 64 KiB; no redirect), must name itself (`client_id` equal to its URL),
//! and is held to the rules of a self-registered client (see
//! [`crate::registration`]): public (`none`) or `private_key_jwt` with its
//! `jwks_uri`/`jwks`, the OpenID Connect scopes and the scopes of APIs open
//! to self-registered clients, redirect URIs that are https, loopback or a
//! private-use scheme. The client is then kept as a row (grants and refresh
//! families refer to it), marked self-registered, until its document is due
//! again (HTTP caching, within bounds); the consent page names the
//! document's host beside the redirect's.

use latchkey_authn::rate_limit::METADATA_FETCH_PER_IP;
use latchkey_domain::{Client, ClientId};
use latchkey_oauth::outbound::{FetchError, GuardedFetcher};
use latchkey_store::repo::clients as client_repo;

use crate::registration::{ClientMetadata, RegistrationError, RegistrationPolicy};
use crate::{App, AppError};

/// Longest client id URL taken (a URL longer than this is no client's).
const MAX_CLIENT_ID_URL: usize = 2000;

/// Whether client ID metadata documents are used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MetadataPolicy {
    #[default]
    Off,
    On,
    /// Documents on this machine (`http://localhost`, `127.0.0.1`, `[::1]`)
    /// are fetched too: development and tests only.
    OnWithLoopback,
}

impl MetadataPolicy {
    pub fn parse(value: &str, allow_loopback: bool) -> Option<MetadataPolicy> {
        match (value, allow_loopback) {
            ("off" | "false" | "", _) => Some(MetadataPolicy::Off),
            ("on" | "true", false) => Some(MetadataPolicy::On),
            ("on" | "true", true) => Some(MetadataPolicy::OnWithLoopback),
            _ => None,
        }
    }

    pub fn enabled(self) -> bool {
        self != MetadataPolicy::Off
    }

    pub(crate) fn fetcher(self) -> Result<Option<GuardedFetcher>, AppError> {
        let allow_loopback = match self {
            MetadataPolicy::Off => return Ok(None),
            MetadataPolicy::On => false,
            MetadataPolicy::OnWithLoopback => true,
        };
        GuardedFetcher::new(allow_loopback).map(Some).map_err(|e| AppError::Invalid(format!("cannot make the metadata document client: {e}")))
    }
}

/// Why a client ID metadata document could not be used; said to the user on
/// an error page (no redirect is safe: the redirect URIs are the document's).
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("the application's metadata document could not be fetched: {0}")]
    Fetch(#[from] FetchError),
    #[error("the application's metadata document is not usable: {0}")]
    Invalid(String),
    /// Too many documents fetched for this address lately.
    #[error("too many applications looked up from this address; try again in {retry_after} s")]
    RateLimited { retry_after: i64 },
    #[error(transparent)]
    App(#[from] AppError),
}

/// Whether `client_id` has the shape of a metadata document URL (https, a
/// path, no fragment, no credentials); `None` for any other client id.
pub fn document_url(client_id: &str, allow_loopback: bool) -> Option<url::Url> {
    if client_id.len() > MAX_CLIENT_ID_URL || !(client_id.starts_with("https://") || (allow_loopback && client_id.starts_with("http://"))) {
        return None;
    }
    let u = url::Url::parse(client_id).ok()?;
    let ok = u.fragment().is_none() && u.username().is_empty() && u.password().is_none() && u.path() != "/" && u.as_str() == client_id;
    ok.then_some(u)
}

/// The host a metadata-document client's id names (shown on the consent
/// page), or `None` for a client registered any other way.
pub fn document_host(client: &Client) -> Option<String> {
    if !client.self_registered {
        return None;
    }
    document_url(&client.id.0, true).and_then(|u| u.host_str().map(str::to_string))
}

impl App {
    /// Makes sure the client `client_id` names is known when it is a
    /// metadata document URL: fetched (or fetched again once due), checked
    /// and stored. Any other client id, or the feature off: nothing to do.
    /// `ip` is the requester's address: fetches are limited per address.
    pub async fn resolve_client_id_metadata(&self, client_id: &str, ip: &str) -> Result<(), MetadataError> {
        let Some(fetcher) = &self.metadata_fetcher else { return Ok(()) };
        let Some(url) = document_url(client_id, fetcher.allows_loopback()) else { return Ok(()) };
        let now = self.clock.now();
        let id = client_id.to_string();
        let due = self.stores.db.run(move |c| client_repo::metadata_expires_at(c, &id)).await.map_err(AppError::from)?;
        if due.is_some_and(|until| until > now) {
            return Ok(());
        }
        match self.limiter.hit(METADATA_FETCH_PER_IP, ip).await {
            Ok(()) => {}
            Err(latchkey_authn::AuthnError::RateLimited { retry_after }) => return Err(MetadataError::RateLimited { retry_after }),
            Err(e) => return Err(AppError::from(e).into()),
        }
        let fetched = fetcher.fetch(&url).await?;
        let meta = parse_document(&fetched.body, client_id)?;
        let new = self.new_client_from(RegistrationPolicy::Open, &meta).await.map_err(|e| match e {
            RegistrationError::App(a) => MetadataError::App(a),
            other => MetadataError::Invalid(other.to_string()),
        })?;
        let (mut client, _) = crate::directory::clients::build_client(new, &self.stores.master, now)?;
        client.id = ClientId(client_id.to_string());
        client.self_registered = true;
        let until = now + fetched.cache_secs;
        self.stores.db.run(move |c| client_repo::upsert_from_metadata(c, &client, until)).await.map_err(AppError::from)?;
        self.oauth.forget_cached_clients();
        Ok(())
    }
}

/// The document's client metadata, if it names itself `client_id` and asks
/// for what such a client may be.
fn parse_document(body: &[u8], client_id: &str) -> Result<ClientMetadata, MetadataError> {
    let doc: serde_json::Value = serde_json::from_slice(body).map_err(|_| MetadataError::Invalid("it is not JSON".into()))?;
    let Some(obj) = doc.as_object() else { return Err(MetadataError::Invalid("it is not a JSON object".into())) };
    if obj.get("client_id").and_then(|v| v.as_str()) != Some(client_id) {
        return Err(MetadataError::Invalid("its client_id is not the URL it was fetched from".into()));
    }
    if obj.contains_key("client_secret") || obj.contains_key("client_secret_expires_at") {
        return Err(MetadataError::Invalid("a metadata document must not carry a client secret".into()));
    }
    let mut meta: ClientMetadata = serde_json::from_value(doc).map_err(|e| MetadataError::Invalid(format!("a member has the wrong type ({e})")))?;
    match meta.token_endpoint_auth_method.as_deref() {
        None => meta.token_endpoint_auth_method = Some("none".into()),
        Some("none" | "private_key_jwt") => {}
        Some(other) => return Err(MetadataError::Invalid(format!("token_endpoint_auth_method {other:?}: use none or private_key_jwt (there is no shared secret)"))),
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_url_shaped_client_ids_are_documents() {
        assert!(document_url("https://app.example/client.json", false).is_some());
        for not in ["s6BhdRkqt3", "https://app.example/", "https://app.example", "https://u:p@app.example/c", "https://app.example/c#x", "http://app.example/c", "javascript:alert(1)"] {
            assert!(document_url(not, false).is_none(), "{not}");
        }
        assert!(document_url("http://127.0.0.1:8080/c.json", true).is_some(), "development: http too (the fetcher allows it only on loopback)");
        assert!(document_url("https://APP.example/c", false).is_none(), "not in canonical form: the URL must be the id exactly");
    }

    #[test]
    fn the_document_must_name_itself_and_carry_no_secret() {
        let id = "https://app.example/c.json";
        let ok = serde_json::json!({ "client_id": id, "redirect_uris": ["https://app.example/cb"] });
        let meta = parse_document(ok.to_string().as_bytes(), id).unwrap();
        assert_eq!(meta.token_endpoint_auth_method.as_deref(), Some("none"), "public unless it says private_key_jwt");
        let other = serde_json::json!({ "client_id": "https://evil.example/c.json", "redirect_uris": ["https://app.example/cb"] });
        assert!(matches!(parse_document(other.to_string().as_bytes(), id), Err(MetadataError::Invalid(_))));
        let secret = serde_json::json!({ "client_id": id, "client_secret": "x", "redirect_uris": ["https://app.example/cb"] });
        assert!(parse_document(secret.to_string().as_bytes(), id).is_err());
        let basic = serde_json::json!({ "client_id": id, "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": ["https://app.example/cb"] });
        assert!(parse_document(basic.to_string().as_bytes(), id).is_err());
        assert!(parse_document(b"[1,2]", id).is_err());
        assert!(parse_document(b"\x00garbage", id).is_err());
        let wrong_type = serde_json::json!({ "client_id": id, "redirect_uris": "https://app.example/cb" });
        assert!(parse_document(wrong_type.to_string().as_bytes(), id).is_err());
    }
}
