//! Writing, in the order that loses nothing: store the new version's files, commit the
//! catalog row that points at them, then delete the previous version's files (after a short
//! grace period, so a client holding the old record can still fetch it). A failure before the
//! commit removes the new files and leaves the old avatar whole.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::future::join_all;

use super::{Service, ServiceError};
use crate::avatar::{AvatarHash, Rating, VariantKey, Version, avatar_prefix, clock, etag_of};
use crate::catalog::{AvatarRecord, Variant};
use crate::config::Delivery;
use crate::plugin::Crop;
use crate::tenant::{Tenant, jobs};

/// How long the files of a replaced version stay readable.
pub const REPLACED_FILES_GRACE: Duration = Duration::from_secs(2);

/// What an upload says of its avatar besides the image, as the caller checked it.
#[derive(Debug, Clone, Default)]
pub struct UploadAbout {
    pub rating: Rating,
    /// Trimmed, at most [`MAX_NAME_BYTES`].
    pub name: Option<String>,
    /// Every hash the avatar is to be found by, the uploaded one among them (from a credential
    /// that vouches for an email address); empty for a credential bound to one hash.
    pub linked: Vec<AvatarHash>,
    /// The part of the source the avatar is made of (after EXIF orientation); `None` for the
    /// centred square of the whole image.
    pub crop: Option<Crop>,
}

/// The longest `name` an upload may carry, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// A stored upload.
#[derive(Debug)]
pub struct Uploaded {
    pub record: AvatarRecord,
    /// In `redirect` delivery, where clients fetch each variant directly (in the order of
    /// `record.variants`); `None` in `proxy` delivery.
    pub direct_urls: Option<Vec<String>>,
}

impl Service {
    /// Transforms `upload` with the tenant's pipeline and makes it the avatar that `hash` and
    /// every hash `about` links to it find, replacing what any of them found before (an
    /// earlier upload under a linked hash is merged into this one).
    pub async fn upload(
        &self,
        tenant: &Arc<Tenant>,
        hash: &AvatarHash,
        upload: Bytes,
        about: UploadAbout,
    ) -> Result<Uploaded, ServiceError> {
        let content_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&upload));
        let crop = about.crop;
        let images = jobs::run(tenant, move |tenant| tenant.pipeline.process(&upload, crop))
            .await
            .map_err(|e| ServiceError::from_job(tenant, e))?;

        let now = SystemTime::now();
        let version = Version::generate(now);
        let format = images[0].format;
        let variants: Vec<Variant> = images
            .iter()
            .map(|image| Variant {
                side: image.width,
                width: image.width,
                height: image.height,
                bytes: image.data.len() as u64,
                etag: etag_of(&image.data),
                key: VariantKey {
                    prefix: tenant.storage_prefix.clone(),
                    hash: hash.clone(),
                    version: version.clone(),
                    side: image.width,
                    format,
                    rendered: false,
                }
                .to_string(),
            })
            .collect();

        // 1. The new version's files.
        let content_type = format.media_type().unwrap_or("application/octet-stream");
        let puts = images.into_iter().zip(&variants).map(|(image, variant)| {
            self.store
                .put(&variant.key, Bytes::from(image.data), content_type)
        });
        if let Some(error) = join_all(puts).await.into_iter().find_map(Result::err) {
            self.remove_files(variants.iter().map(|v| v.key.clone()).collect())
                .await;
            return Err(error.into());
        }

        // 2. The record that points at them.
        let now_ms = clock::unix_millis(now);
        let record = AvatarRecord {
            tenant: tenant.id.clone(),
            hash: hash.to_string(),
            aliases: about
                .linked
                .iter()
                .filter(|linked| *linked != hash)
                .map(ToString::to_string)
                .collect(),
            rating: about.rating,
            name: about.name,
            version: version.to_string(),
            format,
            content_hash,
            created_at: now_ms,
            updated_at: now_ms,
            variants,
        };
        let replaced = match self.catalog.upsert(&record).await {
            Ok(replaced) => replaced,
            Err(error) => {
                self.remove_files(record.variants.iter().map(|v| v.key.clone()).collect())
                    .await;
                return Err(error.into());
            }
        };
        for found in replaced.iter().chain(std::iter::once(&record)) {
            for hash in found.hashes() {
                self.cache.invalidate(&tenant.id, hash);
            }
        }

        // 3. The files of every record replaced (their renditions too), once readers holding
        // them are done.
        let mut record = record;
        if let Some(same) = replaced.iter().find(|r| r.hash == record.hash) {
            record.created_at = same.created_at;
        }
        if !replaced.is_empty() {
            let service = self.clone();
            self.defer(REPLACED_FILES_GRACE, async move {
                for previous in &replaced {
                    service.remove_version(previous).await;
                }
            });
        }
        let direct_urls = match self.links.delivery {
            Delivery::Proxy => None,
            Delivery::Redirect => {
                let mut urls = Vec::with_capacity(record.variants.len());
                for variant in &record.variants {
                    urls.push(self.media_url(&variant.key).await?);
                }
                Some(urls)
            }
        };
        crate::metrics::uploaded(&tenant.id);
        Ok(Uploaded {
            record,
            direct_urls,
        })
    }

    /// Deletes the avatar `hash` finds (for every hash linked to it): the record, then every
    /// file.
    pub async fn delete(&self, tenant: &Tenant, hash: &AvatarHash) -> Result<(), ServiceError> {
        let removed = self.catalog.delete(&tenant.id, hash.as_str()).await?;
        self.cache.invalidate(&tenant.id, hash.as_str());
        let Some(record) = removed else {
            return Err(ServiceError::NotFound);
        };
        for linked in record.hashes() {
            self.cache.invalidate(&tenant.id, linked);
        }
        // Found through a linked hash, the files are under the one the record is stored under.
        let hash = &AvatarHash::parse(&record.hash).map_err(|_| {
            ServiceError::from(crate::catalog::CatalogError::Corrupt(format!(
                "avatar {}/{}: not a hash",
                tenant.id, record.hash
            )))
        })?;
        let version = Version::parse(&record.version);
        let keys: Vec<String> = record.variants.into_iter().map(|v| v.key).collect();
        for key in &keys {
            self.cache.forget_image(key);
        }
        // Files of this and every older version of the avatar (replaced versions in their
        // grace period, files a crash left behind), but not those of a newer version: they
        // belong to an upload still in flight, which will commit its record after this
        // delete, and must find its files. Versions are time-ordered.
        let prefix = avatar_prefix(&tenant.storage_prefix, hash);
        let mut all = keys;
        if let Ok(listed) = self.store.list(&prefix).await {
            all.extend(listed.into_iter().map(|o| o.key).filter(|key| {
                VariantKey::parse(key).is_some_and(|k| {
                    k.prefix == tenant.storage_prefix
                        && k.hash == *hash
                        && Some(&k.version) <= version.as_ref()
                })
            }));
        }
        all.sort();
        all.dedup();
        for key in all {
            self.store.delete(&key).await?;
        }
        crate::metrics::deleted(&tenant.id);
        Ok(())
    }

    /// Removes every file of `record`'s version: its variants, and what was rendered from them.
    async fn remove_version(&self, record: &AvatarRecord) {
        let mut keys: Vec<String> = record.variants.iter().map(|v| v.key.clone()).collect();
        if let Some(prefix) = keys.first().and_then(|k| VariantKey::parse(k)) {
            match self.store.list(&prefix.version_prefix()).await {
                Ok(listed) => keys.extend(listed.into_iter().map(|o| o.key)),
                Err(error) => {
                    tracing::warn!(%error, "could not list a replaced version's files; `avatar gc` will");
                }
            }
        }
        keys.sort();
        keys.dedup();
        self.remove_files(keys).await;
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
