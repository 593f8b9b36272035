//! Prometheus metrics, served on their own address (`LATCHKEY_METRICS_BIND`,
//! off by default) so they are never public by accident.
//!
//! Counters are recorded where things happen (the `metrics` facade, in the
//! domain crates too): HTTP requests by route and status with latency,
//! token requests by grant type and outcome, refresh rotations by result,
//! every audit event by kind and outcome (sign-ins, failures, reuse,
//! revocations, back-channel logout, …), rate-limit hits, fast-store errors.
//! Gauges read at scrape time: live sessions, database pool, build info.

use std::net::TcpListener;
use std::sync::{Arc, OnceLock};

use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets (seconds): a token answer is a few ms, a password sign-in
/// tens of ms (argon2), anything past a second is an incident.
const LATENCY_BUCKETS: [f64; 11] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Installs the process-wide recorder (once); `None` if another recorder was
/// installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().set_buckets_for_metric(metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS).ok()?.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            metrics::describe_counter!("latchkey_http_requests_total", "HTTP requests by route, method and status");
            metrics::describe_histogram!("latchkey_http_request_duration_seconds", "HTTP request latency by route");
            metrics::describe_counter!("latchkey_token_requests_total", "Token endpoint requests by grant type and outcome");
            metrics::describe_counter!("latchkey_refresh_rotations_total", "Refresh-token rotations by result (rotated, reused, refused, unknown)");
            metrics::describe_counter!("latchkey_audit_events_total", "Audit events (sign-ins, failures, reuse, revocations, …) by kind and outcome");
            metrics::describe_counter!("latchkey_rate_limited_total", "Requests refused by a rate limit, by limit");
            metrics::describe_counter!("latchkey_security_alerts_total", "Security alerts raised (once per window) by anomaly kind (deploy/prometheus/alerts.yaml)");
            // Every kind from zero, so an alerting rule's increase() sees the first alert too.
            for kind in latchkey_domain::AnomalyKind::ALL {
                metrics::counter!("latchkey_security_alerts_total", "kind" => kind.as_str()).increment(0);
            }
            metrics::describe_counter!("latchkey_fast_store_errors_total", "Errors talking to Redis");
            metrics::describe_gauge!("latchkey_redis_up", "1 while Redis answers, 0 while the circuit breaker is open");
            metrics::describe_counter!(
                "latchkey_fast_store_fallback_total",
                "Single-use values kept in the database (to=database) and counters kept on this node (to=node) while Redis was unreachable"
            );
            metrics::describe_counter!("latchkey_rate_limit_fallback_total", "Rate limits and throttles counted on this node because Redis was unreachable");
            metrics::describe_gauge!("latchkey_sessions_active", "Live browser sessions");
            metrics::describe_gauge!("latchkey_db_pool_connections", "Database pool connections by state (in_use, idle)");
            metrics::describe_gauge!("latchkey_build_info", "Build information");
            Some(handle)
        })
        .as_ref()
}

/// Records one HTTP request.
pub fn http_request(route: &str, method: &str, status: u16, seconds: f64) {
    metrics::counter!("latchkey_http_requests_total", "route" => route.to_string(), "method" => method.to_string(), "status" => status.to_string()).increment(1);
    metrics::histogram!("latchkey_http_request_duration_seconds", "route" => route.to_string()).record(seconds);
}

/// The exposition text, with the gauges read now.
pub async fn render(state: &AppState) -> String {
    let Some(handle) = install() else { return String::new() };
    let (now, limits) = (state.clock.now(), state.sessions.limits);
    if let Ok(n) = state.stores.db.scan(move |c| latchkey_store::repo::sessions::count_live(c, now, limits.idle, limits.absolute)).await {
        metrics::gauge!("latchkey_sessions_active").set(n as f64);
    }
    let (in_use, idle) = state.stores.db.pool_state();
    metrics::gauge!("latchkey_db_pool_connections", "state" => "in_use").set(f64::from(in_use));
    metrics::gauge!("latchkey_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("latchkey_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    handle.render()
}

/// Serves `GET /metrics` on `listener` (its own address, not the public one).
pub fn start(listener: TcpListener, state: Arc<AppState>) -> std::io::Result<Server> {
    install();
    let data = web::Data::from(state);
    Ok(crate::server::with_limits!(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(|state: web::Data<AppState>| async move { HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(render(&state).await) }))
    }))
    .workers(1)
    .listen(listener)?
    .run())
}
