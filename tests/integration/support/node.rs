//! A Node program of the tests (the upstream OpenID provider, the MCP SDK
//! client) as a child process: started from its package directory with its
//! pinned `node_modules`, both pipes drained for its whole life (a full pipe
//! would stall it), its stdout lines handed over one by one, its stderr kept
//! for a failing test's message. Killed on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::services::missing;

pub struct NodeProcess {
    pub child: Child,
    /// Its stdout, line by line (kept draining when nobody listens).
    pub lines: mpsc::UnboundedReceiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl NodeProcess {
    /// Runs `node <script> <args>` in `dir` (stdin kept open: the programs
    /// exit when it closes, so none outlives a test process that dies
    /// without dropping this). `None` after `missing(..)` when `dir` lacks
    /// `node_modules/<package>` or Node cannot start; `label` prefixes its
    /// stderr lines in the test output.
    pub fn spawn(dir: &Path, package: &str, script: &str, args: &[&str], what: &str, label: &'static str) -> Option<NodeProcess> {
        if !dir.join("node_modules").join(package).exists() {
            missing(what, &format!("run `npm ci` in {} (.ci/run does)", dir.display()));
            return None;
        }
        let spawned = Command::new("node")
            .arg(script)
            .args(args)
            .current_dir(dir)
            // latchkey's test issuer is http://localhost:<port>, listening on 127.0.0.1 only.
            .env("NODE_OPTIONS", "--dns-result-order=ipv4first")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                missing(&format!("Node (for {what})"), &e.to_string());
                return None;
            }
        };
        let stderr = Arc::new(Mutex::new(String::new()));
        let err_pipe = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                eprintln!("{label}: {line}");
                sink.lock().expect("stderr buffer").push_str(&format!("{line}\n"));
            }
        });
        let out_pipe = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out_pipe).lines().map_while(Result::ok) {
                // Nobody listening any more: keep draining all the same.
                let _ = tx.send(line);
            }
        });
        Some(NodeProcess { child, lines, stderr })
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
