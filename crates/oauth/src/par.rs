//! Pushed authorization requests (RFC 9126): the client posts its
//! authorization request to `/par`, authenticated, and sends the browser to
//! `/authorize` with nothing but its `client_id` and the one-time
//! `request_uri` it got back. The parameters never pass through the browser,
//! so they cannot be read or changed there, and they are checked before the
//! user is involved.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::authorize::{self, AuthorizeParams};
use crate::client_auth::ClientCredentials;
use crate::error::{AuthorizeError, ErrorCode, OAuthError};
use crate::service::OAuthService;
use latchkey_token::crypto::random_token;

/// RFC 9126 §2.2: the `request_uri` form.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request waits for the browser: long enough for a
/// redirect, short enough that a leaked `request_uri` is soon worthless
/// (RFC 9126 §2.2 suggests a short lifetime; 60 s as in its example).
pub const PUSHED_REQUEST_TTL: Duration = Duration::from_secs(60);

/// Parameters that authenticate the client at `/par`: not part of the
/// authorization request that is stored.
const CLIENT_AUTH_PARAMS: [&str; 3] = ["client_secret", "client_assertion", "client_assertion_type"];

/// The answer of `/par` (RFC 9126 §2.2).
#[derive(Debug, Serialize)]
pub struct PushedRequest {
    pub request_uri: String,
    pub expires_in: u64,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    client_id: String,
    pairs: Vec<(String, String)>,
}

fn pushed_key(token: &str) -> String {
    format!("par:{token}")
}

/// The authorization endpoint's errors as the JSON errors of `/par` (RFC 9126 §2.3).
fn as_json(e: AuthorizeError) -> OAuthError {
    match e {
        AuthorizeError::Redirect { code, description, .. } => OAuthError::new(code, description),
        AuthorizeError::NoRedirect(message) => OAuthError::invalid_request(message),
        AuthorizeError::Store(s) => OAuthError::Store(s),
    }
}

impl OAuthService {
    /// `POST /par`: authenticates the client, checks the request as the
    /// authorization endpoint will, and stores it for one use.
    ///
    /// A DPoP proof sent with the push (RFC 9449 §10.1) binds the code to
    /// its key, as `dpop_jkt` does; when both are sent they must name the
    /// same key.
    pub async fn push_authorization(&self, creds: &ClientCredentials, pairs: Vec<(String, String)>, dpop_proof: Option<&str>) -> Result<PushedRequest, OAuthError> {
        let client = self.authenticate_client(creds).await?;
        let mut pairs: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| !CLIENT_AUTH_PARAMS.contains(&k.as_str())).collect();
        if let Some(proof) = dpop_proof {
            let jkt = self.check_dpop_proof(proof, "POST", "/par", None, self.config.dpop_require_nonce).await?.jkt;
            match pairs.iter().find(|(k, _)| k == "dpop_jkt") {
                Some((_, given)) if *given != jkt => {
                    tracing::warn!(target: "security", event = "par_dpop_jkt_mismatch", client_id = %client.id.0);
                    return Err(OAuthError::new(ErrorCode::InvalidDpopProof, "dpop_jkt does not name the key of the DPoP proof (RFC 9449 §10.1)"));
                }
                Some(_) => {}
                None => pairs.push(("dpop_jkt".into(), jkt)),
            }
        }
        let params = AuthorizeParams::from_pairs(pairs.clone());
        if params.get("request_uri").is_some() {
            return Err(OAuthError::invalid_request("request_uri cannot be pushed (RFC 9126 §2.1)"));
        }
        match params.get("client_id") {
            Some(id) if id != client.id.0 => return Err(OAuthError::invalid_request("client_id does not match the authenticated client")),
            Some(_) => {}
            None => pairs.push(("client_id".into(), client.id.0.clone())),
        }
        let params = AuthorizeParams::pushed(pairs.clone());
        let redirect_uri = authorize::check_client(&params, Some(&client)).map_err(as_json)?;
        let apis = self.apis_for(&params.resources(), &latchkey_domain::ScopeSet::parse_lenient(params.get("scope").unwrap_or("")), &client).await?;
        authorize::validate(&params, &client, &apis, redirect_uri, String::new(), String::new(), self.clock.now()).map_err(as_json)?;
        let token = random_token("");
        let stored = serde_json::to_string(&Stored { client_id: client.id.0.clone(), pairs }).map_err(latchkey_store::StoreError::from)?;
        self.fast.single_use().put_evictable(&pushed_key(&token), &stored, PUSHED_REQUEST_TTL, &format!("client:{}", client.id.0)).await?;
        tracing::info!(target: "security", event = "authorization_pushed", client_id = %client.id.0);
        Ok(PushedRequest { request_uri: format!("{REQUEST_URI_PREFIX}{token}"), expires_in: PUSHED_REQUEST_TTL.as_secs() })
    }

    /// At `/authorize`: the pushed parameters for a `request_uri` from
    /// `/par` (used up by this call), or `None` when the request has no such
    /// `request_uri` (any other `request_uri` is refused later).
    pub(crate) async fn pull_pushed(&self, params: &AuthorizeParams) -> Result<Option<AuthorizeParams>, AuthorizeError> {
        let Some(token) = params.get("request_uri").and_then(|u| u.strip_prefix(REQUEST_URI_PREFIX)) else { return Ok(None) };
        let expired = || AuthorizeError::NoRedirect("This sign-in request has expired or was already used. Go back to the application and start again.".into());
        let stored: Stored = match self.fast.single_use().take(&pushed_key(token)).await? {
            Some(json) => serde_json::from_str(&json).map_err(latchkey_store::StoreError::from)?,
            None => return Err(expired()),
        };
        if params.get("client_id") != Some(stored.client_id.as_str()) {
            tracing::warn!(target: "security", event = "pushed_request_client_mismatch", client_id = %stored.client_id);
            return Err(AuthorizeError::NoRedirect("This sign-in request belongs to another application.".into()));
        }
        Ok(Some(AuthorizeParams::pushed(stored.pairs)))
    }
}
