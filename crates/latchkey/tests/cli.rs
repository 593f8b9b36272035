//! The command-line contract (names that scripts and docs rely on), run
//! against the real binary on a throwaway embedded database.

use std::io::Write;
use std::process::{Command, Output, Stdio};

struct Cli {
    dir: std::path::PathBuf,
}

impl Cli {
    fn new() -> Cli {
        let dir = std::env::temp_dir().join(format!("latchkey-cli-{}-{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)));
        Cli { dir }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(args)
            .env("LATCHKEY_DATA_DIR", &self.dir)
            .env_remove("LATCHKEY_DATABASE_URL")
            .env_remove("LATCHKEY_REDIS_URL")
            .env_remove("LATCHKEY_MASTER_KEY")
            .env("LATCHKEY_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run latchkey");
        if let Some(input) = stdin {
            child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        }
        drop(child.stdin.take());
        child.wait_with_output().expect("latchkey output")
    }

    fn json(&self, args: &[&str], stdin: Option<&str>) -> serde_json::Value {
        let out = self.run(args, stdin);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn users_and_clients_from_the_command_line() {
    let cli = Cli::new();
    let user = cli.json(&["user", "add", "alice", "--email", "alice@example.com", "--password-stdin", "--admin", "--json"], Some("blue kettle marching at noon\n"));
    assert_eq!(user["username"], "alice");
    assert_eq!(user["admin"], true);
    // The password is never an argument.
    let refused = cli.run(&["user", "add", "bob", "--email", "bob@example.com"], None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--password-stdin"));
    let duplicate = cli.run(&["user", "add", "alice", "--email", "a@example.com", "--password-stdin"], Some("green lantern dancing by the sea\n"));
    assert!(!duplicate.status.success(), "usernames are unique");
    let weak = cli.run(&["user", "add", "bob", "--email", "bob@example.com", "--password-stdin"], Some("password1234\n"));
    assert!(!weak.status.success(), "the password policy applies to the CLI too");
    assert!(String::from_utf8_lossy(&weak.stderr).contains("too common"), "{}", String::from_utf8_lossy(&weak.stderr));

    let invited = cli.json(&["user", "invite", "carol", "--email", "carol@example.com", "--json"], None);
    assert!(invited["user_id"].as_str().is_some_and(|s| s.len() == 36), "{invited}");
    assert!(invited["invite_url"].as_str().is_some_and(|u| u.starts_with("http://localhost:8080/setup?t=lkl_")), "{invited}");
    let outbox = std::fs::read_dir(cli.dir.join("outbox")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(outbox, 1, "the invitation is mailed");
    assert!(cli.run(&["user", "reset-mfa", "carol"], None).status.success());
    assert!(!cli.run(&["user", "reset-mfa", "nobody"], None).status.success());
    assert_eq!(std::fs::read_dir(cli.dir.join("outbox")).map(|d| d.count()).unwrap_or(0), 2, "the user is told of the reset");

    let web = cli.json(&["client", "add", "--name", "My app", "--redirect-uri", "http://localhost:3000/callback", "--json"], None);
    assert!(web["client_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(web["client_secret"].as_str().is_some_and(|s| s.starts_with("lks_")));
    let spa = cli.json(&["client", "add", "--name", "SPA", "--redirect-uri", "http://localhost:5173/cb", "--public", "--json"], None);
    assert!(spa.get("client_secret").is_none(), "public clients get no secret");
    let bad = cli.run(&["client", "add", "--name", "Bad", "--redirect-uri", "http://evil.example/cb", "--json"], None);
    assert!(!bad.status.success(), "plain http redirect URIs are refused except on loopback");

    let list = cli.json(&["client", "list", "--json"], None);
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let users = cli.json(&["user", "list", "--json"], None);
    assert_eq!(users[0]["username"], "alice");

    let id = web["client_id"].as_str().unwrap_or_default();
    assert!(cli.run(&["client", "remove", id], None).status.success());
    assert_eq!(cli.json(&["client", "list", "--json"], None).as_array().map(Vec::len), Some(1));
    assert!(!cli.run(&["client", "remove", id], None).status.success(), "removing twice is an error");

    // APIs, their scopes, clients allowed them, groups.
    let api = cli.json(&["api", "add", "--name", "Orders", "--audience", "https://api.example.com/orders", "--scope", "orders:read=Read your orders", "--scope", "orders:write=Change your orders", "--introspection-secret", "--json"], None);
    assert_eq!(api["audience"], "https://api.example.com/orders");
    assert_eq!(api["scopes"].as_array().map(Vec::len), Some(2));
    assert!(api["introspection_secret"].as_str().is_some_and(|s| s.starts_with("lks_")), "{api}");
    assert!(!cli.run(&["api", "add", "--name", "Again", "--audience", "https://api.example.com/orders", "--json"], None).status.success(), "audiences are unique");
    assert!(!cli.run(&["api", "add", "--name", "Bad", "--audience", "https://x.example", "--scope", "openid=no"], None).status.success(), "OIDC names are ours");
    let unknown = cli.run(&["client", "add", "--name", "SPA2", "--redirect-uri", "http://localhost:5173/cb", "--public", "--allow-scope", "nobody:registered", "--json"], None);
    assert!(!unknown.status.success(), "an unregistered API scope is refused");
    let spa2 = cli.json(&["client", "add", "--name", "SPA2", "--redirect-uri", "http://localhost:5173/cb", "--public", "--allow-scope", "orders:read", "--json"], None);
    let spa2_id = spa2["client_id"].as_str().unwrap_or_default().to_string();
    assert!(cli.run(&["client", "update", &spa2_id, "--allow-scope", "orders:read", "--allow-scope", "orders:write"], None).status.success());
    let apis = cli.json(&["api", "list", "--json"], None);
    assert_eq!(apis.as_array().map(Vec::len), Some(1));
    assert!(cli.run(&["group", "add", "staff"], None).status.success());
    assert!(cli.run(&["group", "member", "add", "staff", "alice"], None).status.success());
    assert!(cli.run(&["api", "role", "https://api.example.com/orders", "clerk", "--group", "staff"], None).status.success());
    assert_eq!(cli.json(&["group", "list", "--json"], None), serde_json::json!([{ "name": "staff", "members": ["alice"] }]));
    assert!(cli.run(&["api", "remove", "https://api.example.com/orders"], None).status.success());
    assert!(cli.run(&["client", "remove", &spa2_id], None).status.success());

    let keys = cli.json(&["keys", "list", "--json"], None);
    let active = keys.as_array().map(|k| k.iter().filter(|k| k["state"] == "active").count()).unwrap_or(0);
    assert_eq!(active, 3, "one active key per algorithm: {keys}");
    assert!(cli.run(&["keys", "rotate", "--alg", "EdDSA"], None).status.success());
    let keys = cli.json(&["keys", "list", "--json"], None);
    assert_eq!(keys.as_array().map(|k| k.iter().filter(|k| k["state"] == "next").count()), Some(1), "a rotated key is published, not yet signing");
    assert_eq!(cli.json(&["sessions", "list", "--user", "alice", "--json"], None), serde_json::json!([]));
}
