//! The generated document against the application that serves it.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{test as actix_test, App};
use serde_json::Value;

use super::{method_name, openapi, operations, BASE};

fn doc() -> Value {
    serde_json::to_value(openapi()).unwrap_or_default()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// A concrete URL for a templated path (`{username}` → `x`).
fn concrete(path: &str) -> String {
    path.split('/').map(|seg| if seg.starts_with('{') { "x" } else { seg }).collect::<Vec<_>>().join("/")
}

/// Every admin API route the application registers is in the document
/// with its method, and nothing else is: asked of the application itself
/// (`routes::configure`), each documented path answers its documented
/// methods (401 without a token, 200 for the public document) and 405 with
/// `Allow` for the others.
#[actix_web::test]
async fn every_registered_route_is_documented_and_nothing_else() {
    let doc = doc();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| item.as_object().into_iter().flatten().filter(|(m, _)| METHODS.contains(&m.as_str())).map(move |(m, _)| (path.clone(), m.clone())))
        .collect();
    let registered: BTreeSet<(String, String)> = operations().iter().flat_map(|op| op.methods.iter().map(move |m| (op.path.clone(), method_name(m).to_ascii_lowercase()))).collect();
    assert_eq!(registered, documented, "registered operations and documented ones differ");
    assert!(registered.len() >= 30, "found only {} admin operations", registered.len());

    let app = actix_test::init_service(App::new().configure(crate::routes::configure)).await;
    for path in doc["paths"].as_object().into_iter().flatten().map(|(p, _)| p) {
        let url = format!("{BASE}{}", concrete(path));
        for method in METHODS {
            let req = actix_test::TestRequest::default().method(method.to_ascii_uppercase().parse().unwrap_or_default()).uri(&url).to_request();
            let status = actix_test::call_service(&app, req).await.status();
            let op = &doc["paths"][path][method];
            if !op.is_object() {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {url}: undocumented, so 405");
            } else if op["security"] == serde_json::json!([]) {
                assert_eq!(status, StatusCode::OK, "{method} {url}: public");
            } else {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {url}: served, and only with a token");
            }
        }
    }
}

/// Collects every `$ref` in a JSON value.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// The document has OpenAPI 3.1's shape and says something about every
/// operation: a summary, a unique operationId, a success response, its path
/// parameters, the guard's 401 and 403; every `$ref` resolves.
#[test]
fn the_document_is_well_formed_openapi_3_1() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(doc["info"]["version"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(doc["servers"][0]["url"], BASE);
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        assert!(path.starts_with('/'), "{path}");
        let template: BTreeSet<&str> = path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
        for (method, op) in item.as_object().into_iter().flatten().filter(|(m, _)| METHODS.contains(&m.as_str())) {
            let at = format!("{method} {path}");
            assert!(op["summary"].as_str().is_some_and(|s| s.len() > 5), "{at}: a summary");
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty() && ids.insert(id.to_string()), "{at}: a unique operationId ({id})");
            let responses = op["responses"].as_object().cloned().unwrap_or_default();
            assert!(responses.keys().any(|c| c.starts_with('2')), "{at}: a success response");
            for (code, r) in &responses {
                assert!(code.len() == 3 && code.chars().all(|c| c.is_ascii_digit()), "{at}: status {code}");
                assert!(r["description"].is_string() || r["$ref"].is_string(), "{at} {code}: a description");
            }
            if op["security"] != serde_json::json!([]) {
                assert!(responses.contains_key("401") && responses.contains_key("403"), "{at}: the guard's answers");
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let in_path: BTreeSet<&str> = params.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect();
            assert_eq!(in_path, template, "{at}: its path parameters");
            for p in params.iter().filter(|p| p["in"] == "path") {
                assert_eq!(p["required"], true, "{at}: path parameter {} is required", p["name"]);
            }
            for p in &params {
                assert!(["path", "query", "header", "cookie"].contains(&p["in"].as_str().unwrap_or_default()), "{at}: {p}");
            }
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r.strip_prefix('#').unwrap_or("(not local)");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

/// The OpenAPI pattern of `logo_uri`, `policy_uri` and `tos_uri` says
/// exactly what the server accepts (Schemathesis sends both sides of it).
#[test]
fn the_openapi_pattern_and_the_server_agree() {
    let doc = doc();
    let props = &doc["components"]["schemas"]["NewClientRequest"]["properties"];
    let patch = &doc["components"]["schemas"]["ClientUpdateRequest"]["properties"];
    let pattern = super::clients::LINK_URI;
    for field in ["logo_uri", "policy_uri", "tos_uri"] {
        assert_eq!(props[field]["pattern"].as_str(), Some(pattern), "{field}");
        assert_eq!(patch[field]["pattern"].as_str(), Some(pattern), "{field} (PATCH)");
    }
    let re = regex::Regex::new(pattern).ok();
    assert!(re.is_some(), "the pattern compiles");
    let samples = [
        "https://cdn.app.example/logo.png",
        "https://a",
        "https://a-b.c-d.example:443/x?y=1&z=%20",
        "https://[::1]:8443/",
        "https://app.example:65535/",
        "https://app.example:65536/",
        "https://app.example:08080/",
        "https://app.example:0/",
        "https://app.example:/",
        "https://1.2.3.4/",
        "https://a.1b/",
        "https://-a.example/",
        "https://a--b.example/",
        "https://a..b/",
        "https://a./",
        "https://.a/",
        "https://a_b.example/",
        "https://app.example/a b",
        "https://app.example/#x",
        "https://u@app.example/",
        "https://app.example/\"x",
        "https://app.example/'x'",
        "https://app.example/é",
        "http://localhost",
        "http://localhost:41234/logo.svg",
        "http://127.0.0.1:8080/x",
        "http://[::1]/",
        "http://app.example/",
        "HTTPS://app.example/",
        "javascript:alert(1)",
        "data:image/png;base64,AA",
        "//app.example/x",
        "https://",
        "https://app.example?x",
        "https://app.example/%zz",
    ];
    for s in samples {
        let by_pattern = re.as_ref().is_some_and(|r| r.is_match(s));
        let by_server = latchkey_app::directory::clients::checked_https_uri("logo_uri", s).is_ok();
        assert_eq!(by_pattern, by_server, "{s:?}: pattern says {by_pattern}, server says {by_server}");
    }
}
