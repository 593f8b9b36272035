//! Just enough of the Chrome DevTools Protocol to drive Debian's headless
//! `chromium` in a test: launch, attach to the page, call methods, evaluate
//! JavaScript. (No crate needed for a dozen JSON messages over a WebSocket.)

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::services::{missing, unique};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Chrome {
    child: Child,
    socket: Socket,
    session: String,
    next_id: u64,
    profile: PathBuf,
}

fn binary() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|name| std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file())))
}

impl Chrome {
    /// Starts headless Chromium, or returns `None` after a loud notice (a
    /// failure under `CI=true`) when it is not installed.
    pub async fn launch() -> Option<Chrome> {
        let Some(bin) = binary() else {
            missing("Chromium", "no `chromium` on PATH (Debian: apt-get install chromium)");
            return None;
        };
        let profile = std::env::temp_dir().join(unique("latchkey-chromium-"));
        let child = Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--host-resolver-rules=MAP localhost 127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        // Chromium writes its DevTools port and path here once it listens.
        let port_file = profile.join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        let endpoint = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break format!("ws://127.0.0.1:{port}{path}");
                }
            }
            assert!(Instant::now() < deadline, "chromium did not start its DevTools endpoint");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let (socket, _) = tokio_tungstenite::connect_async(endpoint).await.expect("connect to DevTools");
        let mut chrome = Chrome { child, socket, session: String::new(), next_id: 0, profile };
        let targets = chrome.call("Target.getTargets", json!({})).await;
        let page = targets["targetInfos"].as_array().and_then(|t| t.iter().find(|t| t["type"] == "page")).map(|t| t["targetId"].clone()).expect("a page");
        let attached = chrome.call("Target.attachToTarget", json!({ "targetId": page, "flatten": true })).await;
        chrome.session = attached["sessionId"].as_str().expect("session").to_string();
        Some(chrome)
    }

    /// [`Chrome::launch`] with a virtual platform authenticator (DevTools
    /// `WebAuthn`): resident keys, user verification, presence simulated.
    pub async fn with_platform_authenticator() -> Option<Chrome> {
        let mut chrome = Chrome::launch().await?;
        chrome.call("WebAuthn.enable", json!({ "enableUI": false })).await;
        let options = json!({ "protocol": "ctap2", "transport": "internal", "hasResidentKey": true, "hasUserVerification": true, "isUserVerified": true, "automaticPresenceSimulation": true });
        chrome.call("WebAuthn.addVirtualAuthenticator", json!({ "options": options })).await;
        Some(chrome)
    }

    /// Plays a browser without conditional create (no silent passkey after a
    /// password sign-in, issue #29): `getClientCapabilities()` says so on
    /// every page from now on.
    pub async fn without_conditional_create(&mut self) {
        let script = "if (window.PublicKeyCredential) { Object.defineProperty(PublicKeyCredential, 'getClientCapabilities', { configurable: true, writable: true, value: async () => ({ conditionalCreate: false }) }); }";
        self.call("Page.enable", json!({})).await;
        self.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": script })).await;
    }

    /// Calls a DevTools method (on the page once attached) and returns its result.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        match self.try_call(method, params).await {
            Ok(result) => result,
            Err(error) => panic!("{method}: {error}"),
        }
    }

    /// [`Chrome::call`], with DevTools' error as a value.
    async fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            msg["sessionId"] = Value::String(self.session.clone());
        }
        self.socket.send(Message::Text(msg.to_string().into())).await.expect("send to DevTools");
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), self.socket.next()).await.expect("DevTools answers").expect("open").expect("frame");
            let Message::Text(text) = frame else { continue };
            let v: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
            if v["id"].as_u64() == Some(id) {
                return match v.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(v["result"].clone()),
                };
            }
        }
    }

    /// Evaluates JavaScript in the page (awaiting promises) and returns the value.
    /// An expression that submits a form navigates the page, and Chrome may
    /// answer with "Inspected target navigated or closed" instead of the
    /// value: that is `Null` (the caller waits for the next page anyway).
    pub async fn eval(&mut self, expression: &str) -> Value {
        match self.try_call("Runtime.evaluate", json!({ "expression": expression, "awaitPromise": true, "returnByValue": true })).await {
            Ok(r) => r["result"]["value"].clone(),
            Err(e) if e["message"].as_str().is_some_and(|m| m.contains("navigated or closed")) => Value::Null,
            Err(e) => panic!("Runtime.evaluate: {e}"),
        }
    }

    /// Polls `condition` until it is true or `secs` pass.
    pub async fn wait_for(&mut self, condition: &str, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.eval(&format!("(() => {{ try {{ return !!({condition}); }} catch (e) {{ return false; }} }})()")).await == Value::Bool(true) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    pub async fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url })).await;
        assert!(self.wait_for("document.readyState === 'complete' && location.href.startsWith('http')", 15).await, "{url} did not load");
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
