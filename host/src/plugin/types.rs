//! The host's own view of what crosses the plugin boundary. These mirror the WIT types in
//! `wit/` but belong to the host, so no generated or wasmtime type escapes `plugin`. (Image
//! formats belong to the domain: `avatar::ImageFormat`.)

use std::fmt;

use crate::avatar::ImageFormat;

/// The facts of a request that changes an avatar (WIT `auth-request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    pub method: String,
    pub tenant: String,
    pub hash: String,
    pub token: String,
    /// Seconds since the Unix epoch.
    pub now: u64,
}

/// What an accepted credential says (WIT `grant`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub subject: String,
    pub expires_at: Option<u64>,
    /// The claims as a JSON object.
    pub claims: String,
    /// Other hashes the avatar is to be found by (WIT `aliases`), as the plugin gave them:
    /// unchecked.
    pub aliases: Vec<String>,
}

/// Why an auth plugin refused a credential (WIT `auth-error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthRejection {
    #[error("no credential was presented")]
    Missing,
    #[error("malformed credential: {0}")]
    Malformed(String),
    #[error("credential too large")]
    TooLarge,
    #[error("algorithm not allowed: {0}")]
    DisallowedAlgorithm(String),
    #[error("bad signature")]
    BadSignature,
    #[error("missing claim: {0}")]
    MissingClaim(String),
    #[error("credential expired")]
    Expired,
    #[error("credential not valid yet")]
    NotYetValid,
    #[error("credential issued for another hash")]
    WrongHash,
    #[error("credential issued for another tenant")]
    WrongTenant,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("auth plugin misconfigured: {0}")]
    Misconfigured(String),
}

/// One image (WIT `image`).
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("format", &self.format)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.data.len())
            .finish()
    }
}

/// What to make of an upload (WIT `transform-spec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformSpec {
    /// The sides of the squares wanted (WIT `sizes`).
    pub sides: Vec<u32>,
    pub format: Option<ImageFormat>,
    pub quality: u8,
    pub max_pixels: u64,
    /// The part of the source to keep (after EXIF orientation); `None` for the whole image.
    pub crop: Option<Crop>,
}

/// A rectangle of a source image, in pixels (WIT `rect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crop {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// What a generator is asked to draw (WIT `generate-request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateRequest {
    /// Lower-case hex.
    pub hash: String,
    /// The side of the square to draw (WIT `size`).
    pub side: u32,
    /// Letters to draw as they are (`initials=`).
    pub initials: Option<String>,
    /// A name to take letters from (`name=`, else the one stored with the upload).
    pub name: Option<String>,
}

/// Why a transform, filter or generator refused its input (WIT `transform-error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRejection {
    #[error("unsupported image format: {0}")]
    UnsupportedFormat(String),
    #[error("the image cannot be decoded: {0}")]
    Undecodable(String),
    #[error("the image has {width}x{height} pixels, more than allowed")]
    TooManyPixels { width: u32, height: u32 },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("invalid crop: {0}")]
    InvalidCrop(String),
    #[error("plugin misconfigured: {0}")]
    Misconfigured(String),
}
