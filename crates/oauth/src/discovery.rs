//! OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414 §2, RFC 8628 §4).

use latchkey_domain::{Acr, Scope, SigningAlg};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub end_session_endpoint: String,
    /// RFC 7591: present when clients may register themselves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// draft-ietf-oauth-client-id-metadata-document: an https URL may be a
    /// `client_id` (present, true, when enabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id_metadata_document_supported: Option<bool>,
    pub backchannel_logout_supported: bool,
    pub backchannel_logout_session_supported: bool,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    pub scopes_supported: Vec<&'static str>,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub claims_supported: Vec<&'static str>,
    pub acr_values_supported: Vec<&'static str>,
    pub prompt_values_supported: Vec<&'static str>,
    /// OIDC Discovery §3: the languages of our pages (`ui_locales`).
    pub ui_locales_supported: Vec<&'static str>,
    pub authorization_response_iss_parameter_supported: bool,
    pub claims_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub pushed_authorization_request_endpoint: String,
    pub require_pushed_authorization_requests: bool,
    /// RFC 8628 §4.
    pub device_authorization_endpoint: String,
    /// RFC 9449 §5.1.
    pub dpop_signing_alg_values_supported: Vec<&'static str>,
}

impl ProviderMetadata {
    pub fn new(issuer: &str, require_par: bool) -> ProviderMetadata {
        let at = |path: &str| format!("{}{}", issuer.trim_end_matches('/'), path);
        ProviderMetadata {
            issuer: issuer.to_string(),
            authorization_endpoint: at("/authorize"),
            token_endpoint: at("/token"),
            userinfo_endpoint: at("/userinfo"),
            jwks_uri: at("/jwks"),
            revocation_endpoint: at("/revoke"),
            introspection_endpoint: at("/introspect"),
            end_session_endpoint: at("/end-session"),
            registration_endpoint: None,
            client_id_metadata_document_supported: None,
            backchannel_logout_supported: true,
            backchannel_logout_session_supported: true,
            revocation_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            introspection_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post", "private_key_jwt"],
            scopes_supported: Scope::ALL.iter().filter(|s| s.user_facing()).map(|s| s.as_str()).collect(),
            response_types_supported: vec!["code"],
            response_modes_supported: vec!["query", "form_post"],
            grant_types_supported: vec!["authorization_code", "refresh_token", "client_credentials", latchkey_domain::DEVICE_CODE_GRANT, latchkey_domain::TOKEN_EXCHANGE_GRANT],
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: SigningAlg::ALL.iter().map(|a| a.as_str()).collect(),
            token_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            token_endpoint_auth_signing_alg_values_supported: crate::client_assertion::ASSERTION_ALG_NAMES.to_vec(),
            code_challenge_methods_supported: vec!["S256"],
            claims_supported: vec![
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "sid",
                "azp",
                "preferred_username",
                "name",
                "given_name",
                "family_name",
                "locale",
                "zoneinfo",
                "updated_at",
                "email",
                "email_verified",
                "groups",
            ],
            acr_values_supported: Acr::ALL.iter().map(|a| a.as_str()).collect(),
            prompt_values_supported: vec!["none", "login", "consent", "select_account"],
            ui_locales_supported: latchkey_i18n::Locale::ALL.iter().map(|l| l.code()).collect(),
            authorization_response_iss_parameter_supported: true,
            claims_parameter_supported: true,
            request_parameter_supported: false,
            // Only the request_uris of our own PAR endpoint (RFC 9126 §4).
            request_uri_parameter_supported: true,
            pushed_authorization_request_endpoint: at("/par"),
            require_pushed_authorization_requests: require_par,
            device_authorization_endpoint: at("/device_authorization"),
            dpop_signing_alg_values_supported: latchkey_dpop::algorithm_names(),
        }
    }
}
