//! Passkeys (WebAuthn, via webauthn-rs): registration from the account page,
//! sign-in with a passkey and no password.
//!
//! Ceremony state lives in the fast store, single-use, for 5 minutes. The
//! relying-party id and origin come from the issuer URL and are checked
//! strictly by webauthn-rs.

use std::time::Duration;

use latchkey_domain::{Amr, SharedClock, User, UserId};
use latchkey_store::repo::passkeys::{self as repo, StoredPasskey};
use latchkey_store::repo::users;
use latchkey_store::{Db, FastStore};
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    AttestedPasskeyRegistration, CreationChallengeResponse, DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use webauthn_rs_proto::{AuthenticatorAttachment, ResidentKeyRequirement};

use crate::authenticator_policy::{Allowed, Audience, AuthenticatorPolicy, PasskeyPolicies, Refusal, Registered};
use crate::error::AuthnError;
use crate::passkey_kind::{kind_of, PasskeyKind};
use crate::passkey_providers::{aaguid_of_attestation, PasskeyProviders, ProviderName};
use crate::relying_party::RelyingParty;
use crate::ways_in::WaysIn;

/// A ceremony must finish within 5 minutes of its challenge (WebAuthn's own
/// default timeout), and its state is taken on first use.
pub const CEREMONY_TTL: Duration = Duration::from_secs(5 * 60);

#[derive(Clone)]
pub struct PasskeyService {
    webauthn: std::sync::Arc<Webauthn>,
    db: Db,
    fast: FastStore,
    clock: SharedClock,
    /// Who made each passkey, by its AAGUID.
    pub providers: PasskeyProviders,
    /// Which passkeys may be registered (issue #29).
    pub policies: PasskeyPolicies,
    /// The `/.well-known/webauthn` document, when related origins are set.
    related: Option<serde_json::Value>,
    rp_id: String,
}

#[derive(Serialize, Deserialize)]
struct RegistrationState {
    user_id: String,
    /// The session that started it (registration is for the signed-in user only).
    sid: String,
    ceremony: Registration,
}

/// A registration as started: attestation asked for (and the roots it
/// must chain to) when the policy requires it, else none.
#[derive(Serialize, Deserialize)]
enum Registration {
    Plain(PasskeyRegistration),
    Attested(AttestedPasskeyRegistration),
}

/// What the authenticator policy refuses, from webauthn-rs's attestation
/// errors: a model the roots do not vouch for, no attestation, a synced key.
fn refusal_of(e: &WebauthnError, policy: &AuthenticatorPolicy, audience: Audience) -> Option<Refusal> {
    let admins = audience == Audience::Admins;
    let outside = || match policy.allowed {
        Allowed::SecurityKeys => Refusal::SecurityKeysOnly { admins },
        Allowed::Listed => Refusal::NotListed { admins },
        Allowed::Any => Refusal::NotAttested { admins },
    };
    match e {
        WebauthnError::AttestationUntrustedAaguid | WebauthnError::CredentialMayNotBeHardwareBound => Some(outside()),
        WebauthnError::AttestationNotVerifiable
        | WebauthnError::AttestationChainNotTrusted(_)
        | WebauthnError::AttestationFormatMissingAaguid
        | WebauthnError::AttestationCertificateTrustStoreEmpty
        | WebauthnError::AttestationLeafCertMissing
        | WebauthnError::AttestationTrustFailure
        | WebauthnError::AttestationNotSupported => Some(Refusal::NotAttested { admins }),
        _ => None,
    }
}

#[derive(Serialize, Deserialize)]
enum AuthenticationState {
    /// Username first: only that user's passkeys are allowed.
    ForUser { user_id: String, state: PasskeyAuthentication, context: String },
    /// Usernameless: the authenticator says whose passkey it is.
    Discoverable { state: DiscoverableAuthentication, context: String },
}

/// A passkey as the account page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// Synced, on one device, or a security key (as far as its registration tells).
    pub kind: PasskeyKind,
    /// The authenticator model its registration named (lower-case, hyphenated).
    pub aaguid: Option<String>,
    /// Its provider ("iCloud Keychain", "YubiKey 5 Series"), when a list knows the AAGUID.
    pub provider: Option<ProviderName>,
}

/// A successful passkey sign-in.
pub struct PasskeySignIn {
    pub user_id: UserId,
    pub amr: Vec<Amr>,
    /// What the caller bound the ceremony to (e.g. the authorization request).
    pub context: String,
}

fn bad(e: impl std::fmt::Display) -> AuthnError {
    AuthnError::InvalidInput(format!("passkey: {e}"))
}

fn user_uuid(user: &UserId) -> Result<Uuid, AuthnError> {
    Uuid::parse_str(&user.0).map_err(bad)
}

impl PasskeyService {
    /// `issuer`: the relying-party origin; its host is the relying-party id
    /// unless `rp` names a parent domain. `rp`'s related origins may run
    /// ceremonies too (issue #29).
    pub fn new(issuer: &str, rp: &RelyingParty, policies: PasskeyPolicies, db: Db, fast: FastStore, clock: SharedClock) -> Result<PasskeyService, AuthnError> {
        let origin = Url::parse(issuer).map_err(bad)?;
        let rp_id = rp.id_for(&origin).map_err(|e| AuthnError::InvalidInput(e.to_string()))?;
        let mut builder = WebauthnBuilder::new(&rp_id, &origin).map_err(bad)?.rp_name("latchkey");
        for related in &rp.related_origins {
            builder = builder.append_allowed_origin(related);
        }
        let webauthn = builder.build().map_err(bad)?;
        Ok(PasskeyService { webauthn: std::sync::Arc::new(webauthn), providers: PasskeyProviders::new(db.clone()), policies, related: rp.well_known(), rp_id, db, fast, clock })
    }

    /// The `/.well-known/webauthn` document (related origins), if any.
    pub fn related_origins(&self) -> Option<&serde_json::Value> {
        self.related.as_ref()
    }

    /// The relying-party id passkeys are made for.
    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }

    /// The user handle of `user`'s passkeys (base64url), as the password
    /// manager knows it: what the WebAuthn Signal API names the account by.
    pub fn user_handle(user: &UserId) -> Result<String, AuthnError> {
        Ok(base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, user_uuid(user)?.as_bytes()))
    }

    async fn stored(&self, user: &UserId) -> Result<Vec<StoredPasskey>, AuthnError> {
        let id = user.0.clone();
        Ok(self.db.run(move |c| repo::list_for_user(c, &id)).await?)
    }

    fn parse(p: &StoredPasskey) -> Result<Passkey, AuthnError> {
        serde_json::from_str(&p.passkey).map_err(bad)
    }

    /// The user's passkeys, oldest first, each with its provider when a list knows it.
    pub async fn list(&self, user: &UserId) -> Result<Vec<PasskeyInfo>, AuthnError> {
        let stored = self.stored(user).await?;
        let names = self.providers.names(stored.iter().filter_map(|p| p.aaguid.clone()).collect()).await?;
        Ok(stored
            .into_iter()
            .map(|p| {
                let provider = p.aaguid.as_ref().and_then(|a| names.get(a).cloned());
                PasskeyInfo { kind: kind_of(&p.passkey), id: p.id, name: p.name, created_at: p.created_at, last_used_at: p.last_used_at, aaguid: p.aaguid, provider }
            })
            .collect())
    }

    /// The passkey of `user` last used at `at` (a sign-in's moment, within a
    /// few seconds), if any: what a new-device mail names.
    pub async fn used_at(&self, user: &UserId, at: i64) -> Result<Option<PasskeyInfo>, AuthnError> {
        let mut list = self.list(user).await?;
        list.retain(|p| p.last_used_at.is_some_and(|used| (used - at).abs() <= 5));
        Ok(list.into_iter().max_by_key(|p| p.last_used_at))
    }

    /// The credential ids (base64url) of the user's passkeys: what the
    /// account page tells the browser's password manager is still accepted.
    pub async fn credential_ids(&self, user: &UserId) -> Result<Vec<String>, AuthnError> {
        Ok(self.stored(user).await?.into_iter().map(|p| p.id).collect())
    }

    pub async fn has_passkey(&self, user: &UserId) -> Result<bool, AuthnError> {
        Ok(!self.stored(user).await?.is_empty())
    }

    /// Parks a ceremony's state, counted against `owner` (the client address
    /// for sign-ins, the account for registrations).
    async fn put_state<T: Serialize>(&self, prefix: &str, value: &T, owner: &str) -> Result<String, AuthnError> {
        let id = latchkey_token::crypto::random_token("");
        let json = serde_json::to_string(value).map_err(bad)?;
        // Evictable: anyone can start a sign-in ceremony without an account.
        self.fast.single_use().put_evictable(&format!("{prefix}:{id}"), &json, CEREMONY_TTL, owner).await?;
        Ok(id)
    }

    async fn take_state<T: for<'de> Deserialize<'de>>(&self, prefix: &str, id: &str) -> Result<T, AuthnError> {
        let json = self.fast.single_use().take(&format!("{prefix}:{id}")).await?.ok_or_else(|| bad("the ceremony is unknown, expired or already finished"))?;
        serde_json::from_str(&json).map_err(bad)
    }

    /// Starts registering a passkey for the signed-in `user` (session `sid`),
    /// asking for attestation when the authenticator policy requires it.
    pub async fn start_registration(&self, user: &User, sid: &str) -> Result<(String, CreationChallengeResponse), AuthnError> {
        let exclude = self.stored(&user.id).await?.iter().map(Self::parse).collect::<Result<Vec<_>, _>>()?.iter().map(|p| p.cred_id().clone()).collect();
        let policy = self.policies.for_user(user).await?;
        let (uid, name) = (user_uuid(&user.id)?, user.username.as_str());
        let (mut ccr, ceremony) = if policy.requires_attestation() {
            let audience = Audience::of(user);
            let metadata = self.policies.metadata().await;
            let Some(roots) = metadata.as_deref().and_then(|m| policy.ca_list(m)) else {
                tracing::error!(audience = audience.as_str(), "no authenticator in the FIDO metadata BLOB satisfies the passkey policy");
                return Err(AuthnError::PasskeyRefused(refusal_of(&WebauthnError::AttestationUntrustedAaguid, &policy, audience).unwrap_or(Refusal::NotAttested { admins: false })));
            };
            // Security keys are roaming authenticators: the browser's dialog offers those first.
            let attachment = (policy.allowed == Allowed::SecurityKeys).then_some(AuthenticatorAttachment::CrossPlatform);
            let (ccr, state) = self.webauthn.start_attested_passkey_registration(uid, name, name, Some(exclude), roots, attachment).map_err(bad)?;
            (ccr, Registration::Attested(state))
        } else {
            let (ccr, state) = self.webauthn.start_passkey_registration(uid, name, name, Some(exclude)).map_err(bad)?;
            (ccr, Registration::Plain(state))
        };
        // Ask for a discoverable credential (usernameless sign-in and autofill)
        // where the authenticator can store one; not required, so security keys
        // without resident-key storage still work.
        if let Some(sel) = ccr.public_key.authenticator_selection.as_mut() {
            sel.resident_key = Some(ResidentKeyRequirement::Preferred);
        }
        let id = self.put_state("webauthn-reg", &RegistrationState { user_id: user.id.0.clone(), sid: sid.to_string(), ceremony }, &format!("user:{}", user.id.0)).await?;
        Ok((id, ccr))
    }

    /// Finishes a registration started by the same user and session, if the
    /// authenticator policy in force now allows the passkey.
    /// Returns the passkey and its `amr` kind (`swk` synced, `hwk` device-bound).
    pub async fn finish_registration(&self, user: &User, sid: &str, ceremony: &str, credential: &RegisterPublicKeyCredential, name: &str) -> Result<(PasskeyInfo, Amr), AuthnError> {
        let st: RegistrationState = self.take_state("webauthn-reg", ceremony).await?;
        if st.user_id != user.id.0 || st.sid != sid {
            return Err(bad("the ceremony belongs to another session"));
        }
        let (policy, audience) = (self.policies.for_user(user).await?, Audience::of(user));
        let refused = |e: WebauthnError| match refusal_of(&e, &policy, audience) {
            Some(r) => AuthnError::PasskeyRefused(r),
            None => bad(e),
        };
        let (passkey, attested) = match &st.ceremony {
            Registration::Plain(state) => (self.webauthn.finish_passkey_registration(credential, state).map_err(bad)?, false),
            Registration::Attested(state) => (Passkey::from(self.webauthn.finish_attested_passkey_registration(credential, state).map_err(refused)?), true),
        };
        // Synced (backup-eligible) or device-bound, read from the stored form
        // (the credential's internals are not public API).
        let synced = serde_json::to_value(&passkey).ok().and_then(|v| v["cred"]["backup_eligible"].as_bool()).unwrap_or(false);
        let kind = if synced { Amr::Swk } else { Amr::Hwk };
        // The authenticator model, from the attestation object webauthn-rs
        // just verified (it does not keep the AAGUID of an unattested passkey).
        let aaguid = aaguid_of_attestation(&credential.response.attestation_object);
        let metadata = match policy.allowed {
            Allowed::SecurityKeys => self.policies.metadata().await,
            _ => None,
        };
        let registered = Registered { aaguid: aaguid.as_deref().and_then(|a| Uuid::parse_str(a).ok()), attested, synced };
        policy.check(&registered, metadata.as_deref(), audience).map_err(AuthnError::PasskeyRefused)?;
        let now = self.clock.now();
        let name = match name.trim() {
            "" => "Passkey".to_string(),
            n => n.chars().take(64).collect(),
        };
        let stored = StoredPasskey {
            id: base64_id(passkey.cred_id().as_ref()),
            user_id: user.id.0.clone(),
            name,
            passkey: serde_json::to_string(&passkey).map_err(bad)?,
            created_at: now,
            last_used_at: None,
            aaguid: aaguid.clone(),
        };
        let provider = self.providers.name(aaguid.as_deref()).await?;
        let info = PasskeyInfo { id: stored.id.clone(), name: stored.name.clone(), created_at: now, last_used_at: None, kind: kind_of(&stored.passkey), aaguid, provider };
        self.db.run(move |c| repo::insert(c, &stored)).await.map_err(|e| match e {
            latchkey_store::StoreError::Conflict(_) => bad("this passkey is already registered"),
            other => other.into(),
        })?;
        Ok((info, kind))
    }

    /// Starts a sign-in: for a known user (username first), or usernameless
    /// (discoverable credentials; `conditional` for passkey autofill).
    pub async fn start_authentication(&self, user: Option<&UserId>, conditional: bool, context: &str, owner: &str) -> Result<(String, RequestChallengeResponse), AuthnError> {
        let (rcr, state) = match user {
            Some(uid) => {
                let keys = self.stored(uid).await?.iter().map(Self::parse).collect::<Result<Vec<_>, _>>()?;
                if keys.is_empty() {
                    // Same answer shape as for a user with passkeys: a usernameless
                    // challenge, so the endpoint does not reveal who has passkeys.
                    let (rcr, state) = self.webauthn.start_discoverable_authentication().map_err(bad)?;
                    (rcr, AuthenticationState::Discoverable { state, context: context.to_string() })
                } else {
                    let (rcr, state) = self.webauthn.start_passkey_authentication(&keys).map_err(bad)?;
                    (rcr, AuthenticationState::ForUser { user_id: uid.0.clone(), state, context: context.to_string() })
                }
            }
            None => {
                let (mut rcr, state) = self.webauthn.start_discoverable_authentication().map_err(bad)?;
                if !conditional {
                    rcr.mediation = None;
                }
                (rcr, AuthenticationState::Discoverable { state, context: context.to_string() })
            }
        };
        let id = self.put_state("webauthn-auth", &state, owner).await?;
        Ok((id, rcr))
    }

    /// Verifies an assertion. User verification is required, so a passkey
    /// counts as two factors and phishing-resistant: `amr` is the key kind
    /// (`hwk` device-bound, `swk` synced), `user` and `mfa`.
    pub async fn finish_authentication(&self, ceremony: &str, credential: &PublicKeyCredential) -> Result<PasskeySignIn, AuthnError> {
        let state: AuthenticationState = self.take_state("webauthn-auth", ceremony).await?;
        let cred_id = base64_id(credential.get_credential_id());
        let (user_id, context, result) = match state {
            AuthenticationState::ForUser { user_id, state, context } => {
                let result = self.webauthn.finish_passkey_authentication(credential, &state).map_err(|e| self.refused(e))?;
                (user_id, context, result)
            }
            AuthenticationState::Discoverable { state, context } => {
                let (uuid, _) = self.webauthn.identify_discoverable_authentication(credential).map_err(|e| self.refused(e))?;
                let uid = UserId(uuid.hyphenated().to_string());
                let stored = self.stored(&uid).await?;
                // A user handle whose account is gone, or a passkey removed from it.
                let key = stored.iter().find(|p| p.id == cred_id).ok_or(AuthnError::UnknownPasskey)?;
                let passkey = Self::parse(key)?;
                let result = self.webauthn.finish_discoverable_authentication_v2(credential, state, DiscoverableKey::from(&passkey)).map_err(|e| self.refused(e))?;
                (uid.0, context, result)
            }
        };
        // Keep the signature counter and backup flags current.
        let id = base64_id(result.cred_id().as_ref());
        let (uid, now) = (user_id.clone(), self.clock.now());
        let row = {
            let i = id.clone();
            self.db.run(move |c| repo::find(c, &i)).await?
        }
        .filter(|p| p.user_id == uid)
        .ok_or_else(|| bad("unknown passkey"))?;
        let mut passkey = Self::parse(&row)?;
        passkey.update_credential(&result);
        let json = serde_json::to_string(&passkey).map_err(bad)?;
        self.db.run(move |c| repo::record_use(c, &id, &json, now)).await?;
        let kind = if result.backup_eligible() { Amr::Swk } else { Amr::Hwk };
        Ok(PasskeySignIn { user_id: UserId(user_id), amr: vec![kind, Amr::User, Amr::Mfa], context })
    }

    fn refused(&self, e: impl std::fmt::Display) -> AuthnError {
        tracing::warn!(target: "security", event = "passkey_refused", error = %e);
        AuthnError::InvalidCredentials
    }

    pub async fn rename(&self, user: &UserId, id: &str, name: &str) -> Result<bool, AuthnError> {
        let (u, i, n) = (user.0.clone(), id.to_string(), name.trim().chars().take(64).collect::<String>());
        if n.is_empty() {
            return Err(AuthnError::InvalidInput("a passkey needs a name".into()));
        }
        Ok(self.db.run(move |c| repo::rename(c, &u, &i, &n)).await?)
    }

    /// Removes one of the user's passkeys by id, whatever else they have
    /// (a set-up that lost its race undoes its registration).
    pub async fn discard(&self, user: &UserId, id: &str) -> Result<(), AuthnError> {
        let (u, i) = (user.0.clone(), id.to_string());
        self.db.run(move |c| repo::remove(c, &u, &i)).await?;
        Ok(())
    }

    /// Removes a passkey, unless it is the user's only way in (checked while
    /// holding the user's row, so a password removal at the same moment
    /// cannot leave the account with neither).
    pub async fn remove(&self, user: &User, id: &str) -> Result<bool, AuthnError> {
        let (uid, pid) = (user.id.clone(), id.to_string());
        let removed = self
            .db
            .run(move |c| {
                users::with_user_locked(c, &uid, |c| match WaysIn::read(c, &uid)?.may_remove_passkey() {
                    true => repo::remove(c, &uid.0, &pid).map(Some),
                    false => Ok(None),
                })
            })
            .await?;
        let Some(removed) = removed else {
            return Err(AuthnError::InvalidInput("this is your only way to sign in; add another passkey or a password first".into()));
        };
        Ok(removed)
    }
}

fn base64_id(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
