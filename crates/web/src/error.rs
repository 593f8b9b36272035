//! The one place where errors become HTTP responses.
//!
//! - Browser-facing endpoints answer with an HTML page (never a redirect when
//!   the redirect target is not trusted).
//! - The token endpoint answers RFC 6749 §5.2 JSON with `Cache-Control: no-store`;
//!   failed client authentication is 401 with `WWW-Authenticate`.
//! - Protected resources (userinfo) answer RFC 6750 §3 `WWW-Authenticate: Bearer`.
//! - Store outages are 503, anything else unexpected is 500 with a reference id
//!   that is also in the log. Never a panic, never internal details on the wire.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use latchkey_app::{AppError, Refusal};
use latchkey_authn::AuthnError;
use latchkey_oauth::{AuthorizeError, ErrorCode, OAuthError};
use latchkey_store::StoreError;
use serde_json::json;

use crate::pages::{render, ErrorPage};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A browser-facing error shown as a page.
    #[error("{title}: {message}")]
    Page { status: StatusCode, title: &'static str, message: String },
    /// An error of the token (or another JSON) endpoint.
    #[error("oauth: {0}")]
    Json(OAuthError),
    /// An error of a bearer-protected resource (RFC 6750).
    #[error("bearer: {0}")]
    Bearer(OAuthError),
    /// The same, for a token presented with the DPoP scheme (RFC 9449 §7.1).
    #[error("dpop: {0}")]
    Dpop(OAuthError),
    /// A store failure on a browser-facing endpoint.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
    /// A request rate limit (429 with `Retry-After`): a page, or JSON on the
    /// JSON endpoints.
    #[error("rate limited for {retry_after} s")]
    RateLimited { retry_after: i64, json: bool },
    /// The page needs a (fresh, or stronger) sign-in: to the sign-in page,
    /// then back to `back`.
    #[error("sign in again, then back to {back}")]
    SignInAgain { back: String },
    /// A use case's error on the admin API: `{"error", "error_description"}` JSON.
    #[error("admin api: {0}")]
    Api(AppError),
}

impl WebError {
    pub fn bad_request(message: impl Into<String>) -> WebError {
        WebError::Page { status: StatusCode::BAD_REQUEST, title: "Bad request", message: message.into() }
    }

    /// A client ID metadata document that could not be used: a page at
    /// `/authorize` (no redirect is safe), `invalid_client` JSON at `/par`.
    pub fn metadata(e: latchkey_app::client_metadata::MetadataError, json: bool) -> WebError {
        use latchkey_app::client_metadata::MetadataError;
        match e {
            MetadataError::RateLimited { retry_after } => WebError::RateLimited { retry_after, json },
            MetadataError::App(a) => a.into(),
            other if json => WebError::Json(OAuthError::new(ErrorCode::InvalidClient, other.to_string())),
            other => WebError::bad_request(other.to_string()),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> WebError {
        WebError::Page { status: StatusCode::FORBIDDEN, title: "Forbidden", message: message.into() }
    }

    /// A sign-in in progress, but the browser sent none of latchkey's cookies:
    /// say that, not "expired" (cookies blocked, or dropped because they are
    /// `Secure` and the page was reached over plain http).
    pub fn cookie_missing() -> WebError {
        WebError::Page { status: StatusCode::BAD_REQUEST, title: COOKIE_MISSING_TITLE, message: COOKIE_MISSING.into() }
    }

    /// The same for a form post: refused (403), as any form without its token.
    pub fn cookie_missing_on_form() -> WebError {
        WebError::Page { status: StatusCode::FORBIDDEN, title: COOKIE_MISSING_TITLE, message: COOKIE_MISSING.into() }
    }

    pub fn expired_request() -> WebError {
        WebError::Page { status: StatusCode::BAD_REQUEST, title: EXPIRED_TITLE, message: EXPIRED.into() }
    }
}

impl WebError {
    /// An [`OAuthError`] met while serving a page (not a JSON endpoint).
    pub fn from_oauth_on_page(e: OAuthError) -> WebError {
        match e {
            OAuthError::Store(s) => WebError::Store(s),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<AuthorizeError> for WebError {
    fn from(e: AuthorizeError) -> Self {
        match e {
            AuthorizeError::NoRedirect(message) => WebError::Page { status: StatusCode::BAD_REQUEST, title: "Invalid request", message },
            AuthorizeError::Store(s) => WebError::Store(s),
            // Callers turn redirectable errors into redirects before this point;
            // reaching here means the redirect could not be built.
            AuthorizeError::Redirect { description, .. } => WebError::bad_request(description),
        }
    }
}

/// A use case's error met while serving a page.
impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound(what) => WebError::Page { status: StatusCode::NOT_FOUND, title: "Not found", message: format!("No such {what}.") },
            AppError::Conflict(m) => WebError::Page { status: StatusCode::CONFLICT, title: "Not possible", message: m },
            AppError::Invalid(m) => WebError::bad_request(m),
            AppError::Refused(r @ Refusal::LastAdmin) => WebError::Page { status: StatusCode::CONFLICT, title: "Last administrator", message: r.to_string() },
            AppError::Refused(r @ Refusal::NotYourself(_)) => WebError::Page { status: StatusCode::CONFLICT, title: "Not allowed", message: capitalised(&format!("{r}.")) },
            AppError::Expired => WebError::expired_request(),
            AppError::WrongAccount => WebError::forbidden("That credential belongs to another account."),
            AppError::Authn(e) => e.into(),
            AppError::OAuth(OAuthError::Protocol { description, .. }) => WebError::bad_request(description),
            AppError::OAuth(e) => WebError::from_oauth_on_page(e),
            AppError::Token(e) => WebError::Internal(e.to_string()),
            AppError::Store(s) => WebError::Store(s),
            AppError::Federation(f) => {
                use latchkey_app::federation::FederationError as F;
                let (status, title) = match &f {
                    F::UnknownProvider => (StatusCode::NOT_FOUND, "Not found"),
                    F::ProviderDisabled(_) | F::NoAccount(_) => (StatusCode::FORBIDDEN, "Cannot sign in this way"),
                    F::UpstreamUnavailable(_) => (StatusCode::BAD_GATEWAY, "The other provider did not answer"),
                    F::UpstreamRefused { .. } | F::InvalidResponse { .. } | F::NoEmail(_) => (StatusCode::BAD_REQUEST, "Not signed in"),
                    F::LinkedElsewhere(_) => (StatusCode::CONFLICT, "Already linked"),
                    F::LastWayIn => (StatusCode::CONFLICT, "Not possible"),
                };
                WebError::Page { status, title, message: capitalised(&format!("{f}.")) }
            }
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

impl WebError {
    /// A use case's error on the admin API (JSON).
    pub fn api(e: AppError) -> WebError {
        match e {
            AppError::OAuth(e) => WebError::Json(e),
            AppError::Store(s) => WebError::Json(OAuthError::Store(s)),
            AppError::Authn(AuthnError::Store(s)) => WebError::Json(OAuthError::Store(s)),
            AppError::Authn(AuthnError::RateLimited { retry_after }) => WebError::RateLimited { retry_after, json: true },
            other => WebError::Api(other),
        }
    }
}

/// Status and body of an admin API error.
fn api_error(e: &AppError) -> HttpResponse {
    let (status, code) = match e {
        AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        AppError::Conflict(_) | AppError::Refused(_) | AppError::Authn(AuthnError::UserExists | AuthnError::LastAdmin) => (StatusCode::CONFLICT, "conflict"),
        AppError::Invalid(_) | AppError::Expired | AppError::WrongAccount | AppError::Federation(_) | AppError::Authn(AuthnError::InvalidInput(_)) => (StatusCode::BAD_REQUEST, "invalid_request"),
        AppError::OAuth(e) => return json_error(e),
        other => {
            let id = reference();
            tracing::error!(reference = %id, error = %other, "admin api failure");
            return no_store(HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR)).json(json!({ "error": "server_error", "error_description": format!("internal error (reference {id})") }));
        }
    };
    let description = match e {
        AppError::NotFound(what) => format!("no such {what}"),
        other => other.to_string(),
    };
    no_store(HttpResponse::build(status)).json(json!({ "error": code, "error_description": description }))
}

impl From<AuthnError> for WebError {
    fn from(e: AuthnError) -> Self {
        match e {
            AuthnError::Store(s) => WebError::Store(s),
            AuthnError::Throttled => WebError::Page { status: StatusCode::TOO_MANY_REQUESTS, title: "Too many attempts", message: e.to_string() },
            AuthnError::RateLimited { retry_after } => WebError::RateLimited { retry_after, json: false },
            AuthnError::InvalidCredentials | AuthnError::InvalidInput(_) | AuthnError::UserExists | AuthnError::UnknownPasskey | AuthnError::PasskeyOnly => WebError::bad_request(e.to_string()),
            AuthnError::Disabled => WebError::Page { status: StatusCode::FORBIDDEN, title: "Account disabled", message: e.to_string() },
            AuthnError::PasskeyRefused(_) => WebError::forbidden(e.to_string()),
            AuthnError::LastAdmin => WebError::Page { status: StatusCode::CONFLICT, title: "Last administrator", message: e.to_string() },
            AuthnError::Hashing(m) => WebError::Internal(m),
        }
    }
}

fn is_unavailable(e: &StoreError) -> bool {
    matches!(e, StoreError::Unavailable(_) | StoreError::ConnectionLost(_) | StoreError::Cache(_))
}

fn reference() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
    builder
}

/// Status and body of a JSON (RFC 6749 §5.2) error.
fn json_error(e: &OAuthError) -> HttpResponse {
    let (status, code, description, challenge) = match e {
        OAuthError::Protocol { code, description } => {
            let status = if *code == ErrorCode::InvalidClient { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
            (status, *code, description.clone(), *code == ErrorCode::InvalidClient)
        }
        OAuthError::ClientAuthentication { .. } => (StatusCode::UNAUTHORIZED, ErrorCode::InvalidClient, "client authentication failed".to_string(), true),
        OAuthError::Store(s) if is_unavailable(s) => {
            let id = reference();
            tracing::error!(reference = %id, error = %s, "store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::TemporarilyUnavailable, format!("try again later (reference {id})"), false)
        }
        OAuthError::RateLimited { retry_after } => {
            return no_store(HttpResponse::build(StatusCode::TOO_MANY_REQUESTS))
                .insert_header((header::RETRY_AFTER, retry_after.to_string()))
                .json(json!({ "error": ErrorCode::TemporarilyUnavailable.as_str(), "error_description": format!("rate limit reached; retry after {retry_after} s") }));
        }
        other => {
            let id = reference();
            tracing::error!(reference = %id, error = %other, "token endpoint failure");
            (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::ServerError, format!("internal error (reference {id})"), false)
        }
    };
    let mut b = no_store(HttpResponse::build(status));
    if challenge {
        b.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="latchkey", charset="UTF-8""#));
    }
    b.json(json!({ "error": code.as_str(), "error_description": description }))
}

/// RFC 6750 §3 (and RFC 9449 §7.1 for the DPoP scheme): errors of a
/// protected resource. The descriptions are fixed texts, never what a parser
/// said about attacker-supplied input: it lands in a header.
fn bearer_error(e: &OAuthError, dpop_scheme: bool) -> HttpResponse {
    let (status, code, description) = match e {
        OAuthError::Protocol { code: ErrorCode::InvalidDpopProof, .. } => (StatusCode::UNAUTHORIZED, Some(ErrorCode::InvalidDpopProof), "the DPoP proof is missing, invalid or used before"),
        OAuthError::Protocol { code: ErrorCode::UseDpopNonce, .. } => (StatusCode::UNAUTHORIZED, Some(ErrorCode::UseDpopNonce), "the DPoP proof must carry the server nonce"),
        OAuthError::Protocol { code: ErrorCode::InsufficientScope, .. } => (StatusCode::FORBIDDEN, Some(ErrorCode::InsufficientScope), "the access token lacks a required scope"),
        OAuthError::Protocol { code: ErrorCode::InvalidRequest, description } if description.is_empty() => (StatusCode::UNAUTHORIZED, None, ""),
        OAuthError::Protocol { code: ErrorCode::InvalidRequest, .. } => (StatusCode::BAD_REQUEST, Some(ErrorCode::InvalidRequest), "the request is malformed"),
        OAuthError::Protocol { .. } => (StatusCode::UNAUTHORIZED, Some(ErrorCode::InvalidToken), "the access token is invalid, expired or revoked"),
        other => return json_error(other),
    };
    if let OAuthError::Protocol { description: detail, .. } = e {
        tracing::debug!(detail = %detail.escape_debug(), "bearer token refused");
    }
    let dpop_challenge = |rest: &str| format!(r#"DPoP algs="{}"{rest}"#, latchkey_dpop::algorithm_names().join(" "));
    let dpop_error = matches!(code, Some(ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce));
    let mut b = no_store(HttpResponse::build(status));
    match code {
        // No credentials at all: a bare challenge for each scheme we take (RFC 6750 §3.1, RFC 9449 §7.1).
        None => {
            b.append_header((header::WWW_AUTHENTICATE, r#"Bearer realm="latchkey""#));
            b.append_header((header::WWW_AUTHENTICATE, dpop_challenge("")));
        }
        Some(c) if dpop_scheme || dpop_error => {
            b.insert_header((header::WWW_AUTHENTICATE, dpop_challenge(&format!(r#", error="{}", error_description="{}""#, c.as_str(), description))));
        }
        Some(c) => {
            b.insert_header((header::WWW_AUTHENTICATE, format!(r#"Bearer realm="latchkey", error="{}", error_description="{}""#, c.as_str(), description)));
        }
    }
    match code {
        Some(c) => b.json(json!({ "error": c.as_str(), "error_description": description })),
        None => b.finish(),
    }
}

/// An error page in the request's language: the fixed texts below are
/// translated; a handler's own message stays as it was written.
fn page(status: StatusCode, title: &str, message: &str, request_id: Option<String>) -> HttpResponse {
    let t = crate::lang::current();
    let (title, message) = match TRANSLATED.iter().find(|(en_title, en_message, _, _)| *en_title == title && *en_message == message) {
        Some((_, _, title_key, message_key)) => (t.get(title_key), t.get(message_key)),
        None => (title.to_string(), message.to_string()),
    };
    render(status, &ErrorPage { t, title, message, request_id })
}

/// The error pages whose words are fixed: (English title, English message,
/// their message ids).
const TRANSLATED: [(&str, &str, &str, &str); 4] = [
    (COOKIE_MISSING_TITLE, COOKIE_MISSING, "error-cookies-title", "error-cookies"),
    (EXPIRED_TITLE, EXPIRED, "error-expired-title", "error-expired"),
    (UNAVAILABLE_TITLE, UNAVAILABLE, "error-unavailable-title", "error-unavailable"),
    (INTERNAL_TITLE, INTERNAL, "error-internal-title", "error-internal"),
];

const COOKIE_MISSING_TITLE: &str = "Cookies are not reaching latchkey";
const EXPIRED_TITLE: &str = "Sign-in request expired";
const EXPIRED: &str = "This sign-in request has expired or was already completed. Go back to the application and start again.";
const UNAVAILABLE_TITLE: &str = "Temporarily unavailable";
const UNAVAILABLE: &str = "latchkey cannot reach its database right now. Try again in a moment.";
const INTERNAL_TITLE: &str = "Something went wrong";
const INTERNAL: &str = "An internal error occurred. Nothing was changed.";

const COOKIE_MISSING: &str = "Your browser did not send latchkey's cookie, so this cannot continue. Allow cookies for this site and try again. If this page was reached over plain http:// (other than localhost), the browser drops latchkey's secure cookies: use https.";

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::Page { status, .. } => *status,
            WebError::Json(_) | WebError::Bearer(_) | WebError::Dpop(_) | WebError::Api(_) => StatusCode::BAD_REQUEST,
            WebError::SignInAgain { .. } => StatusCode::SEE_OTHER,
            WebError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            WebError::Store(s) if is_unavailable(s) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Store(_) | WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = self.response();
        // Every 503 (the database or Redis unreachable) says when to retry,
        // so clients back off instead of hammering a recovering store.
        if r.status() == StatusCode::SERVICE_UNAVAILABLE && !r.headers().contains_key(header::RETRY_AFTER) {
            r.headers_mut().insert(header::RETRY_AFTER, actix_web::http::header::HeaderValue::from_static(UNAVAILABLE_RETRY_AFTER_SECS));
        }
        r
    }
}

/// Seconds a client is asked to wait after a 503: stores come back (a
/// PostgreSQL restart, a Redis failover) within seconds.
const UNAVAILABLE_RETRY_AFTER_SECS: &str = "2";

impl WebError {
    fn response(&self) -> HttpResponse {
        match self {
            WebError::Page { status, title, message } => page(*status, title, message, None),
            WebError::RateLimited { retry_after, json } => {
                let mut r = if *json {
                    no_store(HttpResponse::build(StatusCode::TOO_MANY_REQUESTS)).json(json!({ "error": "too many requests; try again later", "retry_after": retry_after }))
                } else {
                    let t = crate::lang::current();
                    let minutes = (retry_after + 59) / 60;
                    render(StatusCode::TOO_MANY_REQUESTS, &ErrorPage { t, title: t.get("error-too-many-title"), message: t.arg("error-too-many", "minutes", minutes), request_id: None })
                };
                if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&retry_after.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            WebError::Json(e) => json_error(e),
            WebError::Api(e) => api_error(e),
            WebError::SignInAgain { back } => crate::handlers::see_other(&format!("/login?next={back}")),
            WebError::Bearer(e) => bearer_error(e, false),
            WebError::Dpop(e) => bearer_error(e, true),
            WebError::Store(s) if is_unavailable(s) => {
                let id = reference();
                tracing::error!(reference = %id, error = %s, "store unavailable");
                page(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE_TITLE, UNAVAILABLE, Some(id))
            }
            WebError::Store(_) | WebError::Internal(_) => {
                let id = reference();
                tracing::error!(reference = %id, error = %self, "internal error");
                page(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_TITLE, INTERNAL, Some(id))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_auth_failure_is_401_with_challenge() {
        let r = WebError::Json(OAuthError::ClientAuthentication { used_basic: true }).error_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_some());
        assert_eq!(r.headers().get(header::CACHE_CONTROL).map(|v| v.as_bytes()), Some(&b"no-store"[..]));
    }

    #[test]
    fn invalid_grant_is_400_without_challenge() {
        let r = WebError::Json(OAuthError::invalid_grant("x")).error_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn bearer_errors_follow_rfc6750() {
        let r = WebError::Bearer(OAuthError::new(ErrorCode::InvalidToken, "expired")).error_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let h = r.headers().get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        assert!(h.starts_with("Bearer ") && h.contains(r#"error="invalid_token""#), "{h}");
        let r = WebError::Bearer(OAuthError::new(ErrorCode::InsufficientScope, "needs openid")).error_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn attacker_text_never_reaches_www_authenticate() {
        let r = WebError::Bearer(OAuthError::new(ErrorCode::InvalidToken, "unknown alg \"RS256\r\nSet-Cookie: x=1\"")).error_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let h = r.headers().get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        assert_eq!(h, r#"Bearer realm="latchkey", error="invalid_token", error_description="the access token is invalid, expired or revoked""#);
    }

    #[test]
    fn store_outage_is_503_page() {
        let r = WebError::Store(StoreError::Unavailable("down".into())).error_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
