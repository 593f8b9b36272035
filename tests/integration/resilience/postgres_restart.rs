//! PostgreSQL stopped under load, then started again: requests that need the
//! database answer 503 with `Retry-After` within a second (none hangs for the
//! pool), service recovers within 5 s without a restart, and nothing that
//! was acknowledged is lost. The cluster is the test's own (`initdb` +
//! `pg_ctl` from the installed PostgreSQL, on a random port).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use openidconnect::OAuth2TokenResponse;

use crate::support::raw::{bearer, post_form, Answer};
use crate::support::rp::{offline_tokens, OfflineTokens};
use crate::support::{Backend, TestApp, PASSWORD, USERNAME};

/// A PostgreSQL cluster of this test's own, run as the `postgres` user
/// (PostgreSQL refuses to run as root).
struct OwnPostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|p| p.join("initdb").exists()).collect();
    versions.sort();
    versions.pop()
}

fn as_postgres(bin: &Path, tool: &str, args: &[&str]) -> Result<(), String> {
    let root = nix_is_root();
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    };
    let out = cmd.args(args).output().map_err(|e| format!("{tool}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{tool} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

fn nix_is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

impl OwnPostgres {
    fn create() -> Option<OwnPostgres> {
        let Some(bin) = pg_bin() else {
            crate::support::services::missing("PostgreSQL server binaries (initdb, pg_ctl)", "not found under /usr/lib/postgresql");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let dir = std::env::temp_dir().join(crate::support::services::unique("latchkey-pg-"));
        std::fs::create_dir_all(&dir).ok()?;
        if nix_is_root() {
            let _ = Command::new("chown").args(["-R", "postgres:postgres", &dir.display().to_string()]).status();
        }
        let data = dir.join("data").display().to_string();
        if let Err(e) = as_postgres(&bin, "initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"]) {
            crate::support::services::missing("initdb", &e);
            return None;
        }
        let pg = OwnPostgres { bin, dir, port };
        pg.start().map_err(|e| crate::support::services::missing("pg_ctl start", &e)).ok()?;
        Some(pg)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) -> Result<(), String> {
        let data = self.dir.join("data").display().to_string();
        let opts = format!("-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off", self.port, self.dir.display());
        as_postgres(&self.bin, "pg_ctl", &["-D", &data, "-o", &opts, "-l", &self.dir.join("log").display().to_string(), "-w", "start"])
    }

    fn stop(&self) -> Result<(), String> {
        let data = self.dir.join("data").display().to_string();
        as_postgres(&self.bin, "pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn retry_after(a: &Answer) -> Option<u64> {
    a.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load() {
    if crate::support::services::skip_slow("fault injection (a restarted PostgreSQL)") {
        return;
    }
    let Some(pg) = OwnPostgres::create() else { return };
    let url = pg.url();
    let Some(app) = TestApp::start_with(Backend::Sqlite, |s| s.database_url = Some(url.clone())).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let OfflineTokens { rp, client_id: id, secret, mut browser, access, refresh, .. } = offline_tokens(&app).await;
    let mut refresh = refresh;
    let creds = Some((id.as_str(), secret.as_str()));
    // Acknowledged before the outage: a revocation.
    let revoked = {
        let req = rp.authorize_scopes(&["openid"], &[]);
        let code = crate::support::AuthResponse::parse(&browser.get(&req.url).await.location.expect("code")).code.expect("code");
        rp.exchange(&code, req.verifier).await.expect("exchange").access_token().secret().clone()
    };
    assert_eq!(post_form(&app, "/revoke", &[("token", &revoked)], creds).await.status, 200);

    pg.stop().expect("stop postgres");
    let outage = Instant::now();
    let mut counts = std::collections::BTreeMap::<u16, usize>::new();
    let mut slowest = Duration::ZERO;
    while outage.elapsed() < Duration::from_secs(5) {
        for kind in ["refresh", "introspect", "userinfo"] {
            let one = Instant::now();
            let answer = match kind {
                "refresh" => post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)], creds).await,
                "introspect" => post_form(&app, "/introspect", &[("token", &access)], creds).await,
                _ => bearer(&app, "GET", "/userinfo", &access).await,
            };
            let took = one.elapsed();
            slowest = slowest.max(took);
            assert!(took < Duration::from_millis(1500), "{kind}: no request hangs for the pool: {took:?}");
            *counts.entry(answer.status).or_default() += 1;
            match answer.status {
                200 => {
                    if let Some(next) = answer.body["refresh_token"].as_str() {
                        refresh = next.to_string();
                    }
                }
                503 => assert!(retry_after(&answer).is_some(), "{kind}: a 503 says when to retry"),
                other => panic!("{kind} during the outage: {other} {}", answer.body),
            }
        }
    }
    eprintln!("OUTAGE slowest answer {slowest:?}");
    eprintln!("OUTAGE statuses {counts:?}");
    assert!(counts.get(&503).copied().unwrap_or(0) > 0, "the outage was real: {counts:?}");

    pg.start().expect("start postgres");
    let back = Instant::now();
    let recovered = loop {
        let a = post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)], creds).await;
        if a.status == 200 {
            refresh = a.body["refresh_token"].as_str().unwrap_or_default().to_string();
            break back.elapsed();
        }
        assert_eq!(a.status, 503, "{}", a.body);
        assert!(back.elapsed() < Duration::from_secs(5), "service recovers within 5 s of the database");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("RECOVERED after {recovered:?}");

    // Every refresh token answered 200 is usable: the last one rotates again.
    assert_eq!(post_form(&app, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)], creds).await.status, 200);
    assert_eq!(bearer(&app, "GET", "/userinfo", &revoked).await.status, 401, "the revocation acknowledged before the outage holds");
    let mut conn = PgConnection::establish(&url).expect("connect");
    let two_live: i64 =
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>("(SELECT count(*) FROM (SELECT family_id FROM refresh_tokens WHERE used_at IS NULL GROUP BY family_id HAVING count(*) > 1) x)"))
            .get_result(&mut conn)
            .expect("sql");
    assert_eq!(two_live, 0, "no family has two live children");
}
