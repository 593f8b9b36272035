//! Two nodes behind a real reverse proxy (Debian's nginx) over 127.0.0.1:
//! a relying party signs a user in through it, with requests landing on
//! both nodes in turn.

use std::process::{Child, Command, Stdio};

use latchkey_domain::SigningAlg;
use openidconnect::OAuth2TokenResponse;

use crate::support::rp::sign_in_default;
use crate::support::services::missing;
use crate::support::{Backend, Browser, Rp, TestApp, PASSWORD, USERNAME};

struct Nginx(Child, std::path::PathBuf);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// The `proxy_set_header` lines of `deploy/nginx.conf`'s `location /`: the
/// test runs the documented configuration, not a copy of it.
fn documented_headers() -> Vec<String> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx.conf");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<String> = text.lines().map(str::trim).filter(|l| l.starts_with("proxy_set_header ")).map(str::to_string).collect();
    assert!(lines.iter().any(|l| l.starts_with("proxy_set_header X-Forwarded-For ")), "deploy/nginx.conf sets X-Forwarded-For: {lines:?}");
    assert!(lines.iter().any(|l| l == "proxy_set_header Forwarded \"\";"), "deploy/nginx.conf clears Forwarded: {lines:?}");
    lines
}

/// nginx on `port` with the documented headers and, on `careless_port`, the
/// same without clearing `Forwarded` (an operator's own proxy that forgot it).
fn nginx(port: u16, careless_port: u16, upstreams: &[std::net::SocketAddr]) -> Option<Nginx> {
    if Command::new("nginx").arg("-v").stderr(Stdio::null()).status().is_err() {
        missing("nginx", "the nginx binary is not installed");
        return None;
    }
    let dir = std::env::temp_dir().join(crate::support::services::unique("latchkey-nginx-"));
    std::fs::create_dir_all(&dir).ok()?;
    let d = dir.display();
    let servers: String = upstreams.iter().map(|a| format!("server {a};")).collect::<Vec<_>>().join(" ");
    let documented = documented_headers();
    let careless: Vec<String> = documented.iter().filter(|l| !l.starts_with("proxy_set_header Forwarded ")).cloned().collect();
    let conf = format!(
        "worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log; daemon off;\n\
         events {{}}\n\
         http {{ access_log off; client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
           upstream latchkey {{ {servers} }}\n\
           server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://latchkey; {} }} }}\n\
           server {{ listen 127.0.0.1:{careless_port}; location / {{ proxy_pass http://latchkey; {} }} }} }}\n",
        documented.join(" "),
        careless.join(" "),
    );
    std::fs::write(dir.join("nginx.conf"), conf).ok()?;
    let child = Command::new("nginx").args(["-e", &format!("{d}/error.log"), "-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().ok()?;
    Some(Nginx(child, dir))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_behind_nginx_sign_a_user_in() {
    let (port, careless_port) = (free_port(), free_port());
    let issuer = format!("http://localhost:{port}");
    let Some(a) = TestApp::start_behind(Backend::Postgres, &issuer, |s| {
        s.trusted_proxies = latchkey_web::client_ip::parse_trusted_proxies("127.0.0.1/32").unwrap_or_default();
    })
    .await
    else {
        return;
    };
    let b = a.second_node().await;
    let Some(_proxy) = nginx(port, careless_port, &[a.addr, b.addr]) else {
        return;
    };
    let proxy: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let http = openidconnect::reqwest::Client::builder().redirect(openidconnect::reqwest::redirect::Policy::none()).resolve("localhost", proxy).build().expect("http");
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{issuer}/health/ready")).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up, "nginx answers");

    a.add_user(USERNAME, PASSWORD).await;
    let (id, secret) = a.add_client(false, SigningAlg::RS256).await;
    let rp = Rp::discover_via(&issuer, http.clone(), &id, secret.as_deref()).await;
    let mut browser = Browser::new(&issuer, proxy);
    let req = rp.authorize(&[]);
    let code = sign_in_default(&mut browser, &req.url).await.code.expect("a code through the proxy");
    let tokens = rp.exchange(&code, req.verifier).await.expect("exchange through the proxy");
    let userinfo = http.get(format!("{issuer}/userinfo")).bearer_auth(tokens.access_token().secret()).send().await.expect("userinfo");
    assert_eq!(userinfo.status().as_u16(), 200);
    // nginx alternates between the nodes, so the flow above crossed them;
    // the sign-in recorded the address nginx reported for the browser.
    let served = |app: &TestApp| app.state.stores.db.clone();
    let events = served(&a).run(|c| latchkey_store::repo::audit::recent(c, Some("sign_in"), 10)).await.expect("audit");
    assert_eq!(events.first().and_then(|e| e.ip.clone()).as_deref(), Some("127.0.0.1"));
    let account = browser.get("/account").await;
    assert_eq!(account.status, 200, "the session works on whichever node answers");

    // Issue 24 item 3: attackers on other machines (127.0.0.2, 127.0.0.3:
    // not trusted proxies) send `Forwarded` and `X-Forwarded-For` naming
    // addresses of their choice, through the documented proxy and through
    // one that forgot to clear `Forwarded`. Each is recorded at its own
    // address, never a chosen one.
    for (last, via) in [(2u8, port), (3, careless_port)] {
        let own = std::net::IpAddr::from([127, 0, 0, last]);
        let proxy: std::net::SocketAddr = format!("127.0.0.1:{via}").parse().expect("addr");
        let mut attacker = Browser::from_address(&issuer, proxy, own);
        attacker.headers.push(("forwarded".into(), format!("for=198.51.100.{last}")));
        attacker.headers.push(("x-forwarded-for".into(), format!("203.0.113.{last}")));
        let req = rp.authorize(&[]);
        sign_in_default(&mut attacker, &req.url).await.code.expect("the attacker signs in through the proxy");
        let page = attacker.get("/account").await;
        assert!(page.body.contains(&own.to_string()), "recorded at {own}: {}", page.body);
        assert!(!page.body.contains("198.51.100.") && !page.body.contains("203.0.113."), "a chosen address in the session: {}", page.body);
    }
    let events = served(&a).run(|c| latchkey_store::repo::audit::recent(c, Some("sign_in"), 10)).await.expect("audit");
    let mut ips: Vec<String> = events.iter().filter_map(|e| e.ip.clone()).collect();
    ips.sort();
    assert_eq!(ips, ["127.0.0.1", "127.0.0.2", "127.0.0.3"], "the audit trail has the real addresses only");
    let _ = b;
}
