//! The URL map and the headers every response carries.

use actix_web::http::Method;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpResponse};

use crate::error::WebError;
use crate::handlers::{
    account, account_page, account_password, activity, authorize, consent, console, console_providers, device, discovery, email, federation, link_credentials as links, login, logout, mfa_settings,
    misc, passkeys, recovery, registration, review, risk, signup, token, userinfo,
};

/// Pages must not be framed (clickjacking on the consent and sign-in forms),
/// sniffed, or leak the URL (which may carry an authorization request id) in
/// `Referer` to other sites. `same-origin` rather than `no-referrer`: with
/// `no-referrer` browsers send `Origin: null` on our own form POSTs, which the
/// Origin check must then refuse. No `form-action`: Chrome applies it to the redirect that follows a
/// form POST, which here goes to the relying party.
pub fn security_headers(hsts: bool, csp: &str) -> DefaultHeaders {
    let headers = DefaultHeaders::new();
    // With an https issuer, browsers must never reach us over plain http
    // again for a year (the session cookie is Secure, but the first request
    // of a typed URL is not).
    let headers = if hsts { headers.add(("Strict-Transport-Security", "max-age=31536000; includeSubDomains")) } else { headers };
    headers.add(("X-Frame-Options", "DENY")).add(("X-Content-Type-Options", "nosniff")).add(("Referrer-Policy", "same-origin")).add(("Content-Security-Policy", csp.to_string()))
}

/// Endpoints that single-page apps call with `fetch` (no cookies involved) get
/// `Access-Control-Allow-Origin: *`; the cookie-bearing pages do not.
fn cors() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Access-Control-Allow-Origin", "*"))
        .add(("Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP"))
        .add(("Access-Control-Allow-Methods", "GET, POST, OPTIONS"))
        // A browser client must read the server's DPoP nonce and the challenge.
        .add(("Access-Control-Expose-Headers", "DPoP-Nonce, WWW-Authenticate"))
}

async fn preflight() -> HttpResponse {
    HttpResponse::NoContent().insert_header(("Access-Control-Max-Age", "600")).finish()
}

/// Malformed forms and queries become our HTML 400 page, not actix's plain text.
fn form_config() -> web::FormConfig {
    web::FormConfig::default().error_handler(|e, _| WebError::bad_request(format!("The form could not be read: {e}")).into())
}

/// JSON bodies (the passkey endpoints) are small: a WebAuthn credential is a
/// few kilobytes. Larger or malformed ones get a JSON 4xx, not actix's text;
/// a body that is not JSON at all (another or no content type) is a 400 like
/// any other unreadable body.
const MAX_JSON_BYTES: usize = 64 * 1024;

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(MAX_JSON_BYTES).error_handler(|e, _| {
        let status = match &e {
            actix_web::error::JsonPayloadError::OverflowKnownLength { .. } | actix_web::error::JsonPayloadError::Overflow { .. } => actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            _ => actix_web::http::StatusCode::BAD_REQUEST,
        };
        let body =
            HttpResponse::build(status).insert_header(("Cache-Control", "no-store")).json(serde_json::json!({ "error": "the request body could not be read as JSON of the expected size and shape" }));
        actix_web::error::InternalError::from_response(e, body).into()
    })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e, _| WebError::bad_request(format!("The link is malformed: {e}")).into())
}

/// A resource for `fetch` callers: its routes, a CORS preflight, CORS headers.
fn api(path: &str, routes: Vec<actix_web::Route>) -> impl actix_web::dev::HttpServiceFactory {
    routes.into_iter().fold(web::resource(path), |r, route| r.route(route)).route(web::method(Method::OPTIONS).to(preflight)).wrap(cors())
}

/// `/scim/v2` (issue #30): SCIM clients provision users and groups.
fn scim_routes() -> actix_web::Scope {
    use crate::handlers::scim;
    web::scope("/scim/v2")
        .app_data(web::PayloadConfig::new(scim::MAX_SCIM_BODY))
        .route("/ServiceProviderConfig", web::get().to(scim::service_provider_config))
        .route("/ResourceTypes", web::get().to(scim::resource_types))
        .route("/ResourceTypes/{id}", web::get().to(scim::resource_types))
        .route("/Schemas", web::get().to(scim::schemas_list))
        .route("/Schemas/{id}", web::get().to(scim::schemas_list))
        // The discovery documents are read-only: other methods are 405.
        .route("/ServiceProviderConfig", web::route().to(scim::read_only))
        .route("/ResourceTypes", web::route().to(scim::read_only))
        .route("/ResourceTypes/{id}", web::route().to(scim::read_only))
        .route("/Schemas", web::route().to(scim::read_only))
        .route("/Schemas/{id}", web::route().to(scim::read_only))
        .route("/.search", web::post().to(scim::search_everything))
        // `{resource}`: Users or Groups (anything else: 404).
        .route("/{resource}", web::get().to(scim::list))
        .route("/{resource}", web::post().to(scim::create))
        .route("/{resource}/.search", web::post().to(scim::search))
        .route("/{resource}/{id}", web::get().to(scim::get))
        .route("/{resource}/{id}", web::put().to(scim::replace))
        .route("/{resource}/{id}", web::patch().to(scim::patch))
        .route("/{resource}/{id}", web::delete().to(scim::delete))
        .default_service(web::to(scim::unknown))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(form_config())
        .app_data(query_config())
        .service(misc::healthz)
        .service(misc::live)
        .service(misc::ready)
        .service(misc::stylesheet)
        .service(misc::brand_stylesheet)
        .service(misc::passkeys_js)
        .service(misc::copy_js)
        .service(api("/.well-known/openid-configuration", vec![web::get().to(discovery::openid_configuration)]))
        .service(api("/.well-known/oauth-authorization-server", vec![web::get().to(discovery::openid_configuration)]))
        .service(api("/.well-known/webauthn", vec![web::get().to(discovery::webauthn_related_origins)]))
        .service(api("/.well-known/ssf-configuration", vec![web::get().to(crate::handlers::ssf::configuration)]))
        .route("/ssf/stream", web::route().to(crate::handlers::ssf::stream))
        .route("/ssf/verify", web::post().to(crate::handlers::ssf::verify))
        .service(api("/jwks", vec![web::get().to(discovery::jwks)]))
        .service(api("/resource-metadata/{api_id}", vec![web::get().to(discovery::resource_metadata)]))
        .service(api("/token", vec![web::post().to(token::token)]))
        .service(api("/revoke", vec![web::post().to(token::revoke)]))
        .service(api("/par", vec![web::post().to(token::par)]))
        .service(api("/device_authorization", vec![web::post().to(device::device_authorization)]))
        .service(api("/introspect", vec![web::post().to(token::introspect)]))
        .service(api("/userinfo", vec![web::get().to(userinfo::userinfo), web::post().to(userinfo::userinfo)]))
        .configure(crate::admin::configure)
        .service(scim_routes())
        .route("/", web::get().to(misc::home))
        .route("/authorize", web::get().to(authorize::authorize_get))
        .route("/authorize", web::post().to(authorize::authorize_post))
        .route("/authorize/respond", web::get().to(authorize::respond))
        .route("/login", web::get().to(login::login_page))
        .route("/login", web::post().to(login::login_submit))
        .route("/register", web::post().to(registration::register))
        .route("/register/{client_id}", web::get().to(registration::read))
        .route("/register/{client_id}", web::delete().to(registration::delete))
        .route("/register/{client_id}", web::put().to(registration::update))
        .route("/federation/{provider}/start", web::get().to(federation::start))
        .route("/federation/{provider}/callback", web::get().to(federation::callback))
        .route("/federation/{provider}/backchannel-logout", web::post().to(federation::backchannel_logout))
        .route("/federation/{provider}/signed-out", web::get().to(federation::signed_out))
        .route("/login/passkey/start", web::post().to(passkeys::sign_in_start))
        .route("/login/passkey/finish", web::post().to(passkeys::sign_in_finish))
        .route("/account/passkeys/register/start", web::post().to(passkeys::register_start))
        .route("/account/passkeys/register/finish", web::post().to(passkeys::register_finish))
        .route("/account/passkeys/remove", web::post().to(passkeys::remove))
        .route("/account/passkeys/rename", web::post().to(passkeys::rename))
        .route("/account/passkeys/dismiss-prompt", web::post().to(account::dismiss_passkey_prompt))
        .route("/passkey-icons/{aaguid}/{variant}", web::get().to(passkeys::icon))
        .route("/login/mfa", web::get().to(login::mfa_page))
        .route("/login/mfa", web::post().to(login::mfa_submit))
        .route("/login/confirm", web::get().to(risk::confirm_page))
        .route("/login/confirm", web::post().to(risk::confirm_submit))
        .route("/account/totp", web::get().to(mfa_settings::totp_page))
        .route("/account/totp/verify", web::post().to(mfa_settings::totp_verify))
        .route("/account/totp/remove", web::post().to(mfa_settings::totp_remove))
        .route("/account/backup-codes", web::post().to(mfa_settings::backup_codes))
        .route("/consent", web::get().to(consent::consent_page))
        .route("/consent", web::post().to(consent::consent_submit))
        .route("/consent/switch-user", web::post().to(consent::switch_user))
        .route("/device", web::get().to(device::device_page))
        .route("/device", web::post().to(device::device_submit))
        .route("/device/approve", web::post().to(device::device_answer))
        .route("/account", web::get().to(account_page::account_page))
        .route("/account/activity/not-me", web::post().to(activity::not_me))
        .route("/account/apps/revoke", web::post().to(account::disconnect_app))
        .route("/account/linked/add", web::post().to(federation::link_another))
        .route("/account/linked/unlink", web::post().to(federation::unlink))
        .route("/account/sessions/end", web::post().to(account::end_session))
        .route("/account/devices/forget", web::post().to(account::forget_device))
        .route("/account/sessions/end-others", web::post().to(account::end_other_sessions))
        .route("/account/sessions/end-all", web::post().to(account::end_all_sessions))
        .route("/account/password", web::get().to(account_password::password_page))
        .route("/account/password", web::post().to(account_password::change_password))
        .route("/account/password/set", web::post().to(account_password::set_password))
        .route("/account/password/remove", web::post().to(account_password::remove_password))
        .route("/account/not-me", web::get().to(logout::not_me_page))
        .route("/account/not-me", web::post().to(logout::not_me_submit))
        .route("/account/not-me/remove", web::post().to(logout::not_me_remove))
        .route("/account/review", web::get().to(review::page))
        .route("/account/review/remove", web::post().to(review::remove))
        .route("/end-session", web::get().to(logout::end_session_get))
        .route("/end-session", web::post().to(logout::end_session_post))
        .route("/logout", web::post().to(account::logout))
        .route("/admin", web::get().to(console::overview))
        .route("/admin/users", web::get().to(console::users))
        .route("/admin/users/invite", web::post().to(console::invite))
        .route("/admin/users/bulk", web::post().to(console::users::bulk))
        .route("/admin/users/{id}", web::get().to(console::user))
        .route("/admin/users/{id}/action", web::post().to(console::user_action))
        .route("/admin/users/{id}/risk-policy", web::post().to(console::risk_policy::set))
        .route("/admin/users/{id}/passkey-only", web::post().to(console::passkey_only::set))
        .route("/admin/clients", web::get().to(console::clients))
        .route("/admin/clients/create", web::post().to(console::create_client))
        .route("/admin/clients/{id}", web::get().to(console::client))
        .route("/admin/clients/{id}/action", web::post().to(console::client_action))
        .route("/admin/audit", web::get().to(console::audit))
        .route("/admin/audit.jsonl", web::get().to(console::audit_export))
        .route("/admin/audit.csv", web::get().to(console::audit_csv))
        .route("/admin/alerts", web::get().to(console::alerts))
        .route("/admin/alerts/{id}/acknowledge", web::post().to(console::acknowledge_alert))
        .route("/admin/keys", web::get().to(console::keys))
        .route("/admin/keys/rotate", web::post().to(console::rotate_keys))
        .route("/admin/passkeys", web::get().to(console::passkeys))
        .route("/admin/webhooks", web::get().to(console::webhooks))
        .route("/admin/webhooks/{id}", web::post().to(console::webhook_action))
        .route("/admin/passkeys/policy", web::post().to(console::set_passkey_policy))
        .route("/admin/providers", web::get().to(console_providers::providers))
        .route("/admin/providers/create", web::post().to(console_providers::create))
        .route("/admin/providers/{id}/action", web::post().to(console_providers::action))
        .route("/signup", web::get().to(signup::signup_page))
        .route("/signup", web::post().to(signup::signup_submit))
        .route("/setup", web::get().to(links::setup_page))
        .route("/setup/password", web::post().to(links::setup_password))
        .route("/setup/passkey/start", web::post().to(links::setup_passkey_start))
        .route("/setup/passkey/finish", web::post().to(links::setup_passkey_finish))
        .route("/recover", web::get().to(recovery::recover_page))
        .route("/recover", web::post().to(recovery::recover_submit))
        .route("/recover/continue", web::get().to(links::recovery_page))
        .route("/recover/verify", web::post().to(links::recovery_verify))
        .route("/recover/password", web::post().to(links::recovery_password))
        .route("/recover/passkey/start", web::post().to(links::recovery_passkey_start))
        .route("/recover/passkey/finish", web::post().to(links::recovery_passkey_finish))
        .route("/recover/factor/passkey/start", web::post().to(links::recovery_factor_passkey_start))
        .route("/recover/factor/passkey/finish", web::post().to(links::recovery_factor_passkey_finish))
        .route("/account/recovery-codes", web::get().to(mfa_settings::recovery_codes_page))
        .route("/account/recovery-codes", web::post().to(mfa_settings::recovery_codes_create))
        .route("/account/email", web::get().to(email::email_page))
        .route("/account/email", web::post().to(email::email_submit))
        .route("/account/email/confirm", web::get().to(email::confirm_page))
        .route("/account/email/confirm", web::post().to(email::confirm_submit))
        .route("/account/email/revert", web::get().to(email::revert_page))
        .route("/account/email/revert", web::post().to(email::revert_submit))
        .route("/account/profile", web::get().to(account::profile_get))
        .route("/account/profile", web::post().to(account::profile_post))
        .route("/account/delete", web::get().to(account::delete_page))
        .route("/account/delete", web::post().to(account::delete_account));
}

#[cfg(test)]
mod tests {
    use actix_web::{test, App};

    use super::*;
    use crate::csp::content_security_policy;

    async fn headers(hsts: bool) -> actix_web::http::header::HeaderMap {
        let app = test::init_service(App::new().wrap(security_headers(hsts, &content_security_policy(&[]))).route("/", web::get().to(HttpResponse::Ok))).await;
        test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await.headers().clone()
    }

    #[actix_web::test]
    async fn hsts_only_with_an_https_issuer() {
        let https = headers(true).await;
        assert_eq!(https.get("strict-transport-security").and_then(|v| v.to_str().ok()), Some("max-age=31536000; includeSubDomains"));
        assert!(https.get("x-frame-options").is_some());
        assert!(headers(false).await.get("strict-transport-security").is_none(), "never over plain http (a dev issuer)");
    }

    #[actix_web::test]
    async fn images_come_from_us_and_the_named_origins_only() {
        assert!(content_security_policy(&[]).contains("img-src 'self';"));
        let csp = content_security_policy(&[Some("https://cdn.example".into()), None]);
        assert!(csp.starts_with("default-src 'self'; img-src 'self' https://cdn.example;"), "{csp}");
    }
}
