//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>):
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`
//! under the subscription's secret (`whsec_` + base64 of its bytes).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Secrets are `whsec_` and the base64 of this many random bytes.
pub const SECRET_BYTES: usize = 32;
pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret.
pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(latchkey_token::crypto::random_bytes::<SECRET_BYTES>()))
}

/// The key bytes of a `whsec_…` secret, if it is one (24 to 64 bytes).
pub fn secret_bytes(secret: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    (24..=64).contains(&bytes.len()).then_some(bytes)
}

/// The `webhook-signature` header value for a message.
pub fn sign(secret: &[u8], msg_id: &str, timestamp: i64, body: &str) -> String {
    let key = latchkey_token::crypto::KeyedHasher::from_secret(secret);
    format!("v1,{}", key.tag_std_b64(&format!("{msg_id}.{timestamp}.{body}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn the_specifications_example_signs_the_same() {
        let secret = secret_bytes("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(secret_bytes("whsec_short").is_none() && secret_bytes("nope").is_none());
        let fresh = new_secret();
        assert_eq!(secret_bytes(&fresh).map(|b| b.len()), Some(SECRET_BYTES));
    }
}
