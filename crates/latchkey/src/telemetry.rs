//! Traces over OTLP (issue #31): `LATCHKEY_OTLP_ENDPOINT`, off by default.
//!
//! The spans are `tracing` spans of target `latchkey_trace`, made where the
//! work is (a request, each SQL statement, each Redis command, argon2,
//! signing, outgoing HTTP); this module turns them into OpenTelemetry spans
//! and sends them in batches as OTLP/HTTP protobuf (`POST …/v1/traces`).
//! gRPC is not offered: the HTTP exporter needs no second HTTP stack.
//!
//! - The batches leave from the SDK's own thread; each export runs on the
//!   server's tokio runtime through latchkey's reqwest client (rustls on
//!   aws-lc-rs, as every outgoing call): no request handler ever waits for
//!   an export, and a collector that is down costs dropped spans, not
//!   latency. `OTEL_BSP_*` tune the batches, `OTEL_EXPORTER_OTLP_HEADERS`
//!   adds headers (a collector's credentials).
//! - Only `serve` exports; what is queued is sent when it stops.
//! - Leaf spans (statements, commands, hashing, signing, outgoing calls) are
//!   kept only inside a request's or a delivery's span: the upkeep loops'
//!   statements would otherwise be thousands of one-span traces a minute.
//! - The W3C `traceparent` propagator is installed here: incoming ones are
//!   read from trusted proxies only (`latchkey_web::request_span`), outgoing
//!   calls carry ours (`latchkey_oauth::trace`).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing::level_filters::LevelFilter;
use tracing::{Level, Subscriber};
use tracing_subscriber::filter::DynFilterFn;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The collector's OTLP/HTTP address.
pub const ENDPOINT_VAR: &str = "LATCHKEY_OTLP_ENDPOINT";
/// The `service.name` of the exported spans.
pub const SERVICE_NAME_VAR: &str = "LATCHKEY_OTLP_SERVICE_NAME";
/// The target of every span meant for traces (and never for the logs).
pub const TRACE_TARGET: &str = "latchkey_trace";
/// One export (connection, request and answer) takes at most this long.
const EXPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// A collector's answer is a few bytes; more is not read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("{ENDPOINT_VAR}={0:?} must be an http:// or https:// URL (the collector's OTLP/HTTP address, e.g. http://127.0.0.1:4318)")]
    Endpoint(String),
    #[error("{SERVICE_NAME_VAR} must not be empty")]
    ServiceName,
    #[error("the OTLP exporter could not be set up: {0}")]
    Exporter(String),
}

/// Where traces go, from the environment (and the configuration file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpSettings {
    /// The full URL spans are posted to.
    pub traces_url: String,
    pub service_name: String,
}

impl OtlpSettings {
    /// `None` when `LATCHKEY_OTLP_ENDPOINT` is unset or empty (no traces).
    pub fn from_env() -> Result<Option<OtlpSettings>, TelemetryError> {
        let endpoint = std::env::var(ENDPOINT_VAR).unwrap_or_default();
        let service = std::env::var(SERVICE_NAME_VAR).ok();
        Self::parse(&endpoint, service.as_deref())
    }

    fn parse(endpoint: &str, service_name: Option<&str>) -> Result<Option<OtlpSettings>, TelemetryError> {
        let endpoint = endpoint.trim();
        if endpoint.is_empty() {
            return Ok(None);
        }
        let service_name = match service_name.map(str::trim) {
            None => "latchkey".to_string(),
            Some("") => return Err(TelemetryError::ServiceName),
            Some(name) => name.to_string(),
        };
        Ok(Some(OtlpSettings { traces_url: traces_url(endpoint)?, service_name }))
    }
}

/// The collector's base address gets OTLP's `/v1/traces` (as
/// `OTEL_EXPORTER_OTLP_ENDPOINT` does); a URL with a path of its own is
/// used as it is.
fn traces_url(endpoint: &str) -> Result<String, TelemetryError> {
    let bad = || TelemetryError::Endpoint(endpoint.to_string());
    let mut url = url::Url::parse(endpoint).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || url.query().is_some() {
        return Err(bad());
    }
    if url.path() == "/" || url.path().is_empty() {
        url.set_path("/v1/traces");
    }
    Ok(url.to_string())
}

/// The exporter's running part: flushes what is queued when shut down.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Sends what is still queued (waiting for the export) and stops.
    /// Call it while the runtime the exports run on still runs.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("warning: the last traces were not all exported: {e}");
        }
    }
}

/// The layer that exports `latchkey_trace` spans to `settings`' collector,
/// its exports running on `runtime`; installs the W3C propagator.
pub fn layer<S>(settings: &OtlpSettings, runtime: tokio::runtime::Handle) -> Result<(impl Layer<S>, Traces), TelemetryError>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let http = latchkey_oauth::http::client_builder().timeout(EXPORT_TIMEOUT).build().map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(ExportClient { http, runtime })
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(settings.traces_url.clone())
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let resource = Resource::builder().with_service_name(settings.service_name.clone()).with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION"))).build();
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
    let tracer = provider.tracer("latchkey");
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let layer = tracing_opentelemetry::layer().with_tracer(tracer).with_target(false).with_threads(false).with_filter(exported());
    Ok((layer, Traces { provider }))
}

/// Which spans are exported: those of [`TRACE_TARGET`]; the roots (a
/// request, a delivery: INFO) always, the leaves (DEBUG) only inside one.
/// Events are not: the logs have them, with the request id.
fn exported<S>() -> impl tracing_subscriber::layer::Filter<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    DynFilterFn::new(|meta: &tracing::Metadata<'_>, cx: &Context<'_, S>| meta.is_span() && meta.target() == TRACE_TARGET && (*meta.level() <= Level::INFO || cx.lookup_current().is_some()))
        .with_callsite_filter(|meta| if meta.is_span() && meta.target() == TRACE_TARGET { tracing::subscriber::Interest::sometimes() } else { tracing::subscriber::Interest::never() })
        .with_max_level_hint(LevelFilter::DEBUG)
}

/// The logs' filter leaves trace spans out unless `LATCHKEY_LOG` names
/// their target itself.
pub fn without_trace_spans(filter: tracing_subscriber::EnvFilter, text: &str) -> tracing_subscriber::EnvFilter {
    if text.contains(TRACE_TARGET) {
        return filter;
    }
    match format!("{TRACE_TARGET}=off").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// The exporter's HTTP client: latchkey's reqwest, each export spawned on
/// the server's runtime (the SDK's batch thread waits for it there).
#[derive(Debug)]
struct ExportClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for ExportClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let http = self.http.clone();
        let answered = self.runtime.spawn(async move {
            let mut answer = http.execute(request).await?;
            let (status, headers) = (answer.status(), std::mem::take(answer.headers_mut()));
            let mut body = Vec::new();
            while let Some(chunk) = answer.chunk().await? {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>((status, headers, body))
        });
        let (status, headers, body) = answered.await??;
        let mut response = Response::builder().status(status).body(Bytes::from(body))?;
        *response.headers_mut() = headers;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_get_the_traces_path_unless_they_have_one() {
        let parse = |e: &str| OtlpSettings::parse(e, None).map(|s| s.map(|s| s.traces_url));
        assert_eq!(parse("").ok(), Some(None), "unset: no traces");
        assert_eq!(parse("http://127.0.0.1:4318").ok().flatten().as_deref(), Some("http://127.0.0.1:4318/v1/traces"));
        assert_eq!(parse("https://otel.example.com/").ok().flatten().as_deref(), Some("https://otel.example.com/v1/traces"));
        assert_eq!(parse("http://c:4318/custom/traces").ok().flatten().as_deref(), Some("http://c:4318/custom/traces"));
        for bad in ["127.0.0.1:4318", "grpc://c:4317", "http://c:4318/v1/traces?x=1", "not a url"] {
            assert!(matches!(parse(bad), Err(TelemetryError::Endpoint(_))), "{bad}");
        }
    }

    #[test]
    fn the_service_is_latchkey_unless_named() {
        let named = |n: Option<&str>| OtlpSettings::parse("http://c:4318", n).map(|s| s.map(|s| s.service_name));
        assert_eq!(named(None).ok().flatten().as_deref(), Some("latchkey"));
        assert_eq!(named(Some("login-eu")).ok().flatten().as_deref(), Some("login-eu"));
        assert!(matches!(named(Some(" ")), Err(TelemetryError::ServiceName)));
    }
}
