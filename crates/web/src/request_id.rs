//! Request ids: an incoming `X-Request-Id` is kept when it is short and
//! plain (a proxy's), otherwise a new one is made; it is echoed back, logged,
//! and recorded with every audit event of the request.

use actix_web::dev::ServiceRequest;

/// The request's id.
pub fn of(req: &ServiceRequest) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}
