//! Conversions between the generated binding types and the host's own (`types.rs`).

use super::bindings::auth::exports::avatar::plugins::authenticator as wit_auth;
use super::bindings::generator::exports::avatar::plugins::generator as wit_generator;
use super::bindings::transform::exports::avatar::plugins::transformer as wit_transformer;
use super::bindings::types as wit;
use super::types::{
    AuthRejection, AuthRequest, GenerateRequest, Grant, Image, ImageRejection, TransformSpec,
};
use crate::avatar::ImageFormat;

impl From<&AuthRequest> for wit_auth::AuthRequest {
    fn from(r: &AuthRequest) -> Self {
        Self {
            method: r.method.clone(),
            tenant: r.tenant.clone(),
            hash: r.hash.clone(),
            token: r.token.clone(),
            now: r.now,
        }
    }
}

impl From<wit_auth::Grant> for Grant {
    fn from(g: wit_auth::Grant) -> Self {
        Self {
            subject: g.subject,
            expires_at: g.expires_at,
            claims: g.claims,
            aliases: g.aliases,
        }
    }
}

impl From<wit_auth::AuthError> for AuthRejection {
    fn from(e: wit_auth::AuthError) -> Self {
        use wit_auth::AuthError as E;
        match e {
            E::Missing => Self::Missing,
            E::Malformed(m) => Self::Malformed(m),
            E::TooLarge => Self::TooLarge,
            E::DisallowedAlgorithm(a) => Self::DisallowedAlgorithm(a),
            E::BadSignature => Self::BadSignature,
            E::MissingClaim(c) => Self::MissingClaim(c),
            E::Expired => Self::Expired,
            E::NotYetValid => Self::NotYetValid,
            E::WrongHash => Self::WrongHash,
            E::WrongTenant => Self::WrongTenant,
            E::Forbidden(m) => Self::Forbidden(m),
            E::Misconfigured(m) => Self::Misconfigured(m),
        }
    }
}

impl From<ImageFormat> for wit::ImageFormat {
    fn from(f: ImageFormat) -> Self {
        match f {
            ImageFormat::Jpeg => Self::Jpeg,
            ImageFormat::Png => Self::Png,
            ImageFormat::Webp => Self::Webp,
            ImageFormat::Gif => Self::Gif,
            ImageFormat::Avif => Self::Avif,
            ImageFormat::Rgba8 => Self::Rgba8,
        }
    }
}

impl From<wit::ImageFormat> for ImageFormat {
    fn from(f: wit::ImageFormat) -> Self {
        match f {
            wit::ImageFormat::Jpeg => Self::Jpeg,
            wit::ImageFormat::Png => Self::Png,
            wit::ImageFormat::Webp => Self::Webp,
            wit::ImageFormat::Gif => Self::Gif,
            wit::ImageFormat::Avif => Self::Avif,
            wit::ImageFormat::Rgba8 => Self::Rgba8,
        }
    }
}

impl From<Image> for wit::Image {
    fn from(i: Image) -> Self {
        Self {
            format: i.format.into(),
            width: i.width,
            height: i.height,
            data: i.data,
        }
    }
}

impl From<wit::Image> for Image {
    fn from(i: wit::Image) -> Self {
        Self {
            format: i.format.into(),
            width: i.width,
            height: i.height,
            data: i.data,
        }
    }
}

impl From<&TransformSpec> for wit_transformer::TransformSpec {
    fn from(s: &TransformSpec) -> Self {
        Self {
            sizes: s.sides.clone(),
            format: s.format.map(Into::into),
            quality: s.quality,
            max_pixels: s.max_pixels,
            crop: s.crop.map(|c| wit::Rect {
                x: c.x,
                y: c.y,
                width: c.width,
                height: c.height,
            }),
        }
    }
}

impl From<&GenerateRequest> for wit_generator::GenerateRequest {
    fn from(r: &GenerateRequest) -> Self {
        Self {
            hash: r.hash.clone(),
            size: r.side,
            initials: r.initials.clone(),
            name: r.name.clone(),
        }
    }
}

impl From<wit::TransformError> for ImageRejection {
    fn from(e: wit::TransformError) -> Self {
        use wit::TransformError as E;
        match e {
            E::UnsupportedFormat(m) => Self::UnsupportedFormat(m),
            E::Undecodable(m) => Self::Undecodable(m),
            E::TooManyPixels(d) => Self::TooManyPixels {
                width: d.width,
                height: d.height,
            },
            E::InvalidInput(m) => Self::InvalidInput(m),
            E::InvalidCrop(m) => Self::InvalidCrop(m),
            E::Misconfigured(m) => Self::Misconfigured(m),
        }
    }
}
