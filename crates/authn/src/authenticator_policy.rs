//! Authenticator policies (issue #29): which passkeys may be registered,
//! for everyone and for administrators separately.
//!
//! - `any` (the default): every passkey, synced or not, attested or not.
//! - `listed`: only the authenticator models (AAGUIDs) the operator lists.
//! - `security-keys`: only hardware security keys: attested against the
//!   FIDO metadata BLOB, roaming, keys in hardware, bound to one device.
//!
//! With `attestation` on (always for `security-keys`), a registration must
//! carry an attestation statement (packed, tpm, android-key, apple,
//! fido-u2f) that webauthn-rs verifies and chains to a root the metadata
//! BLOB gives for that AAGUID; without it, the AAGUID a registration names
//! is the authenticator's own word (what `listed` can check then).
//!
//! The policy is checked at registration only: passkeys registered before
//! a stricter policy keep working (an operator removes them in the console).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use compact_jwt::crypto::Certificate;
use latchkey_domain::{SharedClock, User};
use latchkey_store::repo::passkey_policies::{self as repo, PolicyRow};
use latchkey_store::Db;
use webauthn_rs::prelude::{AttestationCaList, Uuid};

use crate::error::AuthnError;
use crate::fido_metadata::{read_blob, roots_from_pem, Metadata, MetadataError, FIDO_MDS_ROOTS};

/// At most this many AAGUIDs in a `listed` policy: an allow-list, not a catalogue.
pub const MAX_LISTED_AAGUIDS: usize = 256;

/// Which authenticators a policy lets people register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Allowed {
    #[default]
    Any,
    Listed,
    SecurityKeys,
}

impl Allowed {
    pub fn parse(s: &str) -> Option<Allowed> {
        match s.trim() {
            "any" | "" => Some(Allowed::Any),
            "listed" => Some(Allowed::Listed),
            "security-keys" => Some(Allowed::SecurityKeys),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Allowed::Any => "any",
            Allowed::Listed => "listed",
            Allowed::SecurityKeys => "security-keys",
        }
    }
}

/// Whom a policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    Admins,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Everyone => "everyone",
            Audience::Admins => "admins",
        }
    }

    pub fn parse(s: &str) -> Option<Audience> {
        match s {
            "everyone" => Some(Audience::Everyone),
            "admins" => Some(Audience::Admins),
            _ => None,
        }
    }

    pub fn of(user: &User) -> Audience {
        if user.admin {
            Audience::Admins
        } else {
            Audience::Everyone
        }
    }
}

/// One audience's policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthenticatorPolicy {
    pub allowed: Allowed,
    /// For [`Allowed::Listed`]: the models allowed.
    pub aaguids: BTreeSet<Uuid>,
    /// Attestation verified against the metadata BLOB.
    pub attestation: bool,
}

/// Parses a comma- or whitespace-separated list of AAGUIDs.
pub fn parse_aaguids(text: &str) -> Result<BTreeSet<Uuid>, String> {
    let mut out = BTreeSet::new();
    for item in text.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()) {
        let id = Uuid::parse_str(item).map_err(|_| format!("{:?} is not an AAGUID", item.chars().take(40).collect::<String>()))?;
        out.insert(id);
    }
    if out.len() > MAX_LISTED_AAGUIDS {
        return Err(format!("at most {MAX_LISTED_AAGUIDS} AAGUIDs"));
    }
    Ok(out)
}

/// Why a passkey was refused, in words the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this kind of passkey is not one your organisation allows")]
    NotListed { admins: bool },
    #[error("your organisation only allows security keys")]
    SecurityKeysOnly { admins: bool },
    #[error("this passkey could not prove which device made it, and your organisation requires that")]
    NotAttested { admins: bool },
}

impl Refusal {
    /// The message id of the sentence the page shows.
    pub fn message_id(self) -> &'static str {
        match self {
            Refusal::NotListed { admins: false } => "passkey-refused-not-listed",
            Refusal::NotListed { admins: true } => "passkey-refused-not-listed-admins",
            Refusal::SecurityKeysOnly { admins: false } => "passkey-refused-security-keys",
            Refusal::SecurityKeysOnly { admins: true } => "passkey-refused-security-keys-admins",
            Refusal::NotAttested { .. } => "passkey-refused-not-attested",
        }
    }
}

/// What a registration turned out to be, once webauthn-rs verified it.
#[derive(Debug, Clone, Copy)]
pub struct Registered {
    /// The model it named (`None`: all zeros or none).
    pub aaguid: Option<Uuid>,
    /// Its attestation chained to a root the metadata BLOB gives for that AAGUID.
    pub attested: bool,
    /// Backup-eligible: a synced passkey.
    pub synced: bool,
}

impl AuthenticatorPolicy {
    pub fn requires_attestation(&self) -> bool {
        self.attestation || self.allowed == Allowed::SecurityKeys
    }

    /// The policy in words for the console ("Any passkey", …) is the page's;
    /// this checks a verified registration against it.
    pub fn check(&self, reg: &Registered, metadata: Option<&Metadata>, audience: Audience) -> Result<(), Refusal> {
        let admins = audience == Audience::Admins;
        if self.requires_attestation() && !reg.attested {
            return Err(Refusal::NotAttested { admins });
        }
        match self.allowed {
            Allowed::Any => Ok(()),
            Allowed::Listed => match reg.aaguid {
                Some(id) if self.aaguids.contains(&id) => Ok(()),
                _ => Err(Refusal::NotListed { admins }),
            },
            Allowed::SecurityKeys => {
                let model = reg.aaguid.and_then(|id| metadata.and_then(|m| m.authenticator(&id)));
                match model {
                    Some(m) if m.security_key && !m.compromised && !reg.synced => Ok(()),
                    _ => Err(Refusal::SecurityKeysOnly { admins }),
                }
            }
        }
    }

    /// The attestation roots a registration under this policy may chain to
    /// (`None` when the policy asks for no attestation, or nothing in the
    /// BLOB qualifies).
    pub fn ca_list(&self, metadata: &Metadata) -> Option<AttestationCaList> {
        if !self.requires_attestation() {
            return None;
        }
        match self.allowed {
            Allowed::Any => metadata.ca_list(|_| true),
            Allowed::Listed => metadata.ca_list(|a| self.aaguids.contains(&a.aaguid)),
            Allowed::SecurityKeys => metadata.ca_list(|a| a.security_key),
        }
    }

    fn from_row(row: &PolicyRow) -> Option<AuthenticatorPolicy> {
        Some(AuthenticatorPolicy { allowed: Allowed::parse(&row.allowed)?, aaguids: parse_aaguids(&row.aaguids).ok()?, attestation: row.attestation })
    }

    fn to_row(&self, audience: Audience, now: i64) -> PolicyRow {
        PolicyRow {
            audience: audience.as_str().into(),
            allowed: self.allowed.as_str().into(),
            aaguids: self.aaguids.iter().map(Uuid::to_string).collect::<Vec<_>>().join(","),
            attestation: self.attestation,
            updated_at: now,
        }
    }
}

/// The deployment's policies (`LATCHKEY_PASSKEY_POLICY[_ADMINS]`,
/// `LATCHKEY_PASSKEY_AAGUIDS`, `LATCHKEY_PASSKEY_ATTESTATION`) and where the
/// metadata BLOB is (`LATCHKEY_FIDO_MDS`, `LATCHKEY_FIDO_MDS_ROOT`).
#[derive(Debug, Clone, Default)]
pub struct PolicyConfig {
    pub everyone: AuthenticatorPolicy,
    /// `None`: the same as everyone's.
    pub admins: Option<AuthenticatorPolicy>,
    pub metadata_file: Option<PathBuf>,
    /// PEM text of the roots the BLOB must chain to (`None`: the FIDO Alliance's).
    pub metadata_roots: Option<String>,
}

/// Where a policy in force comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySource {
    Configuration,
    Console,
}

/// The BLOB as last read, and the file's modification time then.
struct Loaded {
    modified: Option<SystemTime>,
    metadata: Arc<Metadata>,
}

/// The policies in force: the console's choice, else the configuration's;
/// and the metadata BLOB, read again when its file changes.
#[derive(Clone)]
pub struct PasskeyPolicies {
    db: Db,
    clock: SharedClock,
    config: Arc<PolicyConfig>,
    roots: Arc<Vec<Certificate>>,
    loaded: Arc<Mutex<Option<Loaded>>>,
}

impl PasskeyPolicies {
    /// Checks the configuration whole: the roots read, and a policy that
    /// needs attestation has a BLOB that verifies now.
    pub fn new(config: PolicyConfig, db: Db, clock: SharedClock) -> Result<PasskeyPolicies, String> {
        let roots = roots_from_pem(config.metadata_roots.as_deref().unwrap_or(FIDO_MDS_ROOTS)).map_err(|e| format!("LATCHKEY_FIDO_MDS_ROOT: {e}"))?;
        let needs = config.everyone.requires_attestation() || config.admins.as_ref().is_some_and(AuthenticatorPolicy::requires_attestation);
        if needs && config.metadata_file.is_none() {
            return Err("LATCHKEY_PASSKEY_POLICY security-keys and LATCHKEY_PASSKEY_ATTESTATION=required need the FIDO metadata BLOB: set LATCHKEY_FIDO_MDS".into());
        }
        let policies = PasskeyPolicies { db, clock, config: Arc::new(config), roots: Arc::new(roots), loaded: Arc::new(Mutex::new(None)) };
        if policies.config.metadata_file.is_some() {
            policies.load_now().map_err(|e| format!("LATCHKEY_FIDO_MDS: {e}"))?;
        }
        Ok(policies)
    }

    /// Whether a metadata BLOB is configured (policies needing attestation can be chosen).
    pub fn has_metadata(&self) -> bool {
        self.config.metadata_file.is_some()
    }

    fn load_now(&self) -> Result<Option<Arc<Metadata>>, String> {
        let Some(path) = self.config.metadata_file.as_ref() else {
            return Ok(None);
        };
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = loaded.as_ref().filter(|l| l.modified == modified && modified.is_some()) {
            return Ok(Some(l.metadata.clone()));
        }
        let blob = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(self.clock.now()).unwrap_or(0));
        let metadata = Arc::new(read_blob(&blob, &self.roots, now).map_err(|e: MetadataError| e.to_string())?);
        tracing::info!(serial = metadata.serial, authenticators = metadata.authenticators.len(), "read the FIDO metadata BLOB");
        *loaded = Some(Loaded { modified, metadata: metadata.clone() });
        Ok(Some(metadata))
    }

    /// The metadata BLOB in force (read again if its file changed). A file
    /// that no longer verifies keeps the last good one in force, and says so
    /// in the log; with none good, attestation cannot succeed.
    pub async fn metadata(&self) -> Option<Arc<Metadata>> {
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.load_now()).await {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the FIDO metadata BLOB does not read; keeping the last good one");
                self.loaded.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|l| l.metadata.clone())
            }
            Err(_) => None,
        }
    }

    /// The configuration's policy for `audience`.
    pub fn configured(&self, audience: Audience) -> AuthenticatorPolicy {
        match audience {
            Audience::Everyone => self.config.everyone.clone(),
            Audience::Admins => self.config.admins.clone().unwrap_or_else(|| self.config.everyone.clone()),
        }
    }

    /// The policy in force for `audience`, and where it comes from.
    pub async fn in_force(&self, audience: Audience) -> Result<(AuthenticatorPolicy, PolicySource), AuthnError> {
        let row = self.db.run(move |c| repo::find(c, audience.as_str())).await?;
        Ok(match row.as_ref().and_then(AuthenticatorPolicy::from_row) {
            Some(p) => (p, PolicySource::Console),
            None => (self.configured(audience), PolicySource::Configuration),
        })
    }

    /// The policy for registering a passkey on `user`'s account.
    pub async fn for_user(&self, user: &User) -> Result<AuthenticatorPolicy, AuthnError> {
        Ok(self.in_force(Audience::of(user)).await?.0)
    }

    /// Chooses `policy` for `audience` (the console). A policy needing
    /// attestation needs a metadata BLOB; a `listed` one needs AAGUIDs.
    pub async fn choose(&self, audience: Audience, policy: &AuthenticatorPolicy) -> Result<(), AuthnError> {
        if policy.requires_attestation() && !self.has_metadata() {
            return Err(AuthnError::InvalidInput("attestation needs the FIDO metadata BLOB (LATCHKEY_FIDO_MDS), which this deployment does not have".into()));
        }
        if policy.allowed == Allowed::Listed && policy.aaguids.is_empty() {
            return Err(AuthnError::InvalidInput("list at least one AAGUID".into()));
        }
        let row = policy.to_row(audience, self.clock.now());
        Ok(self.db.run(move |c| repo::put(c, &row)).await?)
    }

    /// Forgets the console's choice for `audience`: the configuration decides.
    pub async fn reset(&self, audience: Audience) -> Result<bool, AuthnError> {
        Ok(self.db.run(move |c| repo::clear(c, audience.as_str())).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(aaguid: Option<Uuid>, attested: bool, synced: bool) -> Registered {
        Registered { aaguid, attested, synced }
    }

    #[test]
    fn settings_read_and_refuse_what_is_not_one() {
        assert_eq!(Allowed::parse("security-keys"), Some(Allowed::SecurityKeys));
        assert_eq!(Allowed::parse("yubikeys"), None);
        let ids = parse_aaguids("ee882879-721c-4913-9775-3dfcce97072a, 0fb9bcbc-a0d4-4042-bbb0-559bc1631e28").expect("two");
        assert_eq!(ids.len(), 2);
        assert!(parse_aaguids("ee882879-721c-4913-9775").is_err());
        let many: Vec<String> = (0..=MAX_LISTED_AAGUIDS).map(|i| format!("00000000-0000-0000-0000-{i:012}")).collect();
        assert!(parse_aaguids(&many.join(",")).is_err());
    }

    #[test]
    fn each_policy_allows_what_it_says() {
        let yubi = Uuid::parse_str("ee882879-721c-4913-9775-3dfcce97072a").expect("uuid");
        let other = Uuid::parse_str("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4").expect("uuid");
        let any = AuthenticatorPolicy::default();
        assert!(any.check(&reg(None, false, true), None, Audience::Everyone).is_ok());
        assert!(!any.requires_attestation());

        let listed = AuthenticatorPolicy { allowed: Allowed::Listed, aaguids: [yubi].into(), attestation: false };
        assert!(listed.check(&reg(Some(yubi), false, false), None, Audience::Everyone).is_ok());
        assert_eq!(listed.check(&reg(Some(other), false, false), None, Audience::Everyone), Err(Refusal::NotListed { admins: false }));
        assert_eq!(listed.check(&reg(None, false, false), None, Audience::Admins), Err(Refusal::NotListed { admins: true }));

        let attested = AuthenticatorPolicy { attestation: true, ..listed.clone() };
        assert_eq!(attested.check(&reg(Some(yubi), false, false), None, Audience::Everyone), Err(Refusal::NotAttested { admins: false }));
        assert!(attested.check(&reg(Some(yubi), true, false), None, Audience::Everyone).is_ok());

        let keys = AuthenticatorPolicy { allowed: Allowed::SecurityKeys, ..Default::default() };
        assert!(keys.requires_attestation());
        // Without the model in a BLOB nothing is known to be a security key.
        assert_eq!(keys.check(&reg(Some(yubi), true, false), None, Audience::Admins), Err(Refusal::SecurityKeysOnly { admins: true }));
        assert_eq!(Refusal::SecurityKeysOnly { admins: true }.message_id(), "passkey-refused-security-keys-admins");
    }
}
