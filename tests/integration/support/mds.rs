//! A FIDO Metadata Service BLOB made by the test (issue #29): a JWS signed
//! RS256 by a leaf certificate under a root the test makes (as the FIDO
//! Alliance signs theirs under GlobalSign), carrying the `x5c` chain, with
//! a payload in the MDS3 schema (what `fido-mds` reads, unknown fields
//! refused).

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, RsaKeySize, PKCS_RSA_SHA256};
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// One authenticator model in the BLOB.
pub struct Model {
    pub aaguid: String,
    pub description: String,
    /// DER of the roots its attestation certificates chain to.
    pub roots: Vec<Vec<u8>>,
    /// A roaming key with keys in hardware (else a platform authenticator).
    pub security_key: bool,
    /// Its latest status (`FIDO_CERTIFIED_L1`, `REVOKED`, …).
    pub status: &'static str,
}

/// A signing chain: the root to trust and the leaf that signs BLOBs.
pub struct Signer {
    pub root_pem: String,
    root_der: Vec<u8>,
    leaf_der: Vec<u8>,
    leaf_key: KeyPair,
}

fn rsa() -> KeyPair {
    KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048).expect("RSA key")
}

impl Signer {
    /// A root and a leaf under it; an `expired` leaf was good in 2021 only.
    pub fn new(name: &str, expired: bool) -> Signer {
        let root_key = rsa();
        let mut root = CertificateParams::new(Vec::<String>::new()).expect("params");
        root.distinguished_name.push(DnType::CommonName, format!("{name} Root"));
        root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        root.not_before = rcgen::date_time_ymd(2020, 1, 1);
        root.not_after = rcgen::date_time_ymd(2090, 1, 1);
        let root_cert = root.self_signed(&root_key).expect("root");
        let leaf_key = rsa();
        let mut leaf = CertificateParams::new(Vec::<String>::new()).expect("params");
        leaf.distinguished_name.push(DnType::CommonName, format!("{name} Metadata Signer"));
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.not_before = rcgen::date_time_ymd(2021, 1, 1);
        leaf.not_after = if expired { rcgen::date_time_ymd(2021, 12, 31) } else { rcgen::date_time_ymd(2090, 1, 1) };
        let issuer = Issuer::new(root, root_key);
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("leaf");
        Signer { root_pem: root_cert.pem(), root_der: root_cert.der().to_vec(), leaf_der: leaf_cert.der().to_vec(), leaf_key }
    }

    /// The BLOB (compact JWS) listing `models`, serial `no`.
    pub fn blob(&self, models: &[Model], no: u32) -> String {
        let header = json!({ "alg": "RS256", "typ": "JWT", "x5c": [B64.encode(&self.leaf_der), B64.encode(&self.root_der)] });
        let payload = json!({
            "legalHeader": "Test metadata, made by latchkey's tests.",
            "no": no,
            "nextUpdate": "2099-01-01",
            "entries": models.iter().map(entry).collect::<Vec<_>>(),
        });
        let signing_input = format!("{}.{}", B64URL.encode(header.to_string()), B64URL.encode(payload.to_string()));
        let signature = rcgen::SigningKey::sign(&self.leaf_key, signing_input.as_bytes()).expect("signs");
        format!("{signing_input}.{}", B64URL.encode(signature))
    }
}

/// An MDS3 entry with a FIDO2 metadata statement.
fn entry(m: &Model) -> Value {
    let (hints, protection) = if m.security_key { (json!(["external", "wired", "nfc"]), json!(["hardware", "secure_element"])) } else { (json!(["internal"]), json!(["hardware", "tee"])) };
    json!({
        "aaguid": m.aaguid,
        "metadataStatement": {
            "legalHeader": "Test metadata.",
            "aaguid": m.aaguid,
            "description": m.description,
            "friendlyNames": { "en-US": m.description },
            "authenticatorVersion": 1,
            "protocolFamily": "fido2",
            "schema": 3,
            "upv": [{ "major": 1, "minor": 1 }],
            "authenticationAlgorithms": ["secp256r1_ecdsa_sha256_raw"],
            "publicKeyAlgAndEncodings": ["cose"],
            "attestationTypes": ["basic_full"],
            "userVerificationDetails": [[{ "userVerificationMethod": "presence_internal" }]],
            "keyProtection": protection,
            "matcherProtection": ["on_chip"],
            "cryptoStrength": 128,
            "attachmentHint": hints,
            "tcDisplay": [],
            "attestationRootCertificates": m.roots.iter().map(|r| B64.encode(r)).collect::<Vec<_>>(),
            "authenticatorGetInfo": { "versions": ["FIDO_2_0"], "aaguid": m.aaguid.replace('-', ""), "options": { "rk": true, "up": true, "uv": true }, "pinUvAuthProtocols": [1], "transports": ["usb"] },
        },
        "statusReports": [{ "status": m.status, "effectiveDate": "2024-01-01", "authenticatorVersion": 1 }],
        "timeOfLastStatusChange": "2024-01-01",
    })
}
