//! The official MCP TypeScript SDK against an MCP server latchkey protects
//! (issue #27): `tests/mcp/client.mjs` (the SDK pinned by its lock file)
//! connects to the example server `examples/mcp-notes` and finds its own way
//! — the server's 401, its protected resource metadata (RFC 9728),
//! latchkey's metadata (RFC 8414), dynamic client registration (RFC 7591,
//! policy `open`), the code flow with PKCE and `resource` = the MCP
//! endpoint (RFC 8707), the user's sign-in and consent in headless Chromium
//! — then calls tools, refreshes a spoiled token by itself and calls again.
//! A token for another API is refused by the MCP server.
//!
//! `.ci/run` installs the SDK (`npm ci` in `tests/mcp`). Elsewhere a missing
//! Node or `node_modules` is reported loudly (a failure under `CI=true`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer};
use latchkey_app::registration::RegistrationPolicy;
use latchkey_domain::{Clock, ScopeSet};
use serde_json::{json, Value};

use crate::accounts::{admin_post, admin_token};
use crate::support::cdp::Chrome;
use crate::support::node::NodeProcess;
use crate::support::raw::post_form;
use crate::support::services::skip_slow;
use crate::support::{jwt, Backend, TestApp, TestClient, PASSWORD, USERNAME};

/// How long any one step of the client may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// What the SDK asks for: the scopes of the server's metadata.
const SCOPE: &str = "notes:read notes:write";
/// Another API, whose tokens the MCP server must refuse.
const REPORTS: &str = "https://reports.example/api";

/// `tests/mcp/client.mjs` as a child process, killed on drop.
struct McpClient(NodeProcess);

impl McpClient {
    /// None after `missing(..)` when Node or `tests/mcp/node_modules` is absent.
    fn start(server_url: &str) -> Option<McpClient> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mcp");
        NodeProcess::spawn(&dir, "@modelcontextprotocol/sdk", "client.mjs", &[server_url], "the MCP TypeScript SDK", "mcp client").map(McpClient)
    }

    fn stderr(&self) -> String {
        self.0.stderr()
    }

    /// The value of the client's next line, which must be `tag <value>`.
    async fn expect(&mut self, tag: &str) -> String {
        let line = match tokio::time::timeout(STEP_TIMEOUT, self.0.lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!("the MCP client ended before {tag} (exit {:?}); its stderr:\n{}", self.0.child.try_wait(), self.stderr()),
            Err(_) => panic!("no {tag} from the MCP client in {STEP_TIMEOUT:?}; its stderr:\n{}", self.stderr()),
        };
        let (got, value) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        assert!(got != "ERROR", "the MCP client failed before {tag}: {}\nits stderr:\n{}", serde_json::from_str::<String>(value).unwrap_or_else(|_| value.to_string()), self.stderr());
        assert_eq!(got, tag, "the MCP client said {line}, not {tag}; its stderr:\n{}", self.stderr());
        value.to_string()
    }

    /// Waits for the client to end; it must end well.
    async fn succeeds(&mut self) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        let status: ExitStatus = loop {
            if let Some(status) = self.0.child.try_wait().expect("wait for the MCP client") {
                break status;
            }
            assert!(Instant::now() < deadline, "the MCP client did not exit; its stderr:\n{}", self.stderr());
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let mut said = Vec::new();
        while let Ok(line) = self.0.lines.try_recv() {
            said.push(line);
        }
        assert!(status.success(), "the MCP client exited with {status}, saying {said:?}; its stderr:\n{}", self.stderr());
    }
}

/// Starts the example MCP server on `listener`, accepting latchkey's tokens
/// for `audience` (its `/mcp` URL).
fn start_notes(app: &TestApp, listener: TcpListener, audience: &str) {
    let http = reqwest::Client::builder().resolve("localhost", app.addr).build().expect("http");
    let clock = app.clock.clone();
    let verifier = Arc::new(latchkey_resource::Verifier::new(&app.issuer, audience, &app.url("/jwks"), http).with_clock(Arc::new(move || clock.now())));
    let notes = latchkey_example_mcp_notes::Notes::new(verifier);
    let server = HttpServer::new(move || App::new().configure(latchkey_example_mcp_notes::configure(notes.clone()))).workers(1).listen(listener).expect("listen").run();
    tokio::spawn(server);
}

/// POSTs a JSON-RPC request to the MCP server: status, `WWW-Authenticate`, body.
async fn mcp_post(url: &str, token: Option<&str>, method: &str, params: Value) -> (u16, String, Value) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("MCP server");
    let status = r.status().as_u16();
    let challenge = r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, challenge, serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null))
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url).expect("url").query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

async fn the_official_mcp_sdk_signs_in_and_calls_a_tool(backend: Backend) {
    if skip_slow("the MCP SDK (node) and a real browser") {
        return;
    }
    let Some(app) = TestApp::start_with(backend, |s| s.client_registration = RegistrationPolicy::Open).await else { return };
    let user = app.add_user(USERNAME, PASSWORD).await;

    // The MCP server: its address first, as its audience is its URL.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mcp = format!("http://{}/mcp", listener.local_addr().expect("addr"));
    let admin = admin_token(&app).await;
    let (status, api) = admin_post(
        &app,
        "/admin/api/v1/apis",
        Some(&admin),
        &json!({
            "name": "Notes (MCP)", "audience": mcp, "self_registration": true,
            "scopes": [{ "name": "notes:read", "description": "Read your notes" }, { "name": "notes:write", "description": "Write notes for you" }],
        }),
    )
    .await;
    assert_eq!(status, 201, "{api}");
    start_notes(&app, listener, &mcp);

    // Without a token: 401, pointing at the metadata of the resource /mcp.
    let metadata_url = mcp.replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    let (status, challenge, _) = mcp_post(&mcp, None, "ping", json!({})).await;
    assert_eq!(status, 401);
    assert!(challenge.starts_with("Bearer ") && challenge.contains(&format!(r#"resource_metadata="{metadata_url}""#)), "{challenge}");
    let metadata: Value = reqwest::get(&metadata_url).await.expect("metadata").json().await.expect("json");
    assert_eq!((metadata["resource"].as_str(), &metadata["authorization_servers"]), (Some(mcp.as_str()), &json!([app.issuer])), "{metadata}");

    let Some(mut chrome) = Chrome::launch().await else { return };
    let Some(mut client) = McpClient::start(&mcp) else { return };

    // The SDK registered itself and asks for the server's scopes, for the server.
    let client_id = client.expect("REGISTERED").await;
    let registered = app.state.oauth.client(&client_id).await.expect("lookup").expect("the registered client");
    assert!(registered.self_registered && registered.secret_hash.is_none(), "a self-registered public client");
    let authorize = client.expect("AUTHORIZE").await;
    assert!(authorize.starts_with(&app.url("/authorize?")), "{authorize}");
    let asked = query(&authorize);
    assert_eq!(asked.get("resource"), Some(&mcp), "{authorize}");
    assert_eq!(asked.get("scope").map(String::as_str), Some(SCOPE), "{authorize}");
    assert_eq!((asked.get("client_id"), asked.get("code_challenge_method").map(String::as_str)), (Some(&client_id), Some("S256")));
    let callback = asked.get("redirect_uri").cloned().unwrap_or_default();
    assert!(callback.starts_with("http://127.0.0.1:"), "a loopback redirect on the port it picked: {callback}");

    // The user, in a real browser: sign in, then consent.
    chrome.navigate(&authorize).await;
    let at_login = chrome.wait_for("location.pathname === '/login' && !!document.getElementById('username')", 15).await;
    let page = chrome.eval("location.href + ' :: ' + document.body.innerText.slice(0, 500)").await;
    assert!(at_login, "the sign-in page: {page}");
    chrome
        .eval(&format!(
            "document.getElementById('username').value = '{USERNAME}'; document.getElementById('password').value = '{PASSWORD}'; document.querySelector('form[action=\"/login\"]').submit(); true"
        ))
        .await;
    let at_consent = chrome.wait_for("!!document.querySelector('button[name=\"decision\"][value=\"allow\"]')", 15).await;
    let page = chrome.eval("location.href + ' :: ' + document.body.innerText").await;
    assert!(at_consent, "the consent page: {page}");
    let text = page.as_str().unwrap_or_default();
    let warning = latchkey_i18n::Tr::new(latchkey_i18n::Locale::En).arg("consent-self-registered", "brand", &latchkey_web::branding::current().name);
    assert!(text.contains(&warning), "the consent page says the app registered itself ({warning}): {text}");
    assert!(text.contains("MCP SDK test client") && text.contains("Read your notes") && text.contains("Write notes for you"), "{text}");
    chrome.eval("document.querySelector('button[name=\"decision\"][value=\"allow\"]').click(); true").await;
    let back = chrome.wait_for(&format!("location.href.startsWith('{callback}') && document.body.innerText.includes('Signed in to the MCP client')"), 15).await;
    let page = chrome.eval("location.href + ' :: ' + document.body.innerText.slice(0, 300)").await;
    assert!(back, "back at the MCP client: {page}");

    // The SDK exchanged the code: a token for the MCP server, and the tools work.
    let first = client.expect("TOKEN").await;
    let claims = jwt::payload(&first);
    assert_eq!((claims["aud"].as_str(), claims["sub"].as_str(), claims["client_id"].as_str()), (Some(mcp.as_str()), Some(user.id.0.as_str()), Some(client_id.as_str())), "{claims}");
    assert_eq!(claims["scope"], SCOPE, "{claims}");
    let result: Value = serde_json::from_str(&client.expect("RESULT").await).expect("RESULT json");
    assert_eq!(result["tools"], json!(["whoami", "list_notes", "add_note"]), "{result}");
    assert_eq!(result["protocolVersion"], latchkey_example_mcp_notes::PROTOCOL_VERSIONS[0], "{result}");
    assert_eq!(result["whoami"]["isError"], false, "{result}");
    assert_eq!(result["whoami"]["structuredContent"], json!({ "sub": user.id.0, "client_id": client_id, "scope": SCOPE }), "{result}");

    // Its access token spoiled, the SDK refreshed by itself and went on.
    let second = client.expect("TOKEN").await;
    let refreshed: Value = serde_json::from_str(&client.expect("REFRESHED").await).expect("REFRESHED json");
    assert_eq!((&refreshed["changed"], &refreshed["rotated"]), (&json!(true), &json!(true)), "a new access token, and the refresh token rotated: {refreshed}");
    assert_eq!(refreshed["added"]["isError"], false, "{refreshed}");
    assert_eq!(refreshed["notes"]["content"][0]["text"], "written after a refresh", "{refreshed}");
    assert_ne!(second, first);
    assert_eq!(jwt::payload(&second)["aud"], mcp.as_str(), "the refreshed token is for the MCP server too");
    let (status, _, body) = mcp_post(&mcp, Some(&second), "tools/call", json!({ "name": "whoami", "arguments": {} })).await;
    assert_eq!((status, &body["result"]["structuredContent"]["sub"]), (200, &json!(user.id.0)), "{body}");
    client.succeeds().await;

    // A token of the same issuer for another API: refused, pointing at the metadata.
    let (status, reports) = admin_post(&app, "/admin/api/v1/apis", Some(&admin), &json!({ "name": "Reports", "audience": REPORTS, "scopes": [{ "name": "reports:read" }] })).await;
    assert_eq!(status, 201, "{reports}");
    let (id, secret) = TestClient::service("Reports job").scopes(ScopeSet::from_api_names(["reports:read", "notes:read"])).register_confidential(&app).await;
    let basic = Some((id.as_str(), secret.as_str()));
    let other = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("scope", "reports:read")], basic).await;
    let other = other.body["access_token"].as_str().unwrap_or_else(|| panic!("a token for Reports: {}", other.body)).to_string();
    assert_eq!(jwt::payload(&other)["aud"], REPORTS);
    let (status, challenge, _) = mcp_post(&mcp, Some(&other), "tools/call", json!({ "name": "whoami", "arguments": {} })).await;
    assert_eq!(status, 401, "a token for another audience");
    assert!(challenge.contains(r#"error="invalid_token""#) && challenge.contains(&format!(r#"resource_metadata="{metadata_url}""#)), "{challenge}");

    // One for the MCP server without notes:write: that tool is refused with
    // the scope it needs (the SDK would ask for it).
    let read_only = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("scope", "notes:read")], basic).await;
    let read_only = read_only.body["access_token"].as_str().unwrap_or_else(|| panic!("a notes:read token: {}", read_only.body)).to_string();
    let (status, challenge, _) = mcp_post(&mcp, Some(&read_only), "tools/call", json!({ "name": "add_note", "arguments": { "text": "x" } })).await;
    assert_eq!(status, 403);
    assert!(challenge.contains(r#"error="insufficient_scope""#) && challenge.contains(r#"scope="notes:write""#) && challenge.contains("resource_metadata="), "{challenge}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_mcp_sdk_signs_in_and_calls_a_tool_on_sqlite() {
    the_official_mcp_sdk_signs_in_and_calls_a_tool(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_mcp_sdk_signs_in_and_calls_a_tool_on_postgres_and_redis() {
    the_official_mcp_sdk_signs_in_and_calls_a_tool(Backend::Postgres).await;
}
