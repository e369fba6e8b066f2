//! The avatar service's operations, one per request: read an avatar (`read.rs`, from the
//! source `source.rs` picks, rendered by `render.rs` when nobody stored that side or format)
//! or a stored object (`media`), upload and delete (`write.rs`), authorise; generated defaults
//! are drawn in `generated.rs`, bytes handed out in `content.rs`. HTTP handlers call exactly
//! one of these per request.

mod content;
mod generated;
mod read;
mod render;
mod source;
mod write;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use content::Content;
pub use read::{Answer, Fallback, FormatWish, ReadRequest, Reply};
pub use write::{MAX_NAME_BYTES, REPLACED_FILES_GRACE, UploadAbout, Uploaded};

use crate::avatar::{AvatarHash, clock};
use crate::cache::Cache;
use crate::catalog::{CatalogError, Change, SharedCatalog};
use crate::config::Delivery;
use crate::plugin::{AuthRequest, Grant, PluginError};
use crate::rate::{Action, Limited, RateLimits};
use crate::storage::{SharedStore, StorageError};
use crate::tenant::{JobError, PipelineError, Tenant};

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("no avatar")]
    NotFound,
    /// The auth plugin refused the credential, or failed (see `PluginError::is_server_fault`).
    #[error(transparent)]
    Auth(PluginError),
    /// A stage of the tenant's image pipeline refused the image or failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A stored record points at a file that is not there.
    #[error("stored file {key} is missing")]
    MissingFile { key: String },
    #[error("internal task failed: {0}")]
    Join(String),
    /// The tenant's plugins failed too often in a row; its jobs are refused for a while.
    #[error(
        "tenant {tenant}'s plugin jobs are suspended for {retry_after:?} after repeated failures"
    )]
    Suspended {
        tenant: String,
        retry_after: Duration,
    },
    /// The tenant's plugin jobs were all busy for longer than its plugin deadline.
    #[error("tenant {tenant} is busy: {jobs} plugin jobs running and more waiting")]
    Busy { tenant: String, jobs: u32 },
    /// The process is stopping.
    #[error("the service is shutting down")]
    ShuttingDown,
    /// A rate limit refused the request before any work was done.
    #[error(transparent)]
    RateLimited(#[from] Limited),
}

impl ServiceError {
    fn from_job(tenant: &Tenant, error: JobError) -> Self {
        match error {
            JobError::Suspended { retry_after } => Self::Suspended {
                tenant: tenant.id.clone(),
                retry_after,
            },
            JobError::Busy { jobs } => Self::Busy {
                tenant: tenant.id.clone(),
                jobs,
            },
            JobError::Failed(e) => Self::Pipeline(e),
            JobError::Join(e) => Self::Join(e),
        }
    }
}

/// Where clients fetch what the service stores.
#[derive(Debug, Clone)]
pub struct Links {
    pub delivery: Delivery,
    /// Base URL for absolute links, without a trailing slash.
    pub public_base: Arc<str>,
}

/// The service: shared, cheap to clone.
#[derive(Clone)]
pub struct Service {
    catalog: SharedCatalog,
    store: SharedStore,
    cache: Arc<Cache>,
    links: Links,
    renditions: Arc<render::Renditions>,
    started_at: SystemTime,
    /// Work that outlives its request (the removal of replaced files), finished at shutdown.
    deferred: Deferred,
    /// Set when the process starts stopping: `/readyz` fails from then on.
    stopping: Arc<AtomicBool>,
    /// The rate limits on writes and renders; none until [`Service::with_rate_limits`].
    rate: Option<Arc<RateLimits>>,
}

/// Tasks that run after their request has been answered.
#[derive(Clone, Default)]
struct Deferred {
    tasks: TaskTracker,
    /// Cancelled at shutdown: waits are cut short, the work itself still runs.
    hurry: CancellationToken,
}

impl Service {
    /// The service over these backends. Changes other hosts make to the catalog invalidate
    /// this host's cached records as soon as the catalog reports them.
    pub fn new(catalog: SharedCatalog, store: SharedStore, cache: Cache, links: Links) -> Self {
        let cache = Arc::new(cache);
        let sink_cache = cache.clone();
        catalog.watch_changes(Arc::new(move |change| match change {
            Change::Avatar { tenant, hash } => sink_cache.invalidate(&tenant, &hash),
            Change::Unknown => sink_cache.invalidate_all(),
        }));
        Self {
            catalog,
            store,
            cache,
            links,
            renditions: Arc::default(),
            started_at: SystemTime::now(),
            deferred: Deferred::default(),
            stopping: Arc::default(),
            rate: None,
        }
    }

    /// This service with rate limits on writes and renders.
    pub fn with_rate_limits(mut self, rate: Arc<RateLimits>) -> Self {
        self.rate = Some(rate);
        self
    }

    /// Whether an upload for `tenant` from `client` is taken now, asked before its body is
    /// read: the tenant's plugin jobs are neither suspended nor saturated (else it would be
    /// refused once read), and its write buckets have a token.
    pub fn admit_upload(
        &self,
        tenant: &Tenant,
        client: Option<IpAddr>,
    ) -> Result<(), ServiceError> {
        tenant
            .jobs
            .admission()
            .map_err(|e| ServiceError::from_job(tenant, e))?;
        self.admit(Action::Write, tenant, client)
    }

    /// Takes a token for `action` from the client's and the tenant's buckets. Writes ask
    /// before reading their body; renders right before their plugin job.
    pub fn admit(
        &self,
        action: Action,
        tenant: &Tenant,
        client: Option<IpAddr>,
    ) -> Result<(), ServiceError> {
        match &self.rate {
            Some(rate) => Ok(rate.check(action, &tenant.id, client)?),
            None => Ok(()),
        }
    }

    /// How full this host's caches are.
    pub fn cache_usage(&self) -> crate::cache::CacheUsage {
        self.cache.usage()
    }

    /// How this service hands out images.
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// Asks the tenant's auth plugin whether `token` may change `hash` with `method`.
    pub async fn authorize(
        &self,
        tenant: &Arc<Tenant>,
        method: &str,
        hash: &AvatarHash,
        token: &str,
    ) -> Result<Grant, ServiceError> {
        let request = AuthRequest {
            method: method.to_owned(),
            tenant: tenant.id.clone(),
            hash: hash.to_string(),
            token: token.to_owned(),
            now: clock::unix_seconds(SystemTime::now()),
        };
        let tenant = tenant.clone();
        // Auth calls take tens of microseconds; a blocking thread keeps a hostile plugin's
        // deadline from stalling the async workers.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| tenant.authorize(&request)))
            .await
            .map_err(|e| ServiceError::Join(e.to_string()))?
            .map_err(ServiceError::Auth)
    }

    /// Whether the catalog and the store answer.
    pub async fn ready(&self) -> Result<(), ServiceError> {
        if self.stopping.load(Ordering::Acquire) {
            return Err(ServiceError::ShuttingDown);
        }
        self.catalog.health().await?;
        self.store.health().await?;
        Ok(())
    }

    /// The process is stopping: readiness fails from now on, so load balancers move away.
    pub fn begin_shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Runs the deferred work left (removals of replaced files, without their usual wait:
    /// no request is reading those files any more), waiting at most `within`. Returns whether
    /// all of it finished.
    pub async fn finish_deferred(&self, within: Duration) -> bool {
        self.deferred.hurry.cancel();
        self.deferred.tasks.close();
        tokio::time::timeout(within, self.deferred.tasks.wait())
            .await
            .is_ok()
    }

    /// Runs `work` after `wait` (sooner at shutdown), tracked so shutdown finishes it.
    fn defer(&self, wait: Duration, work: impl Future<Output = ()> + Send + 'static) {
        let hurry = self.deferred.hurry.clone();
        self.deferred.tasks.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = hurry.cancelled() => {}
            }
            work.await;
        });
    }

    /// Where a client fetches the object under `key` directly: the store's own URL (public or
    /// presigned), or this host's `/_media/` path.
    async fn media_url(&self, key: &str) -> Result<String, ServiceError> {
        let direct = self.store.url_for(key).await?;
        // `concat` sizes the string once; `format!` would grow it twice as it writes.
        Ok(direct.unwrap_or_else(|| [&*self.links.public_base, "/_media/", key].concat()))
    }
}
