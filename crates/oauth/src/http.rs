//! The one place an outgoing HTTP client is made: back-channel logout,
//! remote JWKS, the CLI's probe and doctor, upstream providers.
//!
//! reqwest's TLS is rustls on the aws-lc-rs provider, which the token crate
//! (jsonwebtoken) and mail (lettre) already build, so the binary carries one
//! crypto stack and no `ring`. The provider is handed to each client rather
//! than installed process-wide: reqwest built without a provider of its own
//! panics on `Client::new()` when none is installed, and a library must not
//! depend on its caller having done so.

use std::sync::{Arc, LazyLock};

/// rustls on aws-lc-rs, TLS 1.2 and 1.3, trusting the Mozilla roots
/// (webpki-roots: the same on every machine, with or without a system CA
/// store). Built once; each client gets a copy.
static TLS: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        // Fails only for a provider without cipher suites for TLS 1.2/1.3;
        // aws-lc-rs's default has both (the test below holds it to that).
        .expect("aws-lc-rs offers TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
});

/// A client builder with latchkey's TLS. Every outgoing client starts here.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().use_preconfigured_tls(TLS.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_builds_without_a_process_wide_provider() {
        assert!(rustls::crypto::CryptoProvider::get_default().is_none(), "nothing in this test process installs one");
        let client = client_builder().build();
        assert!(client.is_ok(), "{client:?}");
        assert!(!TLS.crypto_provider().cipher_suites.is_empty());
    }
}
