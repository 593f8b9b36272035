//! PKCE (RFC 7636), on oxide-auth's `Pkce` primitive, with `S256` only.

use std::borrow::Cow;

use oxide_auth::code_grant::extensions::Pkce;
use oxide_auth::primitives::grant::Value;

/// RFC 7636 §4.1: a verifier is 43–128 characters of `[A-Za-z0-9-._~]`.
/// An S256 challenge is the base64url SHA-256 of it: exactly 43 characters.
fn valid_pkce_string(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn primitive(required: bool) -> Pkce {
    // `plain` stays off: it offers no protection against an attacker who can read
    // the authorization request (RFC 7636 §7.2; OAuth 2.0 Security BCP §2.1.1).
    if required {
        Pkce::required()
    } else {
        Pkce::optional()
    }
}

/// Validates the challenge of an authorization request. Returns the encoded
/// challenge to store with the code (`None` when a confidential client sent none).
pub fn accept_challenge(method: Option<&str>, challenge: Option<&str>, required: bool) -> Result<Option<String>, &'static str> {
    if let Some(c) = challenge {
        if !valid_pkce_string(c, 43, 43) {
            return Err("code_challenge must be a base64url SHA-256 value (43 characters)");
        }
    }
    match method {
        Some("S256") | None => {}
        Some("plain") => return Err("code_challenge_method plain is not supported; use S256"),
        Some(_) => return Err("unsupported code_challenge_method; use S256"),
    }
    if challenge.is_some() && method.is_none() {
        // RFC 7636 §4.3 defaults to plain, which we do not support.
        return Err("code_challenge_method is required and must be S256");
    }
    let encoded = primitive(required).challenge(method.map(Cow::Borrowed), challenge.map(Cow::Borrowed)).map_err(|()| {
        if required {
            "PKCE is required: send code_challenge with method S256"
        } else {
            "invalid PKCE challenge"
        }
    })?;
    match encoded {
        None => Ok(None),
        Some(v) => match v.into_private_value() {
            Ok(Some(s)) => Ok(Some(s)),
            _ => Err("invalid PKCE challenge"),
        },
    }
}

/// Checks the verifier of a token request against what was stored with the code.
pub fn verify(stored: Option<&str>, verifier: Option<&str>) -> Result<(), &'static str> {
    if let Some(v) = verifier {
        if !valid_pkce_string(v, 43, 128) {
            return Err("code_verifier is malformed");
        }
    }
    match (stored, verifier) {
        (None, None) => Ok(()),
        // A verifier without a challenge is a downgrade attempt (RFC 9700 §4.8.2).
        (None, Some(_)) => Err("code_verifier sent but no code_challenge was made"),
        (Some(_), None) => Err("code_verifier is required"),
        (Some(s), Some(v)) => primitive(true).verify(Some(Value::private(Some(s.to_string()))), Some(Cow::Borrowed(v))).map_err(|()| "code_verifier does not match the code_challenge"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_round_trip() {
        let stored = accept_challenge(Some("S256"), Some(CHALLENGE), true).unwrap();
        assert!(stored.is_some());
        verify(stored.as_deref(), Some(VERIFIER)).unwrap();
        assert!(verify(stored.as_deref(), Some(&"a".repeat(43))).is_err());
        assert!(verify(stored.as_deref(), None).is_err());
    }

    #[test]
    fn plain_and_missing_refused() {
        assert!(accept_challenge(Some("plain"), Some(CHALLENGE), false).is_err());
        assert!(accept_challenge(None, Some(CHALLENGE), false).is_err());
        assert!(accept_challenge(None, None, true).is_err(), "required for public clients");
        assert_eq!(accept_challenge(None, None, false).unwrap(), None, "optional for confidential");
        assert!(accept_challenge(Some("S256"), Some("short"), false).is_err());
    }

    #[test]
    fn verifier_without_challenge_refused() {
        assert!(verify(None, Some(VERIFIER)).is_err());
        assert!(verify(None, None).is_ok());
    }

    proptest::proptest! {
        /// Any challenge/verifier pair: never a panic; accepted only when the
        /// verifier hashes to the challenge.
        #[test]
        fn pkce_never_panics_and_accepts_only_the_matching_verifier(
            method in proptest::option::of("S256|plain|s256|\\PC{0,8}"),
            challenge in proptest::option::of("[A-Za-z0-9_~.-]{0,130}|\\PC{0,50}"),
            verifier in proptest::option::of("[A-Za-z0-9_~.-]{0,130}|\\PC{0,50}"),
            required in proptest::bool::ANY,
        ) {
            let stored = accept_challenge(method.as_deref(), challenge.as_deref(), required);
            if let Ok(stored) = &stored {
                if verify(stored.as_deref(), verifier.as_deref()).is_ok() && stored.is_some() {
                    let v = verifier.as_deref().unwrap_or_default();
                    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, v.as_bytes());
                    let expect = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, digest.as_ref());
                    proptest::prop_assert_eq!(challenge.as_deref(), Some(expect.as_str()));
                }
            }
        }

        /// A well-formed verifier and its own challenge: accepted; the same
        /// verifier with one character changed: refused.
        #[test]
        fn pkce_accepts_its_verifier_and_refuses_a_neighbour(v in "[A-Za-z0-9_~.-]{43,128}", at in 0usize..43) {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, v.as_bytes());
            let challenge = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, digest.as_ref());
            let stored = accept_challenge(Some("S256"), Some(&challenge), true).expect("a valid challenge");
            proptest::prop_assert!(verify(stored.as_deref(), Some(&v)).is_ok());
            let mut other: Vec<char> = v.chars().collect();
            other[at] = if other[at] == 'a' { 'b' } else { 'a' };
            let other: String = other.into_iter().collect();
            proptest::prop_assert!(verify(stored.as_deref(), Some(&other)).is_err());
        }
    }
}
