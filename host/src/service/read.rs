//! Reading: which image answers a request (the hash's stored variant, its backup's, or the
//! tenant's default), its validators, and its bytes unless the client's copy is current; in
//! `redirect` delivery, where the stored variant lives instead. Also the objects behind the
//! immutable `/_media/` URLs.

use std::sync::Arc;

use super::content::Content;
use super::generated::Generated;
use super::{Service, ServiceError};
use crate::avatar::{AvatarHash, Held, ImageFormat, Validators, VariantKey, choose_side, clock};
use crate::catalog::{AvatarRecord, Variant};
use crate::config::Delivery;
use crate::tenant::{DefaultImage, DefaultPolicy, Tenant};

/// A request for an avatar.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    pub hash: AvatarHash,
    /// Tried when `hash` has no avatar.
    pub backup: Option<AvatarHash>,
    /// The side wanted, in pixels.
    pub side: u32,
    /// What the client already holds.
    pub held: Held,
}

/// How to answer a read.
#[derive(Debug)]
pub enum Answer {
    /// An image: its bytes, or none when the client's copy is current (`304`).
    Image {
        validators: Validators,
        format: ImageFormat,
        content: Option<Content>,
    },
    /// `redirect` delivery: the stored variant's immutable URL.
    Redirect { location: String },
}

/// The image that answers a read, before its bytes are read.
pub(super) enum Resolved {
    /// A stored variant of `record`.
    Stored {
        record: Arc<AvatarRecord>,
        variant: Variant,
    },
    /// The tenant's default image, made from a file.
    Default(DefaultImage),
    /// A picture the tenant's generator draws for this hash (made on first use, then cached).
    Generated(Generated),
}

impl Service {
    /// Answers `request`. When a concurrent replace removed the files of the record first
    /// found, looks the record up again, so readers never see a missing avatar.
    pub async fn read(
        &self,
        tenant: &Arc<Tenant>,
        request: &ReadRequest,
    ) -> Result<Answer, ServiceError> {
        let mut attempts = 0;
        loop {
            let resolved = self.resolve(tenant, request).await?;
            if let (Delivery::Redirect, Resolved::Stored { variant, .. }) =
                (self.links.delivery, &resolved)
            {
                let location = self.media_url(&variant.key).await?;
                return Ok(Answer::Redirect { location });
            }
            let (validators, format) = self.validators(&resolved);
            if request.held.is_current(&validators) {
                return Ok(Answer::Image {
                    validators,
                    format,
                    content: None,
                });
            }
            let content = match &resolved {
                Resolved::Default(image) => Content::Whole(image.bytes.clone()),
                Resolved::Generated(g) => Content::Whole(self.draw(tenant, g).await?),
                Resolved::Stored { record, variant } => match self.open_object(&variant.key).await?
                {
                    Some(content) => content,
                    None if attempts < 3 => {
                        attempts += 1;
                        self.cache.invalidate(&record.tenant, &record.hash);
                        continue;
                    }
                    None => {
                        return Err(ServiceError::MissingFile {
                            key: variant.key.clone(),
                        });
                    }
                },
            };
            return Ok(Answer::Image {
                validators,
                format,
                content: Some(content),
            });
        }
    }

    /// Whether `hash` has an avatar (no backup, no default).
    pub async fn exists(&self, tenant: &Tenant, hash: &AvatarHash) -> Result<bool, ServiceError> {
        Ok(self.find(tenant, hash).await?.is_some())
    }

    /// Answers a request for the object under `key`, one of the immutable URLs `redirect`
    /// delivery hands out. A key's bytes never change, so the key itself is a strong
    /// validator, and its version says when it was made.
    pub async fn media(&self, key: &str, held: &Held) -> Result<Answer, ServiceError> {
        let parsed = VariantKey::parse(key).ok_or(ServiceError::NotFound)?;
        let validators = Validators {
            etag: format!(
                "{}-{}-{}",
                parsed.version,
                parsed.side,
                parsed.format.extension()
            ),
            modified: clock::from_millis(i64::try_from(parsed.version.made_at_ms()).unwrap_or(0)),
        };
        let content = if held.is_current(&validators) {
            None
        } else {
            Some(self.open_object(key).await?.ok_or(ServiceError::NotFound)?)
        };
        Ok(Answer::Image {
            validators,
            format: parsed.format,
            content,
        })
    }

    /// The record of `hash`, through the cache.
    pub(super) async fn find(
        &self,
        tenant: &Tenant,
        hash: &AvatarHash,
    ) -> Result<Option<Arc<AvatarRecord>>, ServiceError> {
        if let Some(cached) = self.cache.record(&tenant.id, hash.as_str()) {
            return Ok(cached);
        }
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

    /// Which image answers `request`: the hash's, its backup's, else the tenant's default.
    async fn resolve(
        &self,
        tenant: &Tenant,
        request: &ReadRequest,
    ) -> Result<Resolved, ServiceError> {
        let side = request.side;
        for candidate in std::iter::once(&request.hash).chain(&request.backup) {
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
                let image = images.iter().find(|i| i.side == side);
                Ok(Resolved::Default(
                    image.expect("chosen among these").clone(),
                ))
            }
            DefaultPolicy::Generate(generator) => {
                let side = choose_side(tenant.sizes.stored.iter().copied(), side)
                    .ok_or(ServiceError::NotFound)?;
                Ok(Resolved::Generated(Generated::new(
                    tenant,
                    generator,
                    &request.hash,
                    side,
                )))
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
        let Some(chosen) = choose_side(record.variants.iter().map(|v| v.side), side) else {
            return Ok(None);
        };
        let variant = record.variants.iter().find(|v| v.side == chosen).cloned();
        Ok(variant.map(|variant| Resolved::Stored { record, variant }))
    }

    /// The validators and format of what `resolved` serves.
    fn validators(&self, resolved: &Resolved) -> (Validators, ImageFormat) {
        match resolved {
            Resolved::Stored { record, variant } => (
                Validators {
                    etag: variant.etag.clone(),
                    modified: clock::from_millis(record.updated_at),
                },
                record.format,
            ),
            Resolved::Default(image) => (
                Validators {
                    etag: image.etag.clone(),
                    modified: self.started_at,
                },
                image.format,
            ),
            Resolved::Generated(g) => (
                Validators {
                    etag: g.etag.clone(),
                    modified: self.started_at,
                },
                g.format,
            ),
        }
    }
}
