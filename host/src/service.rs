//! The avatar service's operations: resolve and read an avatar, upload, delete, authorise.
//! HTTP handlers call exactly one of these per request.
//!
//! Writes go in the order that loses nothing: store the new version's files, commit the
//! catalog row that points at them, then delete the previous version's files (after a short
//! grace period, so a client holding the old record can still fetch it). A failure before the
//! commit removes the new files and leaves the old avatar whole.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures_util::future::join_all;
use futures_util::stream::{BoxStream, StreamExt};

use crate::avatar::{AvatarHash, choose_side, new_version, variant_key};
use crate::breaker::Outcome;
use crate::cache::Cache;
use crate::catalog::{AvatarRecord, CatalogError, Change, SharedCatalog, Variant};
use crate::plugin::Image as PluginImage;
use crate::plugin::{AuthRequest, Grant, Image, ImageFormat, PluginError};
use crate::storage::{BlobReader, SharedStore, StorageError};
use crate::tenant::{DefaultImage, DefaultPolicy, Tenant, etag_of};

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("no avatar")]
    NotFound,
    /// A plugin refused the input, or failed (see `PluginError::is_server_fault`).
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// A plugin returned something that breaks the contract.
    #[error("plugin {plugin} broke its contract: {message}")]
    Contract { plugin: String, message: String },
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
}

/// An avatar ready to answer with.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// A stored variant; `record` is the catalog row it belongs to.
    Stored {
        record: Arc<AvatarRecord>,
        variant: Variant,
    },
    /// The tenant's default image.
    Default(DefaultImageRef),
    /// A picture the tenant's generator draws for this hash (made on first use, then cached).
    Generated(GeneratedRef),
}

/// A generated default: what to draw, and its validators, known before drawing.
#[derive(Debug, Clone)]
pub struct GeneratedRef {
    pub hash: AvatarHash,
    pub side: u32,
    pub format: ImageFormat,
    pub etag: String,
    pub made_at: SystemTime,
}

/// A default image and when the process made it.
#[derive(Clone)]
pub struct DefaultImageRef {
    pub image: DefaultImage,
    pub made_at: SystemTime,
}

impl std::fmt::Debug for DefaultImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultImageRef")
            .field("side", &self.image.side)
            .finish()
    }
}

/// The bytes of an image to answer with: in memory (cached, or a default), or streaming from
/// the blob store as they arrive.
pub enum Content {
    Whole(Bytes),
    Streaming {
        len: u64,
        body: BoxStream<'static, Result<Bytes, StorageError>>,
    },
}

impl Content {
    pub fn len(&self) -> u64 {
        match self {
            Self::Whole(bytes) => bytes.len() as u64,
            Self::Streaming { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads it all (for callers that need the bytes, such as tests).
    pub async fn collect(self) -> Result<Bytes, StorageError> {
        match self {
            Self::Whole(bytes) => Ok(bytes),
            Self::Streaming { len, mut body } => {
                let mut buf = BytesMut::with_capacity(usize::try_from(len).unwrap_or(0));
                while let Some(chunk) = body.next().await {
                    buf.extend_from_slice(&chunk?);
                }
                Ok(buf.freeze())
            }
        }
    }
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Whole(b) => f.debug_tuple("Whole").field(&b.len()).finish(),
            Self::Streaming { len, .. } => f.debug_struct("Streaming").field("len", len).finish(),
        }
    }
}

/// How long the files of a replaced version stay readable.
pub const REPLACED_FILES_GRACE: Duration = Duration::from_secs(2);

/// The service: shared, cheap to clone.
#[derive(Clone)]
pub struct Service {
    catalog: SharedCatalog,
    store: SharedStore,
    cache: Arc<Cache>,
    started_at: SystemTime,
}

impl Service {
    /// The service over these backends. Changes other hosts make to the catalog invalidate
    /// this host's cached records as soon as the catalog reports them.
    pub fn new(catalog: SharedCatalog, store: SharedStore, cache: Cache) -> Self {
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
            started_at: SystemTime::now(),
        }
    }

    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    /// Asks the tenant's auth plugin whether `token` may change `hash`.
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
            now: unix_seconds(SystemTime::now()),
        };
        let tenant = tenant.clone();
        // Auth calls take tens of microseconds; a blocking thread keeps a hostile plugin's
        // deadline from stalling the async workers.
        let grant = tokio::task::spawn_blocking(move || {
            tenant
                .auth
                .authenticate(&tenant.auth_settings, &tenant.limits, &request)
        })
        .await
        .map_err(|e| ServiceError::Join(e.to_string()))??;
        Ok(grant)
    }

    /// The record of `hash`, through the cache.
    pub async fn find(
        &self,
        tenant: &Tenant,
        hash: &AvatarHash,
    ) -> Result<Option<Arc<AvatarRecord>>, ServiceError> {
        if let Some(cached) = self.cache.record(&tenant.id, hash.as_str()) {
            return Ok(cached);
        }
        self.find_uncached(tenant, hash).await
    }

    async fn find_uncached(
        &self,
        tenant: &Tenant,
        hash: &AvatarHash,
    ) -> Result<Option<Arc<AvatarRecord>>, ServiceError> {
        let generation = self.cache.generation();
        let record = self
            .catalog
            .find(&tenant.id, hash.as_str())
            .await?
            .map(Arc::new);
        self.cache
            .put_record(generation, &tenant.id, hash.as_str(), record.clone());
        Ok(record)
    }

    /// Which image answers a request for `hash` (or `backup`) at `side` pixels.
    pub async fn resolve(
        &self,
        tenant: &Tenant,
        hash: &AvatarHash,
        backup: Option<&AvatarHash>,
        side: u32,
    ) -> Result<Resolved, ServiceError> {
        for candidate in std::iter::once(hash).chain(backup) {
            if let Some(found) = self.resolve_stored(tenant, candidate, side).await? {
                return Ok(found);
            }
        }
        match &tenant.default_avatar {
            DefaultPolicy::NotFound => Err(ServiceError::NotFound),
            DefaultPolicy::Hash(default) => self
                .resolve_stored(tenant, default, side)
                .await?
                .ok_or(ServiceError::NotFound),
            DefaultPolicy::Images(images) => {
                let side = choose_side(images.iter().map(|i| i.side), side)
                    .ok_or(ServiceError::NotFound)?;
                let image = images
                    .iter()
                    .find(|i| i.side == side)
                    .expect("chosen among these")
                    .clone();
                Ok(Resolved::Default(DefaultImageRef {
                    image,
                    made_at: self.started_at,
                }))
            }
            DefaultPolicy::Generate(generator) => {
                let side = choose_side(tenant.stored_sides.iter().copied(), side)
                    .ok_or(ServiceError::NotFound)?;
                let format = tenant.generated_format();
                // Everything the pixels depend on: the plugins and their settings, the hash, the
                // side and the output.
                let mut recipe = format!(
                    "{}|{:?}|{}|{:?}|{}|{}|{}",
                    generator.plugin.digest(),
                    generator.settings,
                    tenant.transform.digest(),
                    tenant.transform_settings,
                    hash,
                    side,
                    tenant.quality
                );
                for filter in &tenant.filters {
                    recipe.push_str(&format!(
                        "|{}|{:?}",
                        filter.plugin.digest(),
                        filter.settings
                    ));
                }
                Ok(Resolved::Generated(GeneratedRef {
                    hash: hash.clone(),
                    side,
                    format,
                    etag: etag_of(recipe.as_bytes()),
                    made_at: self.started_at,
                }))
            }
        }
    }

    async fn resolve_stored(
        &self,
        tenant: &Tenant,
        hash: &AvatarHash,
        side: u32,
    ) -> Result<Option<Resolved>, ServiceError> {
        let Some(record) = self.find(tenant, hash).await? else {
            return Ok(None);
        };
        Ok(pick(record, side))
    }

    /// Resolves and opens the bytes, unless `body_wanted` says the caller will not send them
    /// (a conditional request the client's copy satisfies). When a concurrent replace has
    /// removed the files of the record first found, looks the record up again, so readers
    /// never see a missing avatar.
    pub async fn fetch(
        &self,
        tenant: &Arc<Tenant>,
        hash: &AvatarHash,
        backup: Option<&AvatarHash>,
        side: u32,
        body_wanted: impl Fn(&Resolved) -> bool,
    ) -> Result<(Resolved, Option<Content>), ServiceError> {
        let mut attempts = 0;
        loop {
            let resolved = self.resolve(tenant, hash, backup, side).await?;
            if !body_wanted(&resolved) {
                return Ok((resolved, None));
            }
            let key = match &resolved {
                Resolved::Default(d) => {
                    let bytes = d.image.bytes.clone();
                    return Ok((resolved, Some(Content::Whole(bytes))));
                }
                Resolved::Generated(g) => {
                    let bytes = self.generated(tenant, g).await?;
                    return Ok((resolved, Some(Content::Whole(bytes))));
                }
                Resolved::Stored { variant, .. } => variant.key.clone(),
            };
            match self.read(&key).await? {
                Some(content) => return Ok((resolved, Some(content))),
                None if attempts < 3 => {
                    attempts += 1;
                    if let Resolved::Stored { record, .. } = &resolved {
                        self.cache.invalidate(&record.tenant, &record.hash);
                    }
                }
                None => return Err(ServiceError::MissingFile { key }),
            }
        }
    }

    /// The generated picture `g`, from the image cache or drawn now (one of the tenant's
    /// plugin jobs).
    async fn generated(
        &self,
        tenant: &Arc<Tenant>,
        g: &GeneratedRef,
    ) -> Result<Bytes, ServiceError> {
        let key = format!("generated/{}/{}", tenant.id, g.etag);
        if let Some(bytes) = self.cache.image(&key) {
            return Ok(bytes);
        }
        let DefaultPolicy::Generate(generator) = &tenant.default_avatar else {
            return Err(ServiceError::NotFound);
        };
        let generator = generator.clone();
        let hash = g.hash.clone();
        let side = g.side;
        let image: PluginImage = self
            .job(tenant, move |tenant| {
                tenant.generate(&generator, &hash, side)
            })
            .await?;
        if image.format != g.format {
            return Err(ServiceError::Contract {
                plugin: tenant.transform.name().to_owned(),
                message: format!("encoded {} instead of {}", image.format, g.format),
            });
        }
        let bytes = Bytes::from(image.data);
        self.cache.put_image(&key, bytes.clone());
        Ok(bytes)
    }

    /// Runs `work` on a blocking thread as one of `tenant`'s plugin jobs: refused at once
    /// while the tenant's breaker is open ([`ServiceError::Suspended`]); at most
    /// `tenant.max_jobs` run at once; a job that waits longer than the tenant's plugin
    /// deadline for its turn gives up with [`ServiceError::Busy`]. The outcome feeds the
    /// breaker.
    async fn job<R: Send + 'static>(
        &self,
        tenant: &Arc<Tenant>,
        work: impl FnOnce(&Tenant) -> Result<R, PluginError> + Send + 'static,
    ) -> Result<R, ServiceError> {
        tenant
            .breaker
            .check()
            .map_err(|retry_after| ServiceError::Suspended {
                tenant: tenant.id.clone(),
                retry_after,
            })?;
        let permit =
            tokio::time::timeout(tenant.limits.deadline, tenant.jobs.clone().acquire_owned())
                .await
                .map_err(|_| ServiceError::Busy {
                    tenant: tenant.id.clone(),
                    jobs: tenant.max_jobs,
                })?
                .map_err(|e| ServiceError::Join(e.to_string()))?;
        let handle = tenant.clone();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&handle)
        })
        .await
        .map_err(|e| ServiceError::Join(e.to_string()))?;
        let outcome = match &result {
            Err(e) if e.is_server_fault() => Outcome::Failed,
            _ => Outcome::Answered,
        };
        tenant.breaker.record(outcome);
        Ok(result?)
    }

    /// The object stored under `key`: from the image cache, or streamed from the store (and
    /// kept in the cache once fully read, when small enough).
    pub async fn read(&self, key: &str) -> Result<Option<Content>, ServiceError> {
        if let Some(bytes) = self.cache.image(key) {
            return Ok(Some(Content::Whole(bytes)));
        }
        let Some(BlobReader { len, body }) = self.store.open(key).await? else {
            return Ok(None);
        };
        if !self.cache.admits_image(len) {
            return Ok(Some(Content::Streaming { len, body }));
        }
        // Pass every chunk on as it comes, keeping a copy; the whole object goes into the cache
        // as soon as its last byte has arrived (the HTTP layer stops polling once it has sent
        // `len` bytes, so the end of the stream may never be seen).
        let keep = (
            BytesMut::with_capacity(usize::try_from(len).unwrap_or(0)),
            self.cache.clone(),
            key.to_owned(),
        );
        let body =
            futures_util::stream::unfold(Some((body, Some(keep))), move |state| async move {
                let (mut body, mut keep) = state?;
                match body.next().await {
                    Some(Ok(chunk)) => {
                        if let Some((copy, _, _)) = &mut keep {
                            copy.extend_from_slice(&chunk);
                            if copy.len() as u64 >= len {
                                let (copy, cache, key) = keep.take().expect("kept");
                                if copy.len() as u64 == len {
                                    cache.put_image(&key, copy.freeze());
                                }
                            }
                        }
                        Some((Ok(chunk), Some((body, keep))))
                    }
                    Some(Err(e)) => Some((Err(e), None)),
                    None => None,
                }
            });
        Ok(Some(Content::Streaming {
            len,
            body: body.boxed(),
        }))
    }

    /// Whether `hash` has an avatar (no backup, no default).
    pub async fn exists(&self, tenant: &Tenant, hash: &AvatarHash) -> Result<bool, ServiceError> {
        Ok(self.find(tenant, hash).await?.is_some())
    }

    /// Transforms `upload` and makes it `hash`'s avatar, replacing any previous one.
    pub async fn upload(
        &self,
        tenant: &Arc<Tenant>,
        hash: &AvatarHash,
        upload: Bytes,
    ) -> Result<AvatarRecord, ServiceError> {
        let content_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&upload));
        let images = self
            .job(tenant, move |tenant| tenant.process(&upload))
            .await?;
        check_outputs(tenant, &images)?;

        let now = SystemTime::now();
        let now_ms = unix_millis(now);
        let version = new_version(now_ms as u64, random_u64());
        let format = images[0].format;
        let variants: Vec<Variant> = images
            .iter()
            .map(|image| Variant {
                size: image.width,
                width: image.width,
                height: image.height,
                bytes: image.data.len() as u64,
                etag: etag_of(&image.data),
                key: variant_key(
                    &tenant.storage_prefix,
                    hash,
                    &version,
                    image.width,
                    format.extension(),
                ),
            })
            .collect();

        // 1. The new version's files.
        let content_type = format.media_type().unwrap_or("application/octet-stream");
        let puts = images.into_iter().zip(&variants).map(|(image, variant)| {
            self.store
                .put(&variant.key, Bytes::from(image.data), content_type)
        });
        let results = join_all(puts).await;
        if let Some(error) = results.into_iter().find_map(Result::err) {
            self.remove_files(variants.iter().map(|v| v.key.clone()).collect())
                .await;
            return Err(error.into());
        }

        // 2. The record that points at them.
        let record = AvatarRecord {
            tenant: tenant.id.clone(),
            hash: hash.to_string(),
            version,
            format,
            content_hash,
            created_at: now_ms,
            updated_at: now_ms,
            variants,
        };
        let previous = match self.catalog.upsert(&record).await {
            Ok(previous) => previous,
            Err(error) => {
                self.remove_files(record.variants.iter().map(|v| v.key.clone()).collect())
                    .await;
                return Err(error.into());
            }
        };
        self.cache.invalidate(&tenant.id, hash.as_str());

        // 3. The previous version's files, once readers holding it are done.
        let mut stored = record;
        if let Some(previous) = previous {
            stored.created_at = previous.created_at;
            let keys: Vec<String> = previous.variants.into_iter().map(|v| v.key).collect();
            let service = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(REPLACED_FILES_GRACE).await;
                service.remove_files(keys).await;
            });
        }
        Ok(stored)
    }

    /// Deletes `hash`'s avatar: the record, then every file.
    pub async fn delete(&self, tenant: &Tenant, hash: &AvatarHash) -> Result<(), ServiceError> {
        let removed = self.catalog.delete(&tenant.id, hash.as_str()).await?;
        self.cache.invalidate(&tenant.id, hash.as_str());
        let Some(record) = removed else {
            return Err(ServiceError::NotFound);
        };
        let version = record.version.clone();
        let keys: Vec<String> = record.variants.into_iter().map(|v| v.key).collect();
        for key in &keys {
            self.cache.forget_image(key);
        }
        // Files of this and every older version of the avatar (replaced versions in their
        // grace period, files a crash left behind), but not those of a newer version: they
        // belong to an upload still in flight, which will commit its record after this
        // delete, and must find its files. Versions are fixed-width and time-ordered.
        let prefix = crate::avatar::avatar_prefix(&tenant.storage_prefix, hash);
        let mut all = keys;
        if let Ok(listed) = self.store.list(&prefix).await {
            all.extend(listed.into_iter().map(|o| o.key).filter(|key| {
                key[prefix.len()..]
                    .split('/')
                    .next()
                    .is_some_and(|v| v <= version.as_str())
            }));
        }
        all.sort();
        all.dedup();
        for key in all {
            self.store.delete(&key).await?;
        }
        Ok(())
    }

    /// Whether the catalog and the store answer.
    pub async fn ready(&self) -> Result<(), ServiceError> {
        self.catalog.health().await?;
        self.store.health().await?;
        Ok(())
    }

    async fn remove_files(&self, keys: Vec<String>) {
        for key in keys {
            self.cache.forget_image(&key);
            if let Err(error) = self.store.delete(&key).await {
                tracing::warn!(key, %error, "could not delete a file; `avatar gc` will");
            }
        }
    }
}

fn pick(record: Arc<AvatarRecord>, side: u32) -> Option<Resolved> {
    let chosen = choose_side(record.variants.iter().map(|v| v.size), side)?;
    let variant = record.variants.iter().find(|v| v.size == chosen)?.clone();
    Some(Resolved::Stored { record, variant })
}

/// Checks the transform's output against the contract before anything is stored.
fn check_outputs(tenant: &Tenant, images: &[Image]) -> Result<(), ServiceError> {
    let broken = |message: String| ServiceError::Contract {
        plugin: tenant.transform.name().to_owned(),
        message,
    };
    let Some(first) = images.first() else {
        return Err(broken("returned no images".into()));
    };
    for image in images {
        if !matches!(
            image.format,
            ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Webp
        ) {
            return Err(broken(format!("returned a {} image", image.format)));
        }
        if image.format != first.format {
            return Err(broken("returned images in different formats".into()));
        }
        if image.width != image.height || !tenant.stored_sides.contains(&image.width) {
            return Err(broken(format!(
                "returned a {}x{} image, not one of the requested squares",
                image.width, image.height
            )));
        }
        if image.data.is_empty() {
            return Err(broken("returned an empty image".into()));
        }
    }
    let mut sides: Vec<u32> = images.iter().map(|i| i.width).collect();
    sides.sort_unstable();
    sides.dedup();
    if sides.len() != images.len() {
        return Err(broken("returned the same size twice".into()));
    }
    Ok(())
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn unix_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    // The OS random source only fails on exotic platforms; a zero suffix is still unique
    // enough with the millisecond prefix.
    let _ = getrandom::fill(&mut buf);
    u64::from_le_bytes(buf)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::catalog::SqliteCatalog;
    use crate::storage::{BlobStore, FsStore, ObjectMeta};

    /// The filesystem store, counting how often an object is opened.
    struct Counting {
        inner: FsStore,
        opens: AtomicUsize,
    }

    #[async_trait]
    impl BlobStore for Counting {
        async fn put(&self, key: &str, bytes: Bytes, ct: &str) -> Result<(), StorageError> {
            self.inner.put(key, bytes, ct).await
        }
        async fn get(&self, key: &str) -> Result<Option<Bytes>, StorageError> {
            self.inner.get(key).await
        }
        async fn open(&self, key: &str) -> Result<Option<BlobReader>, StorageError> {
            self.opens.fetch_add(1, Ordering::Relaxed);
            self.inner.open(key).await
        }
        async fn delete(&self, key: &str) -> Result<(), StorageError> {
            self.inner.delete(key).await
        }
        async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
            self.inner.list(prefix).await
        }
        async fn health(&self) -> Result<(), StorageError> {
            self.inner.health().await
        }
        fn kind(&self) -> &'static str {
            "counting"
        }
    }

    /// Reads `len` bytes of a streamed answer and then stops, as the HTTP layer does once it
    /// has sent `Content-Length` bytes: the end of the stream is never polled.
    async fn read_like_http(content: Content) -> Vec<u8> {
        match content {
            Content::Whole(bytes) => bytes.to_vec(),
            Content::Streaming { len, mut body } => {
                let mut out = Vec::new();
                while (out.len() as u64) < len {
                    out.extend_from_slice(&body.next().await.expect("more bytes").unwrap());
                }
                out
            }
        }
    }

    #[tokio::test]
    async fn a_streamed_object_is_cached_once_its_last_byte_went_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Counting {
            inner: FsStore::open(dir.path().join("images")).unwrap(),
            opens: AtomicUsize::new(0),
        });
        let catalog = Arc::new(SqliteCatalog::open(dir.path().join("avatar.db")).unwrap());
        let service = Service::new(catalog, store.clone(), Cache::new(100, 1 << 20));
        let bytes = Bytes::from(vec![7u8; 5000]);
        store
            .put("t/ab/cd/x/v/128.png", bytes.clone(), "image/png")
            .await
            .unwrap();

        let first = service.read("t/ab/cd/x/v/128.png").await.unwrap().unwrap();
        assert!(matches!(first, Content::Streaming { len: 5000, .. }));
        assert_eq!(read_like_http(first).await, bytes.to_vec());
        let second = service.read("t/ab/cd/x/v/128.png").await.unwrap().unwrap();
        assert!(matches!(second, Content::Whole(_)), "served from the cache");
        assert_eq!(read_like_http(second).await, bytes.to_vec());
        assert_eq!(store.opens.load(Ordering::Relaxed), 1);
        assert!(
            service
                .read("t/ab/cd/x/v/none.png")
                .await
                .unwrap()
                .is_none()
        );
    }
}
