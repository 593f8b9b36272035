//! An example MCP server ("Notes") protected by latchkey access tokens.
//!
//! It speaks the MCP Streamable HTTP transport at `/mcp`, minimally: each
//! `POST` carries one JSON-RPC 2.0 message and a request is answered with
//! one `application/json` response (no SSE stream, no session). `GET` and
//! `DELETE` answer 405: the server never speaks first and keeps no session.
//!
//! - `initialize` (protocol version negotiation), `ping`, `tools/list`,
//!   `tools/call`; a notification or a response is accepted with 202.
//! - Tools: `whoami` and `list_notes` (scope `notes:read`, which every
//!   request needs) and `add_note` (also `notes:write`; without it the
//!   request gets 403 `insufficient_scope` with `scope="notes:write"`, so the
//!   client can ask for more).
//!
//! The server's resource identifier is the MCP endpoint's URL (the audience
//! of its [`Verifier`], e.g. `http://127.0.0.1:9091/mcp`). Its protected
//! resource metadata (RFC 9728) is served where §3.1 puts it for that
//! resource, `/.well-known/oauth-protected-resource/mcp`, and at the bare
//! `/.well-known/oauth-protected-resource` too; every 401 and 403 points
//! there (`resource_metadata`), so an MCP client finds latchkey, registers
//! itself and signs the user in on its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_resource::{AuthError, Claims, Request, Requirement, Verifier};
use serde_json::{json, Value};

/// The path of the MCP endpoint; the audience ends with it.
pub const MCP_PATH: &str = "/mcp";
pub const READ: &str = "notes:read";
pub const WRITE: &str = "notes:write";
/// The scopes this server knows (its metadata's `scopes_supported`: what an
/// MCP client asks for).
pub const SCOPES: [&str; 2] = [READ, WRITE];
/// The MCP protocol versions spoken, newest first.
pub const PROTOCOL_VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];
/// What a request without `MCP-Protocol-Version` is taken to speak (the
/// transport's rule for clients older than the header).
const ASSUMED_PROTOCOL_VERSION: &str = "2025-03-26";
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Most notes kept for one user.
pub const MAX_NOTES: usize = 100;

/// JSON-RPC 2.0 error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

/// The server's state, shared by its workers (see [`Notes::new`]): the
/// token check, where its metadata is, the notes.
pub struct Notes {
    verifier: Arc<Verifier>,
    /// RFC 9728 §3.1 for the resource identifier (the audience).
    metadata_url: String,
    /// The resource's origin: the only `Origin` a browser may send (DNS
    /// rebinding protection, as the transport requires).
    origin: String,
    notes: Mutex<HashMap<String, Vec<String>>>,
}

/// What a JSON-RPC request comes to.
enum Outcome {
    Result(Value),
    Error(i64, String),
    /// Refused at the HTTP level (the token falls short for this call).
    Refused(AuthError),
}

fn rpc_result(id: &Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

fn rpc_error(id: &Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

impl Notes {
    /// The state of a server checking tokens with `verifier`, whose audience
    /// is the URL of the server's [`MCP_PATH`] (`http://host:port/mcp`).
    pub fn new(verifier: Arc<Verifier>) -> web::Data<Notes> {
        web::Data::new(Notes { metadata_url: latchkey_resource::resource_metadata_url(verifier.audience()), origin: origin_of(verifier.audience()), verifier, notes: Mutex::default() })
    }

    fn refuse(&self, e: &AuthError) -> HttpResponse {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        HttpResponse::build(status)
            .insert_header(("WWW-Authenticate", e.www_authenticate_with_metadata(&self.metadata_url)))
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({ "error": e.to_string() }))
    }

    /// The request's token, checked for `need`.
    async fn guarded(&self, req: &HttpRequest, need: &Requirement) -> Result<Claims, HttpResponse> {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        // The URL the client addressed (what a DPoP proof's htu names).
        let url = {
            let info = req.connection_info();
            format!("{}://{}{}", info.scheme(), info.host(), req.path())
        };
        let request = Request { authorization: header("authorization"), dpop: header("dpop"), method: req.method().as_str(), url: &url };
        self.verifier.check_request(&request, need).await.map_err(|e| self.refuse(&e))
    }

    /// A request from a web page of another origin is refused (403).
    fn foreign_origin(&self, req: &HttpRequest) -> Option<HttpResponse> {
        let origin = req.headers().get("origin")?;
        (origin.as_bytes() != self.origin.as_bytes()).then(|| HttpResponse::Forbidden().json(json!({ "error": "this origin may not call the MCP server" })))
    }

    fn dispatch(&self, claims: &Claims, method: &str, params: &Value) -> Outcome {
        match method {
            "initialize" => {
                let asked = params["protocolVersion"].as_str().unwrap_or_default();
                let version = PROTOCOL_VERSIONS.iter().find(|v| **v == asked).unwrap_or(&PROTOCOL_VERSIONS[0]);
                Outcome::Result(json!({
                    "protocolVersion": version,
                    "capabilities": { "tools": { "listChanged": false } },
                    "serverInfo": { "name": "latchkey-example-mcp-notes", "title": "Notes", "version": env!("CARGO_PKG_VERSION") },
                    "instructions": "Notes of the signed-in user: whoami, list_notes, add_note.",
                }))
            }
            "ping" => Outcome::Result(json!({})),
            "tools/list" => Outcome::Result(json!({ "tools": tools() })),
            "tools/call" => self.call_tool(claims, params["name"].as_str().unwrap_or_default(), &params["arguments"]),
            _ => Outcome::Error(METHOD_NOT_FOUND, format!("method {method:?} is not supported")),
        }
    }

    fn call_tool(&self, claims: &Claims, name: &str, arguments: &Value) -> Outcome {
        let mut notes = self.notes.lock().unwrap_or_else(|p| p.into_inner());
        match name {
            "whoami" => {
                let who = json!({ "sub": claims.sub, "client_id": claims.client_id, "scope": claims.scope });
                Outcome::Result(json!({ "content": [{ "type": "text", "text": who.to_string() }], "structuredContent": who, "isError": false }))
            }
            "list_notes" => {
                let mine = notes.get(&claims.sub).cloned().unwrap_or_default();
                let text = if mine.is_empty() { "No notes yet.".to_string() } else { mine.join("\n") };
                Outcome::Result(json!({ "content": [{ "type": "text", "text": text }], "isError": false }))
            }
            "add_note" => {
                if !claims.has_scope(WRITE) {
                    return Outcome::Refused(AuthError::InsufficientScope(WRITE.into()));
                }
                let text = arguments["text"].as_str().map(str::trim).unwrap_or_default();
                if text.is_empty() || text.chars().count() > MAX_NOTE_CHARS || text.chars().any(char::is_control) {
                    return tool_error(&format!("text must be 1-{MAX_NOTE_CHARS} characters on one line"));
                }
                let mine = notes.entry(claims.sub.clone()).or_default();
                if mine.len() >= MAX_NOTES {
                    return tool_error(&format!("at most {MAX_NOTES} notes are kept; this one was not added"));
                }
                mine.push(text.to_string());
                Outcome::Result(json!({ "content": [{ "type": "text", "text": format!("Added note {}.", mine.len()) }], "isError": false }))
            }
            _ => Outcome::Error(INVALID_PARAMS, format!("unknown tool {name:?}")),
        }
    }
}

/// A tool's own failure: a result the model reads, not a protocol error.
fn tool_error(text: &str) -> Outcome {
    Outcome::Result(json!({ "content": [{ "type": "text", "text": text }], "isError": true }))
}

fn tools() -> Value {
    json!([
        {
            "name": "whoami",
            "title": "Who am I",
            "description": "The signed-in user (sub), the client and the scopes of the access token.",
            "inputSchema": { "type": "object", "properties": {} },
            "outputSchema": {
                "type": "object",
                "properties": { "sub": { "type": "string" }, "client_id": { "type": "string" }, "scope": { "type": "string" } },
                "required": ["sub", "client_id", "scope"],
            },
        },
        {
            "name": "list_notes",
            "title": "List notes",
            "description": "The signed-in user's notes, one a line.",
            "inputSchema": { "type": "object", "properties": {} },
        },
        {
            "name": "add_note",
            "title": "Add a note",
            "description": "Adds a note for the signed-in user (needs notes:write).",
            "inputSchema": { "type": "object", "properties": { "text": { "type": "string", "maxLength": MAX_NOTE_CHARS } }, "required": ["text"] },
        },
    ])
}

/// `POST /mcp`: one JSON-RPC message.
async fn post(req: HttpRequest, body: web::Bytes, notes: web::Data<Notes>) -> HttpResponse {
    if let Some(refused) = notes.foreign_origin(&req) {
        return refused;
    }
    let claims = match notes.guarded(&req, &Requirement::scope(READ)).await {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    let version = req.headers().get("mcp-protocol-version").map(|v| v.to_str().unwrap_or_default()).unwrap_or(ASSUMED_PROTOCOL_VERSION);
    if !PROTOCOL_VERSIONS.contains(&version) {
        return HttpResponse::BadRequest().json(rpc_error(&Value::Null, INVALID_REQUEST, "unsupported MCP-Protocol-Version"));
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::BadRequest().json(rpc_error(&Value::Null, PARSE_ERROR, "the body is not JSON"));
    };
    let method = message["method"].as_str();
    let id = message.get("id").filter(|id| id.is_string() || id.is_i64() || id.is_u64());
    let is_response = message.get("result").is_some() || message.get("error").is_some();
    match (message["jsonrpc"].as_str(), method, id) {
        (Some("2.0"), Some(method), Some(id)) => match notes.dispatch(&claims, method, &message["params"]) {
            Outcome::Result(result) => HttpResponse::Ok().json(rpc_result(id, result)),
            Outcome::Error(code, text) => HttpResponse::Ok().json(rpc_error(id, code, &text)),
            Outcome::Refused(e) => notes.refuse(&e),
        },
        // A notification (`notifications/initialized`…) or a response: nothing to answer.
        (Some("2.0"), Some(_), None) if message.get("id").is_none() => HttpResponse::Accepted().finish(),
        (Some("2.0"), None, Some(_)) if is_response => HttpResponse::Accepted().finish(),
        _ => HttpResponse::BadRequest().json(rpc_error(&Value::Null, INVALID_REQUEST, "not a JSON-RPC 2.0 request, notification or response")),
    }
}

/// `GET` (no server-initiated stream) and `DELETE` (no session) on `/mcp`:
/// 405, after the token check like every other request.
async fn not_allowed(req: HttpRequest, notes: web::Data<Notes>) -> HttpResponse {
    if let Some(refused) = notes.foreign_origin(&req) {
        return refused;
    }
    match notes.guarded(&req, &Requirement::scope(READ)).await {
        Ok(_) => HttpResponse::MethodNotAllowed().insert_header(("Allow", "POST")).finish(),
        Err(refused) => refused,
    }
}

/// RFC 9728: what an MCP client needs to get a token for this server.
async fn resource_metadata(notes: web::Data<Notes>) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "max-age=300")).json(notes.verifier.resource_metadata(&SCOPES))
}

/// The origin (`scheme://host[:port]`) of a resource identifier.
fn origin_of(resource: &str) -> String {
    url::Url::parse(resource).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
}

/// The server's routes, on the state of [`Notes::new`] (one for all the
/// workers of an `HttpServer`, so that they share the notes).
pub fn configure(notes: web::Data<Notes>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(notes)
            .route(&format!("/.well-known/oauth-protected-resource{MCP_PATH}"), web::get().to(resource_metadata))
            .route("/.well-known/oauth-protected-resource", web::get().to(resource_metadata))
            .service(web::resource(MCP_PATH).route(web::post().to(post)).default_service(web::to(not_allowed)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::{call_and_read_body_json, call_service, init_service, TestRequest};
    use actix_web::App;

    const AUDIENCE: &str = "http://127.0.0.1:9091/mcp";

    fn verifier() -> Arc<Verifier> {
        Arc::new(Verifier::new("http://id.invalid", AUDIENCE, "http://id.invalid/jwks", reqwest::Client::new()))
    }

    fn claims(scope: &str) -> Claims {
        serde_json::from_value(json!({ "iss": "http://id.invalid", "sub": "u1", "aud": AUDIENCE, "exp": 2, "iat": 1, "jti": "j", "client_id": "c1", "scope": scope })).expect("claims")
    }

    #[test]
    fn the_origin_of_the_resource_is_scheme_host_and_port() {
        assert_eq!(origin_of("http://127.0.0.1:9091/mcp"), "http://127.0.0.1:9091");
        assert_eq!(origin_of("https://notes.example/mcp"), "https://notes.example");
        assert_eq!(origin_of("not a url"), "", "matches no Origin header");
    }

    /// RFC 9728: the 401 names the document of the resource `/mcp`, which
    /// is served there (and at the bare well-known path) naming the issuer.
    #[actix_web::test]
    async fn a_request_without_a_token_is_pointed_at_the_metadata() {
        let app = init_service(App::new().configure(configure(Notes::new(verifier())))).await;
        let expected = r#"resource_metadata="http://127.0.0.1:9091/.well-known/oauth-protected-resource/mcp""#;
        for req in [TestRequest::post().uri("/mcp").set_payload(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#), TestRequest::get().uri("/mcp")] {
            let resp = call_service(&app, req.to_request()).await;
            assert_eq!(resp.status(), 401);
            let challenge = resp.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            assert!(challenge.starts_with("Bearer ") && challenge.contains(expected), "{challenge}");
        }
        for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
            let doc: Value = call_and_read_body_json(&app, TestRequest::get().uri(path).to_request()).await;
            assert_eq!(doc["resource"], AUDIENCE, "{path}");
            assert_eq!(doc["authorization_servers"], json!(["http://id.invalid"]));
            assert_eq!(doc["scopes_supported"], json!(SCOPES));
        }
        let foreign = TestRequest::post().uri("/mcp").insert_header(("origin", "http://evil.example")).set_payload("{}").to_request();
        assert_eq!(call_service(&app, foreign).await.status(), 403, "another origin's page");
    }

    #[test]
    fn requests_are_answered_per_method_and_tool() {
        let notes = Notes::new(verifier());
        let (read, write) = (claims("notes:read"), claims("notes:read notes:write"));
        let result = |o: Outcome| match o {
            Outcome::Result(v) => v,
            Outcome::Error(code, m) => panic!("error {code}: {m}"),
            Outcome::Refused(e) => panic!("refused: {e}"),
        };
        let init = |asked: &str| result(notes.dispatch(&read, "initialize", &json!({ "protocolVersion": asked })));
        assert_eq!(init("2025-06-18")["protocolVersion"], "2025-06-18", "a version spoken is echoed");
        assert_eq!(init("1999-01-01")["protocolVersion"], PROTOCOL_VERSIONS[0], "otherwise the newest");
        assert_eq!(init("2025-11-25")["capabilities"], json!({ "tools": { "listChanged": false } }));
        let names: Vec<Value> = result(notes.dispatch(&read, "tools/list", &json!({})))["tools"].as_array().cloned().unwrap_or_default().iter().map(|t| t["name"].clone()).collect();
        assert_eq!(names, [json!("whoami"), json!("list_notes"), json!("add_note")]);
        let who = result(notes.dispatch(&read, "tools/call", &json!({ "name": "whoami" })));
        assert_eq!(who["structuredContent"], json!({ "sub": "u1", "client_id": "c1", "scope": "notes:read" }));

        let add = json!({ "name": "add_note", "arguments": { "text": "milk" } });
        assert!(matches!(notes.dispatch(&read, "tools/call", &add), Outcome::Refused(AuthError::InsufficientScope(s)) if s == WRITE), "403 insufficient_scope");
        assert_eq!(result(notes.dispatch(&write, "tools/call", &add))["isError"], false);
        let bad = result(notes.dispatch(&write, "tools/call", &json!({ "name": "add_note", "arguments": { "text": "a\nb" } })));
        assert_eq!(bad["isError"], true, "a tool error the model can read");
        let listed = result(notes.dispatch(&read, "tools/call", &json!({ "name": "list_notes" })));
        assert_eq!(listed["content"][0]["text"], "milk");
        assert!(matches!(notes.dispatch(&read, "tools/call", &json!({ "name": "rm" })), Outcome::Error(INVALID_PARAMS, _)));
        assert!(matches!(notes.dispatch(&read, "resources/list", &json!({})), Outcome::Error(METHOD_NOT_FOUND, _)));
    }
}
