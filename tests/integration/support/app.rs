use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use latchkey_app::directory::clients::{self, NewClient};
use latchkey_authn::NewUser;
use latchkey_domain::{ManualClock, Secret, SigningAlg};
use latchkey_web::{AppState, Settings};

use super::browser::Browser;
use super::client::TestClient;
use super::services::{unique, PgDatabase, RedisPrefix};

pub const USERNAME: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";
pub const REDIRECT_URI: &str = "http://localhost:3000/callback";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: SQLite file + in-process fast store.
    Sqlite,
    /// PostgreSQL + Redis, the scale-out configuration.
    Postgres,
}

pub struct TestApp {
    pub settings: Settings,
    pub issuer: String,
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    pub clock: Arc<ManualClock>,
    pub backend: Backend,
    handle: ServerHandle,
    data_dir: PathBuf,
    // Dropped after the server handle is told to stop (field order).
    pub redis: Option<RedisPrefix>,
    pub pg: Option<PgDatabase>,
}

fn random_master_key() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl TestApp {
    /// Starts a server, or returns `None` (after a loud notice) when the
    /// backend's services are missing outside CI.
    pub async fn start(backend: Backend) -> Option<TestApp> {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a server after `customize` has adjusted its settings.
    pub async fn start_with(backend: Backend, customize: impl FnOnce(&mut Settings)) -> Option<TestApp> {
        let data_dir = std::env::temp_dir().join(unique("latchkey-test-"));
        let (pg, redis) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => (Some(PgDatabase::create()?), Some(RedisPrefix::create()?)),
        };
        let mut settings = Settings {
            database_url: pg.as_ref().map(|p| p.url.clone()),
            redis_url: redis.as_ref().map(|r| r.url.clone()),
            redis_prefix: redis.as_ref().map(|r| r.prefix.clone()).unwrap_or_default(),
            master_key: Some(random_master_key()),
            data_dir: data_dir.clone(),
            ..Settings::default()
        };
        customize(&mut settings);
        let mut app = Self::launch(settings, Arc::new(ManualClock::new()), backend, None).await;
        app.pg = pg;
        app.redis = redis;
        Some(app)
    }

    /// A node whose issuer is `issuer` (the address of a proxy in front of it).
    pub async fn start_behind(backend: Backend, issuer: &str, customize: impl FnOnce(&mut Settings)) -> Option<TestApp> {
        let data_dir = std::env::temp_dir().join(unique("latchkey-test-"));
        let (pg, redis) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => (Some(PgDatabase::create()?), Some(RedisPrefix::create()?)),
        };
        let mut settings = Settings {
            database_url: pg.as_ref().map(|p| p.url.clone()),
            redis_url: redis.as_ref().map(|r| r.url.clone()),
            redis_prefix: redis.as_ref().map(|r| r.prefix.clone()).unwrap_or_default(),
            master_key: Some(random_master_key()),
            data_dir,
            ..Settings::default()
        };
        customize(&mut settings);
        let mut app = Self::launch(settings, Arc::new(ManualClock::new()), backend, Some(issuer.to_string())).await;
        app.pg = pg;
        app.redis = redis;
        Some(app)
    }

    /// A second node of the same deployment, as behind a load balancer: same
    /// issuer, database, Redis, master key and clock; its own port and process
    /// state. Its HTTP clients reach it under the shared issuer's host name.
    pub async fn second_node(&self) -> TestApp {
        let settings = Settings { data_dir: std::env::temp_dir().join(unique("latchkey-test-")), ..self.settings.clone() };
        Self::launch(settings, self.clock.clone(), self.backend, Some(self.issuer.clone())).await
    }

    /// Another node of `of`'s deployment (issuer and clock), with `settings`
    /// (e.g. reaching Redis another way).
    pub async fn node_with(of: &TestApp, settings: Settings) -> TestApp {
        let settings = Settings { data_dir: std::env::temp_dir().join(unique("latchkey-test-")), ..settings };
        Self::launch(settings, of.clock.clone(), of.backend, Some(of.issuer.clone())).await
    }

    async fn launch(mut settings: Settings, clock: Arc<ManualClock>, backend: Backend, issuer: Option<String>) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let issuer = issuer.unwrap_or_else(|| format!("http://localhost:{}", addr.port()));
        settings.bind = addr.to_string();
        settings.issuer = issuer.clone();
        let data_dir = settings.data_dir.clone();
        let state = Arc::new(AppState::build(&settings, clock.clone()).await.expect("server state"));
        let server = latchkey_web::start(listener, state.clone(), 2).expect("server");
        let handle = server.handle();
        tokio::spawn(server);
        TestApp { settings, issuer, addr, state, clock, backend, handle, data_dir, redis: None, pg: None }
    }

    /// A graceful stop, as on SIGTERM: stop accepting, finish what is in flight.
    pub async fn stop_gracefully(&self) {
        self.handle.stop(true).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.issuer, self.addr)
    }

    /// An HTTP client that reaches this server (this node, whatever port the
    /// issuer's URLs name) and never follows redirects.
    pub fn http(&self) -> openidconnect::reqwest::Client {
        openidconnect::reqwest::Client::builder()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            // As an HTTP proxy: requests go here in absolute form, with the
            // issuer's host; `resolve` alone would keep the URL's port and so
            // reach the first node from every node's client.
            .proxy(openidconnect::reqwest::Proxy::http(format!("http://{}", self.addr)).expect("node address"))
            .build()
            .expect("http client")
    }

    pub async fn add_user(&self, username: &str, password: &str) -> latchkey_domain::User {
        self.state.authn.create_user(NewUser { username: username.into(), email: format!("{username}@example.com"), password: Secret::new(password), admin: false }).await.expect("create user")
    }

    /// Registers a client with [`REDIRECT_URI`]; returns its id and secret.
    pub async fn add_client(&self, public: bool, id_token_alg: SigningAlg) -> (String, Option<String>) {
        let client = if public { TestClient::web_app("Test SPA").public() } else { TestClient::web_app("Test Web App") };
        client.id_token_alg(id_token_alg).register(self).await
    }

    /// Registers an admin client (client_credentials, scope admin).
    pub async fn add_admin_client(&self) -> (String, String) {
        TestClient::service("Admin tool").grants(vec![]).admin().register_confidential(self).await
    }

    pub async fn register(&self, new: NewClient) -> (String, Option<String>) {
        let (client, secret) = clients::register(&self.state.stores.db, &self.state.stores.master, new, self.clock_now()).await.expect("register client");
        (client.id.0, secret.map(|s| s.expose().to_string()))
    }

    pub fn clock_now(&self) -> i64 {
        use latchkey_domain::Clock;
        self.clock.now()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The command is sent at once; the returned future only waits for it.
        drop(self.handle.stop(false));
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A confidential client_credentials client named `name`, every option at
/// its default: tests change the fields they are about.
pub fn service_client(name: &str) -> NewClient {
    NewClient {
        name: name.into(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        public: false,
        grant_types: vec![latchkey_domain::GrantType::ClientCredentials],
        scopes: None,
        admin: false,
        id_token_alg: SigningAlg::RS256,
        backchannel_logout_uri: None,
        require_par: false,
        jwks: None,
        require_private_key_jwt: false,
        require_dpop: false,
        jwks_uri: None,
        links: Default::default(),
    }
}
