//! The master key and the primitives built on it: encryption at rest of signing
//! keys, keyed hashes of secrets (client secrets, session ids, codes), random tokens.

use std::fs;
use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hmac;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::error::TokenError;

/// 256 bits: the AES-256-GCM key size, and the strength we want for every derived key.
pub const MASTER_KEY_LEN: usize = 32;
/// Random tokens (session ids, codes, client secrets) carry 256 bits of entropy:
/// unguessable even with offline attempts at hardware speed.
pub const TOKEN_BYTES: usize = 32;
const ENCRYPTED_PREFIX: &str = "v1:";

/// Purposes of keys derived from the master key; a new purpose gets a new label
/// so two uses never share a key.
#[derive(Debug, Clone, Copy)]
pub enum KeyPurpose {
    ClientSecret,
    Session,
    AuthCode,
    Csrf,
    RefreshToken,
    /// Remember-me device tokens.
    Device,
    /// Signed links in notification mails ("This wasn't me").
    MailLink,
    /// Backup codes (second factor).
    BackupCode,
    /// Single-use account links (set-up, recovery, email change).
    AccountLink,
    /// Device codes and user codes of the device authorization grant (RFC 8628).
    DeviceCode,
    /// Server-provided DPoP nonces (RFC 9449 §8).
    DpopNonce,
    /// Sign-in names that no account has, as failure counter keys and as
    /// the subject of known-device cookies (never stored as typed).
    LoginName,
    /// Codes mailed to confirm a risky sign-in (issue #32).
    SignInCode,
}

impl KeyPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            KeyPurpose::ClientSecret => b"latchkey/client-secret/v1",
            KeyPurpose::Session => b"latchkey/session/v1",
            KeyPurpose::AuthCode => b"latchkey/auth-code/v1",
            KeyPurpose::Csrf => b"latchkey/csrf/v1",
            KeyPurpose::RefreshToken => b"latchkey/refresh-token/v1",
            KeyPurpose::Device => b"latchkey/device/v1",
            KeyPurpose::AccountLink => b"latchkey/account-link/v1",
            KeyPurpose::MailLink => b"latchkey/mail-link/v1",
            KeyPurpose::BackupCode => b"latchkey/backup-code/v1",
            KeyPurpose::DeviceCode => b"latchkey/device-code/v1",
            KeyPurpose::DpopNonce => b"latchkey/dpop-nonce/v1",
            KeyPurpose::LoginName => b"latchkey/login-name/v1",
            KeyPurpose::SignInCode => b"latchkey/sign-in-code/v1",
        }
    }
}

/// The root secret of a deployment. Every node of a deployment must have the same one.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; MASTER_KEY_LEN],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// Parses 32 bytes given as base64 (standard or URL-safe) or 64 hex digits.
    pub fn parse(text: &str) -> Result<MasterKey, TokenError> {
        let t = text.trim();
        let bytes = hex::decode(t)
            .ok()
            .or_else(|| STANDARD.decode(t).ok())
            .or_else(|| URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')).ok())
            .ok_or_else(|| TokenError::MasterKey("not hex or base64".into()))?;
        let bytes: [u8; MASTER_KEY_LEN] = bytes.try_into().map_err(|_| TokenError::MasterKey(format!("must be {MASTER_KEY_LEN} bytes")))?;
        Ok(MasterKey { bytes })
    }

    pub fn generate() -> Result<MasterKey, TokenError> {
        let mut bytes = [0u8; MASTER_KEY_LEN];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| TokenError::Crypto("random"))?;
        Ok(MasterKey { bytes })
    }

    /// Reads the key file, or creates it (mode 0600) when it does not exist.
    pub fn load_or_create_file(path: &Path) -> Result<MasterKey, TokenError> {
        match fs::read_to_string(path) {
            Ok(text) => MasterKey::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = MasterKey::generate()?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    let mut builder = fs::DirBuilder::new();
                    builder.recursive(true);
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::DirBuilderExt;
                        builder.mode(0o700);
                    }
                    builder.create(dir).map_err(|e| TokenError::MasterKey(e.to_string()))?;
                }
                let mut opts = fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts.open(path).map_err(|e| TokenError::MasterKey(e.to_string()))?;
                f.write_all(hex::encode(key.bytes).as_bytes()).map_err(|e| TokenError::MasterKey(e.to_string()))?;
                Ok(key)
            }
            Err(e) => Err(TokenError::MasterKey(format!("{}: {e}", path.display()))),
        }
    }

    fn derive(&self, purpose: KeyPurpose) -> hmac::Key {
        let root = hmac::Key::new(hmac::HMAC_SHA256, &self.bytes);
        let sub = hmac::sign(&root, purpose.label());
        hmac::Key::new(hmac::HMAC_SHA256, sub.as_ref())
    }

    /// A hasher for one purpose; cheap to clone and to call on hot paths.
    pub fn hasher(&self, purpose: KeyPurpose) -> KeyedHasher {
        KeyedHasher { key: self.derive(purpose) }
    }

    fn aead(&self) -> Result<RandomizedNonceKey, TokenError> {
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &self.bytes), b"latchkey/at-rest/v1");
        RandomizedNonceKey::new(&AES_256_GCM, derived.as_ref()).map_err(|_| TokenError::Crypto("aead key"))
    }

    /// Encrypts with AES-256-GCM under a random nonce; `context` is bound as AAD so a
    /// ciphertext cannot be moved to another record.
    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> Result<String, TokenError> {
        let key = self.aead()?;
        let mut buf = plaintext.to_vec();
        let nonce = key.seal_in_place_append_tag(Aad::from(context.as_bytes()), &mut buf).map_err(|_| TokenError::Crypto("seal"))?;
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{ENCRYPTED_PREFIX}{}", STANDARD.encode(out)))
    }

    pub fn decrypt(&self, sealed: &str, context: &str) -> Result<Vec<u8>, TokenError> {
        let body = sealed.strip_prefix(ENCRYPTED_PREFIX).ok_or(TokenError::Crypto("unknown ciphertext version"))?;
        let raw = STANDARD.decode(body).map_err(|_| TokenError::Crypto("ciphertext encoding"))?;
        if raw.len() < NONCE_LEN {
            return Err(TokenError::Crypto("ciphertext too short"));
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| TokenError::Crypto("nonce"))?;
        let mut buf = ct.to_vec();
        let plain = self.aead()?.open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf).map_err(|_| TokenError::Crypto("decryption failed (wrong master key?)"))?;
        Ok(plain.to_vec())
    }
}

/// HMAC-SHA256 under a purpose-specific key. Used for secrets that are already
/// high-entropy (client secrets, session ids, codes), where a slow password hash
/// would only slow the hot path down without adding security.
#[derive(Clone)]
pub struct KeyedHasher {
    key: hmac::Key,
}

impl KeyedHasher {
    /// A hasher under an operator-supplied secret (e.g. `LATCHKEY_TOKEN_PEPPER`).
    pub fn from_secret(secret: &[u8]) -> KeyedHasher {
        KeyedHasher { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    /// Lower-case hex of the MAC: the form stored and indexed.
    pub fn hash(&self, value: &str) -> String {
        hex::encode(hmac::sign(&self.key, value.as_bytes()).as_ref())
    }

    /// Constant-time comparison of `value` against a stored hex hash.
    pub fn verify(&self, value: &str, stored_hex: &str) -> bool {
        match hex::decode(stored_hex) {
            Ok(tag) => hmac::verify(&self.key, value.as_bytes(), &tag).is_ok(),
            Err(_) => false,
        }
    }

    /// The MAC as standard, padded base64 (webhook signatures).
    pub fn tag_std_b64(&self, value: &str) -> String {
        STANDARD.encode(hmac::sign(&self.key, value.as_bytes()).as_ref())
    }

    /// The MAC as base64url (for CSRF tokens in forms).
    pub fn tag_b64(&self, value: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, value.as_bytes()).as_ref())
    }

    pub fn verify_b64(&self, value: &str, tag_b64: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(tag_b64) {
            Ok(tag) => hmac::verify(&self.key, value.as_bytes(), &tag).is_ok(),
            Err(_) => false,
        }
    }
}

/// `N` random bytes from the system generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut bytes).expect("system random number generator failed");
    bytes
}

/// A URL-safe random token of [`TOKEN_BYTES`] bytes, with an optional prefix.
pub fn random_token(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<TOKEN_BYTES>()))
}

/// SHA-256 of the input, base64url: the PKCE S256 transform (RFC 7636 §4.2).
pub fn sha256_b64url(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypt_round_trip_and_binding() {
        let k = MasterKey::generate().unwrap();
        let sealed = k.encrypt(b"secret key material", "kid-1").unwrap();
        assert_eq!(k.decrypt(&sealed, "kid-1").unwrap(), b"secret key material");
        assert!(k.decrypt(&sealed, "kid-2").is_err(), "context is bound");
        let other = MasterKey::generate().unwrap();
        assert!(other.decrypt(&sealed, "kid-1").is_err(), "other key fails");
    }

    #[test]
    fn keyed_hash_verifies_and_separates_purposes() {
        let k = MasterKey::generate().unwrap();
        let h = k.hasher(KeyPurpose::ClientSecret);
        let stored = h.hash("s3cret");
        assert!(h.verify("s3cret", &stored));
        assert!(!h.verify("s3cret!", &stored));
        assert_ne!(k.hasher(KeyPurpose::Session).hash("s3cret"), stored);
    }

    #[test]
    fn parse_master_key_forms() {
        let hex64 = "00".repeat(32);
        assert!(MasterKey::parse(&hex64).is_ok());
        assert!(MasterKey::parse(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(MasterKey::parse("short").is_err());
    }

    #[test]
    fn pkce_s256_vector() {
        // RFC 7636 Appendix B.
        assert_eq!(sha256_b64url(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn random_tokens_differ() {
        let a = random_token("lk_");
        assert!(a.starts_with("lk_"));
        assert_ne!(a, random_token("lk_"));
        assert_eq!(a.len(), 3 + 43);
    }
}
