//! Schemathesis (PyPI) fuzzes the admin API from its own OpenAPI document:
//! requests generated from the document (coverage of every parameter and
//! body shape, then random ones) never get a 5xx, and every check passes
//! (`--checks all`): responses match the document (status codes, content
//! types, headers, schemas), undeclared methods get 405, requests the
//! document allows are accepted and requests it forbids are refused.
//!
//! `.ci/run` installs it (pinned) into `~/.cache/latchkey-schemathesis`;
//! elsewhere set `LATCHKEY_SCHEMATHESIS` to an `st` binary, or have `st` on
//! the PATH. `LATCHKEY_SCHEMATHESIS_CHECKS` narrows the checks and
//! `LATCHKEY_SCHEMATHESIS_EXTRA` passes more options (e.g.
//! `--output-sanitize false`, `--report har --report-dir …`).

use std::path::PathBuf;

use crate::support::raw::post_form;
use crate::support::{Backend, TestApp};

fn schemathesis() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LATCHKEY_SCHEMATHESIS").map(PathBuf::from).filter(|p| p.exists()) {
        return Some(p);
    }
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/latchkey-schemathesis/bin/st")).filter(|p| p.exists());
    home.or_else(|| std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("st")).find(|p| p.exists())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_conformance_failure_in_the_admin_api() {
    if crate::support::services::skip_slow("Schemathesis") {
        return;
    }
    let Some(st) = schemathesis() else {
        crate::support::services::missing("schemathesis", "no st binary (LATCHKEY_SCHEMATHESIS, ~/.cache/latchkey-schemathesis, PATH)");
        return;
    };
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let (id, secret) = app.add_admin_client().await;
    let token = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("scope", "admin")], Some((&id, &secret))).await.body["access_token"].as_str().unwrap_or_default().to_string();
    assert!(!token.is_empty());
    let url = app.url("/admin/api/v1/openapi.json");
    let checks = std::env::var("LATCHKEY_SCHEMATHESIS_CHECKS").unwrap_or_else(|_| "all".into());
    let work = std::env::temp_dir().join(crate::support::services::unique("latchkey-schemathesis-"));
    std::fs::create_dir_all(&work).expect("schemathesis work dir");
    let cleanup = work.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(st)
            .args(["run", &url, "--checks", &checks, "--phases", "coverage,fuzzing", "--max-examples", "25", "--seed", "1", "--no-color"])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .args(std::env::var("LATCHKEY_SCHEMATHESIS_EXTRA").unwrap_or_default().split_whitespace())
            .env("SCHEMATHESIS_HOOKS", "")
            // Its cache of earlier failures lives in the working directory:
            // a fresh one per run keeps runs alike (and the repository clean).
            .current_dir(&work)
            .output()
    })
    .await
    .expect("thread")
    .expect("run schemathesis");
    let _ = std::fs::remove_dir_all(&cleanup);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: String = stdout.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    assert!(out.status.success(), "schemathesis found failures:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Tested:") || stdout.contains("passed"), "schemathesis ran: {summary}");
}
