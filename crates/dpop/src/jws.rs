//! Compact JWS checking that also knows RFC 9864's fully-specified names.
//!
//! RFC 9864 (fully-specified JOSE algorithms) names EdDSA over Ed25519
//! `Ed25519`; oauth4webapi 3.x and openid-client 6.x sign with it by default.
//! `jsonwebtoken`'s header type knows only `EdDSA` and refuses the whole
//! header otherwise, so [`parse`] reads the header as JSON, maps `Ed25519` to
//! `EdDSA` (the same signature: RFC 8037 §3.1 over the Ed25519 curve), and
//! [`Jws::verify`] checks the signature with `jsonwebtoken`'s own verifier
//! (aws-lc-rs). Claims are returned unchecked: each caller has its rules.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Header};
use serde::de::DeserializeOwned;

/// RFC 9864 §2.2: the fully-specified name of EdDSA with the Ed25519 curve.
pub const ED25519: &str = "Ed25519";
/// RFC 8037 §3.1: the polymorphic name (the curve comes from the key).
pub const EDDSA: &str = "EdDSA";

/// Why a JWS was refused; the text is safe to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("the JWT is malformed")]
    Malformed,
    #[error("the JWT's signature does not verify")]
    BadSignature,
}

/// A compact JWS split into its parts, its header parsed.
#[derive(Debug, Clone)]
pub struct Jws<'a> {
    /// The header, with `alg` as `jsonwebtoken` names it (`Ed25519` read as
    /// [`Algorithm::EdDSA`]).
    pub header: Header,
    /// The header as sent (to see members the typed header drops).
    pub raw_header: serde_json::Value,
    /// Whether `alg` was the fully-specified `Ed25519`: the key must then be
    /// an Ed25519 key (not merely any OKP key).
    pub fully_specified_ed25519: bool,
    signing_input: &'a str,
    payload: &'a str,
    signature: &'a str,
}

/// Splits and parses `jwt` (nothing is verified yet).
pub fn parse(jwt: &str) -> Result<Jws<'_>, JwsError> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwsError::Malformed);
    };
    let signing_input = jwt.get(..header.len() + 1 + payload.len()).ok_or(JwsError::Malformed)?;
    let raw_header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).map_err(|_| JwsError::Malformed)?).map_err(|_| JwsError::Malformed)?;
    let fully_specified_ed25519 = raw_header.get("alg").and_then(|a| a.as_str()) == Some(ED25519);
    let mut typed = raw_header.clone();
    if fully_specified_ed25519 {
        if let Some(object) = typed.as_object_mut() {
            object.insert("alg".into(), serde_json::Value::from(EDDSA));
        }
    }
    let header: Header = serde_json::from_value(typed).map_err(|_| JwsError::Malformed)?;
    Ok(Jws { header, raw_header, fully_specified_ed25519, signing_input, payload, signature })
}

impl Jws<'_> {
    /// Whether `jwk` may verify this JWS's algorithm: `Ed25519` needs an
    /// Ed25519 key; other algorithms leave the check to the verifier (which
    /// refuses a key of another family).
    pub fn fits(&self, jwk: &Jwk) -> bool {
        !self.fully_specified_ed25519 || matches!(&jwk.algorithm, AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519)
    }

    /// Verifies the signature with `jwk` (see [`Jws::fits`]) and returns the
    /// claims.
    pub fn verify_with_jwk<T: DeserializeOwned>(&self, jwk: &Jwk) -> Result<T, JwsError> {
        if !self.fits(jwk) {
            return Err(JwsError::BadSignature);
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|_| JwsError::BadSignature)?;
        self.verify(&key)
    }

    /// Verifies the signature with `key` under the header's algorithm and
    /// returns the claims. HMAC is never accepted: the keys here are public.
    pub fn verify<T: DeserializeOwned>(&self, key: &DecodingKey) -> Result<T, JwsError> {
        if matches!(self.header.alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(JwsError::BadSignature);
        }
        let good = jsonwebtoken::crypto::verify(self.signature, self.signing_input.as_bytes(), key, self.header.alg).map_err(|_| JwsError::BadSignature)?;
        if !good {
            return Err(JwsError::BadSignature);
        }
        let payload = URL_SAFE_NO_PAD.decode(self.payload).map_err(|_| JwsError::Malformed)?;
        serde_json::from_slice(&payload).map_err(|_| JwsError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use jsonwebtoken::{encode, EncodingKey};
    use serde_json::json;

    fn ed_key() -> (Ed25519KeyPair, Jwk) {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).expect("key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
        let jwk = serde_json::from_value(json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()) })).expect("jwk");
        (pair, jwk)
    }

    /// Signs like oauth4webapi does: `"alg":"Ed25519"`, by hand (jsonwebtoken
    /// cannot write that header).
    fn sign_fully_specified(pair: &Ed25519KeyPair, header: serde_json::Value, claims: serde_json::Value) -> String {
        let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes()).as_ref()))
    }

    #[test]
    fn ed25519_and_eddsa_verify_alike() {
        let (pair, jwk) = ed_key();
        let token = sign_fully_specified(&pair, json!({ "alg": "Ed25519", "typ": "JWT" }), json!({ "sub": "x" }));
        let jws = parse(&token).expect("parses");
        assert_eq!(jws.header.alg, Algorithm::EdDSA);
        assert!(jws.fully_specified_ed25519);
        let claims: serde_json::Value = jws.verify_with_jwk(&jwk).expect("verifies");
        assert_eq!(claims["sub"], "x");
        // The same key under the polymorphic name, signed by jsonwebtoken.
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).expect("key");
        let other = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
        let other_jwk: Jwk = serde_json::from_value(json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(other.public_key().as_ref()) })).expect("jwk");
        let classic = encode(&Header::new(Algorithm::EdDSA), &json!({ "sub": "y" }), &EncodingKey::from_ed_der(pkcs8.as_ref())).expect("sign");
        let jws = parse(&classic).expect("parses");
        assert!(!jws.fully_specified_ed25519);
        assert_eq!(jws.verify_with_jwk::<serde_json::Value>(&other_jwk).expect("verifies")["sub"], "y");
        assert_eq!(jws.verify_with_jwk::<serde_json::Value>(&jwk), Err(JwsError::BadSignature), "another key");
    }

    #[test]
    fn tampering_and_wrong_keys_are_refused() {
        let (pair, jwk) = ed_key();
        let token = sign_fully_specified(&pair, json!({ "alg": "Ed25519" }), json!({ "sub": "x" }));
        let (input, _) = token.rsplit_once('.').expect("three parts");
        let forged = format!(
            "{}.{}",
            input.replace(&URL_SAFE_NO_PAD.encode(json!({ "sub": "x" }).to_string()), &URL_SAFE_NO_PAD.encode(json!({ "sub": "admin" }).to_string())),
            token.rsplit('.').next().unwrap_or_default()
        );
        assert_eq!(parse(&forged).expect("parses").verify_with_jwk::<serde_json::Value>(&jwk), Err(JwsError::BadSignature));
        // `Ed25519` with a key that is not Ed25519 (an EC key).
        let ec: Jwk =
            serde_json::from_value(json!({ "kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" })).expect("jwk");
        assert!(!parse(&token).expect("parses").fits(&ec));
        // HMAC is never a signature here, whatever key is given.
        let hs = encode(&Header::new(Algorithm::HS256), &json!({ "sub": "x" }), &EncodingKey::from_secret(b"k")).expect("sign");
        assert_eq!(parse(&hs).expect("parses").verify::<serde_json::Value>(&DecodingKey::from_secret(b"k")), Err(JwsError::BadSignature));
        for garbage in ["", "a.b", "a.b.c.d", "!!.e30.x", "e30.e30.x"] {
            assert!(parse(garbage).and_then(|j| j.verify_with_jwk::<serde_json::Value>(&jwk)).is_err(), "{garbage}");
        }
        // An unknown algorithm name stays malformed.
        assert!(parse(&sign_fully_specified(&pair, json!({ "alg": "Ed448" }), json!({}))).is_err());
    }
}
