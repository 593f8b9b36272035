//! Trace context over HTTP (W3C Trace Context, `traceparent`), issue #31.
//!
//! Spans are made with `tracing` everywhere; the binary exports them over
//! OTLP when `LATCHKEY_OTLP_ENDPOINT` is set, and only then installs the W3C
//! propagator. With it:
//! - a request from a trusted proxy continues the trace its `traceparent`
//!   names ([`continue_remote`]; the web crate decides who is trusted);
//! - every outgoing request of ours is a client span and carries its
//!   `traceparent` ([`SendTraced::send_traced`]).
//!
//! Without it the global propagator is OpenTelemetry's no-op: nothing is
//! read from or added to any request.
//!
//! Outgoing spans record the method, host and port, never the path or
//! query: a receiver's URL may be its secret (webhook URLs often are).

use std::collections::HashMap;
use std::future::Future;

use opentelemetry::propagation::Injector;
use opentelemetry::trace::TraceContextExt;
use tracing::field::Empty;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Makes `span` (not yet entered) a child of the remote span the request's
/// `traceparent` (and `tracestate`) name, read with `header`. A missing or
/// malformed header leaves `span` a root. Call it only for requests from a
/// trusted proxy: anyone else could otherwise choose our trace ids.
pub fn continue_remote<'a>(span: &tracing::Span, header: impl Fn(&str) -> Option<&'a str>) {
    // The two W3C headers, read through a function: the web crate's header
    // map is actix's, not `http`'s.
    let carrier: HashMap<String, String> = ["traceparent", "tracestate"].into_iter().filter_map(|name| header(name).map(|v| (name.to_string(), v.to_string()))).collect();
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
    if cx.span().span_context().is_valid() {
        // Fails only without the OpenTelemetry layer (nothing to continue).
        let _ = span.set_parent(cx);
    }
}

/// Names `span` anew once it is known what it was (a request's route is
/// known after routing): `otel.name` recorded on a started span is not
/// applied by the OpenTelemetry layer, so this goes to the span itself.
pub fn rename(span: &tracing::Span, name: String) {
    let cx = span.context();
    if cx.span().span_context().is_valid() {
        cx.span().update_name(name);
    }
}

/// Writes the propagator's headers into a `reqwest` request.
struct WriteHeaders<'a>(&'a mut reqwest::header::HeaderMap);

impl Injector for WriteHeaders<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (reqwest::header::HeaderName::from_bytes(key.as_bytes()), reqwest::header::HeaderValue::from_str(&value)) {
            self.0.insert(name, value);
        }
    }
}

/// Adds `span`'s `traceparent` to `headers` (nothing without the propagator,
/// or when `span` is not exported).
pub fn inject(span: &tracing::Span, headers: &mut reqwest::header::HeaderMap) {
    let cx = span.context();
    if cx.span().span_context().is_valid() {
        opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut WriteHeaders(headers)));
    }
}

/// `span` in the trace of the current span without being its child in
/// `tracing`: for work a request starts and does not wait for (a
/// back-channel logout delivery), so the request's span ends with the
/// request. `span` should be made with `parent: None`.
pub fn in_current_trace(span: tracing::Span) -> tracing::Span {
    let _ = span.set_parent(tracing::Span::current().context());
    span
}

/// Sending a `reqwest` request as a client span of the current trace.
pub trait SendTraced {
    /// `send()`, in a client span (method, host, port and status) whose
    /// `traceparent` the request carries.
    fn send_traced(self) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send;
}

impl SendTraced for reqwest::RequestBuilder {
    fn send_traced(self) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send {
        let (client, request) = self.build_split();
        async move { execute_traced(&client, request?).await }
    }
}

/// `client.execute(request)` in a client span (method, host, port and
/// status) whose `traceparent` the request carries: for callers that hold a
/// built request (the `openidconnect` crate's).
pub async fn execute_traced(client: &reqwest::Client, mut request: reqwest::Request) -> reqwest::Result<reqwest::Response> {
    let method = request.method().as_str().to_string();
    let url = request.url();
    let span = tracing::debug_span!(
        target: "latchkey_trace",
        "http.client",
        otel.name = %method,
        otel.kind = "client",
        http.request.method = %method,
        server.address = url.host_str().unwrap_or_default(),
        server.port = url.port_or_known_default().unwrap_or_default(),
        http.response.status_code = Empty,
        "error.type" = Empty,
    );
    inject(&span, request.headers_mut());
    let answer = client.execute(request).instrument(span.clone()).await;
    match &answer {
        Ok(r) => span.record("http.response.status_code", r.status().as_u16()),
        Err(e) if e.is_timeout() => span.record("error.type", "timeout"),
        Err(_) => span.record("error.type", "no answer"),
    };
    answer
}
