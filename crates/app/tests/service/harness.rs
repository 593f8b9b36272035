//! An [`App`] over a fresh SQLite file, the in-process fast store and a
//! manual clock.

use std::sync::Arc;

use latchkey_app::{App, AppConfig, MailConfig, Stores};
use latchkey_authn::notice::MailBrand;
use latchkey_authn::{NewUser, SessionLimits};
use latchkey_domain::{ManualClock, Secret, User};
use latchkey_oauth::OAuthConfig;
use latchkey_store::{Db, DbConfig, FastStore};
use latchkey_token::{MasterKey, TokenConfig};

pub const PASSWORD: &str = "violet harbour lantern 77";
const ISSUER: &str = "http://localhost:9";

pub struct Harness {
    pub app: App,
    pub clock: Arc<ManualClock>,
    dir: std::path::PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Harness {
    pub async fn new() -> Harness {
        let dir = std::env::temp_dir().join(format!("latchkey-app-test-{}", latchkey_token::crypto::random_token("")));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = dir.join("latchkey.db").display().to_string();
        let db = tokio::task::spawn_blocking(move || Db::connect(&DbConfig { url })).await.expect("join").expect("sqlite");
        let stores = Stores { db, fast: FastStore::memory(), master: MasterKey::generate().expect("master key") };
        let clock = Arc::new(ManualClock::new());
        let config = AppConfig {
            token: TokenConfig::new(ISSUER),
            oauth: OAuthConfig { issuer: ISSUER.into(), require_par: false, dpop_require_nonce: false, registration_open: false, client_id_metadata: false },
            sessions: SessionLimits::default(),
            password_min_chars: 8,
            hashing_threads: Some(1),
            mail: MailConfig { smtp_url: None, from: "latchkey@localhost".into(), outbox: dir.join("outbox"), brand: MailBrand::new("latchkey", "#1f6feb") },
            invite_ttl: 7 * 24 * 3600,
            recovery_ttl: 30 * 60,
            client_id_metadata: Default::default(),
            risk: Default::default(),
            relying_party: Default::default(),
            passkey_only: Default::default(),
            passkey_policy: Default::default(),
            ssf_allow_private: true,
        };
        let app = App::new(config, stores, clock.clone()).await.expect("app");
        Harness { app, clock, dir }
    }

    pub async fn user(&self, username: &str, admin: bool) -> User {
        let new = NewUser { username: username.into(), email: format!("{username}@example.com"), password: Secret::new(PASSWORD), admin };
        self.app.authn.create_user(new).await.expect("user")
    }

    /// The user as stored now.
    pub async fn reload(&self, user: &User) -> User {
        self.app.authn.user(&user.id).await.expect("lookup").expect("still there")
    }
}
