//! DPoP proofs (RFC 9449 §4): a client proves, on every request, that it
//! holds the private key a token is bound to, by sending a fresh JWT signed
//! with that key (the `DPoP` header) that names the request's method and URL.
//!
//! [`verify`] checks one proof — `typ`, `alg`, a public `jwk`, the signature,
//! `htm`, `htu`, the `iat` window, a `jti`, and `ath` where an access token
//! goes with it — and returns the key's thumbprint (`jkt`, RFC 7638), the
//! value tokens are bound to (`cnf.jkt`). Remembering `jti`s (single use) and
//! checking server nonces is the caller's job: it owns the shared state.
//!
//! Framework-free: the authorization server and resource servers both use it.

pub mod jws;

use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::Algorithm;
use serde::Deserialize;

/// The `typ` header of a DPoP proof (RFC 9449 §4.2).
pub const PROOF_TYP: &str = "dpop+jwt";
/// Signature algorithms accepted for proofs (discovery's
/// `dpop_signing_alg_values_supported`): asymmetric only, never `none` or HMAC.
/// `EdDSA` is also accepted under its RFC 9864 name `Ed25519` ([`jws`]).
pub const ALGORITHMS: [Algorithm; 4] = [Algorithm::ES256, Algorithm::EdDSA, Algorithm::PS256, Algorithm::RS256];
/// A proof is made for one request moments before it is sent: one whose
/// `iat` is older than this is refused, so a captured proof is worthless a
/// minute later and its `jti` need be remembered only this long.
pub const MAX_AGE_SECS: i64 = 60;
/// A client's clock may run this far ahead of ours.
pub const CLOCK_SKEW_SECS: i64 = 10;
/// Longest proof accepted (bytes): a header with an RSA-4096 key and a few
/// claims fit in well under this.
pub const MAX_PROOF_LEN: usize = 8 * 1024;
/// Longest `jti` accepted: it is stored (for replay detection) as given.
const MAX_JTI_LEN: usize = 128;
/// JWK members that only a private (or symmetric) key has: a proof carrying
/// one leaks the client's key and is refused (RFC 9449 §4.3 point 7).
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The names of [`ALGORITHMS`], for discovery and `WWW-Authenticate`: EdDSA
/// under both its names (RFC 8037 `EdDSA`, RFC 9864 `Ed25519`).
pub fn algorithm_names() -> Vec<&'static str> {
    vec!["ES256", jws::EDDSA, jws::ED25519, "PS256", "RS256"]
}

/// What the request a proof comes with looks like.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The HTTP method, as sent (`POST`).
    pub method: &'a str,
    /// The URL the request was made to, as the client knows it (our issuer's
    /// origin and the path): query and fragment are ignored.
    pub url: &'a str,
    /// Now, in seconds since the epoch.
    pub now: i64,
    /// The access token presented with the proof, at a protected resource:
    /// the proof must then carry its hash (`ath`).
    pub access_token: Option<&'a str>,
}

/// A proof that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The SHA-256 JWK thumbprint of the proof's key (RFC 7638), base64url.
    pub jkt: String,
    /// The proof's unique id: the caller makes sure it is used once.
    pub jti: String,
    pub iat: i64,
    /// The server-provided nonce the proof carries, if any.
    pub nonce: Option<String>,
}

impl Proof {
    /// How long (seconds) the proof's `jti` must be remembered: until no
    /// proof with this `iat` would be accepted any more.
    pub fn replay_window(&self, now: i64) -> u64 {
        (self.iat + MAX_AGE_SECS + CLOCK_SKEW_SECS - now).max(1) as u64
    }
}

/// Why a proof was refused (`invalid_dpop_proof`); the text is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidProof(pub &'static str);

#[derive(Deserialize)]
struct ProofClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// The `ath` of an access token: base64url(SHA-256(token)) (RFC 9449 §4.2).
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()).as_ref())
}

/// Whether `claimed` (a proof's `htu`) names the URL `actual`: same scheme,
/// host and port (default ports implied) and path; query and fragment are
/// not compared (RFC 9449 §4.3 point 9).
pub fn same_target(claimed: &str, actual: &str) -> bool {
    match (url::Url::parse(claimed), url::Url::parse(actual)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
                && a.path() == b.path()
                && a.username().is_empty()
                && a.password().is_none()
        }
        _ => false,
    }
}

/// Checks `proof` against the request it came with. See the module docs for
/// what is left to the caller (`jti` single use, nonces).
pub fn verify(proof: &str, expected: &Expected) -> Result<Proof, InvalidProof> {
    let bad = |why: &'static str| InvalidProof(why);
    if proof.is_empty() || proof.len() > MAX_PROOF_LEN || proof.split('.').count() != 3 {
        return Err(bad("the DPoP proof is not a JWT of acceptable size"));
    }
    let parsed = jws::parse(proof).map_err(|_| bad("the DPoP proof's header is malformed"))?;
    let jwk_json = parsed.raw_header.get("jwk").and_then(|j| j.as_object()).ok_or(bad("the DPoP proof must carry its public key (jwk)"))?;
    if PRIVATE_JWK_MEMBERS.iter().any(|m| jwk_json.contains_key(*m)) {
        return Err(bad("the DPoP proof's jwk must be a public key"));
    }
    let header = &parsed.header;
    if header.typ.as_deref() != Some(PROOF_TYP) {
        return Err(bad("the DPoP proof's typ must be dpop+jwt"));
    }
    if !ALGORITHMS.contains(&header.alg) {
        return Err(bad("the DPoP proof's algorithm is not accepted"));
    }
    let jwk: &Jwk = header.jwk.as_ref().ok_or(bad("the DPoP proof must carry its public key (jwk)"))?;
    if !parsed.fits(jwk) {
        return Err(bad("the DPoP proof's jwk is not a key of its algorithm"));
    }
    let claims: ProofClaims = parsed.verify_with_jwk(jwk).map_err(|_| bad("the DPoP proof's signature does not verify with its jwk"))?;
    if claims.htm.as_deref() != Some(expected.method) {
        return Err(bad("the DPoP proof's htm is not this request's method"));
    }
    if !claims.htu.as_deref().is_some_and(|u| same_target(u, expected.url)) {
        return Err(bad("the DPoP proof's htu is not this endpoint"));
    }
    let iat = claims.iat.ok_or(bad("the DPoP proof has no iat"))?;
    if iat < expected.now - MAX_AGE_SECS {
        return Err(bad("the DPoP proof is too old"));
    }
    if iat > expected.now + CLOCK_SKEW_SECS {
        return Err(bad("the DPoP proof is from the future"));
    }
    let jti = claims.jti.filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN && !j.chars().any(char::is_control)).ok_or(bad("the DPoP proof needs a jti"))?;
    if let Some(token) = expected.access_token {
        match claims.ath.as_deref() {
            None => return Err(bad("the DPoP proof must carry the access token's hash (ath)")),
            Some(ath) if ath != access_token_hash(token) => return Err(bad("the DPoP proof's ath is not this access token's")),
            Some(_) => {}
        }
    }
    let jkt = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|_| bad("the DPoP proof's jwk is not a usable key"))?;
    Ok(Proof { jkt, jti, iat, nonce: claims.nonce })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    const URL: &str = "https://id.example/token";
    const NOW: i64 = 1_800_000_000;

    struct Key {
        alg: Algorithm,
        encoding: EncodingKey,
        jwk: serde_json::Value,
    }

    fn ec_key() -> Key {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("key");
        let point = pair.public_key().as_ref();
        let (x, y) = (URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..65]));
        Key { alg: Algorithm::ES256, encoding: EncodingKey::from_ec_der(pkcs8.as_ref()), jwk: json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y }) }
    }

    fn ed_key() -> Key {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).expect("key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        Key { alg: Algorithm::EdDSA, encoding: EncodingKey::from_ed_der(pkcs8.as_ref()), jwk: json!({ "kty": "OKP", "crv": "Ed25519", "x": x }) }
    }

    fn sign(key: &Key, typ: &str, jwk: serde_json::Value, claims: serde_json::Value) -> String {
        let mut header = Header::new(key.alg);
        header.typ = Some(typ.into());
        header.jwk = Some(serde_json::from_value(jwk).expect("jwk"));
        encode(&header, &claims, &key.encoding).expect("sign")
    }

    fn proof(key: &Key, claims: serde_json::Value) -> String {
        sign(key, PROOF_TYP, key.jwk.clone(), claims)
    }

    fn good_claims() -> serde_json::Value {
        json!({ "jti": "j-1", "htm": "POST", "htu": URL, "iat": NOW })
    }

    fn expected() -> Expected<'static> {
        Expected { method: "POST", url: URL, now: NOW, access_token: None }
    }

    #[test]
    fn a_good_proof_gives_its_keys_thumbprint() {
        for key in [ec_key(), ed_key()] {
            let p = verify(&proof(&key, good_claims()), &expected()).expect("valid");
            assert_eq!(p.jti, "j-1");
            assert_eq!(p.jkt.len(), 43, "a base64url SHA-256");
            let again = verify(&proof(&key, json!({ "jti": "j-2", "htm": "POST", "htu": URL, "iat": NOW })), &expected()).expect("valid");
            assert_eq!(p.jkt, again.jkt, "one key, one thumbprint");
        }
        assert_ne!(verify(&proof(&ec_key(), good_claims()), &expected()).expect("valid").jkt, verify(&proof(&ec_key(), good_claims()), &expected()).expect("valid").jkt);
    }

    #[test]
    fn thumbprint_matches_rfc_7638_by_hand() {
        let key = ec_key();
        let p = verify(&proof(&key, good_claims()), &expected()).expect("valid");
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#, key.jwk["x"].as_str().unwrap_or(""), key.jwk["y"].as_str().unwrap_or(""));
        assert_eq!(p.jkt, URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()).as_ref()));
    }

    #[test]
    fn wrong_method_url_or_time_is_refused() {
        let key = ec_key();
        let with = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut c = good_claims();
            change(&mut c);
            verify(&proof(&key, c), &expected())
        };
        assert!(with(&|c| c["htm"] = json!("GET")).is_err());
        assert!(with(&|c| c["htm"] = json!("post")).is_err(), "methods are case-sensitive");
        assert!(with(&|c| c["htu"] = json!("https://id.example/userinfo")).is_err());
        assert!(with(&|c| c["htu"] = json!("https://evil.example/token")).is_err());
        assert!(with(&|c| c["htu"] = json!("http://id.example/token")).is_err());
        assert!(with(&|c| c["htu"] = json!("https://id.example:443/token?x=1#f")).is_ok(), "default port, query and fragment are not compared");
        assert!(with(&|c| c["iat"] = json!(NOW - MAX_AGE_SECS - 1)).is_err());
        assert!(with(&|c| c["iat"] = json!(NOW + CLOCK_SKEW_SECS + 1)).is_err());
        assert!(with(&|c| c["iat"] = json!(NOW - MAX_AGE_SECS)).is_ok());
        for missing in ["jti", "htm", "htu", "iat"] {
            assert!(
                with(&|c| {
                    c.as_object_mut().map(|o| o.remove(missing));
                })
                .is_err(),
                "{missing} is required"
            );
        }
        assert!(with(&|c| c["jti"] = json!("x".repeat(MAX_JTI_LEN + 1))).is_err());
        assert!(with(&|c| c["jti"] = json!("a\u{7}b")).is_err());
    }

    #[test]
    fn header_rules() {
        let key = ec_key();
        assert_eq!(verify(&sign(&key, "JWT", key.jwk.clone(), good_claims()), &expected()), Err(InvalidProof("the DPoP proof's typ must be dpop+jwt")));
        // A header carrying the private key (members a typed header would drop).
        let mut private = key.jwk.clone();
        private["d"] = json!("AAAA");
        let good = proof(&key, good_claims());
        let header = URL_SAFE_NO_PAD.encode(json!({ "typ": PROOF_TYP, "alg": "ES256", "jwk": private }).to_string());
        let leaked = format!("{header}.{}", good.split_once('.').map(|(_, rest)| rest).unwrap_or_default());
        assert_eq!(verify(&leaked, &expected()), Err(InvalidProof("the DPoP proof's jwk must be a public key")));
        // The proof verifies only with the key it carries.
        let other = ec_key();
        assert!(verify(&sign(&key, PROOF_TYP, other.jwk.clone(), good_claims()), &expected()).is_err());
        // No jwk at all.
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(PROOF_TYP.into());
        let bare = encode(&header, &good_claims(), &key.encoding).expect("sign");
        assert!(verify(&bare, &expected()).is_err());
        // HMAC "proofs" are no proof of possession.
        let mut hs = Header::new(Algorithm::HS256);
        hs.typ = Some(PROOF_TYP.into());
        hs.jwk = Some(serde_json::from_value(json!({ "kty": "oct", "k": "c2VjcmV0" })).expect("jwk"));
        let forged = encode(&hs, &good_claims(), &EncodingKey::from_secret(b"secret")).expect("sign");
        assert!(verify(&forged, &expected()).is_err());
        assert!(verify("a.b", &expected()).is_err());
        assert!(verify(&"a".repeat(MAX_PROOF_LEN + 1), &expected()).is_err());
    }

    /// oauth4webapi and openid-client name Ed25519 keys' algorithm `Ed25519`
    /// (RFC 9864): such a proof is accepted, with the key's usual thumbprint.
    #[test]
    fn a_proof_signed_as_ed25519_is_accepted() {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).expect("key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
        let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()) });
        let sign_as = |alg: &str, jwk: &serde_json::Value, claims: &serde_json::Value| {
            let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(json!({ "typ": PROOF_TYP, "alg": alg, "jwk": jwk }).to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes()).as_ref()))
        };
        let fully = verify(&sign_as("Ed25519", &jwk, &good_claims()), &expected()).expect("Ed25519 accepted");
        let classic = verify(&sign_as("EdDSA", &jwk, &json!({ "jti": "j-2", "htm": "POST", "htu": URL, "iat": NOW })), &expected()).expect("EdDSA accepted");
        assert_eq!(fully.jkt, classic.jkt, "one key, one thumbprint, whichever name");
        // The name changes nothing else: a wrong htu, or a key that is not the signer's, still fail.
        assert!(verify(&sign_as("Ed25519", &jwk, &json!({ "jti": "j-3", "htm": "POST", "htu": "https://evil.example/token", "iat": NOW })), &expected()).is_err());
        let other = ed_key();
        assert!(verify(&sign_as("Ed25519", &other.jwk, &good_claims()), &expected()).is_err());
        // `Ed25519` with an EC key in the header: refused before any signature check.
        assert_eq!(verify(&sign_as("Ed25519", &ec_key().jwk, &good_claims()), &expected()), Err(InvalidProof("the DPoP proof's jwk is not a key of its algorithm")));
        assert!(algorithm_names().contains(&"Ed25519") && algorithm_names().contains(&"EdDSA"));
    }

    #[test]
    fn ath_binds_the_proof_to_an_access_token() {
        let key = ed_key();
        let at = Expected { access_token: Some("eyJ.token.sig"), ..expected() };
        assert!(verify(&proof(&key, good_claims()), &at).is_err(), "ath is required with a token");
        let mut c = good_claims();
        c["ath"] = json!(access_token_hash("eyJ.token.sig"));
        assert!(verify(&proof(&key, c.clone()), &at).is_ok());
        c["ath"] = json!(access_token_hash("another"));
        assert!(verify(&proof(&key, c), &at).is_err());
    }

    #[test]
    fn nonce_is_returned_for_the_caller_to_check() {
        let key = ec_key();
        let mut c = good_claims();
        c["nonce"] = json!("n-1");
        assert_eq!(verify(&proof(&key, c), &expected()).expect("valid").nonce.as_deref(), Some("n-1"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,300}") {
            let _ = verify(&s, &expected());
            let _ = verify(&format!("{s}.{s}.{s}"), &expected());
        }
    }
}
