//! Traces over OTLP (issue #31): a real `latchkey serve` exports its spans
//! to an OTLP/HTTP receiver this test runs (decoding every
//! `ExportTraceServiceRequest` with `opentelemetry-proto`), while a browser
//! signs in with a password through the authorization code flow, the
//! relying party exchanges the code and refreshes, and the user signs out
//! (a back-channel logout to a receiver of the test's, and webhooks of every
//! event to another).
//!
//! Checked: a server span per request with its request id; the SQL
//! statements (without parameters), the argon2 verification and the JWT
//! signatures as its descendants in its trace; Redis commands on PostgreSQL
//! and Redis; a `traceparent` from a trusted proxy continued and one from
//! anyone else ignored; the back-channel logout carrying the trace of the
//! sign-out; webhook deliveries as traces of their own, carried to the
//! receiver; the last spans sent when the node stops. Then every name,
//! attribute and event of every exported span is searched for the password,
//! the code, the tokens, the client secret, the logout token, the webhook
//! signing secret and the cookies: none may appear.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::{OAuth2TokenResponse, TokenResponse};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;

use crate::resilience::node_kill::{latchkey_binary, Node};
use crate::support::browser::Browser;
use crate::support::rp::sign_in_default;
use crate::support::{Backend, Rp, TestApp, TestClient, PASSWORD, USERNAME};

/// The trusted proxy's address (any 127.x works on Linux's loopback).
const PROXY: &str = "127.0.0.2";

/// One exported span, flattened.
#[derive(Debug, Clone)]
struct Span {
    trace_id: String,
    span_id: String,
    parent_id: String,
    name: String,
    kind: i32,
    attributes: BTreeMap<String, String>,
    /// Every string the span carries (name, keys, values, events, status).
    strings: Vec<String>,
}

fn value_text(v: &Option<AnyValue>, out: &mut Vec<String>) -> String {
    let Some(v) = v.as_ref().and_then(|v| v.value.as_ref()) else { return String::new() };
    let text = match v {
        any_value::Value::StringValue(s) => s.clone(),
        any_value::Value::BoolValue(b) => b.to_string(),
        any_value::Value::IntValue(i) => i.to_string(),
        any_value::Value::DoubleValue(d) => d.to_string(),
        any_value::Value::BytesValue(b) => String::from_utf8_lossy(b).into_owned(),
        any_value::Value::ArrayValue(a) => a.values.iter().map(|v| value_text(&Some(v.clone()), out)).collect::<Vec<_>>().join(","),
        any_value::Value::KvlistValue(kv) => kv.values.iter().map(|kv| format!("{}={}", kv.key, value_text(&kv.value, out))).collect::<Vec<_>>().join(","),
        _ => String::new(),
    };
    out.push(text.clone());
    text
}

fn attributes(kvs: &[KeyValue], out: &mut Vec<String>) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| {
            out.push(kv.key.clone());
            (kv.key.clone(), value_text(&kv.value, out))
        })
        .collect()
}

/// The spans of the batches received so far, and the strings of their
/// resources and scopes.
fn flatten(batches: &[ExportTraceServiceRequest]) -> (Vec<Span>, Vec<String>) {
    let (mut spans, mut other) = (Vec::new(), Vec::new());
    for batch in batches {
        for rs in &batch.resource_spans {
            if let Some(r) = &rs.resource {
                attributes(&r.attributes, &mut other);
            }
            for ss in &rs.scope_spans {
                if let Some(scope) = &ss.scope {
                    other.push(scope.name.clone());
                    other.push(scope.version.clone());
                }
                for s in &ss.spans {
                    let mut strings = vec![s.name.clone(), s.trace_state.clone()];
                    let attributes = attributes(&s.attributes, &mut strings);
                    for e in &s.events {
                        strings.push(e.name.clone());
                        self::attributes(&e.attributes, &mut strings);
                    }
                    for l in &s.links {
                        self::attributes(&l.attributes, &mut strings);
                    }
                    if let Some(status) = &s.status {
                        strings.push(status.message.clone());
                    }
                    spans.push(Span { trace_id: hex(&s.trace_id), span_id: hex(&s.span_id), parent_id: hex(&s.parent_span_id), name: s.name.clone(), kind: s.kind, attributes, strings });
                }
            }
        }
    }
    (spans, other)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the test's receiver got: OTLP batches and back-channel logouts
/// (their `traceparent` and body).
#[derive(Default)]
struct Received {
    batches: Vec<ExportTraceServiceRequest>,
    logouts: Vec<(Option<String>, String)>,
    /// Webhook deliveries' `traceparent`.
    webhooks: Vec<Option<String>>,
}

/// The OTLP/HTTP receiver (`POST /v1/traces`, protobuf) and a relying
/// party's back-channel logout endpoint (`POST /backchannel`).
async fn receiver() -> (String, Arc<Mutex<Received>>) {
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    let received = Arc::new(Mutex::new(Received::default()));
    let data = web::Data::new(received.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(32 * 1024 * 1024))
            .route(
                "/v1/traces",
                web::post().to(|req: HttpRequest, body: web::Bytes, got: web::Data<Arc<Mutex<Received>>>| async move {
                    assert_eq!(req.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/x-protobuf"));
                    match ExportTraceServiceRequest::decode(body) {
                        Ok(batch) => {
                            got.lock().unwrap_or_else(|p| p.into_inner()).batches.push(batch);
                            HttpResponse::Ok().content_type("application/x-protobuf").body(ExportTraceServiceResponse::default().encode_to_vec())
                        }
                        Err(e) => HttpResponse::BadRequest().body(e.to_string()),
                    }
                }),
            )
            .route(
                "/webhook",
                web::post().to(|req: HttpRequest, got: web::Data<Arc<Mutex<Received>>>| async move {
                    let traceparent = req.headers().get("traceparent").and_then(|v| v.to_str().ok()).map(str::to_string);
                    got.lock().unwrap_or_else(|p| p.into_inner()).webhooks.push(traceparent);
                    HttpResponse::Ok().finish()
                }),
            )
            .route(
                "/backchannel",
                web::post().to(|req: HttpRequest, body: String, got: web::Data<Arc<Mutex<Received>>>| async move {
                    let traceparent = req.headers().get("traceparent").and_then(|v| v.to_str().ok()).map(str::to_string);
                    got.lock().unwrap_or_else(|p| p.into_inner()).logouts.push((traceparent, body));
                    HttpResponse::Ok().finish()
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    (base, received)
}

/// A client of the node reaching it from `local`, the issuer's URLs
/// proxied to it (as the browser does).
fn http_from(node: &Node, local: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(local.parse().expect("address")))
        .redirect(reqwest::redirect::Policy::none())
        .proxy(reqwest::Proxy::http(node.base.clone()).expect("node address"))
        .build()
        .expect("http client")
}

/// The spans of `trace` under `root` (children, their children…).
fn descendants<'a>(spans: &'a [Span], root: &Span) -> Vec<&'a Span> {
    let mut found: Vec<&Span> = Vec::new();
    let mut frontier = vec![root.span_id.clone()];
    while let Some(parent) = frontier.pop() {
        for s in spans.iter().filter(|s| s.trace_id == root.trace_id && s.parent_id == parent) {
            frontier.push(s.span_id.clone());
            found.push(s);
        }
    }
    found
}

fn server_span<'a>(spans: &'a [Span], request_id: &str) -> &'a Span {
    let found: Vec<&Span> = spans.iter().filter(|s| s.attributes.get("request_id").map(String::as_str) == Some(request_id)).collect();
    assert_eq!(found.len(), 1, "one span for request {request_id}: {found:#?}");
    assert_eq!(found[0].kind, SpanKind::Server as i32);
    found[0]
}

async fn traces_of_a_sign_in_and_a_refresh(backend: Backend) {
    if crate::support::services::skip_slow("traces over OTLP (a spawned latchkey serve)") {
        return;
    }
    let Some(bin) = latchkey_binary() else { return };
    let Some(app) = TestApp::start(backend).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (otlp, received) = receiver().await;
    let new = TestClient::web_app("Traced RP").backchannel_logout(Some(format!("{otlp}/backchannel"))).build();
    let (client_id, secret) = app.register(new).await;
    let secret = secret.expect("confidential");
    // Every event goes out as a webhook too (from the node's outbox loop).
    let (_, webhook_secret) = app.state.add_webhook(&latchkey_app::admin::Actor::Cli, &format!("{otlp}/webhook"), &[], None, true).await.expect("webhook");
    let env = [
        ("LATCHKEY_LOG", "warn"),
        ("LATCHKEY_TRUSTED_PROXIES", PROXY),
        ("LATCHKEY_OTLP_ENDPOINT", otlp.as_str()),
        ("LATCHKEY_OTLP_SERVICE_NAME", "latchkey-under-test"),
        // Nothing leaves before the stop unless a batch fills: the stop's
        // flush is tested too.
        ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
    ];
    let mut node = Node::spawn_with(&bin, &app, &env).await;

    // Sign-in, code exchange and refresh, through the node.
    let proxied = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .proxy(openidconnect::reqwest::Proxy::http(node.base.clone()).expect("node address"))
        .build()
        .expect("http client");
    let rp = Rp::discover_via(&app.issuer, proxied, &client_id, Some(&secret)).await;
    let mut browser = Browser::new(&app.issuer, node.addr);
    let req = rp.authorize_scopes(&["offline_access"], &[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("code");
    let tokens = rp.exchange(&code, req.verifier).await.expect("exchange");
    let (access, refresh) = (tokens.access_token().secret().clone(), tokens.refresh_token().expect("refresh token").secret().clone());
    let id_token = tokens.id_token().map(|t| t.to_string()).expect("id token");
    let http = http_from(&node, "127.0.0.1");
    let refreshed = http
        .post(app.url("/token"))
        .basic_auth(&client_id, Some(&secret))
        .header("x-request-id", "otlp-refresh")
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())])
        .send()
        .await
        .expect("refresh");
    assert_eq!(refreshed.status(), 200);
    let refreshed: serde_json::Value = refreshed.json().await.expect("json");
    let (access2, refresh2) = (refreshed["access_token"].as_str().unwrap_or_default().to_string(), refreshed["refresh_token"].as_str().unwrap_or_default().to_string());
    assert!(!access2.is_empty() && !refresh2.is_empty());

    // A traceparent from the trusted proxy is continued; from anyone else, ignored.
    let (trusted_trace, trusted_parent) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let (untrusted_trace, untrusted_parent) = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");
    for (local, id, trace, parent) in [(PROXY, "otlp-trusted", trusted_trace, trusted_parent), ("127.0.0.1", "otlp-untrusted", untrusted_trace, untrusted_parent)] {
        let r = http_from(&node, local)
            .get(app.url("/.well-known/openid-configuration"))
            .header("x-request-id", id)
            .header("traceparent", format!("00-{trace}-{parent}-01"))
            .send()
            .await
            .expect("discovery");
        assert_eq!(r.status(), 200);
    }

    // Sign-out: the relying party's back-channel logout carries the trace.
    let csrf = browser.get("/account").await.field("csrf_token").expect("csrf");
    browser.headers.push(("x-request-id".into(), "otlp-logout".into()));
    browser.post_form("/logout", &[("csrf_token", &csrf)]).await;
    let started = Instant::now();
    while received.lock().unwrap_or_else(|p| p.into_inner()).logouts.is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "the back-channel logout arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    while received.lock().unwrap_or_else(|p| p.into_inner()).webhooks.is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "a webhook arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cookies: Vec<String> = browser.cookies.values().cloned().collect();
    // Let the delivery's spans end, then stop: the rest is flushed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    node.stop().await;

    let got = received.lock().unwrap_or_else(|p| p.into_inner());
    let (spans, other) = flatten(&got.batches);
    assert!(!spans.is_empty(), "spans were exported");
    assert!(other.iter().any(|s| s == "latchkey-under-test"), "the service is named: {other:?}");

    // A server span per request, with its request id, method, path and status.
    let servers: Vec<&Span> = spans.iter().filter(|s| s.kind == SpanKind::Server as i32).collect();
    assert!(servers.len() >= 8, "{} server spans", servers.len());
    for s in &servers {
        for key in ["request_id", "http.request.method", "url.path", "http.route", "http.response.status_code"] {
            assert!(s.attributes.contains_key(key), "{key} on {s:#?}");
        }
        assert!(!s.attributes["url.path"].contains('?'), "a path without its query: {s:#?}");
    }
    assert!(servers.iter().all(|s| !s.attributes["url.path"].starts_with("/health")), "health probes are not traced");

    // The password sign-in: argon2 and SQL under its server span.
    let login = servers.iter().find(|s| s.name == "POST /login").expect("the sign-in's span");
    let under = descendants(&spans, login);
    assert!(under.iter().any(|s| s.name == "argon2id verify"), "argon2 under the sign-in: {under:#?}");
    let system = if backend == Backend::Postgres { "postgresql" } else { "sqlite" };
    let statements: Vec<&&Span> = under.iter().filter(|s| s.attributes.contains_key("db.query.text")).collect();
    assert!(!statements.is_empty(), "SQL statements under the sign-in: {under:#?}");
    for st in &statements {
        assert_eq!(st.attributes.get("db.system.name").map(String::as_str), Some(system));
        assert_eq!(st.kind, SpanKind::Client as i32);
        assert!(!st.attributes["db.query.text"].contains("binds"), "no parameters: {st:#?}");
    }

    // The code exchange (the first POST /token) and the refresh: signatures and SQL.
    let token_spans: Vec<&&Span> = servers.iter().filter(|s| s.name == "POST /token").collect();
    assert_eq!(token_spans.len(), 2, "the exchange and the refresh");
    let refresh_span = server_span(&spans, "otlp-refresh");
    let exchange = token_spans.iter().find(|s| s.span_id != refresh_span.span_id).expect("the exchange's span");
    for (what, root) in [("exchange", **exchange), ("refresh", refresh_span)] {
        let under = descendants(&spans, root);
        let signed: Vec<&str> = under.iter().filter(|s| s.name == "sign JWT").map(|s| s.attributes.get("jwt.alg").map(String::as_str).unwrap_or_default()).collect();
        assert!(!signed.is_empty(), "{what}: a signature span: {under:#?}");
        assert!(under.iter().any(|s| s.attributes.get("db.system.name").map(String::as_str) == Some(system)), "{what}: SQL statements: {under:#?}");
        if what == "exchange" {
            assert!(signed.contains(&"RS256"), "the ID token's signature: {signed:?}");
        }
    }
    if backend == Backend::Postgres {
        let redis: Vec<&Span> = spans.iter().filter(|s| s.attributes.get("db.system.name").map(String::as_str) == Some("redis")).collect();
        assert!(!redis.is_empty(), "Redis commands are traced");
        assert!(redis.iter().all(|s| servers.iter().any(|root| descendants(&spans, root).iter().any(|d| d.span_id == s.span_id))), "each Redis span is under a request");
    }

    // The trusted proxy's trace is continued; the stranger's is not.
    let trusted = server_span(&spans, "otlp-trusted");
    assert_eq!((trusted.trace_id.as_str(), trusted.parent_id.as_str()), (trusted_trace, trusted_parent), "continued from the trusted proxy");
    let untrusted = server_span(&spans, "otlp-untrusted");
    assert_ne!(untrusted.trace_id, untrusted_trace, "a stranger's traceparent is ignored");
    assert!(untrusted.parent_id.is_empty(), "and the span is a root");

    // The back-channel logout went out in the sign-out's trace.
    let logout = server_span(&spans, "otlp-logout");
    let (traceparent, logout_body) = got.logouts[0].clone();
    let traceparent = traceparent.expect("the back-channel logout carries a traceparent");
    assert_eq!(traceparent.split('-').nth(1), Some(logout.trace_id.as_str()), "in the sign-out's trace");
    let delivery = spans.iter().find(|s| s.name == "backchannel_logout").expect("the delivery's span");
    assert_eq!(delivery.trace_id, logout.trace_id);
    let outgoing = descendants(&spans, delivery).into_iter().find(|s| s.kind == SpanKind::Client as i32 && s.name == "POST").expect("the outgoing call's span");
    assert_eq!(traceparent.split('-').nth(2), Some(outgoing.span_id.as_str()), "the receiver's parent is the outgoing call");
    assert!(!outgoing.attributes.contains_key("url.path") && !outgoing.attributes.contains_key("url.full"), "no receiver URL path: {outgoing:#?}");

    // Each webhook delivery is a trace of its own, carried to the receiver.
    let webhook_traceparent = got.webhooks[0].clone().expect("the webhook carries a traceparent");
    let deliveries: Vec<&Span> = spans.iter().filter(|s| s.name == "webhook_delivery").collect();
    assert!(!deliveries.is_empty(), "webhook deliveries are traced");
    let posted = deliveries
        .iter()
        .flat_map(|d| descendants(&spans, d))
        .find(|s| webhook_traceparent.split('-').nth(2) == Some(s.span_id.as_str()))
        .expect("the receiver's parent is a delivery's outgoing call");
    assert_eq!((posted.kind, posted.attributes.get("server.address").map(String::as_str)), (SpanKind::Client as i32, Some("127.0.0.1")));

    // No secret in any exported name, attribute or event.
    let logout_token = url::form_urlencoded::parse(logout_body.as_bytes()).find(|(k, _)| k == "logout_token").map(|(_, v)| v.into_owned()).expect("logout_token");
    let mut secrets = vec![
        ("password", PASSWORD.to_string()),
        ("code", code),
        ("access token", access),
        ("refresh token", refresh),
        ("ID token", id_token),
        ("refreshed access token", access2),
        ("rotated refresh token", refresh2),
        ("client secret", secret),
        ("logout token", logout_token),
        ("webhook signing secret", webhook_secret.trim_start_matches("whsec_").to_string()),
    ];
    secrets.extend(cookies.into_iter().filter(|c| c.len() >= 16).map(|c| ("cookie", c)));
    let everything: Vec<&String> = spans.iter().flat_map(|s| s.strings.iter()).chain(other.iter()).collect();
    for (what, value) in secrets {
        assert!(!value.is_empty(), "{what}");
        // A JWT's signature part alone is enough to recognise a leak.
        let needle = if value.starts_with("eyJ") { value.rsplit('.').next().unwrap_or(&value).to_string() } else { value.clone() };
        let leak = everything.iter().find(|s| s.contains(&needle));
        assert!(leak.is_none(), "the {what} was exported: {leak:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_of_a_sign_in_and_a_refresh_are_exported_without_secrets() {
    traces_of_a_sign_in_and_a_refresh(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_of_a_sign_in_and_a_refresh_on_postgres_and_redis() {
    traces_of_a_sign_in_and_a_refresh(Backend::Postgres).await;
}
