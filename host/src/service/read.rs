//! Reading: which picture answers a request (the hash's stored avatar, its backup's, or a
//! default), at exactly the side asked and in the format asked or preferred, with its
//! validators, and its bytes unless the client's copy is current; in `redirect` delivery,
//! where a stored avatar's variant lives instead. Also the objects behind `/_media/` URLs.

use std::net::IpAddr;
use std::sync::Arc;

use super::content::Content;
use super::source::Source;
use super::{Service, ServiceError};
use crate::avatar::{AvatarHash, Held, ImageFormat, Rating, Style, Validators, VariantKey, clock};
use crate::config::Delivery;
use crate::tenant::Tenant;

/// A request for a picture.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    pub hash: AvatarHash,
    /// Tried when `hash` has no avatar.
    pub backup: Option<AvatarHash>,
    /// The side wanted, in pixels.
    pub side: u32,
    /// Whether the answer must be exactly `side` pixels (rendered when nobody stored that
    /// size), or the stored variant that suits it best (a named size: no rendering).
    pub exact: bool,
    pub format: FormatWish,
    /// What answers when no avatar qualifies.
    pub fallback: Fallback,
    /// Answer with the fallback even when an avatar exists (Gravatar's `f=y`).
    pub force_default: bool,
    /// The highest rating shown; an avatar rated above it is not (Gravatar's `r=`).
    pub max_rating: Rating,
    /// For default pictures that draw text: letters as they are (`initials=`).
    pub initials: Option<String>,
    /// For default pictures that draw text: a name to take letters from (`name=`).
    pub name: Option<String>,
    /// What the client already holds.
    pub held: Held,
    /// The client's address, for the rate limit on renders; `None` meets the tenant's
    /// bucket only.
    pub client: Option<IpAddr>,
}

impl ReadRequest {
    /// A native-API request: `side` exactly, in the stored format, any rating, the tenant's
    /// default when there is no avatar.
    pub fn native(hash: AvatarHash, backup: Option<AvatarHash>, side: u32) -> Self {
        Self {
            hash,
            backup,
            side,
            exact: true,
            format: FormatWish::Stored,
            fallback: Fallback::Tenant,
            force_default: false,
            max_rating: Rating::X,
            initials: None,
            name: None,
            held: Held::nothing(),
            client: None,
        }
    }
}

/// The format a request wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatWish {
    /// The stored format.
    Stored,
    /// This one (the URL named it).
    Exact(ImageFormat),
    /// The smallest of the stored format and those the client accepts (its `Accept`).
    Prefer { avif: bool, webp: bool },
}

/// What answers a request whose hash has no avatar that qualifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// The tenant's `default_avatar`.
    Tenant,
    /// `404`.
    NotFound,
    /// A picture of this style, drawn for the hash.
    Style(Style),
    /// A transparent PNG.
    Blank,
    /// A redirect to this URL, when its host is one the tenant allows; else the tenant's
    /// default.
    Url(String),
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
    /// A default picture elsewhere (`d=<URL>`).
    Elsewhere { location: String },
}

/// An answer, and whether it depends on the request's `Accept` (so caches must vary on it).
#[derive(Debug)]
pub struct Reply {
    pub answer: Answer,
    pub negotiated: bool,
}

impl Service {
    /// Answers `request`. When a concurrent replace removed the files of the record first
    /// found, looks the record up again, so readers never see a missing avatar.
    pub async fn read(
        &self,
        tenant: &Arc<Tenant>,
        request: &ReadRequest,
    ) -> Result<Reply, ServiceError> {
        let negotiated =
            matches!(request.format, FormatWish::Prefer { .. }) && tenant.pipeline.output.negotiate;
        let mut attempts = 0;
        loop {
            let source = self.resolve(tenant, request).await?;
            match self.answer(tenant, &source, request).await {
                Err(ServiceError::MissingFile { key }) => {
                    if attempts >= 3 {
                        return Err(ServiceError::MissingFile { key });
                    }
                    attempts += 1;
                    if let Source::Stored(stored) = &source {
                        self.cache
                            .invalidate(&stored.record.tenant, &stored.record.hash);
                    }
                }
                answer => {
                    return Ok(Reply {
                        answer: answer?,
                        negotiated,
                    });
                }
            }
        }
    }

    /// The answer `source` gives `request`.
    async fn answer(
        &self,
        tenant: &Arc<Tenant>,
        source: &Source,
        request: &ReadRequest,
    ) -> Result<Answer, ServiceError> {
        if let Source::Elsewhere(location) = source {
            return Ok(Answer::Elsewhere {
                location: location.clone(),
            });
        }
        let side = if request.exact {
            request.side
        } else {
            source.shape().0
        };
        let format = self.choose_format(tenant, source, side, request).await?;
        if self.links.delivery == Delivery::Redirect
            && let Some(variant) = source.stored_variant()
        {
            // The stored variant itself needs no key parsed or built: this is every
            // redirect to a named size.
            let location = if source.is(side, format) {
                self.media_url(&variant.key).await?
            } else {
                let key = source
                    .stored_rendition_key(side, format)
                    .ok_or(ServiceError::NotFound)?;
                self.rendition_under(tenant, source, &key, side, format, request.client)
                    .await?;
                self.media_url(&key).await?
            };
            return Ok(Answer::Redirect { location });
        }
        let validators = self.validators_of(tenant, source, side, format);
        if request.held.is_current(&validators) {
            return Ok(Answer::Image {
                validators,
                format,
                content: None,
            });
        }
        let content = if source.is(side, format) {
            self.source_content(tenant, source, request.client).await?
        } else {
            Content::Whole(
                self.rendition(tenant, source, side, format, request.client)
                    .await?,
            )
        };
        Ok(Answer::Image {
            validators,
            format,
            content: Some(content),
        })
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
                "{}-{}{}-{}",
                parsed.version,
                if parsed.rendered { "r" } else { "" },
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
}
