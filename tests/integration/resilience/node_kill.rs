//! A node dies mid-rotation: two real `latchkey serve` processes on one
//! PostgreSQL database and Redis prefix, clients rotating refresh tokens on
//! both, and `kill -9` of one of them under that load. The other keeps
//! serving (no 5xx); a client whose request died with the node retries on the
//! survivor; afterwards no family has two live tokens, and none that is not
//! revoked has none (checked with SQL).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use futures_util::future::join_all;
use openidconnect::OAuth2TokenResponse;

use crate::support::rp::{sign_in_default, AuthResponse};
use crate::support::services::{missing, unique};
use crate::support::{Backend, Rp, TestApp, PASSWORD, USERNAME};

/// Refresh-token families rotated at once.
const CHAINS: usize = 24;

/// The `latchkey` binary next to this test binary (`cargo test --workspace`
/// builds it: the `latchkey` package's own tests need it).
pub(crate) fn latchkey_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("latchkey");
    if bin.exists() {
        Some(bin)
    } else {
        missing("the latchkey binary", &format!("{} not found; run cargo build -p latchkey (cargo test --workspace builds it)", bin.display()));
        None
    }
}

/// One `latchkey serve` process of the deployment `app` belongs to.
pub(crate) struct Node {
    child: Child,
    pub(crate) addr: std::net::SocketAddr,
    pub(crate) base: String,
    dir: PathBuf,
}

impl Node {
    pub(crate) async fn spawn(bin: &PathBuf, app: &TestApp) -> Node {
        Self::spawn_with(bin, app, &[("LATCHKEY_LOG", "error")]).await
    }

    /// [`Node::spawn`] with more (or other) variables; its stderr is the
    /// test's (for a failing test's message) unless `LATCHKEY_LOG=error`.
    pub(crate) async fn spawn_with(bin: &PathBuf, app: &TestApp, env: &[(&str, &str)]) -> Node {
        let dir = std::env::temp_dir().join(unique("latchkey-node-"));
        std::fs::create_dir_all(&dir).expect("data dir");
        let addr = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
        let s = &app.settings;
        let child = Command::new(bin)
            .arg("serve")
            .env("LATCHKEY_ISSUER", &app.issuer)
            .env("LATCHKEY_BIND", addr.to_string())
            // The deployment's database: its SQLite file too.
            .env("LATCHKEY_DATABASE_URL", s.database_url())
            .env("LATCHKEY_REDIS_URL", s.redis_url.clone().unwrap_or_default())
            .env("LATCHKEY_REDIS_PREFIX", &s.redis_prefix)
            .env("LATCHKEY_MASTER_KEY", s.master_key.clone().unwrap_or_default())
            .env("LATCHKEY_DATA_DIR", &dir)
            .env("LATCHKEY_WORKERS", "2")
            .envs(env.iter().copied())
            .env_remove("LATCHKEY_CONFIG")
            .stdout(Stdio::null())
            .stderr(if env.contains(&("LATCHKEY_LOG", "error")) { Stdio::null() } else { Stdio::inherit() })
            .spawn()
            .expect("start latchkey serve");
        let node = Node { child, addr, base: format!("http://{addr}"), dir };
        let http = reqwest::Client::new();
        let started = Instant::now();
        while !http.get(format!("{}/health/ready", node.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            assert!(started.elapsed() < Duration::from_secs(30), "latchkey serve became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL: no graceful anything
        let _ = self.child.wait();
    }

    /// SIGTERM, as an orchestrator stops a node, and waits for it to exit
    /// (successfully).
    pub(crate) async fn stop(&mut self) {
        let sent = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("kill -TERM");
        assert!(sent.success(), "kill -TERM");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "latchkey serve exited with {status}");
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(45), "latchkey serve stopped after SIGTERM");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What one presentation of a refresh token came to.
enum Outcome {
    Rotated(String),
    Refused(u16, String),
    /// No answer: the connection failed (the node died).
    Lost,
}

async fn rotate(http: &reqwest::Client, base: &str, client: (&str, &str), token: &str) -> Outcome {
    let sent = http.post(format!("{base}/token")).basic_auth(client.0, Some(client.1)).form(&[("grant_type", "refresh_token"), ("refresh_token", token)]).send().await;
    let Ok(r) = sent else { return Outcome::Lost };
    let status = r.status().as_u16();
    let Ok(body) = r.json::<serde_json::Value>().await else { return Outcome::Lost };
    match body["refresh_token"].as_str() {
        Some(t) if status == 200 => Outcome::Rotated(t.to_string()),
        _ => Outcome::Refused(status, body.to_string()),
    }
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!("({sql})"))).get_result(conn).expect(sql)
}

#[derive(Default, Debug)]
struct ChainEnd {
    rotations: usize,
    /// Requests that died with the node.
    lost: usize,
    /// The retry on the survivor found the token spent: the dead node had
    /// committed the rotation but never answered (the family is revoked).
    lost_to_kill: bool,
    server_errors: Vec<String>,
    last: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_mid_rotation_leaves_every_family_whole() {
    if crate::support::services::skip_slow("fault injection (a killed node)") {
        return;
    }
    let Some(bin) = latchkey_binary() else { return };
    let Some(app) = TestApp::start(Backend::Postgres).await else { return };
    app.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = app.add_client(false, latchkey_domain::SigningAlg::RS256).await;
    let secret = secret.expect("confidential");
    let rp = Rp::discover(&app, &id, Some(&secret)).await;
    let mut browser = app.browser();
    let mut tokens = Vec::with_capacity(CHAINS);
    for i in 0..CHAINS {
        let req = rp.authorize_scopes(&["offline_access"], &[]);
        let resp = if i == 0 { sign_in_default(&mut browser, &req.url).await } else { AuthResponse::parse(&browser.get(&req.url).await.location.expect("a code")) };
        let t = rp.exchange(resp.code.as_deref().expect("code"), req.verifier).await.expect("exchange");
        tokens.push(t.refresh_token().expect("refresh token").secret().clone());
    }

    let mut doomed = Node::spawn(&bin, &app).await;
    let survivor = Node::spawn(&bin, &app).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("http");
    let killed = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let client = (id.as_str(), secret.as_str());

    let doomed_base = doomed.base.clone();
    let chains = tokens.into_iter().enumerate().map(|(i, first)| {
        let (http, doomed_base, survivor_base, stop) = (&http, doomed_base.clone(), survivor.base.as_str(), &stop);
        async move {
            let mut end = ChainEnd::default();
            let mut token = first;
            let mut step = i;
            while !stop.load(Ordering::SeqCst) {
                let on_doomed = step % 2 == 0;
                let base = if on_doomed { doomed_base.as_str() } else { survivor_base };
                step += 1;
                match rotate(http, base, client, &token).await {
                    Outcome::Rotated(t) => {
                        end.rotations += 1;
                        token = t;
                    }
                    Outcome::Lost if on_doomed => {
                        // The client does not know whether it was rotated: it
                        // retries on the other node, as behind a load balancer.
                        end.lost += 1;
                        match rotate(http, survivor_base, client, &token).await {
                            Outcome::Rotated(t) => token = t,
                            Outcome::Refused(400, body) if body.contains("invalid_grant") => {
                                end.lost_to_kill = true;
                                break;
                            }
                            Outcome::Refused(s, body) => {
                                end.server_errors.push(format!("retry on the survivor: {s} {body}"));
                                break;
                            }
                            Outcome::Lost => {
                                end.server_errors.push("the survivor did not answer".into());
                                break;
                            }
                        }
                    }
                    Outcome::Lost => {
                        end.server_errors.push("the survivor did not answer".into());
                        break;
                    }
                    Outcome::Refused(s, body) => {
                        end.server_errors.push(format!("{} answered {s} {body}", if on_doomed { "the doomed node" } else { "the survivor" }));
                        break;
                    }
                }
            }
            end.last = Some(token);
            end
        }
    });
    let chaos = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        doomed.kill();
        killed.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.store(true, Ordering::SeqCst);
    };
    let (ends, ()) = tokio::join!(join_all(chains), chaos);
    assert!(killed.load(Ordering::SeqCst));

    let rotations: usize = ends.iter().map(|e| e.rotations).sum();
    let lost: usize = ends.iter().map(|e| e.lost).sum();
    let lost_to_kill = ends.iter().filter(|e| e.lost_to_kill).count();
    eprintln!("KILL chains={CHAINS} rotations={rotations} requests lost with the node={lost} families lost to a rotation the dead node committed={lost_to_kill}");
    let errors: Vec<&String> = ends.iter().flat_map(|e| e.server_errors.iter()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(rotations > CHAINS * 4, "the load ran on both nodes before the kill: {rotations}");

    // Every surviving chain's last token still rotates, on the survivor.
    let mut alive = 0;
    for end in ends.iter().filter(|e| !e.lost_to_kill) {
        match rotate(&http, &survivor.base, client, end.last.as_deref().unwrap_or_default()).await {
            Outcome::Rotated(_) => alive += 1,
            Outcome::Refused(s, body) => panic!("a surviving chain's token was refused: {s} {body}"),
            Outcome::Lost => panic!("the survivor stopped answering"),
        }
    }
    assert_eq!(alive + lost_to_kill, CHAINS);

    // SQL: no family with two live tokens; every family not revoked has
    // exactly one; each family lost to the kill was revoked for the replay.
    let url = app.pg.as_ref().expect("postgres").url.clone();
    let mut conn = PgConnection::establish(&url).expect("connect");
    let client_id = id.replace('\'', "");
    let live_per_family = |cond: &str| {
        format!("SELECT count(*) FROM (SELECT f.id FROM refresh_families f LEFT JOIN refresh_tokens t ON t.family_id = f.id AND t.used_at IS NULL WHERE f.client_id = '{client_id}' {cond} GROUP BY f.id HAVING count(t.family_id) {{}}) x")
    };
    assert_eq!(count(&mut conn, &live_per_family("").replace("{}", "> 1")), 0, "no family with two live tokens");
    assert_eq!(count(&mut conn, &live_per_family("AND f.revoked_at IS NULL").replace("{}", "<> 1")), 0, "every family in force has exactly one live token");
    assert_eq!(
        count(&mut conn, &format!("SELECT count(*) FROM refresh_families WHERE client_id = '{client_id}' AND revoked_at IS NOT NULL")),
        lost_to_kill as i64,
        "only the families whose retry replayed a committed rotation were revoked"
    );
}
