//! Which picture a read is answered from, before any rendering: the hash's (or the backup's)
//! stored avatar when one qualifies, else the fallback the request or the tenant names; and
//! what is known of it without reading its bytes (side, format, validators).

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;

use super::content::Content;
use super::generated::Generated;
use super::read::{Fallback, ReadRequest};
use super::{Service, ServiceError};
use crate::avatar::{AvatarHash, ImageFormat, Recipe, Validators, VariantKey, choose_side, clock};
use crate::catalog::{AvatarRecord, Variant};
use crate::tenant::{DefaultImage, DefaultPolicy, Tenant};

/// The picture a read is answered from.
pub(super) enum Source {
    /// A stored variant: the smallest at least as large as asked, else the largest.
    Stored(StoredVariant),
    /// The tenant's default image, made from a file.
    Default(DefaultImage),
    /// A picture a generator draws for the hash, at the side asked.
    Generated(Generated),
    /// A transparent square at the side asked.
    Blank { side: u32 },
    /// A redirect to a default picture elsewhere.
    Elsewhere(String),
}

/// One of `record`'s variants, named by its place in `record.variants` rather than by a copy
/// of its key and etag, which would cost every read two allocations.
pub(super) struct StoredVariant {
    pub record: Arc<AvatarRecord>,
    index: usize,
}

impl StoredVariant {
    pub fn variant(&self) -> &Variant {
        &self.record.variants[self.index]
    }
}

impl Source {
    /// The stored variant, for a stored avatar.
    pub fn stored_variant(&self) -> Option<&Variant> {
        match self {
            Self::Stored(stored) => Some(stored.variant()),
            _ => None,
        }
    }

    /// Its side and format.
    pub fn shape(&self) -> (u32, ImageFormat) {
        match self {
            Self::Stored(stored) => (stored.variant().side, stored.record.format),
            Self::Default(image) => (image.side, image.format),
            Self::Generated(g) => (g.request.side, g.format),
            Self::Blank { side } => (*side, ImageFormat::Png),
            Self::Elsewhere(_) => (0, ImageFormat::Png),
        }
    }

    /// Whether it already is `side` pixels in `format`, so nothing needs rendering.
    pub fn is(&self, side: u32, format: ImageFormat) -> bool {
        self.shape() == (side, format)
    }

    /// For a stored avatar, the key of its rendition at `side` in `format`, beside the stored
    /// variant's.
    pub fn stored_rendition_key(&self, side: u32, format: ImageFormat) -> Option<String> {
        let variant = self.stored_variant()?;
        VariantKey::rendered_from(&variant.key, side, format)
    }

    /// Where renditions of it are kept in memory: beside the stored variant's key, or under the
    /// picture's own validator.
    pub fn rendition_key(&self, tenant: &Tenant, side: u32, format: ImageFormat) -> String {
        if let Some(key) = self.stored_rendition_key(side, format) {
            return key;
        }
        let ext = format.extension();
        match self {
            Self::Default(image) => format!("default/{}/{}/{side}.{ext}", tenant.id, image.etag),
            Self::Generated(g) => format!("generated/{}/{}.{ext}", tenant.id, g.etag),
            _ => format!("blank/{}/{side}.{ext}", tenant.id),
        }
    }
}

impl Service {
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

    /// The picture that answers `request`.
    pub(super) async fn resolve(
        &self,
        tenant: &Tenant,
        request: &ReadRequest,
    ) -> Result<Source, ServiceError> {
        // A generator draws at the side asked, or, for a named size, the stored side that
        // suits it, as an upload would have been stored.
        let drawn = if request.exact {
            request.side
        } else {
            choose_side(tenant.sizes.stored.iter().copied(), request.side).unwrap_or(request.side)
        };
        let mut shown = None;
        if !request.force_default {
            for candidate in std::iter::once(&request.hash).chain(&request.backup) {
                if let Some(record) = self.find(tenant, candidate).await? {
                    if record.rating <= request.max_rating {
                        return stored(record, request.side).ok_or(ServiceError::NotFound);
                    }
                    shown.get_or_insert(record);
                }
            }
        } else {
            shown = self.find(tenant, &request.hash).await?;
        }
        let name = request
            .name
            .clone()
            .or_else(|| shown.as_ref().and_then(|r| r.name.clone()));
        match &request.fallback {
            Fallback::Tenant => self.tenant_default(tenant, request, drawn).await,
            Fallback::NotFound => Err(ServiceError::NotFound),
            Fallback::Blank => Ok(Source::Blank { side: drawn }),
            Fallback::Url(url) if allowed(tenant, url) => Ok(Source::Elsewhere(url.clone())),
            Fallback::Url(_) => self.tenant_default(tenant, request, drawn).await,
            Fallback::Style(style) => {
                let generator = &tenant.gravatar.styles[style];
                let (initials, name) = if style.draws_text() {
                    (request.initials.clone(), name)
                } else {
                    (None, None)
                };
                Ok(Source::Generated(Generated::new(
                    tenant,
                    generator,
                    &request.hash,
                    drawn,
                    initials,
                    name,
                )))
            }
        }
    }

    /// The tenant's own default for `request`.
    async fn tenant_default(
        &self,
        tenant: &Tenant,
        request: &ReadRequest,
        drawn: u32,
    ) -> Result<Source, ServiceError> {
        match &tenant.default_avatar {
            DefaultPolicy::NotFound => Err(ServiceError::NotFound),
            DefaultPolicy::Hash(default) => {
                let record = self
                    .find(tenant, default)
                    .await?
                    .ok_or(ServiceError::NotFound)?;
                stored(record, request.side).ok_or(ServiceError::NotFound)
            }
            DefaultPolicy::Images(images) => {
                let side = choose_side(images.iter().map(|i| i.side), request.side)
                    .ok_or(ServiceError::NotFound)?;
                let image = images.iter().find(|i| i.side == side);
                Ok(Source::Default(image.expect("chosen among these").clone()))
            }
            DefaultPolicy::Generate(generator) => Ok(Source::Generated(Generated::new(
                tenant,
                generator,
                &request.hash,
                drawn,
                None,
                None,
            ))),
        }
    }

    /// The validators of `source` rendered at `side` in `format`: its own when nothing needs
    /// rendering, else made from everything the rendition depends on, so a conditional request
    /// is answered without rendering.
    pub(super) fn validators_of(
        &self,
        tenant: &Tenant,
        source: &Source,
        side: u32,
        format: ImageFormat,
    ) -> Validators {
        let (etag, modified) = match source {
            Source::Stored(stored) => (
                stored.variant().etag.clone(),
                clock::from_millis(stored.record.updated_at),
            ),
            Source::Default(image) => (image.etag.clone(), self.started_at),
            Source::Generated(g) => (g.etag.clone(), self.started_at),
            Source::Blank { side } => (
                Recipe::default()
                    .with("blank")
                    .with(side.to_le_bytes())
                    .etag(),
                self.started_at,
            ),
            Source::Elsewhere(_) => (String::new(), self.started_at),
        };
        if source.is(side, format) {
            return Validators { etag, modified };
        }
        let etag = tenant
            .pipeline
            .rendition_recipe
            .clone()
            .with(etag)
            .with(side.to_le_bytes())
            .with(format.name())
            .etag();
        Validators { etag, modified }
    }

    /// The bytes of `source` itself, streamed from the store for a stored variant.
    pub(super) async fn source_content(
        &self,
        tenant: &Arc<Tenant>,
        source: &Source,
        client: Option<IpAddr>,
    ) -> Result<Content, ServiceError> {
        match source.stored_variant() {
            Some(variant) => {
                self.open_object(&variant.key)
                    .await?
                    .ok_or_else(|| ServiceError::MissingFile {
                        key: variant.key.clone(),
                    })
            }
            None => Ok(Content::Whole(
                self.source_bytes(tenant, source, client).await?,
            )),
        }
    }

    /// The bytes of `source` itself, whole; a picture drawn now counts against `client`'s
    /// render bucket.
    pub(super) async fn source_bytes(
        &self,
        tenant: &Arc<Tenant>,
        source: &Source,
        client: Option<IpAddr>,
    ) -> Result<Bytes, ServiceError> {
        match source {
            Source::Stored(stored) => {
                let key = &stored.variant().key;
                Ok(self
                    .open_object(key)
                    .await?
                    .ok_or_else(|| ServiceError::MissingFile { key: key.clone() })?
                    .collect()
                    .await?)
            }
            Source::Default(image) => Ok(image.bytes.clone()),
            Source::Generated(g) => self.draw(tenant, g, client).await,
            Source::Blank { side } => self.blank(tenant, *side, client).await,
            Source::Elsewhere(_) => Err(ServiceError::NotFound),
        }
    }
}

/// The stored variant of `record` that answers for `side`.
fn stored(record: Arc<AvatarRecord>, side: u32) -> Option<Source> {
    let chosen = choose_side(record.variants.iter().map(|v| v.side), side)?;
    let index = record.variants.iter().position(|v| v.side == chosen)?;
    Some(Source::Stored(StoredVariant { record, index }))
}

/// Whether a `d=<URL>` default may be redirected to: an `http` or `https` URL whose host is
/// one the tenant lists (an open redirect would let anyone send visitors anywhere through this
/// service: CWE-601).
fn allowed(tenant: &Tenant, url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    !host.is_empty()
        && tenant
            .gravatar
            .default_url_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
}
