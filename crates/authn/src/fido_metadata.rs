//! The FIDO Metadata Service BLOB (issue #29): which authenticator models
//! exist, who vouches for their attestation, and whether they are security
//! keys. The operator downloads the BLOB (`https://mds3.fidoalliance.org/`)
//! and gives latchkey the file (`LATCHKEY_FIDO_MDS`); nothing is fetched at
//! runtime.
//!
//! The BLOB is a JWS whose `x5c` chain must lead to a trusted root: the
//! FIDO Alliance's (GlobalSign Root CA R3 and R46, shipped), or the
//! operator's own (`LATCHKEY_FIDO_MDS_ROOT`, for a private metadata
//! service). The signature and chain are checked by `compact_jwt`; the
//! payload is read with `fido-mds`'s types; the attestation roots of each
//! model become webauthn-rs's [`AttestationCaList`], which webauthn-rs checks
//! a registration's attestation statement against.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::SystemTime;

use compact_jwt::crypto::{Certificate, DecodePem, JwsX509VerifierBuilder};
use compact_jwt::traits::JwsVerifier;
use compact_jwt::JwsCompact;
use fido_mds::mds::{AttachmentHint, FidoMds as RawMds, KeyProtection};
use fido_mds::{FidoMds, StatusReport};
use webauthn_rs::prelude::{AttestationCaList, AttestationCaListBuilder, Uuid};

/// The roots the FIDO Alliance signs its metadata BLOB under (GlobalSign
/// Root CA R3 and R46): public certificates, shipped with the binary.
pub const FIDO_MDS_ROOTS: &str = include_str!("../data/fido-mds-roots.pem");

/// A BLOB larger than this is not a metadata BLOB (the FIDO Alliance's is
/// about 5 MB in 2026; room to grow, not to exhaust memory).
pub const MAX_BLOB_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetadataError {
    #[error("the metadata BLOB is larger than {MAX_BLOB_BYTES} bytes")]
    TooLarge,
    #[error("the metadata BLOB is not a signed JWS with an x5c chain")]
    NotAJws,
    #[error("the metadata BLOB's signature or certificate chain is not trusted ({0})")]
    Untrusted(String),
    #[error("the metadata BLOB's payload does not read as FIDO metadata: {0}")]
    Payload(String),
    #[error("no trusted root certificate could be read: {0}")]
    Roots(String),
    #[error("the metadata BLOB names no FIDO2 authenticator")]
    Empty,
}

/// One FIDO2 authenticator model the BLOB describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticator {
    pub aaguid: Uuid,
    pub description: String,
    /// A roaming authenticator with its keys in hardware or a secure
    /// element, bound to that one device: what "security keys only" allows.
    pub security_key: bool,
    /// Its latest status report says its keys or attestation are compromised,
    /// or its certification was revoked: never trusted.
    pub compromised: bool,
    /// The DER roots its attestation certificates chain to.
    roots: Vec<Vec<u8>>,
}

/// A read, verified BLOB.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// The BLOB's serial number (`no`): newer BLOBs have larger ones.
    pub serial: u32,
    /// When the FIDO Alliance says the next BLOB is due (ISO 8601 date).
    pub next_update: String,
    pub authenticators: Vec<Authenticator>,
}

/// Reads trusted roots from PEM text (one or more certificates).
pub fn roots_from_pem(pem: &str) -> Result<Vec<Certificate>, MetadataError> {
    let mut roots = Vec::new();
    for block in pem.split_inclusive("-----END CERTIFICATE-----").filter(|b| b.contains("-----BEGIN CERTIFICATE-----")) {
        let start = block.find("-----BEGIN CERTIFICATE-----").unwrap_or(0);
        roots.push(Certificate::from_pem(&block.as_bytes()[start..]).map_err(|e| MetadataError::Roots(e.to_string()))?);
    }
    if roots.is_empty() {
        return Err(MetadataError::Roots("no certificate in the PEM text".into()));
    }
    Ok(roots)
}

/// Verifies `blob` (the JWS text) against `roots` at `now` and reads it.
pub fn read_blob(blob: &str, roots: &[Certificate], now: SystemTime) -> Result<Metadata, MetadataError> {
    if blob.len() > MAX_BLOB_BYTES {
        return Err(MetadataError::TooLarge);
    }
    let jws = JwsCompact::from_str(blob.trim()).map_err(|_| MetadataError::NotAJws)?;
    let (leaf, chain) = match jws.get_x5c_chain() {
        Ok(Some(found)) => found,
        _ => return Err(MetadataError::NotAJws),
    };
    let mut builder = JwsX509VerifierBuilder::new(&leaf, &chain);
    for root in roots {
        builder = builder.add_trust_root(root.clone());
    }
    let verifier = builder.build(now).map_err(|e| MetadataError::Untrusted(format!("{e:?}")))?;
    let released = verifier.verify(&jws).map_err(|e| MetadataError::Untrusted(format!("{e:?}")))?;
    let raw: RawMds = released.from_json().map_err(|e| MetadataError::Payload(e.to_string()))?;
    let (serial, next_update) = (raw.no, raw.next_update.clone());
    // Each model's hints, from the raw statements (fido-mds keeps key
    // protection, not attachment hints).
    let hints: std::collections::HashMap<Uuid, Vec<AttachmentHint>> = raw.entries.iter().filter_map(|e| Some((e.aaguid?, e.metadata_statement.attachment_hint.clone()))).collect();
    let mds = FidoMds::from(raw);
    let mut authenticators: Vec<Authenticator> = mds
        .fido2
        .iter()
        .map(|d| {
            let attach = hints.get(&d.aaguid).map(Vec::as_slice).unwrap_or_default();
            let roaming = !attach.is_empty() && !attach.iter().any(|h| matches!(h, AttachmentHint::Internal));
            let hardware = !d.key_protection.is_empty() && d.key_protection.iter().all(|k| matches!(k, KeyProtection::Hardware | KeyProtection::SecureElement));
            let single_device = matches!(d.multi_device_credential_support, fido_mds::mds::MultiDeviceCredentialSupport::Unsupported);
            Authenticator {
                aaguid: d.aaguid,
                description: d.description.clone(),
                security_key: roaming && hardware && single_device,
                compromised: d.status_reports.iter().next_back().is_some_and(compromising),
                roots: d.attestation_root_certificates.clone(),
            }
        })
        .collect();
    authenticators.sort_by_key(|a| a.aaguid);
    authenticators.dedup_by_key(|a| a.aaguid);
    if authenticators.is_empty() {
        return Err(MetadataError::Empty);
    }
    Ok(Metadata { serial, next_update, authenticators })
}

/// A status that withdraws trust from a model.
fn compromising(report: &StatusReport) -> bool {
    matches!(
        report,
        StatusReport::AttestationKeyCompromise { .. }
            | StatusReport::UserKeyRemoteCompromise { .. }
            | StatusReport::UserKeyPhysicalCompromise { .. }
            | StatusReport::UserVerificationBypass { .. }
            | StatusReport::Revoked { .. }
    )
}

impl Metadata {
    /// The model with this AAGUID, if the BLOB describes it.
    pub fn authenticator(&self, aaguid: &Uuid) -> Option<&Authenticator> {
        self.authenticators.iter().find(|a| &a.aaguid == aaguid)
    }

    /// The attestation roots of the models `keep` accepts (never a
    /// compromised one), each root trusted for those models' AAGUIDs only.
    /// `None` when no model is left: nothing can be attested.
    pub fn ca_list(&self, keep: impl Fn(&Authenticator) -> bool) -> Option<AttestationCaList> {
        let mut builder = AttestationCaListBuilder::new();
        let mut any = false;
        for a in self.authenticators.iter().filter(|a| !a.compromised && keep(a)) {
            for root in &a.roots {
                // A root that does not read is skipped, not fatal: the model
                // simply cannot be attested.
                if builder.insert_device_der(root, a.aaguid, a.description.clone(), Default::default()).is_ok() {
                    any = true;
                }
            }
        }
        any.then(|| builder.build())
    }

    /// The AAGUIDs of the models that may be attested (none compromised).
    pub fn trusted_aaguids(&self) -> BTreeSet<Uuid> {
        self.authenticators.iter().filter(|a| !a.compromised && !a.roots.is_empty()).map(|a| a.aaguid).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_roots_read() {
        assert_eq!(roots_from_pem(FIDO_MDS_ROOTS).expect("roots").len(), 2);
        assert!(roots_from_pem("no pem here").is_err());
    }

    #[test]
    fn what_is_not_a_signed_blob_is_refused() {
        let roots = roots_from_pem(FIDO_MDS_ROOTS).expect("roots");
        assert_eq!(read_blob("not a jws", &roots, SystemTime::now()).unwrap_err(), MetadataError::NotAJws);
        // A JWS without an x5c chain (alg none, empty signature).
        let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s);
        let unsigned = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(r#"{"no":1}"#));
        assert_eq!(read_blob(&unsigned, &roots, SystemTime::now()).unwrap_err(), MetadataError::NotAJws);
        assert_eq!(read_blob(&"a".repeat(MAX_BLOB_BYTES + 1), &roots, SystemTime::now()).unwrap_err(), MetadataError::TooLarge);
    }
}
