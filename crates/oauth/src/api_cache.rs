//! The registry of APIs, cached per node, and reading it again when a
//! request names what the cache does not know.

use std::sync::{Arc, RwLock};

use latchkey_domain::{Api, Client, ScopeSet, SharedClock};
use latchkey_store::repo::{apis as repo, groups as group_repo};
use latchkey_store::{Db, StoreError};

use crate::apis::{by_audience, owner_of};
use crate::error::OAuthError;
use crate::service::OAuthService;

/// The registry is cached per node for 5 seconds, like clients: a new or
/// removed API takes effect everywhere within that.
const API_CACHE_TTL: i64 = 5;
/// A request naming a resource (or an API scope its client is allowed) that
/// the cached registry does not know makes the node read the registry again
/// before refusing it — an API registered with the CLI while the server runs
/// is usable at once — but at most this often per node, and one reader at a
/// time: made-up resources cannot turn into a database query each (like an
/// unknown `kid` at a resource server).
const API_REREAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The cached registry and when it was read, and when an unknown name last
/// made this node read it again (the lock makes those reads single-flight).
#[derive(Default)]
pub(crate) struct ApiCache {
    list: RwLock<Option<(Arc<Vec<Api>>, i64)>>,
    reread: tokio::sync::Mutex<Option<std::time::Instant>>,
}

impl ApiCache {
    /// Every registered API (cached for a few seconds per node).
    pub(crate) async fn all(&self, db: &Db, clock: &SharedClock) -> Result<Arc<Vec<Api>>, StoreError> {
        let now = clock.now();
        if let Some((list, at)) = self.list.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if now - at < API_CACHE_TTL {
                return Ok(list.clone());
            }
        }
        self.read(db, now).await
    }

    async fn read(&self, db: &Db, now: i64) -> Result<Arc<Vec<Api>>, StoreError> {
        let list = Arc::new(db.run(repo::list).await?);
        *self.list.write().unwrap_or_else(|p| p.into_inner()) = Some((list.clone(), now));
        Ok(list)
    }

    /// The registry, known to hold the APIs of `resources` and the owners of
    /// the API scopes `client` may have among `requested`, if they exist: a
    /// cached list missing one is read again (see [`API_REREAD_INTERVAL`])
    /// before the caller refuses the request as `invalid_target` or drops
    /// the scope.
    pub(crate) async fn for_request(&self, db: &Db, clock: &SharedClock, resources: &[&str], requested: &ScopeSet, client: &Client) -> Result<Arc<Vec<Api>>, StoreError> {
        let knows =
            |list: &[Api]| resources.iter().all(|r| by_audience(list, r).is_some()) && requested.api_names().filter(|n| client.allowed_scopes.contains_api(n)).all(|n| owner_of(list, n).is_some());
        let list = self.all(db, clock).await?;
        if knows(&list) {
            return Ok(list);
        }
        let mut last = self.reread.lock().await;
        // Another request may have read it while this one waited.
        let current = self.list.read().unwrap_or_else(|p| p.into_inner()).as_ref().map(|(l, _)| l.clone()).unwrap_or(list);
        if knows(&current) || last.is_some_and(|at| at.elapsed() < API_REREAD_INTERVAL) {
            return Ok(current);
        }
        *last = Some(std::time::Instant::now());
        metrics::counter!("latchkey_api_registry_rereads_total").increment(1);
        self.read(db, clock.now()).await
    }

    fn forget(&self) {
        *self.list.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl OAuthService {
    /// Every registered API (cached for a few seconds per node).
    pub async fn apis(&self) -> Result<Arc<Vec<Api>>, StoreError> {
        self.api_cache.all(&self.db, &self.clock).await
    }

    /// See [`ApiCache::for_request`].
    pub(crate) async fn apis_for(&self, resources: &[&str], requested: &ScopeSet, client: &Client) -> Result<Arc<Vec<Api>>, StoreError> {
        self.api_cache.for_request(&self.db, &self.clock, resources, requested, client).await
    }

    pub fn forget_cached_apis(&self) {
        self.api_cache.forget();
    }

    /// An API by id or audience.
    pub async fn api(&self, id_or_audience: &str) -> Result<Option<Api>, StoreError> {
        self.forget_cached_apis();
        Ok(self.apis().await?.iter().find(|a| a.id == id_or_audience || a.audience == id_or_audience).cloned())
    }

    /// Key upkeep that knows every API's token lifetime: keys are retired only
    /// once the longest-lived access token they could have signed expired.
    pub async fn maintain_keys(&self) -> Result<(), OAuthError> {
        self.forget_cached_apis();
        let longest = self.apis().await?.iter().map(|a| a.access_token_ttl).max().unwrap_or(0);
        Ok(self.tokens.maintain_for(longest).await?)
    }

    /// The user's groups (names, sorted).
    pub async fn groups_of(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let uid = user_id.to_string();
        self.db.run(move |c| group_repo::of_user(c, &uid)).await
    }
}
