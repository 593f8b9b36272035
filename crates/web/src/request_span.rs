//! The spans every request runs in: `request{id}` for the logs, and inside
//! it the server span of a trace (target `latchkey_trace`), exported when
//! traces are (issue #31) and never logged.
//!
//! The server span records the request id, the method, the path (never the
//! query string: it carries codes, tokens and login hints), the matched
//! route and the status. A `traceparent` header is believed only from a
//! trusted proxy (`LATCHKEY_TRUSTED_PROXIES`), as the forwarding headers
//! are: from anyone else the request starts a trace of its own.

use actix_web::dev::ServiceRequest;
use actix_web::web;
use tracing::field::Empty;
use tracing::Instrument;

use crate::state::AppState;

/// A request's log span and its trace span.
pub struct RequestSpans {
    log: tracing::Span,
    trace: tracing::Span,
}

/// The spans of `req`; `target` is its access-log target (path and
/// redacted query), of which the path alone is recorded.
pub fn of(req: &ServiceRequest, request_id: &str, target: &str) -> RequestSpans {
    let log = tracing::info_span!("request", id = %request_id);
    let method = req.method().as_str();
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    // Health probes (every few seconds, from the orchestrator) are not traced.
    let probe = path == "/healthz" || path.starts_with("/health/");
    let trace = if probe {
        tracing::Span::none()
    } else {
        tracing::info_span!(
        target: "latchkey_trace",
        parent: None,
        "request",
        otel.name = %method,
        otel.kind = "server",
        otel.status_code = Empty,
        request_id = %request_id,
        http.request.method = %method,
        url.path = %path,
        http.route = Empty,
        http.response.status_code = Empty,
        )
    };
    let trusted = match (req.peer_addr(), req.app_data::<web::Data<AppState>>()) {
        (Some(peer), Some(state)) => state.trusted_proxies.trust(peer.ip()),
        _ => false,
    };
    if trusted {
        latchkey_oauth::trace::continue_remote(&trace, |name| req.headers().get(name).and_then(|v| v.to_str().ok()));
    }
    RequestSpans { log, trace }
}

impl RequestSpans {
    /// Runs `fut` in both: the trace span innermost, so that it is the
    /// current span handlers (and the database's threads) carry on.
    pub fn instrument<F: std::future::Future>(self, fut: F) -> impl std::future::Future<Output = F::Output> {
        fut.instrument(self.trace).instrument(self.log)
    }
}

/// Records the answer on the current request's trace span: the route it
/// matched (also its name, `GET /token`), and its status (5xx marks it
/// failed). Call it from inside [`RequestSpans::instrument`].
pub fn answered(method: &str, route: &str, status: u16) {
    let span = tracing::Span::current();
    latchkey_oauth::trace::rename(&span, format!("{method} {route}"));
    span.record("http.route", route);
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
}
