//! Signing keys: generated at first start, stored encrypted in the database,
//! shared by every node, published as a JWKS (RFC 7517).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use latchkey_domain::SigningAlg;
use latchkey_store::repo::keys::StoredKey;
use serde_json::{json, Value};

use crate::crypto::MasterKey;
use crate::error::TokenError;

/// RSA modulus size. 2048 bits is the NIST minimum through 2030 and what every
/// OIDC relying party accepts; larger keys would make each ID token slower to sign.
const RSA_KEY_SIZE: KeySize = KeySize::Rsa2048;

pub fn jwt_alg(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::ES256 => Algorithm::ES256,
        SigningAlg::EdDSA => Algorithm::EdDSA,
    }
}

/// One usable signing key: both halves plus its public JWK.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub created_at: i64,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    pub jwk: Value,
    /// The private key parsed once, for [`SigningKey::sign_jws`].
    pair: ParsedKeyPair,
}

/// A private key as aws-lc-rs holds it, ready to sign. jsonwebtoken's
/// `encode` parses the key's DER on every call; for RSA that parse (the
/// key's checks and Montgomery set-up) cost more than the signature itself:
/// a quarter of the server's CPU on a returning user's sign-in.
enum ParsedKeyPair {
    Rsa(aws_lc_rs::rsa::KeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl ParsedKeyPair {
    fn parse(alg: SigningAlg, pkcs8: &[u8]) -> Result<ParsedKeyPair, TokenError> {
        Ok(match alg {
            SigningAlg::RS256 => ParsedKeyPair::Rsa(aws_lc_rs::rsa::KeyPair::from_pkcs8(pkcs8).map_err(|_| TokenError::Crypto("rsa key"))?),
            SigningAlg::ES256 => ParsedKeyPair::Ec(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).map_err(|_| TokenError::Crypto("ec key"))?),
            SigningAlg::EdDSA => ParsedKeyPair::Ed(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| TokenError::Crypto("ed25519 key"))?),
        })
    }

    /// The JWS signature of `message` (RFC 7518 §3: RSASSA-PKCS1-v1_5 with
    /// SHA-256; ECDSA P-256 as R || S; Ed25519 per RFC 8037).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match self {
            ParsedKeyPair::Rsa(kp) => {
                let mut signature = vec![0; kp.public_modulus_len()];
                kp.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &rng, message, &mut signature).map_err(|_| TokenError::Crypto("rsa signature"))?;
                Ok(signature)
            }
            ParsedKeyPair::Ec(kp) => Ok(kp.sign(&rng, message).map_err(|_| TokenError::Crypto("ec signature"))?.as_ref().to_vec()),
            ParsedKeyPair::Ed(kp) => Ok(kp.sign(message).as_ref().to_vec()),
        }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("alg", &self.alg).finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn pem_wrap(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

/// Generates a new key pair; returns the PKCS#8 private key and the public JWK
/// (without `kid`).
fn generate(alg: SigningAlg) -> Result<(Vec<u8>, Value), TokenError> {
    Ok(match alg {
        SigningAlg::RS256 => {
            let kp = aws_lc_rs::rsa::KeyPair::generate(RSA_KEY_SIZE).map_err(|_| TokenError::Crypto("rsa keygen"))?;
            let der = kp.as_der().map_err(|_| TokenError::Crypto("rsa export"))?;
            let public = kp.public_key();
            let jwk = json!({
                "kty": "RSA",
                "n": b64(public.modulus().big_endian_without_leading_zero()),
                "e": b64(public.exponent().big_endian_without_leading_zero()),
            });
            (der.as_ref().to_vec(), jwk)
        }
        SigningAlg::ES256 => {
            let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| TokenError::Crypto("ec keygen"))?;
            let der = kp.to_pkcs8v1().map_err(|_| TokenError::Crypto("ec export"))?;
            let point = kp.public_key().as_ref();
            // Uncompressed SEC1 point: 0x04 || X (32) || Y (32).
            if point.len() != 65 {
                return Err(TokenError::Crypto("unexpected EC point"));
            }
            let jwk = json!({ "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65]) });
            (der.as_ref().to_vec(), jwk)
        }
        SigningAlg::EdDSA => {
            let kp = Ed25519KeyPair::generate().map_err(|_| TokenError::Crypto("ed25519 keygen"))?;
            let der = kp.to_pkcs8().map_err(|_| TokenError::Crypto("ed25519 export"))?;
            let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(kp.public_key().as_ref()) });
            (der.as_ref().to_vec(), jwk)
        }
    })
}

fn jwk_str<'a>(jwk: &'a Value, field: &str) -> Result<&'a str, TokenError> {
    jwk.get(field).and_then(Value::as_str).ok_or(TokenError::Crypto("stored JWK is missing a field"))
}

impl SigningKey {
    /// Creates a key and the record to store for it.
    pub fn create(alg: SigningAlg, now: i64, master: &MasterKey) -> Result<(SigningKey, StoredKey), TokenError> {
        let (pkcs8, mut jwk) = generate(alg)?;
        let kid = format!("{}-{}", alg.as_str().to_ascii_lowercase(), &crate::crypto::random_token("")[..16]);
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!(alg.as_str());
        jwk["use"] = json!("sig");
        let stored = StoredKey { kid: kid.clone(), alg: alg.as_str().to_string(), private_key_enc: master.encrypt(&pkcs8, &kid)?, public_jwk: jwk.to_string(), created_at: now, retired_at: None };
        Ok((SigningKey::from_parts(kid, alg, now, &pkcs8, jwk)?, stored))
    }

    /// Rebuilds a key from its stored record.
    pub fn load(stored: &StoredKey, master: &MasterKey) -> Result<SigningKey, TokenError> {
        let alg = SigningAlg::parse(&stored.alg).ok_or(TokenError::Crypto("unknown key algorithm"))?;
        let pkcs8 = master.decrypt(&stored.private_key_enc, &stored.kid)?;
        let jwk: Value = serde_json::from_str(&stored.public_jwk).map_err(|_| TokenError::Crypto("stored JWK"))?;
        SigningKey::from_parts(stored.kid.clone(), alg, stored.created_at, &pkcs8, jwk)
    }

    fn from_parts(kid: String, alg: SigningAlg, created_at: i64, pkcs8: &[u8], jwk: Value) -> Result<SigningKey, TokenError> {
        let (encoding, decoding) = match alg {
            SigningAlg::RS256 => (
                // jsonwebtoken's DER path wants PKCS#1; its PEM path unwraps PKCS#8.
                EncodingKey::from_rsa_pem(pem_wrap(pkcs8).as_bytes())?,
                DecodingKey::from_rsa_components(jwk_str(&jwk, "n")?, jwk_str(&jwk, "e")?)?,
            ),
            SigningAlg::ES256 => (EncodingKey::from_ec_der(pkcs8), DecodingKey::from_ec_components(jwk_str(&jwk, "x")?, jwk_str(&jwk, "y")?)?),
            SigningAlg::EdDSA => (EncodingKey::from_ed_der(pkcs8), DecodingKey::from_ed_components(jwk_str(&jwk, "x")?)?),
        };
        let pair = ParsedKeyPair::parse(alg, pkcs8)?;
        Ok(SigningKey { kid, alg, created_at, encoding, decoding, jwk, pair })
    }

    /// A JWS in compact serialization (RFC 7515 §7.1) of `claims` under
    /// `header`, signed with this key (whose algorithm `header` must name):
    /// what `jsonwebtoken::encode` makes, with the key parsed once.
    pub fn sign_jws<T: serde::Serialize>(&self, header: &Header, claims: &T) -> Result<String, TokenError> {
        if header.alg != jwt_alg(self.alg) {
            return Err(TokenError::Crypto("the header names another algorithm than the key's"));
        }
        let serialization = |_| TokenError::Crypto("JWT serialization");
        let mut message = b64(&serde_json::to_vec(header).map_err(serialization)?);
        message.push('.');
        message.push_str(&b64(&serde_json::to_vec(claims).map_err(serialization)?));
        let signature = self.pair.sign(message.as_bytes())?;
        message.push('.');
        message.push_str(&b64(&signature));
        Ok(message)
    }
}

/// A new key is published in the JWKS this long before it signs anything, so
/// relying parties that cached the JWKS (`max-age` 300 s) have seen it first.
pub const KEY_PUBLISH_LEAD: i64 = 10 * 60;

/// The keys a node currently knows. All of them verify and are listed in the
/// JWKS; per algorithm, the newest key published for at least
/// [`KEY_PUBLISH_LEAD`] signs (or, before any has been, the oldest).
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: Vec<SigningKey>,
}

impl KeyRing {
    pub fn new(mut keys: Vec<SigningKey>) -> KeyRing {
        keys.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
        KeyRing { keys }
    }

    /// The signing key for `alg` at `now`. Every node computes the same answer
    /// from the same rows, so nodes agree without talking to each other.
    pub fn active(&self, alg: SigningAlg, now: i64) -> Option<&SigningKey> {
        let mut of_alg = self.keys.iter().filter(|k| k.alg == alg);
        let oldest = of_alg.next();
        self.keys.iter().rev().filter(|k| k.alg == alg).find(|k| k.created_at + KEY_PUBLISH_LEAD <= now).or(oldest)
    }

    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    pub fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn has(&self, alg: SigningAlg) -> bool {
        self.keys.iter().any(|k| k.alg == alg)
    }

    /// The JWK Set document (RFC 7517 §5).
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, encode, Header, Validation};

    #[test]
    fn every_algorithm_signs_and_verifies_after_a_store_round_trip() {
        let master = MasterKey::generate().unwrap();
        for alg in SigningAlg::ALL {
            let (_, stored) = SigningKey::create(alg, 1, &master).unwrap();
            let key = SigningKey::load(&stored, &master).unwrap();
            let mut header = Header::new(jwt_alg(alg));
            header.kid = Some(key.kid.clone());
            let token = encode(&header, &json!({"sub": "x", "exp": 4_000_000_000u64}), &key.encoding).unwrap();
            let mut v = Validation::new(jwt_alg(alg));
            v.validate_aud = false;
            let data = decode::<Value>(&token, &key.decoding, &v).unwrap();
            assert_eq!(data.claims["sub"], "x", "{alg:?}");
            // The key parsed once signs what jsonwebtoken verifies, with the
            // same header and claims segments jsonwebtoken's encode makes.
            let ours = key.sign_jws(&header, &json!({"sub": "x", "exp": 4_000_000_000u64})).unwrap();
            let data = decode::<Value>(&ours, &key.decoding, &v).unwrap();
            assert_eq!(data.claims["sub"], "x", "{alg:?}");
            assert_eq!(ours.rsplit_once('.').unwrap().0, token.rsplit_once('.').unwrap().0, "{alg:?}");
            if alg != SigningAlg::ES256 {
                // RSASSA-PKCS1-v1_5 and Ed25519 are deterministic: the same bytes.
                assert_eq!(ours, token, "{alg:?}");
            }
            // A header naming another algorithm is refused, never signed.
            let other = SigningAlg::ALL.into_iter().find(|a| *a != alg).unwrap();
            assert!(key.sign_jws(&Header::new(jwt_alg(other)), &json!({})).is_err());
            assert!(!stored.private_key_enc.contains("PRIVATE"), "stored encrypted");
        }
    }
}
