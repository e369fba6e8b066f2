//! Renditions: a picture at a side or in a format nobody stored, made by the tenant's
//! transform plugin from the source (a stored variant, a default, a generated picture), once
//! however many requests ask for it at the same time, then kept in the image cache; in
//! `redirect` delivery also written to the store beside the stored variants (under the same
//! version, so a replace or a delete removes it), because each rendition needs an immutable
//! URL of its own there. In `proxy` delivery renditions stay in memory: a resize of an avatar
//! takes about as long as fetching it back from S3 would, and costs no storage.
//!
//! The format a request prefers (`Accept` listing AVIF or WebP) is chosen here too: the
//! smallest of the source's format and those accepted, decided on first use and remembered.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::OnceCell;

use super::read::{FormatWish, ReadRequest};
use super::source::Source;
use super::{Service, ServiceError};
use crate::avatar::ImageFormat;
use crate::rate::Action;
use crate::tenant::{Tenant, jobs};

/// Format choices remembered, at most.
const CHOICES_KEPT: u64 = 100_000;

/// Renditions being made now, by key, and the format choices made so far.
pub(super) struct Renditions {
    inflight: Mutex<HashMap<String, Arc<OnceCell<Bytes>>>>,
    choices: quick_cache::sync::Cache<String, ImageFormat>,
}

impl Default for Renditions {
    fn default() -> Self {
        Self {
            inflight: Mutex::new(HashMap::new()),
            choices: quick_cache::sync::Cache::new(CHOICES_KEPT as usize),
        }
    }
}

impl Service {
    /// The format to answer `request` in from `source`.
    pub(super) async fn choose_format(
        &self,
        tenant: &Arc<Tenant>,
        source: &Source,
        side: u32,
        request: &ReadRequest,
    ) -> Result<ImageFormat, ServiceError> {
        let (_, stored) = source.shape();
        let (avif, webp) = match request.format {
            FormatWish::Exact(format) => return Ok(format),
            FormatWish::Prefer { avif, webp } if tenant.pipeline.output.negotiate => (avif, webp),
            _ => return Ok(stored),
        };
        let mut candidates = vec![stored];
        for (accepted, format) in [(webp, ImageFormat::Webp), (avif, ImageFormat::Avif)] {
            if accepted && format != stored {
                candidates.push(format);
            }
        }
        if candidates.len() == 1 {
            return Ok(stored);
        }
        let key = format!(
            "{}#{}",
            source.rendition_key(tenant, side, stored),
            candidates
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(",")
        );
        if let Some(format) = self.renditions.choices.get(&key) {
            return Ok(format);
        }
        let mut best: Option<(usize, ImageFormat)> = None;
        let mut complete = true;
        for format in candidates {
            let len = if source.is(side, format) {
                match source.stored_variant() {
                    Some(variant) => variant.bytes as usize,
                    None => self
                        .source_bytes(tenant, source, request.client)
                        .await?
                        .len(),
                }
            } else {
                match self
                    .rendition(tenant, source, side, format, request.client)
                    .await
                {
                    Ok(bytes) => bytes.len(),
                    // The stored format always answers; a format the transform cannot make is
                    // not offered (and the failure is logged where it happened).
                    Err(error) if format != stored => {
                        tracing::debug!(%format, %error, "not offering a format");
                        complete = false;
                        continue;
                    }
                    Err(error) => return Err(error),
                }
            };
            if best.is_none_or(|(smallest, _)| len < smallest) {
                best = Some((len, format));
            }
        }
        let (_, format) = best.unwrap_or((0, stored));
        // A choice made without every candidate (one failed, perhaps for a moment) is not kept.
        if complete {
            self.renditions.choices.insert(key, format);
        }
        Ok(format)
    }

    /// `source` at `side` in `format`: from the image cache, from the store (in `redirect`
    /// delivery), or rendered now as one of the tenant's plugin jobs, if `client`'s and the
    /// tenant's render buckets allow.
    pub(super) async fn rendition(
        &self,
        tenant: &Arc<Tenant>,
        source: &Source,
        side: u32,
        format: ImageFormat,
        client: Option<IpAddr>,
    ) -> Result<Bytes, ServiceError> {
        let key = source.rendition_key(tenant, side, format);
        self.rendition_under(tenant, source, &key, side, format, client)
            .await
    }

    /// [`Self::rendition`], kept under `key` (the source's rendition key for `side` and
    /// `format`, which the caller has at hand).
    pub(super) async fn rendition_under(
        &self,
        tenant: &Arc<Tenant>,
        source: &Source,
        key: &str,
        side: u32,
        format: ImageFormat,
        client: Option<IpAddr>,
    ) -> Result<Bytes, ServiceError> {
        if let Some(bytes) = self.cache.image(key) {
            return Ok(bytes);
        }
        let cell = self
            .renditions
            .inflight
            .lock()
            .expect("renditions lock")
            .entry(key.to_owned())
            .or_default()
            .clone();
        let made = cell
            .get_or_try_init(|| self.make_rendition(tenant, source, side, format, key, client))
            .await
            .cloned();
        self.renditions
            .inflight
            .lock()
            .expect("renditions lock")
            .remove(key);
        made
    }

    async fn make_rendition(
        &self,
        tenant: &Arc<Tenant>,
        source: &Source,
        side: u32,
        format: ImageFormat,
        key: &str,
        client: Option<IpAddr>,
    ) -> Result<Bytes, ServiceError> {
        let persisted = self.persists(source);
        if persisted && let Some(bytes) = self.store.get(key).await? {
            self.cache.put_image(key, bytes.clone());
            return Ok(bytes);
        }
        let from = self.source_bytes(tenant, source, client).await?;
        self.admit(Action::Render, tenant, client)?;
        let image = jobs::run(tenant, move |tenant| {
            tenant.pipeline.render(&from, side, format)
        })
        .await
        .map_err(|e| ServiceError::from_job(tenant, e))?;
        crate::metrics::rendered(&tenant.id, format.name());
        let bytes = Bytes::from(image.data);
        if persisted {
            let content_type = format.media_type().unwrap_or("application/octet-stream");
            self.store.put(key, bytes.clone(), content_type).await?;
        }
        self.cache.put_image(key, bytes.clone());
        Ok(bytes)
    }

    /// Whether renditions of `source` go to the store: those of stored avatars, in `redirect`
    /// delivery.
    fn persists(&self, source: &Source) -> bool {
        self.links.delivery == crate::config::Delivery::Redirect
            && matches!(source, Source::Stored(_))
    }
}
