//! Soak benchmark: the real release binary (`latchkey serve`, 2 workers, or `SOAK_WORKERS`) under
//! a mixed load for a long while, watched from outside: the server's resident
//! memory, open file descriptors and (PostgreSQL) database connections every
//! `SOAK_SAMPLE_SECS`, requests and errors per kind. A 5xx answer or a
//! transport error is an error; any other unexpected answer is a failure.
//!
//! The load, until `SOAK_SECS` run out:
//! - sign-in tasks: a fresh browser signs in through `/authorize`, `/login`
//!   and `/consent` (offline_access), exchanges the code at `/token`, calls
//!   `/userinfo`, and every other time logs out at `/end-session` with the
//!   ID token as hint (so sessions both end and pile up);
//! - token tasks: rotate the refresh tokens the sign-ins produced, introspect
//!   and call `/userinfo` with each new access token.
//!
//! Then, on the embedded run, "memory per 100k sessions": `SESSIONS` (default
//! 100000, 0 skips) live sessions are written to the server's database through
//! `SessionService` in this process (sign-ins would spend hours in argon2),
//! then each is looked up once by the server (`GET /end-session` with its
//! cookie, which resolves the session and caches it in the server's
//! in-process fast store for a minute). RSS before and after is the server's
//! memory for that many recently used sessions. On PostgreSQL + Redis the
//! cache lives in Redis, so the step is skipped there.
//!
//!   cargo build --release -p latchkey
//!   SOAK_SECS=600 cargo bench -p latchkey-tests --bench soak -- embedded
//!   SOAK_SECS=600 cargo bench -p latchkey-tests --bench soak -- postgres
//!
//! `STORM=1` instead measures `client_credentials` latency idle and during
//! `STORM_SIGN_INS` (20) password sign-ins per second, `STORM_SECS` (15) each.
//!
//! No argument runs both. The binary is `$CARGO_TARGET_DIR/release/latchkey`
//! (or `target/release/latchkey`); `LATCHKEY_BIN` overrides it. PostgreSQL
//! (`postgres://postgres@127.0.0.1:5432`, a fresh database, dropped at the end)
//! and Redis (`redis://127.0.0.1:6379`, a fresh key prefix, deleted at the
//! end) must be running for the `postgres` run; `psql` counts connections.

#[allow(dead_code, unused_imports)]
#[path = "../integration/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey_authn::{ClientInfo, SessionLimits, SessionService};
use latchkey_domain::{SystemClock, UserId};
use latchkey_web::Settings;
use openidconnect::reqwest;
use support::browser::DESKTOP_UA;
use support::rp::sign_in;
use support::services::{redis_url, unique, PgDatabase, RedisPrefix};
use support::{Browser, Rp, REDIRECT_URI};

const USER: &str = "soak";
const USER_PASSWORD: &str = "violet harbor quill 1997";
/// Concurrent sign-in and token tasks (`SOAK_SIGN_IN_TASKS`, `SOAK_TOKEN_TASKS`;
/// `SOAK_TOKEN_TASKS=0` measures sign-ins alone).
fn sign_in_tasks() -> u64 {
    env_or("SOAK_SIGN_IN_TASKS", 2)
}

fn token_tasks() -> u64 {
    env_or("SOAK_TOKEN_TASKS", 2)
}
/// Refresh-token families kept for the token tasks; older ones are dropped.
const FAMILY_POOL: usize = 64;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Embedded,
    Postgres,
}

// ---------------------------------------------------------------- the server

/// A `latchkey serve` child process and everything it was started with;
/// stopped and cleaned up (data dir, database, Redis keys) on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    issuer: String,
    env: Vec<(String, String)>,
    data_dir: PathBuf,
    bin: PathBuf,
    master_key: String,
    // Dropped after the child is killed (see `Drop`): the database is
    // dropped and the Redis keys deleted.
    pg: Option<PgDatabase>,
    #[allow(dead_code)] // held for its `Drop`
    redis: Option<RedisPrefix>,
}

fn binary() -> PathBuf {
    if let Ok(bin) = std::env::var("LATCHKEY_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("release").join("latchkey")
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("system randomness");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

impl Server {
    async fn start(backend: Backend) -> Server {
        let bin = binary();
        assert!(bin.exists(), "no latchkey binary at {} (cargo build --release -p latchkey, or set LATCHKEY_BIN)", bin.display());
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("socket address");
        let issuer = format!("http://localhost:{port}");
        let data_dir = std::env::temp_dir().join(unique("latchkey-soak-"));
        std::fs::create_dir_all(&data_dir).expect("create the data dir");
        let master_key = random_hex(32);
        let mut env = vec![
            ("LATCHKEY_BIND".to_string(), addr.to_string()),
            ("LATCHKEY_ISSUER".to_string(), issuer.clone()),
            ("LATCHKEY_DATA_DIR".to_string(), data_dir.display().to_string()),
            ("LATCHKEY_LOG".to_string(), "error".to_string()),
            ("LATCHKEY_WORKERS".to_string(), std::env::var("SOAK_WORKERS").unwrap_or_else(|_| "2".into())),
            ("LATCHKEY_MASTER_KEY".to_string(), master_key.clone()),
            ("LATCHKEY_TRUSTED_PROXIES".to_string(), "127.0.0.1/32".to_string()),
        ];
        let (pg, redis) = match backend {
            Backend::Embedded => (None, None),
            Backend::Postgres => {
                let pg = PgDatabase::create().expect("PostgreSQL at 127.0.0.1:5432 (CREATE DATABASE)");
                let redis = RedisPrefix { url: redis_url(), prefix: unique("soak-") + ":" };
                env.push(("LATCHKEY_DATABASE_URL".to_string(), pg.url.clone()));
                env.push(("LATCHKEY_REDIS_URL".to_string(), redis.url.clone()));
                env.push(("LATCHKEY_REDIS_PREFIX".to_string(), redis.prefix.clone()));
                (Some(pg), Some(redis))
            }
        };
        let log = std::fs::File::create(data_dir.join("server.log")).expect("create the server log");
        let child = Command::new(&bin)
            .arg("serve")
            .env_remove("LATCHKEY_DATABASE_URL")
            .env_remove("LATCHKEY_REDIS_URL")
            .env_remove("LATCHKEY_CONFIG")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start latchkey serve");
        let server = Server { child, addr, issuer, env, data_dir, bin, master_key, pg, redis };
        server.wait_ready().await;
        server
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An HTTP client that sends every request to the server (as a proxy),
    /// whatever host the URL names; redirects are not followed.
    fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .proxy(reqwest::Proxy::http(format!("http://{}", self.addr)).expect("proxy address"))
            .user_agent(DESKTOP_UA)
            .build()
            .expect("http client")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    async fn wait_ready(&self) {
        let http = self.http();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = http.get(self.url("/health/ready")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("latchkey did not become ready in 60 s; log: {}", self.log_tail());
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn log_lines(&self) -> usize {
        std::fs::read_to_string(self.data_dir.join("server.log")).map(|l| l.lines().count()).unwrap_or(0)
    }

    /// Runs an admin command of the same binary with the server's settings
    /// and returns the JSON it prints.
    fn cli(&self, args: &[&str], stdin: Option<&str>) -> serde_json::Value {
        let mut child = Command::new(&self.bin)
            .args(args)
            .env_remove("LATCHKEY_DATABASE_URL")
            .env_remove("LATCHKEY_REDIS_URL")
            .env_remove("LATCHKEY_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run a latchkey admin command");
        if let Some(input) = stdin {
            child.stdin.take().expect("stdin of the admin command").write_all(input.as_bytes()).expect("write the admin command's stdin");
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().expect("output of the admin command");
        assert!(out.status.success(), "latchkey {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("latchkey {args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// Live sessions of the soak user, as the CLI lists them.
    fn live_sessions(&self) -> usize {
        self.cli(&["sessions", "list", "--user", USER, "--json"], None).as_array().map_or(0, Vec::len)
    }

    fn sample(&self) -> Sample {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let rss_kb = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0);
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map(|d| d.count()).unwrap_or(0);
        let db_conns = self.pg.as_ref().and_then(|pg| pg_connections(pg.name()));
        Sample { rss_kb, fds, db_conns }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
        // Then `pg` (DROP DATABASE … WITH (FORCE)) and `redis` (DEL prefix*).
    }
}

fn pg_connections(db: &str) -> Option<u64> {
    let out = Command::new("psql").args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-tAc"]).arg(format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}'")).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[derive(Clone, Copy)]
struct Sample {
    rss_kb: u64,
    fds: usize,
    db_conns: Option<u64>,
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

// ---------------------------------------------------------------- counting

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    SignIn,
    CodeExchange,
    Refresh,
    Introspection,
    Userinfo,
    Logout,
}

const KINDS: [Kind; 6] = [Kind::SignIn, Kind::CodeExchange, Kind::Refresh, Kind::Introspection, Kind::Userinfo, Kind::Logout];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    /// An unexpected answer below 500.
    Failed,
    /// A 5xx answer or a transport error.
    Error,
}

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    failed: AtomicU64,
    errors: AtomicU64,
}

#[derive(Default)]
struct Stats {
    by_kind: BTreeMap<Kind, Counts>,
    /// The first few error and failure descriptions, to print.
    notes: Mutex<Vec<String>>,
}

impl Stats {
    fn new() -> Stats {
        Stats { by_kind: KINDS.iter().map(|k| (*k, Counts::default())).collect(), notes: Mutex::new(Vec::new()) }
    }

    fn record(&self, kind: Kind, outcome: Outcome, note: impl FnOnce() -> String) {
        let c = &self.by_kind[&kind];
        match outcome {
            Outcome::Ok => c.ok.fetch_add(1, Ordering::Relaxed),
            Outcome::Failed => c.failed.fetch_add(1, Ordering::Relaxed),
            Outcome::Error => c.errors.fetch_add(1, Ordering::Relaxed),
        };
        if outcome != Outcome::Ok {
            let mut notes = self.notes.lock().expect("notes lock");
            if notes.len() < 20 {
                notes.push(format!("{kind:?}: {}", note()));
            }
        }
    }

    fn totals(&self) -> (u64, u64) {
        let requests = self.by_kind.values().map(|c| c.ok.load(Ordering::Relaxed) + c.failed.load(Ordering::Relaxed) + c.errors.load(Ordering::Relaxed)).sum();
        let bad = self.by_kind.values().map(|c| c.failed.load(Ordering::Relaxed) + c.errors.load(Ordering::Relaxed)).sum();
        (requests, bad)
    }
}

/// Sends a request; a transport error or 5xx is an error, a status outside
/// `expected` a failure. Returns the status and body when one arrived.
async fn call(stats: &Stats, kind: Kind, req: reqwest::RequestBuilder, expected: &[u16]) -> Option<(u16, String)> {
    match req.send().await {
        Err(e) => {
            stats.record(kind, Outcome::Error, || format!("transport: {e}"));
            None
        }
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            let outcome = if status >= 500 {
                Outcome::Error
            } else if expected.contains(&status) {
                Outcome::Ok
            } else {
                Outcome::Failed
            };
            stats.record(kind, outcome, || format!("{status}: {}", body.lines().find(|l| l.contains("<title>") || l.contains("error")).unwrap_or(&body).chars().take(200).collect::<String>()));
            Some((status, body))
        }
    }
}

// ---------------------------------------------------------------- the load

struct Load {
    server_issuer: String,
    addr: SocketAddr,
    http: reqwest::Client,
    rp: Rp,
    client_id: String,
    secret: String,
    stats: Stats,
    /// Current refresh tokens of live families, rotated by the token tasks.
    families: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl Load {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server_issuer)
    }

    /// One browser's visit: sign in, exchange, userinfo, and on odd rounds log out.
    async fn sign_in_round(&self, round: u64) {
        let pending = self.rp.authorize_scopes(&["offline_access"], &[]);
        let verifier = pending.verifier.secret().clone();
        let url = pending.url.clone();
        let (issuer, addr) = (self.server_issuer.clone(), self.addr);
        // `sign_in` panics on anything unexpected (including a 5xx or a
        // transport error): run it as a task of its own and count a panic as an error.
        let signed_in = tokio::spawn(async move {
            let mut browser = Browser::new(&issuer, addr);
            // A user of their own address (the server trusts 127.0.0.1 as a
            // proxy): one address would soon meet the per-address cap on
            // pending authorizations, which is not what this soak measures.
            browser.headers.push(("x-forwarded-for".into(), format!("10.{}.{}.{}", (round >> 16) & 0xff, (round >> 8) & 0xff, round & 0xff)));
            let resp = sign_in(&mut browser, &url, USER, USER_PASSWORD).await;
            (browser, resp)
        })
        .await;
        let (browser, resp) = match signed_in {
            Ok(done) => done,
            Err(e) => {
                // A panic names the status it met; only a 5xx or a transport error is an error.
                let message = e.try_into_panic().ok().and_then(|p| p.downcast::<String>().ok()).map(|m| *m).unwrap_or_default();
                let status = message.split("got ").nth(1).and_then(|r| r.get(..3)).and_then(|s| s.parse::<u16>().ok());
                let outcome = if status.is_some_and(|s| s < 500) { Outcome::Failed } else { Outcome::Error };
                self.stats.record(Kind::SignIn, outcome, || format!("sign-in aborted: {}", message.chars().take(200).collect::<String>()));
                return;
            }
        };
        let Some(code) = resp.code else {
            self.stats.record(Kind::SignIn, Outcome::Failed, || format!("no code: {:?}", resp.error));
            return;
        };
        self.stats.record(Kind::SignIn, Outcome::Ok, String::new);

        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI), ("code_verifier", verifier.as_str())];
        let req = self.http.post(self.url("/token")).basic_auth(&self.client_id, Some(&self.secret)).form(&form);
        let Some((200, body)) = call(&self.stats, Kind::CodeExchange, req, &[200]).await else { return };
        let tokens: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let (Some(access), Some(refresh), Some(id_token)) = (tokens["access_token"].as_str(), tokens["refresh_token"].as_str(), tokens["id_token"].as_str()) else {
            self.stats.record(Kind::CodeExchange, Outcome::Failed, || format!("tokens missing: {body}"));
            return;
        };
        {
            let mut families = self.families.lock().expect("families lock");
            families.push(refresh.to_string());
            if families.len() > FAMILY_POOL {
                families.remove(0);
            }
        }
        self.userinfo(access).await;

        if round % 2 == 1 {
            // RP-initiated logout in the same browser, with the ID token as hint.
            let query = serde_urlencoded::to_string([("id_token_hint", id_token), ("client_id", self.client_id.as_str())]).expect("logout query");
            let cookies = browser.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            let req = self.http.get(self.url(&format!("/end-session?{query}"))).header("cookie", cookies);
            call(&self.stats, Kind::Logout, req, &[200]).await;
        }
    }

    async fn userinfo(&self, access: &str) {
        let req = self.http.get(self.url("/userinfo")).bearer_auth(access);
        if let Some((200, body)) = call(&self.stats, Kind::Userinfo, req, &[200]).await {
            if !body.contains("\"sub\"") {
                self.stats.record(Kind::Userinfo, Outcome::Failed, || format!("no sub: {body}"));
            }
        }
    }

    /// Rotates one family, then introspects and uses the new access token.
    async fn token_round(&self) {
        let Some(refresh) = self.families.lock().expect("families lock").pop() else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return;
        };
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
        let req = self.http.post(self.url("/token")).basic_auth(&self.client_id, Some(&self.secret)).form(&form);
        let Some((200, body)) = call(&self.stats, Kind::Refresh, req, &[200]).await else { return };
        let tokens: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let (Some(access), Some(next)) = (tokens["access_token"].as_str(), tokens["refresh_token"].as_str()) else {
            self.stats.record(Kind::Refresh, Outcome::Failed, || format!("tokens missing: {body}"));
            return;
        };
        self.families.lock().expect("families lock").insert(0, next.to_string());

        let req = self.http.post(self.url("/introspect")).basic_auth(&self.client_id, Some(&self.secret)).form(&[("token", access)]);
        if let Some((200, body)) = call(&self.stats, Kind::Introspection, req, &[200]).await {
            if !body.contains("\"active\":true") {
                self.stats.record(Kind::Introspection, Outcome::Failed, || format!("not active: {body}"));
            }
        }
        self.userinfo(access).await;
    }
}

/// `client_credentials` latencies from `STORM_CALLERS` (8) callers, each
/// calling again as soon as answered, for `secs`.
async fn client_credentials_latencies(load: &Load, id: &str, secret: &str, secs: u64) -> Vec<Duration> {
    let callers = env_or("STORM_CALLERS", 8) as usize;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let calls = (0..callers).map(|_| async {
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            let t = Instant::now();
            let r = load.http.post(load.url("/token")).basic_auth(id, Some(secret)).form(&[("grant_type", "client_credentials")]).send().await;
            assert!(r.is_ok_and(|r| r.status().is_success()), "client_credentials failed");
            seen.push(t.elapsed());
        }
        seen
    });
    let mut all: Vec<Duration> = futures_util::future::join_all(calls).await.into_iter().flatten().collect();
    all.sort();
    all
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    sorted.get(((sorted.len().max(1) - 1) as f64 * q) as usize).copied().unwrap_or_default().as_secs_f64() * 1e3
}

/// `STORM=1`: client_credentials latency (`STORM_CALLERS`, `STORM_SECS` each) idle,
/// then while `STORM_SIGN_INS` password sign-ins per second (default 20) run
/// — issue #17: a sign-in storm must not starve the token endpoint.
async fn storm(label: &str, server: &Server, load: Arc<Load>) {
    let secs = env_or("STORM_SECS", 15);
    let rate = env_or("STORM_SIGN_INS", 20).max(1);
    let cc = server.cli(&["client", "add", "--name", "storm", "--grant-type", "client_credentials", "--json"], None);
    let (id, secret) = (cc["client_id"].as_str().unwrap_or_default().to_string(), cc["client_secret"].as_str().unwrap_or_default().to_string());
    let _warm = client_credentials_latencies(&load, &id, &secret, 2).await;
    let idle = client_credentials_latencies(&load, &id, &secret, secs).await;
    let pacer = {
        let load = load.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
            let mut round = 0;
            let mut running = Vec::new();
            while !load.stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let load = load.clone();
                running.push(tokio::spawn(async move { load.sign_in_round(round).await }));
                round += 1;
            }
            for r in running {
                let _ = r.await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = load.stats.by_kind[&Kind::SignIn].ok.load(Ordering::Relaxed);
    let t = Instant::now();
    let stormy = client_credentials_latencies(&load, &id, &secret, secs).await;
    let signed_in = load.stats.by_kind[&Kind::SignIn].ok.load(Ordering::Relaxed) - before;
    let elapsed = t.elapsed().as_secs_f64();
    load.stop.store(true, Ordering::Relaxed);
    let _ = pacer.await;
    let (_, bad) = load.stats.totals();
    let rps = |v: &[Duration]| v.len() as f64 / secs as f64;
    println!("{label} storm: client_credentials idle          {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms", rps(&idle), quantile(&idle, 0.5), quantile(&idle, 0.99));
    println!(
        "{label} storm: client_credentials during sign-ins {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({:.1} password sign-ins/s achieved, {bad} failed)",
        rps(&stormy),
        quantile(&stormy, 0.5),
        quantile(&stormy, 0.99),
        signed_in as f64 / elapsed
    );
    println!("{label} storm: p99 ratio stormy/idle {:.2} (issue #17: < 2)", quantile(&stormy, 0.99) / quantile(&idle, 0.99).max(1e-9));
}

fn print_sample(label: &str, elapsed: Duration, s: Sample, stats: &Stats) {
    let (requests, bad) = stats.totals();
    let conns = s.db_conns.map_or("-".to_string(), |c| c.to_string());
    println!("{label} t={:>5}s  rss {:>7.1} MiB  fds {:>4}  db conns {:>3}  requests {:>8}  failed+errors {}", elapsed.as_secs(), mib(s.rss_kb), s.fds, conns, requests, bad);
}

async fn soak(backend: Backend, secs: u64, sample_secs: u64, sessions: u64) {
    let label = format!("{backend:?}:");
    let server = Server::start(backend).await;
    println!("{label} latchkey serve pid {} at {} ({})", server.pid(), server.issuer, server.bin.display());
    let user = server.cli(&["user", "add", USER, "--email", "soak@example.com", "--password-stdin", "--json"], Some(&format!("{USER_PASSWORD}\n")));
    let user_id = user["user_id"].as_str().expect("user_id in `user add --json`").to_string();
    let client = server.cli(&["client", "add", "--name", "soak", "--redirect-uri", REDIRECT_URI, "--json"], None);
    let client_id = client["client_id"].as_str().expect("client_id in `client add --json`").to_string();
    let secret = client["client_secret"].as_str().expect("client_secret in `client add --json`").to_string();
    let http = server.http();
    let rp = Rp::discover_via(&server.issuer, http.clone(), &client_id, Some(&secret)).await;

    let load =
        Arc::new(Load { server_issuer: server.issuer.clone(), addr: server.addr, http, rp, client_id, secret, stats: Stats::new(), families: Mutex::new(Vec::new()), stop: AtomicBool::new(false) });

    if env_or("STORM", 0) > 0 {
        storm(&label, &server, load.clone()).await;
        return;
    }

    let start = Instant::now();
    let first = server.sample();
    print_sample(&label, Duration::ZERO, first, &load.stats);
    let mut tasks = Vec::new();
    for t in 0..sign_in_tasks() {
        let load = load.clone();
        tasks.push(tokio::spawn(async move {
            let mut round = t;
            while !load.stop.load(Ordering::Relaxed) {
                load.sign_in_round(round).await;
                round += 1;
            }
        }));
    }
    for _ in 0..token_tasks() {
        let load = load.clone();
        tasks.push(tokio::spawn(async move {
            while !load.stop.load(Ordering::Relaxed) {
                load.token_round().await;
            }
        }));
    }

    let deadline = start + Duration::from_secs(secs);
    let mut samples = vec![first];
    while Instant::now() < deadline {
        let next = (start + Duration::from_secs(sample_secs * samples.len() as u64)).min(deadline);
        tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
        let s = server.sample();
        print_sample(&label, start.elapsed(), s, &load.stats);
        samples.push(s);
    }
    load.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        if let Err(e) = t.await {
            println!("{label} a load task died: {e}");
        }
    }
    let elapsed = start.elapsed();
    let last = server.sample();
    samples.push(last);

    // Summary.
    println!("{label} SUMMARY after {:.0} s", elapsed.as_secs_f64());
    println!(
        "{label}   rss start {:.1} MiB  end {:.1} MiB  max {:.1} MiB  (end - start {:+.1} MiB)",
        mib(first.rss_kb),
        mib(last.rss_kb),
        mib(samples.iter().map(|s| s.rss_kb).max().unwrap_or(0)),
        mib(last.rss_kb) - mib(first.rss_kb)
    );
    println!("{label}   fds start {}  end {}  max {}", first.fds, last.fds, samples.iter().map(|s| s.fds).max().unwrap_or(0));
    if backend == Backend::Postgres {
        let conns: Vec<u64> = samples.iter().filter_map(|s| s.db_conns).collect();
        println!("{label}   db connections start {:?}  end {:?}  max {:?}", first.db_conns, last.db_conns, conns.iter().max());
    }
    for (kind, c) in &load.stats.by_kind {
        let (ok, failed, errors) = (c.ok.load(Ordering::Relaxed), c.failed.load(Ordering::Relaxed), c.errors.load(Ordering::Relaxed));
        println!(
            "{label}   {:<14} requests {:>8}  ok {:>8}  failed {:>4}  errors(5xx/transport) {:>4}  {:>7.1}/s",
            format!("{kind:?}"),
            ok + failed + errors,
            ok,
            failed,
            errors,
            (ok + failed + errors) as f64 / elapsed.as_secs_f64()
        );
    }
    let (requests, bad) = load.stats.totals();
    println!("{label}   total requests {requests}  failed+errors {bad}  server log lines at LATCHKEY_LOG=error: {}", server.log_lines());
    for note in load.stats.notes.lock().expect("notes lock").iter() {
        println!("{label}   note: {note}");
    }
    if server.log_lines() > 0 {
        println!("{label}   server log tail:\n{}", server.log_tail());
    }
    let ok = |k: Kind| load.stats.by_kind[&k].ok.load(Ordering::Relaxed);
    println!(
        "{label}   live sessions of the soak user after the soak: {} (sign-ins {} - logouts {} = {})",
        server.live_sessions(),
        ok(Kind::SignIn),
        ok(Kind::Logout),
        ok(Kind::SignIn).saturating_sub(ok(Kind::Logout))
    );

    if sessions > 0 {
        match backend {
            Backend::Embedded => session_memory(&server, &label, &user_id, sessions).await,
            Backend::Postgres => println!("{label}   sessions step skipped: with Redis the session cache is in Redis, not in the server's memory"),
        }
    }
}

/// Writes `n` live sessions to the server's database, has the server look
/// each one up once, and reports its RSS before and after.
async fn session_memory(server: &Server, label: &str, user_id: &str, n: u64) {
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = server.sample();
    let settings = Settings { data_dir: server.data_dir.clone(), master_key: Some(server.master_key.clone()), issuer: server.issuer.clone(), ..Settings::default() };
    let stores = latchkey_web::open_stores(&settings).await.expect("open the server's database from the bench");
    let service = Arc::new(SessionService::new(stores.db.clone(), stores.fast.clone(), &stores.master, Arc::new(SystemClock), SessionLimits::default()));

    let t = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let cookies = Arc::new(Mutex::new(Vec::with_capacity(n as usize)));
    let mut writers = Vec::new();
    for _ in 0..4 {
        let (service, next, cookies, user) = (service.clone(), next.clone(), cookies.clone(), UserId(user_id.to_string()));
        writers.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let client = ClientInfo { ip: Some("127.0.0.1".into()), user_agent: Some(DESKTOP_UA.into()) };
                let s = service.create(&user, vec![latchkey_domain::Amr::Pwd], client, None).await.expect("insert a session");
                cookies.lock().expect("cookies lock").push(s.cookie_value);
            }
        }));
    }
    for w in writers {
        w.await.expect("session writer");
    }
    let cookies: Vec<String> = std::mem::take(&mut *cookies.lock().expect("cookies lock"));
    let written = t.elapsed();
    let after_insert = server.sample();
    println!("{label}   sessions: wrote {} in {:.1} s; server rss {:.1} -> {:.1} MiB (not yet looked up)", cookies.len(), written.as_secs_f64(), mib(before.rss_kb), mib(after_insert.rss_kb));

    let t = Instant::now();
    let http = server.http();
    let url = server.url("/end-session");
    let cookies = Arc::new(cookies);
    let next = Arc::new(AtomicU64::new(0));
    let (resolved, other) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut readers = Vec::new();
    for _ in 0..16 {
        let (http, url, cookies, next, resolved, other) = (http.clone(), url.clone(), cookies.clone(), next.clone(), resolved.clone(), other.clone());
        readers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(cookie) = cookies.get(i) else { break };
                let r = http.get(&url).header("cookie", format!("__Host-latchkey-session={cookie}")).send().await;
                // Signed in: the confirmation page (a form); otherwise "signed out".
                let live = match r {
                    Ok(r) if r.status().as_u16() == 200 => r.text().await.is_ok_and(|b| b.contains("name=\"csrf_token\"")),
                    _ => false,
                };
                if live {
                    resolved.fetch_add(1, Ordering::Relaxed)
                } else {
                    other.fetch_add(1, Ordering::Relaxed)
                };
            }
        }));
    }
    for r in readers {
        r.await.expect("session reader");
    }
    let looked_up = t.elapsed();
    let after = server.sample();
    let (resolved, other) = (resolved.load(Ordering::Relaxed), other.load(Ordering::Relaxed));
    let per_100k = (after.rss_kb as f64 - before.rss_kb as f64) * 100_000.0 / n as f64;
    println!(
        "{label}   sessions: looked up {n} in {:.1} s ({resolved} resolved as live, {other} not); server rss before {:.1} MiB, after {:.1} MiB: {:+.1} MiB per 100k sessions; fds {}",
        looked_up.as_secs_f64(),
        mib(before.rss_kb),
        mib(after.rss_kb),
        per_100k / 1024.0,
        after.fds
    );
    println!("{label}   live sessions of the soak user now: {}", server.live_sessions());
}

fn main() {
    let secs = env_or("SOAK_SECS", 600);
    let sample_secs = env_or("SOAK_SAMPLE_SECS", 30).max(1);
    let sessions = env_or("SESSIONS", 100_000);
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let backends: Vec<Backend> = if args.is_empty() {
        vec![Backend::Embedded, Backend::Postgres]
    } else {
        args.iter()
            .map(|a| match a.as_str() {
                "embedded" | "sqlite" => Backend::Embedded,
                "postgres" => Backend::Postgres,
                other => panic!("unknown backend {other:?}: embedded or postgres"),
            })
            .collect()
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    println!("soak: {secs} s per backend, a sample every {sample_secs} s, {} sign-in and {} token tasks, SESSIONS={sessions}", sign_in_tasks(), token_tasks());
    rt.block_on(async {
        for backend in backends {
            soak(backend, secs, sample_secs, sessions).await;
        }
    });
}
