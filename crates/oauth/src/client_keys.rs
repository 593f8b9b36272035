//! The keys a client registers for private_key_jwt (or publishes at its
//! `jwks_uri`): checked the same way at registration and when fetched.

use latchkey_dpop::jws;

/// The names of the client-assertion algorithms as a client writes them
/// (discovery's `token_endpoint_auth_signing_alg_values_supported`, a JWK's
/// `alg`): `EdDSA` also under its RFC 9864 name `Ed25519`.
pub const ASSERTION_ALG_NAMES: [&str; 5] = ["RS256", "PS256", "ES256", jws::EDDSA, jws::ED25519];

/// Most keys a client may register: enough for a rotation in progress.
pub const MAX_CLIENT_KEYS: usize = 10;
/// Largest JWK Set accepted (bytes).
pub const MAX_JWKS_LEN: usize = 32 * 1024;

/// Checks a client's JWK Set for private_key_jwt: JSON, at most
/// [`MAX_CLIENT_KEYS`] keys, each public (no private parts), usable for
/// verification, and named by a `kid`. Returns it
/// normalised (compact JSON).
pub fn validate_jwks(text: &str) -> Result<String, String> {
    if text.len() > MAX_JWKS_LEN {
        return Err("the JWK Set is too large".to_string());
    }
    let raw: serde_json::Value = serde_json::from_str(text).map_err(|_| "the JWK Set is not JSON".to_string())?;
    let keys = raw.get("keys").and_then(|k| k.as_array()).ok_or_else(|| "a JWK Set has a \"keys\" array".to_string())?;
    if keys.is_empty() || keys.len() > MAX_CLIENT_KEYS {
        return Err(format!("register 1 to {MAX_CLIENT_KEYS} keys"));
    }
    for k in keys {
        if ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|private| k.get(private).is_some()) {
            return Err("a registered key must be public only (it contains private or symmetric key material)".to_string());
        }
        if k.get("kid").and_then(|v| v.as_str()).is_none_or(|kid| kid.is_empty() || kid.len() > 128) {
            return Err("each key needs a kid of 1-128 characters (the assertion names the key that signed it)".to_string());
        }
        check_key_members(k)?;
    }
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(raw.clone()).map_err(|e| format!("not a usable JWK Set: {e}"))?;
    for k in &set.keys {
        jsonwebtoken::DecodingKey::from_jwk(k).map_err(|e| format!("a key cannot verify signatures: {e}"))?;
    }
    let mut normalised = serde_json::to_value(&set).map_err(|e| e.to_string())?;
    // jsonwebtoken's key type reads RFC 9864's `"alg": "Ed25519"` as an
    // unknown algorithm: keep the name the client registered.
    if let (Some(out), Some(given)) = (normalised.get_mut("keys").and_then(|k| k.as_array_mut()), raw.get("keys").and_then(|k| k.as_array())) {
        for (out, given) in out.iter_mut().zip(given) {
            if let (Some(alg @ serde_json::Value::String(_)), Some(o)) = (given.get("alg"), out.as_object_mut()) {
                o.insert("alg".into(), alg.clone());
            }
        }
    }
    serde_json::to_string(&normalised).map_err(|e| e.to_string())
}

/// The members a signature key of each type has, within sane sizes; `use`
/// and `alg`, when given, must fit client assertions.
fn check_key_members(k: &serde_json::Value) -> Result<(), String> {
    let text = |name: &str, max: usize| -> Result<(), String> {
        match k.get(name).and_then(|v| v.as_str()) {
            Some(v) if !v.is_empty() && v.len() <= max => Ok(()),
            _ => Err(format!("the key's {name} is missing or too long")),
        }
    };
    match k.get("kty").and_then(|v| v.as_str()) {
        Some("RSA") => text("n", 1400).and(text("e", 16))?,
        Some("EC") => {
            if !matches!(k.get("crv").and_then(|v| v.as_str()), Some("P-256" | "P-384")) {
                return Err("an EC key's crv must be P-256 or P-384".into());
            }
            text("x", 96).and(text("y", 96))?
        }
        Some("OKP") => {
            if k.get("crv").and_then(|v| v.as_str()) != Some("Ed25519") {
                return Err("an OKP key's crv must be Ed25519".into());
            }
            text("x", 64)?
        }
        _ => return Err("kty must be RSA, EC or OKP".into()),
    }
    if k.get("use").is_some_and(|u| u != "sig") {
        return Err("a key's use must be sig".into());
    }
    if let Some(alg) = k.get("alg") {
        let names = ASSERTION_ALG_NAMES;
        if !alg.as_str().is_some_and(|a| names.contains(&a)) {
            return Err(format!("a key's alg must be one of {}", names.join(", ")));
        }
    }
    Ok(())
}
