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

/// A client's consent-page links: set at registration, changed or removed
/// one by one, listed; anything but an https URL (http on localhost) refused.
#[test]
fn client_links_from_the_command_line() {
    let cli = Cli::new();
    let refused = cli.run(&["client", "add", "--name", "Bad", "--redirect-uri", "http://localhost:3000/cb", "--logo-uri", "javascript:alert(1)"], None);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("logo_uri"), "{}", String::from_utf8_lossy(&refused.stderr));
    let plain = cli.run(&["client", "add", "--name", "Bad", "--redirect-uri", "http://localhost:3000/cb", "--tos-uri", "http://app.example/terms"], None);
    assert!(!plain.status.success(), "plain http off localhost");
    let app = cli.json(
        &["client", "add", "--name", "Shop", "--redirect-uri", "http://localhost:3000/cb", "--logo-uri", "https://cdn.shop.example/logo.png", "--policy-uri", "https://shop.example/privacy", "--json"],
        None,
    );
    let id = app["client_id"].as_str().unwrap_or_default().to_string();
    let shown = |cli: &Cli| cli.json(&["client", "list", "--json"], None).as_array().and_then(|l| l.iter().find(|c| c["client_id"] == id.as_str()).cloned()).unwrap_or_default();
    let c = shown(&cli);
    assert_eq!((c["logo_uri"].as_str(), c["policy_uri"].as_str(), c["tos_uri"].as_str()), (Some("https://cdn.shop.example/logo.png"), Some("https://shop.example/privacy"), None), "{c}");
    assert!(cli.run(&["client", "update", &id, "--logo-uri", "", "--tos-uri", "https://shop.example/terms"], None).status.success());
    let c = shown(&cli);
    assert_eq!((c["logo_uri"].as_str(), c["policy_uri"].as_str(), c["tos_uri"].as_str()), (None, Some("https://shop.example/privacy"), Some("https://shop.example/terms")), "removed, kept, set: {c}");
    assert_eq!(c["scope"], "openid profile email offline_access", "links alone change nothing else: {c}");
    assert!(!cli.run(&["client", "update", &id, "--policy-uri", "data:text/html,hi"], None).status.success());
    assert_eq!(shown(&cli)["policy_uri"].as_str(), Some("https://shop.example/privacy"), "a refused change changes nothing");
}

/// Issue #24 item 24: a client's ID-token algorithm changes without
/// re-registering it (a relying party whose JOSE library lacks EdDSA).
#[test]
fn id_token_algorithm_from_the_command_line() {
    let cli = Cli::new();
    let app = cli.json(&["client", "add", "--name", "Legacy RP", "--redirect-uri", "http://localhost:3000/cb", "--id-token-alg", "EdDSA", "--json"], None);
    let id = app["client_id"].as_str().unwrap_or_default().to_string();
    let shown = |cli: &Cli| cli.json(&["client", "list", "--json"], None).as_array().and_then(|l| l.iter().find(|c| c["client_id"] == id.as_str()).cloned()).unwrap_or_default();
    assert_eq!(shown(&cli)["id_token_alg"], "EdDSA");
    let out = cli.run(&["client", "update", &id, "--id-token-alg", "RS256"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let c = shown(&cli);
    assert_eq!(c["id_token_alg"], "RS256", "{c}");
    assert_eq!(c["scope"], "openid profile email offline_access", "alone, it changes nothing else: {c}");
    let bad = cli.run(&["client", "update", &id, "--id-token-alg", "HS256"], None);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("RS256"), "{}", String::from_utf8_lossy(&bad.stderr));
    assert_eq!(shown(&cli)["id_token_alg"], "RS256", "a refused change changes nothing");
    assert!(!cli.run(&["client", "update", "no-such-client", "--id-token-alg", "ES256"], None).status.success());
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

    // private_key_jwt: public keys from a file; private key material is refused.
    std::fs::create_dir_all(&cli.dir).expect("data dir");
    let jwks = cli.dir.join("jwks.json");
    let public = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}]}"#;
    std::fs::write(&jwks, public).expect("write the JWK Set");
    let jwks = jwks.display().to_string();
    let svc = cli.json(&["client", "add", "--name", "Service", "--grant-type", "client_credentials", "--jwks-file", &jwks, "--require-private-key-jwt", "--json"], None);
    let svc_id = svc["client_id"].as_str().unwrap_or_default().to_string();
    let leaked = cli.dir.join("private.json");
    std::fs::write(&leaked, public.replace(r#""kid":"k1""#, r#""kid":"k1","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A""#)).expect("write");
    let refused = cli.run(&["client", "update", &svc_id, "--jwks-file", &leaked.display().to_string(), "--require-private-key-jwt", "true"], None);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("public only"), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(cli.run(&["client", "update", &svc_id, "--jwks-file", &jwks, "--require-private-key-jwt", "true"], None).status.success(), "keys rotate");
    assert!(!cli.run(&["client", "add", "--name", "NoKeys", "--grant-type", "client_credentials", "--require-private-key-jwt"], None).status.success(), "private_key_jwt needs keys");
    assert!(cli.run(&["client", "remove", &svc_id], None).status.success());

    // A device client (RFC 8628): no redirect URI needed; listed with its grant types.
    let device_grant = "urn:ietf:params:oauth:grant-type:device_code";
    let tv = cli.json(&["client", "add", "--name", "TV", "--public", "--grant-type", device_grant, "--grant-type", "refresh_token", "--json"], None);
    let tv_id = tv["client_id"].as_str().unwrap_or_default().to_string();
    assert!(tv.get("client_secret").is_none());
    let listed = cli.json(&["client", "list", "--json"], None);
    let tv_listed = listed.as_array().and_then(|l| l.iter().find(|c| c["client_id"] == tv_id.as_str()).cloned()).unwrap_or_default();
    assert_eq!(tv_listed["grant_types"], serde_json::json!([device_grant, "refresh_token"]), "{listed}");
    assert!(!cli.run(&["client", "add", "--name", "TV2", "--grant-type", "device_code"], None).status.success(), "only the registered URN");
    assert!(cli.run(&["client", "remove", &tv_id], None).status.success());

    let list = cli.json(&["client", "list", "--json"], None);
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let users = cli.json(&["user", "list", "--json"], None);
    assert_eq!(users[0]["username"], "alice");

    let id = web["client_id"].as_str().unwrap_or_default();
    assert!(cli.run(&["client", "remove", id], None).status.success());
    assert_eq!(cli.json(&["client", "list", "--json"], None).as_array().map(Vec::len), Some(1));
    assert!(!cli.run(&["client", "remove", id], None).status.success(), "removing twice is an error");

    // APIs, their scopes, clients allowed them, groups.
    let api = cli.json(
        &[
            "api",
            "add",
            "--name",
            "Orders",
            "--audience",
            "https://api.example.com/orders",
            "--scope",
            "orders:read=Read your orders",
            "--scope",
            "orders:write=Change your orders",
            "--introspection-secret",
            "--json",
        ],
        None,
    );
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
    assert_eq!((apis[0]["self_registration"].as_bool(), apis[0]["publish_metadata"].as_bool()), (Some(false), Some(false)), "closed and unpublished by default");
    let opened = cli.json(&["api", "update", "https://api.example.com/orders", "--self-registration", "true", "--publish-metadata", "true"], None);
    assert_eq!((opened["self_registration"].as_bool(), opened["publish_metadata"].as_bool()), (Some(true), Some(true)), "{opened}");
    assert!(opened["metadata_url"].as_str().is_some_and(|u| u.ends_with(&format!("/resource-metadata/{}", opened["id"].as_str().unwrap_or_default()))), "{opened}");
    let closed = cli.json(&["api", "update", "https://api.example.com/orders", "--self-registration", "false"], None);
    assert_eq!((closed["self_registration"].as_bool(), closed["publish_metadata"].as_bool()), (Some(false), Some(true)), "only what was named changed");
    assert!(!cli.run(&["api", "update", "https://nothing.example", "--publish-metadata", "true"], None).status.success(), "no such API");
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

/// Issue 24 item 12: what the commands create under the data directory
/// (the directory, the master key, the SQLite database, the outbox and its
/// mail) is readable by this user only, whatever the umask.
#[cfg(unix)]
#[test]
fn the_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let cli = Cli::new();
    cli.json(&["user", "invite", "carol", "--email", "carol@example.com", "--json"], None);
    fn walk(path: &std::path::Path, seen: &mut Vec<(String, u32, bool)>) {
        let meta = std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen.push((path.display().to_string(), meta.permissions().mode() & 0o777, meta.is_dir()));
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).expect("read_dir").flatten() {
                walk(&entry.path(), seen);
            }
        }
    }
    let mut seen = Vec::new();
    walk(&cli.dir, &mut seen);
    for name in ["master.key", "latchkey.db", "outbox"] {
        assert!(seen.iter().any(|(p, _, _)| p.ends_with(name)), "{name} was created: {seen:?}");
    }
    assert!(seen.iter().any(|(p, _, d)| p.ends_with(".eml") && !d), "the invitation is in the outbox: {seen:?}");
    for (path, mode, dir) in &seen {
        assert_eq!(*mode, if *dir { 0o700 } else { 0o600 }, "{path}");
    }
}

/// Runs `latchkey serve` with `env` on a throwaway data dir; it must refuse
/// to start (exit non-zero at once) with a message containing `expect`.
fn refuses(env: &[(&str, &str)], expect: &str) {
    let dir = std::env::temp_dir().join(format!("latchkey-cfg-{}-{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.arg("serve").env("LATCHKEY_DATA_DIR", &dir).env("LATCHKEY_BIND", "127.0.0.1:0").env_remove("LATCHKEY_DATABASE_URL").env_remove("LATCHKEY_REDIS_URL").env_remove("LATCHKEY_MASTER_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run latchkey");
    // A valid configuration would keep serving: give it a few seconds, then stop it.
    for _ in 0..100 {
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if child.try_wait().ok().flatten().is_none() {
        let _ = child.kill();
        panic!("{env:?}: latchkey started instead of refusing");
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{env:?}");
    assert!(stderr.contains(expect), "{env:?}: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_configuration_is_refused_with_the_setting_named() {
    refuses(&[("LATCHKEY_DATABASE_URL", "garbage")], "LATCHKEY_DATABASE_URL");
    refuses(&[("LATCHKEY_DATABASE_URL", "mysql://u@h/db")], "unknown scheme");
    refuses(&[("LATCHKEY_DATABASE_URL", "/nonexistent/dir/lk.db")], "does not exist");
    refuses(&[("LATCHKEY_SESSION_IDLE_SECS", "-5")], "LATCHKEY_SESSION_IDLE_SECS");
    refuses(&[("LATCHKEY_LOG", "info,[bad")], "LATCHKEY_LOG");
    refuses(&[("LATCHKEY_LOG_FORMAT", "xml")], "LATCHKEY_LOG_FORMAT");
    refuses(&[("LATCHKEY_WORKERS", "0")], "LATCHKEY_WORKERS");
    refuses(&[("LATCHKEY_BIND", "garbage")], "LATCHKEY_BIND");
    refuses(&[("LATCHKEY_SMTP_URL", "not a url")], "LATCHKEY_SMTP_URL");
    // Issue #29: the passkeys' relying party must fit the issuer (http://localhost:8080 here).
    refuses(&[("LATCHKEY_WEBAUTHN_RP_ID", "example.com")], "LATCHKEY_WEBAUTHN_RP_ID=example.com: the issuer's host localhost must be it or a subdomain of it");
    refuses(&[("LATCHKEY_WEBAUTHN_RELATED_ORIGINS", "https://shop.example,http://example.de")], "LATCHKEY_WEBAUTHN_RELATED_ORIGINS: \"http://example.de\" is not an origin");
    refuses(&[("LATCHKEY_PASSKEY_POLICY_ADMINS", "yubikeys")], "LATCHKEY_PASSKEY_POLICY_ADMINS must be any, listed or security-keys, not yubikeys");
    refuses(&[("LATCHKEY_PASSKEY_POLICY", "listed")], "LATCHKEY_PASSKEY_POLICY=listed needs the AAGUIDs in LATCHKEY_PASSKEY_AAGUIDS");
    refuses(&[("LATCHKEY_PASSKEY_AAGUIDS", "not-an-aaguid")], "LATCHKEY_PASSKEY_AAGUIDS: \"not-an-aaguid\" is not an AAGUID");
    refuses(&[("LATCHKEY_PASSKEY_POLICY_ADMINS", "security-keys")], "need the FIDO metadata BLOB: set LATCHKEY_FIDO_MDS");
    refuses(&[("LATCHKEY_PASSKEY_ATTESTATION", "required"), ("LATCHKEY_FIDO_MDS", "/nonexistent/mds.jwt")], "LATCHKEY_FIDO_MDS: /nonexistent/mds.jwt");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr").to_string();
    refuses(&[("LATCHKEY_BIND", addr.as_str())], &format!("cannot listen on {addr} (LATCHKEY_BIND)"));
}

#[test]
fn a_configuration_file_is_read_and_the_environment_wins() {
    let cli = Cli::new();
    std::fs::create_dir_all(&cli.dir).expect("dir");
    let file = cli.dir.join("latchkey.toml");
    let data = cli.dir.join("from-file");
    std::fs::write(&file, format!("data_dir = {:?}\npassword_min_length = 20\n", data.display().to_string())).expect("write");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        cmd.args(args).env_remove("LATCHKEY_DATA_DIR").env_remove("LATCHKEY_DATABASE_URL").env_remove("LATCHKEY_MASTER_KEY").env("LATCHKEY_LOG", "error");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run");
        // Commands that do not read stdin may exit before the write: a broken pipe then is no failure.
        let _ = child.stdin.take().expect("stdin").write_all(b"blue kettle marching at noon\n");
        child.wait_with_output().expect("output")
    };
    let config = file.display().to_string();
    // The file's settings apply (its data_dir; its 20-character password minimum, which this passphrase meets).
    let out = run(&["--config", &config, "user", "add", "alice", "--email", "alice@example.com", "--password-stdin"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(data.join("latchkey.db").exists(), "the file's data_dir was used");
    // The environment wins over the file.
    let env_dir = cli.dir.join("from-env");
    let out = run(&["user", "list", "--json"], &[("LATCHKEY_CONFIG", &config), ("LATCHKEY_DATA_DIR", &env_dir.display().to_string())]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]", "a different (empty) database: the environment's");
    std::fs::write(&file, "isuer = \"typo\"\n").expect("write");
    let out = run(&["--config", &config, "user", "list"], &[]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("unknown setting"));
}

#[test]
fn doctor_passes_a_development_setup_and_fails_a_public_http_issuer() {
    let cli = Cli::new();
    assert!(cli.run(&["user", "list"], None).status.success(), "the setup: data directory, key, database, signing keys");
    let out = cli.run(&["doctor"], None);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("WARN  the issuer is http://localhost") && text.contains("PASS  every active signing key"), "{text}");
    assert!(text.contains("0 users"), "{text}");
    let dir = cli.dir.display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["doctor"])
        .env("LATCHKEY_DATA_DIR", &dir)
        .env("LATCHKEY_ISSUER", "http://id.example.com")
        .env("LATCHKEY_LOG", "error")
        .env_remove("LATCHKEY_DATABASE_URL")
        .env_remove("LATCHKEY_MASTER_KEY")
        .output()
        .expect("doctor");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success(), "a public http issuer fails: {text}");
    assert!(text.contains("FAIL  the issuer http://id.example.com is plain http"), "{text}");
    assert!(text.contains("WARN  mail goes to the outbox"), "{text}");
}

/// Issue 24 item 31: the doctor only reads. On nothing it creates nothing
/// and fails with what to do; on a database without signing keys it warns,
/// and the keys are still missing the next time.
#[test]
fn doctor_creates_nothing_it_checks() {
    let cli = Cli::new();
    let out = cli.run(&["doctor"], None);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success(), "{text}");
    assert!(text.contains(&format!("FAIL  the data directory {} does not exist: start latchkey once", cli.dir.display())), "{text}");
    assert!(!cli.dir.exists(), "the doctor created the data directory");
    // A database and a master key but no signing keys yet (`client list` opens only the stores).
    assert!(cli.run(&["client", "list"], None).status.success());
    let files = |cli: &Cli| {
        let mut names: Vec<String> = std::fs::read_dir(&cli.dir).map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect()).unwrap_or_default();
        names.sort();
        names
    };
    let before = files(&cli);
    for _ in 0..2 {
        let out = cli.run(&["doctor"], None);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(text.contains("WARN  no signing key yet for RS256, ES256, EdDSA: latchkey serve creates them"), "{text}");
        assert!(!text.contains("PASS  every active signing key"), "{text}");
    }
    assert_eq!(
        files(&cli).iter().filter(|f| !f.ends_with("-shm") && !f.ends_with("-wal")).collect::<Vec<_>>(),
        before.iter().filter(|f| !f.ends_with("-shm") && !f.ends_with("-wal")).collect::<Vec<_>>()
    );
    // Without its master key the data is unreadable: said, not replaced.
    std::fs::remove_file(cli.dir.join("master.key")).expect("remove the key");
    let text = String::from_utf8_lossy(&cli.run(&["doctor"], None).stdout).to_string();
    assert!(text.contains("FAIL  there is no master key at"), "{text}");
    assert!(!cli.dir.join("master.key").exists(), "the doctor made a key");
}

#[test]
fn text_output_has_dates_and_says_when_lists_are_empty() {
    let cli = Cli::new();
    let users = cli.run(&["user", "list"], None);
    assert!(String::from_utf8_lossy(&users.stdout).contains("no users yet"));
    let keys = cli.run(&["keys", "list"], None);
    let text = String::from_utf8_lossy(&keys.stdout).to_string();
    let date = text.split("created ").nth(1).unwrap_or_default().trim().lines().next().unwrap_or_default().to_string();
    assert!(date.len() == 20 && date.ends_with('Z') && date.as_bytes()[10] == b'T', "RFC 3339: {text}");
}

/// The commands whose `--help` is kept as a snapshot (`tests/help/`).
const HELP: [&str; 13] = ["", "serve", "user add", "user invite", "client add", "client update", "api add", "group member add", "sessions revoke", "grants revoke", "doctor", "probe", "provider add"];

fn help(cmd: &str) -> String {
    let mut args: Vec<&str> = cmd.split_whitespace().collect();
    args.push("--help");
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command.args(&args);
    // clap shows the current value of a set variable: none may be set here.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("LATCHKEY_")) {
        command.env_remove(k);
    }
    let out = command.output().expect("help");
    assert!(out.status.success(), "{cmd} --help");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn help_texts_match_their_snapshots_and_describe_every_option() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/help");
    let update = std::env::var("LATCHKEY_UPDATE_SNAPSHOTS").is_ok();
    for cmd in HELP {
        let text = help(cmd);
        let file = dir.join(format!("{}.txt", if cmd.is_empty() { "latchkey".to_string() } else { cmd.replace(' ', "-") }));
        if update {
            std::fs::write(&file, &text).expect("write snapshot");
        }
        let snapshot = std::fs::read_to_string(&file).unwrap_or_default();
        assert_eq!(text, snapshot, "`latchkey {cmd} --help` changed; rerun with LATCHKEY_UPDATE_SNAPSHOTS=1 if that is intended");
        // Every option and argument says what it is.
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            if (t.starts_with('-') || t.starts_with('<')) && l.starts_with("  ") {
                let described = t.split("  ").filter(|p| !p.trim().is_empty()).count() >= 2 || lines.get(i + 1).is_some_and(|n| n.starts_with("          "));
                assert!(described, "`latchkey {cmd}`: {t} has no description");
            }
        }
    }
    // Server options only in `serve --help`.
    assert!(help("serve").contains("--session-idle-secs") && help("serve").contains("--metrics-bind"));
    for cmd in ["user add", "keys list", "client add"] {
        assert!(!help(cmd).contains("--session-idle-secs"), "{cmd} --help lists a server option");
    }
    // Required arguments say so in the usage line.
    assert!(help("user add").contains("Usage: latchkey user add [OPTIONS] --email <EMAIL> <USERNAME>"));
    // Issue 24 item 32: global options only at the top, under their heading;
    // each command's help points there.
    let top = help("");
    assert!(top.contains("Global options (before the command, or as LATCHKEY_* variables):") && top.contains("--data-dir"), "{top}");
    for cmd in ["serve", "user add", "sessions revoke", "client add", "doctor"] {
        let text = help(cmd);
        for global in ["--config", "--issuer", "--database-url", "--data-dir", "--master-key"] {
            assert!(!text.contains(&format!("{global} <")), "`{cmd} --help` lists the global {global}: {text}");
        }
        assert!(text.contains("Global options (--config, --issuer, --database-url, --redis-url, --data-dir, …) go before the command; see `latchkey --help`."), "{cmd}: {text}");
    }
}

/// Issue 24 item 32: configuration errors say the setting, the value and
/// what to do.
#[test]
fn configuration_errors_say_what_to_do() {
    refuses(&[("LATCHKEY_SESSION_IDLE_SECS", "1h")], r#"LATCHKEY_SESSION_IDLE_SECS="1h" is not a number of seconds: write a whole number, e.g. 3600"#);
    refuses(&[("LATCHKEY_AUDIT_RETENTION_DAYS", "a year")], r#"LATCHKEY_AUDIT_RETENTION_DAYS="a year" is not a number of days"#);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    refuses(&[("LATCHKEY_REDIS_URL", &format!("redis://:hunter2@127.0.0.1:{closed}"))], &format!("LATCHKEY_REDIS_URL=redis://127.0.0.1:{closed}: cannot reach Redis"));
    refuses(&[("LATCHKEY_REDIS_URL", &format!("redis://127.0.0.1:{closed}"))], "start Redis or correct the host and port");
    // A running PostgreSQL without the database (skipped without PostgreSQL).
    let admin = std::env::var("LATCHKEY_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let pg = admin.rsplit_once('/').map(|(base, _)| base.to_string()).unwrap_or_default();
    if pg == "postgres://postgres@127.0.0.1:5432" && std::net::TcpStream::connect("127.0.0.1:5432").is_ok() {
        let url = format!("{pg}/latchkey_no_such_database");
        refuses(&[("LATCHKEY_DATABASE_URL", &url)], "createdb -h 127.0.0.1 -p 5432 -U postgres latchkey_no_such_database");
    } else {
        eprintln!("\n!!! SKIPPED: no PostgreSQL at {pg}; the missing-database message is NOT checked\n");
    }
}

/// Finding 26 of issue #24: a mail read from the outbox has its link whole
/// on one line (the text part is 8bit, not quoted-printable), in the file
/// and as `latchkey mail list` / `latchkey mail show` print it.
#[test]
fn outbox_mail_keeps_links_whole_and_the_mail_commands_print_them() {
    let cli = Cli::new();
    let empty = cli.run(&["mail", "list"], None);
    assert!(empty.status.success() && String::from_utf8_lossy(&empty.stdout).contains("is empty"), "{}", String::from_utf8_lossy(&empty.stderr));
    let invited = cli.json(&["user", "invite", "joerg", "--email", "joerg@example.com", "--json"], None);
    let link = invited["invite_url"].as_str().unwrap_or_default().to_string();
    assert!(link.len() > 76, "long enough that quoted-printable would have broken it: {link}");
    let files: Vec<_> = std::fs::read_dir(cli.dir.join("outbox")).expect("outbox").filter_map(Result::ok).collect();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read_to_string(files[0].path()).expect("read the message");
    assert!(raw.lines().any(|l| l.trim() == link), "the link verbatim on a line of its own: {raw}");
    assert!(raw.contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit"), "the text part as written: {raw}");
    let list = cli.run(&["mail", "list"], None);
    let list = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(list.starts_with("1\t") && list.contains("joerg@example.com") && list.contains("You are invited"), "{list}");
    for n in ["1", "last"] {
        let shown = cli.run(&["mail", "show", n], None);
        assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
        let shown = String::from_utf8_lossy(&shown.stdout).to_string();
        assert!(shown.lines().any(|l| l.trim() == link), "{shown}");
        assert!(shown.contains("Hello joerg,") && shown.contains("Subject: You are invited"), "{shown}");
    }
    let missing = cli.run(&["mail", "show", "2"], None);
    assert!(!missing.status.success() && String::from_utf8_lossy(&missing.stderr).contains("no message 2"));
}

/// The CLI's door to the admin rules: the last administrator stays one.
#[test]
fn the_last_administrator_is_kept_from_the_command_line() {
    let cli = Cli::new();
    cli.json(&["user", "add", "alice", "--email", "alice@example.com", "--password-stdin", "--admin", "--json"], Some("blue kettle marching at noon\n"));
    let refused = cli.run(&["user", "update", "alice", "--admin", "false"], None);
    assert!(!refused.status.success(), "the last administrator cannot be demoted");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("last administrator"), "{}", String::from_utf8_lossy(&refused.stderr));
    cli.json(&["user", "add", "bob", "--email", "bob@example.com", "--password-stdin", "--admin", "--json"], Some("green lantern dancing by the sea\n"));
    let done = cli.run(&["user", "update", "alice", "--admin", "false"], None);
    assert!(done.status.success(), "with bob left: {}", String::from_utf8_lossy(&done.stderr));
    let users = cli.json(&["user", "list", "--json"], None);
    let admins: Vec<_> = users.as_array().into_iter().flatten().filter(|u| u["admin"] == true).map(|u| u["username"].clone()).collect();
    assert_eq!(admins, vec![serde_json::json!("bob")]);
}

/// Issue #29: `user update --passkey-only` marks an account passkey-only
/// (audited as the CLI) and takes the mark away again.
#[test]
fn passkey_only_from_the_command_line() {
    let cli = Cli::new();
    cli.json(&["user", "add", "alice", "--email", "alice@example.com", "--password-stdin", "--json"], Some("blue kettle marching at noon\n"));
    let nothing = cli.run(&["user", "update", "alice"], None);
    assert!(!nothing.status.success() && String::from_utf8_lossy(&nothing.stderr).contains("--passkey-only true|false"));
    let on = cli.run(&["user", "update", "alice", "--passkey-only", "true"], None);
    assert!(on.status.success(), "{}", String::from_utf8_lossy(&on.stderr));
    assert!(String::from_utf8_lossy(&on.stdout).contains("alice signs in with passkeys only now"));
    let off = cli.run(&["user", "update", "alice", "--passkey-only", "false"], None);
    assert!(String::from_utf8_lossy(&off.stdout).contains("alice may have a password again"));
    assert!(!cli.run(&["user", "update", "nobody", "--passkey-only", "true"], None).status.success());
    assert!(!cli.run(&["user", "update", "alice", "--passkey-only", "maybe"], None).status.success());
}

/// Issue 25: `client add` and `client remove` are the admin use cases the
/// console and the admin API run: audited with the CLI as the actor, and a
/// removal of a client that is not there is refused.
#[test]
fn client_changes_from_the_command_line_are_audited_as_the_cli() {
    let cli = Cli::new();
    let added = cli.json(&["client", "add", "--name", "Shop", "--redirect-uri", "http://localhost:3000/cb", "--json"], None);
    let id = added["client_id"].as_str().unwrap_or_default().to_string();
    let links = cli.run(&["client", "update", &id, "--policy-uri", "https://shop.example/privacy"], None);
    assert!(links.status.success(), "{}", String::from_utf8_lossy(&links.stderr));
    assert!(String::from_utf8_lossy(&links.stdout).contains("privacy policy https://shop.example/privacy"), "{}", String::from_utf8_lossy(&links.stdout));
    assert!(cli.run(&["client", "remove", &id], None).status.success());
    let again = cli.run(&["client", "remove", &id], None);
    assert!(!again.status.success(), "removing twice is an error");

    let config = latchkey_store::DbConfig { url: format!("sqlite://{}", cli.dir.join("latchkey.db").display()) };
    let mut conn = config.open_read_only().expect("the CLI's database");
    let rows = latchkey_store::repo::audit::recent(&mut conn, None, 50).expect("the audit trail");
    for kind in ["client_created", "client_updated", "client_deleted"] {
        let row = rows.iter().find(|r| r.kind == kind).unwrap_or_else(|| panic!("no {kind} row in {:?}", rows.iter().map(|r| &r.kind).collect::<Vec<_>>()));
        assert_eq!(row.actor.as_deref(), Some("cli"), "{kind}");
        assert_eq!(row.client_id.as_deref(), Some(id.as_str()), "{kind}");
    }
}

/// Issue 26: upstream providers from the command line. `add` prints the id
/// and the callback to register; the secret never comes back out, nor may
/// it come in as an argument; a second provider of the same name is refused.
#[test]
fn providers_from_the_command_line() {
    let cli = Cli::new();
    let args = ["provider", "add", "--name", "Corp SSO", "--issuer", "https://id.corp.example/", "--client-id", "latchkey", "--domain", "Corp.Example", "--json"];
    let refused = cli.run(&args, None);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("--client-secret-stdin"), "{}", String::from_utf8_lossy(&refused.stderr));
    let mut with_secret = args.to_vec();
    with_secret.insert(2, "--client-secret-stdin");
    let added = cli.json(&with_secret, Some("upstream-secret-42\n"));
    assert_eq!(added["id"], "corp-sso");
    assert_eq!(added["redirect_uri"], "http://localhost:8080/federation/corp-sso/callback");
    let again = cli.run(&with_secret, Some("upstream-secret-42\n"));
    assert!(!again.status.success(), "a second provider named Corp SSO");

    let list = cli.json(&["provider", "list", "--json"], None);
    assert_eq!(list[0]["issuer"], "https://id.corp.example/", "kept as given: it must match the provider's iss");
    assert_eq!(list[0]["domains"], serde_json::json!(["corp.example"]));
    assert_eq!(list[0]["link"], "existing-sign-in");
    assert_eq!(list[0]["signup"], false);
    assert!(!list.to_string().contains("upstream-secret-42"), "the secret is never shown");
    for file in ["latchkey.db", "latchkey.db-wal"] {
        let bytes = std::fs::read(cli.dir.join(file)).unwrap_or_default();
        assert!(!bytes.windows(18).any(|w| w == b"upstream-secret-42"), "the secret is sealed at rest ({file})");
    }

    assert!(cli.run(&["provider", "disable", "corp-sso"], None).status.success());
    assert_eq!(cli.json(&["provider", "list", "--json"], None)[0]["enabled"], false);
    assert!(cli.run(&["provider", "enable", "corp-sso"], None).status.success());
    let bad = cli.run(&["provider", "update", "corp-sso", "--name", "Corp SSO", "--issuer", "http://id.corp.example", "--client-id", "latchkey"], None);
    assert!(!bad.status.success(), "plain http off localhost");
    assert!(cli.run(&["provider", "remove", "corp-sso"], None).status.success());
    assert!(!cli.run(&["provider", "remove", "corp-sso"], None).status.success(), "removing twice is an error");
}

/// Issue 27: initial access tokens for dynamic registration, shown once;
/// nonsense lifetimes and use counts refused.
#[test]
fn initial_access_tokens_from_the_command_line() {
    let cli = Cli::new();
    let minted = cli.json(&["client", "registration-token", "--uses", "2", "--expires-in", "3600", "--json"], None);
    assert!(minted["token"].as_str().is_some_and(|t| t.starts_with("lkiat_") && t.len() > 40), "{minted}");
    assert_eq!(minted["expires_in"], 3600);
    assert!(!cli.run(&["client", "registration-token", "--expires-in", "5"], None).status.success());
    assert!(!cli.run(&["client", "registration-token", "--uses", "0"], None).status.success());
}

/// Issue #27, token exchange (RFC 8693): `client update` sets where a
/// client may exchange tokens into, whether it may impersonate and who may
/// act with its tokens; `client show` and `client list --json` say so; ""
/// clears a list; a public client gets no exchange; the change is audited.
#[test]
fn token_exchange_policy_from_the_command_line() {
    let cli = Cli::new();
    assert!(cli.run(&["api", "add", "--name", "Orders", "--audience", "https://orders.example/api", "--scope", "orders:read=Read your orders"], None).status.success());
    let agent = cli.json(&["client", "add", "--name", "Agent", "--grant-type", "client_credentials", "--json"], None);
    let id = agent["client_id"].as_str().unwrap_or_default().to_string();
    let app = cli.json(&["client", "add", "--name", "Notes app", "--redirect-uri", "http://localhost:3000/cb", "--public", "--json"], None);
    let app_id = app["client_id"].as_str().unwrap_or_default().to_string();
    let show = |cli: &Cli, id: &str| cli.json(&["client", "show", id], None);
    assert_eq!((show(&cli, &id)["token_exchange_to"].clone(), show(&cli, &id)["may_act"].clone()), (serde_json::json!([]), serde_json::json!([])), "none by default");

    let out =
        cli.run(&["client", "update", &id, "--token-exchange-to", "https://orders.example/api", "--token-exchange-to", "https://later.example/api", "--token-exchange-impersonation", "true"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("https://later.example/api (no API has this audience yet)") && said.contains("impersonation yes"), "{said}");
    let c = show(&cli, &id);
    assert_eq!(c["token_exchange_to"], serde_json::json!(["https://orders.example/api", "https://later.example/api"]), "{c}");
    assert_eq!((c["token_exchange_impersonation"].as_bool(), c["scope"].as_str()), (Some(true), Some("openid profile email offline_access")), "alone, it changes nothing else: {c}");
    let listed = cli.json(&["client", "list", "--json"], None);
    let listed = listed.as_array().and_then(|l| l.iter().find(|c| c["client_id"] == id.as_str()).cloned()).unwrap_or_default();
    assert_eq!(listed["token_exchange_to"], c["token_exchange_to"]);

    // The user's app names the agent as the one that may act with its tokens (a public client may).
    assert!(cli.run(&["client", "update", &app_id, "--may-act", &id], None).status.success());
    assert_eq!(show(&cli, &app_id)["may_act"], serde_json::json!([id]));
    let refused = cli.run(&["client", "update", &app_id, "--token-exchange-to", "https://orders.example/api"], None);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("public client"), "{}", String::from_utf8_lossy(&refused.stderr));
    let refused = cli.run(&["client", "update", &id, "--token-exchange-to", "has space"], None);
    assert!(!refused.status.success(), "an audience is printable ASCII without spaces");
    assert!(!cli.run(&["client", "update", "no-such-client", "--may-act", &id], None).status.success());
    assert!(!cli.run(&["client", "show", "no-such-client"], None).status.success());
    let listed_grant = cli.run(&["client", "add", "--name", "Bad", "--grant-type", "urn:ietf:params:oauth:grant-type:token-exchange"], None);
    assert!(!listed_grant.status.success() && String::from_utf8_lossy(&listed_grant.stderr).contains("--token-exchange-to"), "{}", String::from_utf8_lossy(&listed_grant.stderr));

    // "" clears a list; what is not named stays.
    assert!(cli.run(&["client", "update", &id, "--token-exchange-to", ""], None).status.success());
    let c = show(&cli, &id);
    assert_eq!((c["token_exchange_to"].clone(), c["token_exchange_impersonation"].as_bool()), (serde_json::json!([]), Some(true)), "{c}");
    assert!(cli.run(&["client", "update", &app_id, "--may-act", ""], None).status.success());
    assert_eq!(show(&cli, &app_id)["may_act"], serde_json::json!([]));

    let config = latchkey_store::DbConfig { url: format!("sqlite://{}", cli.dir.join("latchkey.db").display()) };
    let mut conn = config.open_read_only().expect("the CLI's database");
    let rows = latchkey_store::repo::audit::recent(&mut conn, None, 50).expect("the audit trail");
    let row = rows.iter().find(|r| r.kind == "client_updated" && r.client_id.as_deref() == Some(id.as_str())).expect("a client_updated row");
    assert_eq!(row.actor.as_deref(), Some("cli"));
    assert!(row.detail.contains("token exchange to"), "{}", row.detail);
}

/// Issue #28: `latchkey admin setup-link` prints a one-time link for the
/// first administrator while none can sign in, and refuses afterwards.
#[test]
fn the_first_administrator_gets_a_set_up_link() {
    let cli = Cli::new();
    let first = cli.run(&["admin", "setup-link"], None);
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(out.contains("/setup?t=") && out.contains("within an hour"), "{out}");
    let users = cli.json(&["user", "list", "--json"], None);
    assert_eq!(users.as_array().map(Vec::len), Some(1), "the pending administrator: {users}");
    assert_eq!((users[0]["username"].as_str(), users[0]["admin"].as_bool()), (Some("admin"), Some(true)));
    // Once an administrator can sign in, no more links.
    cli.json(&["user", "add", "alice", "--email", "alice@example.com", "--password-stdin", "--admin", "--json"], Some("blue kettle marching at noon\n"));
    let refused = cli.run(&["admin", "setup-link"], None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("can already sign in"), "{}", String::from_utf8_lossy(&refused.stderr));
}

/// Issue #29: `latchkey passkeys aaguids` says which provider list is in
/// force, puts an operator's file in force (checked: a bad file changes
/// nothing and names the entry), and goes back to the shipped list.
#[test]
fn passkey_provider_lists_from_the_command_line() {
    let cli = Cli::new();
    let say = |args: &[&str]| {
        let out = cli.run(args, None);
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (ok, text, _) = say(&["passkeys", "aaguids"]);
    assert!(ok && text.contains("the list shipped in latchkey is in force"), "{text}");
    std::fs::create_dir_all(&cli.dir).expect("dir");
    let file = cli.dir.join("aaguids.json");
    std::fs::write(&file, r#"{"6C3B1F0E-1A2B-4C3D-8E9F-0A1B2C3D4E5F": {"name": "Corp Token", "icon_light": "data:text/html;base64,PHNjcmlwdD4="}}"#).expect("write");
    let path = file.display().to_string();
    let (ok, text, warnings) = say(&["passkeys", "aaguids", "--file", &path]);
    assert!(ok && text.contains("1 passkey providers from"), "{text}{warnings}");
    assert!(warnings.contains("icon left out: 6c3b1f0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f (Corp Token) icon_light"), "{warnings}");
    let (_, text, _) = say(&["passkeys", "aaguids"]);
    assert!(text.contains("a list loaded with --file is in force (1 passkey providers)"), "{text}");
    // Refused files change nothing, and say what is wrong where.
    for (bad, why) in [
        (r#"{"not-a-uuid": {"name": "X"}}"#, "is not an AAGUID"),
        (r#"{"6c3b1f0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f": {}}"#, "needs a \"name\""),
        ("{}", "names no passkey providers"),
        ("[1,2]", "not a JSON object"),
    ] {
        std::fs::write(&file, bad).expect("write");
        let (ok, _, err) = say(&["passkeys", "aaguids", "--file", &path]);
        assert!(!ok && err.contains(why) && err.contains(&path), "{bad}: {err}");
    }
    let (_, text, _) = say(&["passkeys", "aaguids"]);
    assert!(text.contains("(1 passkey providers)"), "the refused files changed nothing: {text}");
    let (ok, text, _) = say(&["passkeys", "aaguids", "--shipped"]);
    assert!(ok && text.contains("the list shipped in latchkey is in force"), "{text}");
    let (ok, _, err) = say(&["passkeys", "aaguids", "--shipped", "--file", &path]);
    assert!(!ok && err.contains("cannot be used with"), "{err}");
}

/// Issue #30: SCIM clients from the command line: a token shown once,
/// listed without it, revoked.
#[test]
fn scim_tokens_from_the_command_line() {
    let cli = Cli::new();
    let say = |args: &[&str]| {
        let out = cli.run(args, None);
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (ok, text, err) = say(&["scim", "token", "create", "--name", "Entra ID", "--onboarding", "invite", "--expires-days", "30"]);
    assert!(ok, "{err}");
    let token = text.lines().next().unwrap_or_default().to_string();
    assert!(token.starts_with("lkscim_") && token.len() > 30, "{text}");
    assert!(text.contains("/scim/v2"), "{text}");
    let (ok, listed, _) = say(&["scim", "token", "list"]);
    assert!(ok && listed.contains("Entra ID") && listed.contains("onboarding=invite") && listed.contains("last used never"), "{listed}");
    assert!(!listed.contains(&token), "the token is shown once");
    let id = listed.split_whitespace().next().unwrap_or_default().to_string();
    let (ok, text, _) = say(&["scim", "token", "revoke", &id]);
    assert!(ok && text.contains("revoked"), "{text}");
    let (_, listed, _) = say(&["scim", "token", "list"]);
    assert!(listed.contains("revoked"), "{listed}");
    let (ok, _, err) = say(&["scim", "token", "revoke", &id]);
    assert!(!ok && err.contains("no such SCIM client"), "{err}");
    let (ok, _, err) = say(&["scim", "token", "create", "--name", "X", "--onboarding", "magic"]);
    assert!(!ok && err.contains("--onboarding is none or invite"), "{err}");
}

/// Issue #30: webhook subscriptions from the command line.
#[test]
fn webhooks_from_the_command_line() {
    let cli = Cli::new();
    let say = |args: &[&str], stdin: Option<&str>| {
        let out = cli.run(args, stdin);
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (ok, _, err) = say(&["webhook", "add", "--url", "https://10.0.0.7/hook", "--event", "sign_in"], None);
    assert!(!ok && err.contains("--allow-private"), "{err}");
    let (ok, _, err) = say(&["webhook", "add", "--url", "https://hooks.example.com/x", "--event", "sign_inn"], None);
    assert!(!ok && err.contains("is not an event kind"), "{err}");
    let (ok, text, err) = say(&["webhook", "add", "--url", "https://hooks.example.com/x", "--event", "sign_in,login_failed"], None);
    assert!(ok, "{err}");
    assert!(text.contains("whsec_") && text.contains("sign_in, login_failed"), "{text}");
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (ok, text, err) = say(&["webhook", "add", "--url", "http://127.0.0.1:9/hook", "--allow-private", "--secret-stdin"], Some(&format!("{secret}\n")));
    assert!(ok && text.contains(secret) && text.contains("every event"), "{text}{err}");
    let (ok, listed, _) = say(&["webhook", "list"], None);
    assert!(ok && listed.contains("https://hooks.example.com/x") && listed.contains("events=sign_in,login_failed") && listed.contains("events=*"), "{listed}");
    assert!(!listed.contains("whsec_"), "secrets are shown once");
    let id = listed.split_whitespace().next().unwrap_or_default().to_string();
    let (ok, log, _) = say(&["webhook", "log", &id], None);
    assert!(ok && log.contains("waiting"), "{log}");
    let (ok, text, _) = say(&["webhook", "remove", &id], None);
    assert!(ok && text.contains("removed"), "{text}");
    let (ok, _, err) = say(&["webhook", "remove", &id], None);
    assert!(!ok && err.contains("no such webhook"), "{err}");
}
