//! Building and starting the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};

use crate::routes;
use crate::state::AppState;

/// Bodies above this are refused: the largest legitimate request (a token
/// request or a sign-in form) is a few kilobytes.
const MAX_FORM_BYTES: usize = 64 * 1024;

// No response compression: gzip over pages that reflect input next to a
// secret (the CSRF token) is what BREACH needs, and our JSON answers are small.

/// Slow clients (slowloris): a request's head must arrive within 5 s of the
/// connection's first byte, or the connection is closed (408). A real client
/// sends it in one packet.
pub(crate) const CLIENT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Time a client gets to close a connection we are closing, before we drop it.
pub(crate) const CLIENT_DISCONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
/// Idle keep-alive connections are closed after 15 s: long enough for a
/// browser's next navigation or a load balancer's reuse, short enough that
/// idle sockets do not pile up.
pub(crate) const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(15);
/// Open connections per worker; beyond it new ones wait in the backlog.
pub(crate) const MAX_CONNECTIONS_PER_WORKER: usize = 25_000;
// Headers: actix-http refuses a request head over 128 KiB or with more than
// 96 headers (431 / 400); not configurable, and far above any real request.

/// The same limits on every listener (public and metrics). A macro, as
/// `HttpServer`'s type parameters are not nameable outside actix.
macro_rules! with_limits {
    ($server:expr) => {
        $server
            .client_request_timeout($crate::server::CLIENT_REQUEST_TIMEOUT)
            .client_disconnect_timeout($crate::server::CLIENT_DISCONNECT_TIMEOUT)
            .keep_alive($crate::server::KEEP_ALIVE)
            .max_connections($crate::server::MAX_CONNECTIONS_PER_WORKER)
    };
}
pub(crate) use with_limits;

/// How long in-flight requests may take to finish after a stop signal.
pub const GRACEFUL_SHUTDOWN_SECS: u64 = 30;

/// Starts serving on an already-bound listener. The returned server runs when
/// awaited (or spawned); its handle stops it.
pub fn start(listener: TcpListener, state: Arc<AppState>, workers: usize) -> std::io::Result<Server> {
    let hsts = state.hsts;
    let csp = state.csp.clone();
    let data = web::Data::from(state);
    let server = with_limits!(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_FORM_BYTES))
            .app_data(web::FormConfig::default().limit(MAX_FORM_BYTES))
            .app_data(routes::json_config())
            .wrap(routes::security_headers(hsts, &csp))
            .wrap_fn(|req, srv| {
                // Every request runs in an audit context (its address, user
                // agent and request id reach every event it records) and in a
                // log span and a trace span with the request id (see
                // `request_span`); it ends with one access-log line (secrets
                // redacted) and its metrics.
                let request_id = crate::request_id::of(&req);
                let info = crate::browser::client_info(req.request());
                let target = crate::access_log::redacted_target(req.path(), req.query_string());
                let method = req.method().to_string();
                let ip = info.ip.clone().unwrap_or_default();
                let ctx = latchkey_oauth::audit::AuditContext::new(info.ip, info.user_agent, Some(request_id.clone()));
                let spans = crate::request_span::of(&req, &request_id, &target);
                let started = std::time::Instant::now();
                // Its pages show this server's brand (see `branding`).
                let brand = req.app_data::<web::Data<AppState>>().map(|s| s.brand.clone()).unwrap_or_default();
                // Its error pages speak the browser's language (see `lang`).
                let t = crate::lang::tr(req.request());
                let fut = actix_web::dev::Service::call(srv, req);
                spans.instrument(async move {
                    let mut res = crate::branding::scope(brand, crate::lang::scope(t, ctx.scope(fut))).await?;
                    let status = res.status().as_u16();
                    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
                    crate::request_span::answered(&method, &route, status);
                    let seconds = started.elapsed().as_secs_f64();
                    crate::metrics::http_request(&route, &method, status, seconds);
                    if route != "/healthz" && !route.starts_with("/health/") {
                        tracing::info!(target: "access", %ip, %method, %target, status, ms = (seconds * 1000.0).round() as u64);
                    }
                    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&request_id) {
                        res.headers_mut().insert(actix_web::http::header::HeaderName::from_static("x-request-id"), v);
                    }
                    Ok(res)
                })
            })
            .configure(routes::configure)
    }))
    .workers(workers.max(1))
    // SIGTERM / SIGINT: stop accepting, let in-flight requests finish for up
    // to 30 s (a rolling restart's drain time), then exit.
    .shutdown_timeout(GRACEFUL_SHUTDOWN_SECS)
    .listen(listener)?
    .run();
    Ok(server)
}
