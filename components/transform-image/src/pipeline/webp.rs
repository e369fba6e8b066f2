//! WebP output: lossy (VP8, with a lossless alpha plane) below quality 100 with `webp-rust`,
//! lossless (VP8L) at 100, or when the lossy encoder fails, with `image`'s encoder.
//!
//! Why `webp-rust` (MIT): of the pure-Rust lossy WebP encoders, `zenwebp` 0.3 and later is
//! AGPL-3.0 or commercial, which a self-hosted Apache-2.0 service cannot ship; `webpkit` 0.1
//! needs rustc 1.96; and `vaam-image-webp` 0.1 (image-webp's unreleased lossy encoder) makes
//! LLVM's wasm backend crash with `+simd128` ("Cannot select: v16i8 = setcc"), so no component
//! can be built with it.

use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder};
use webp_rust::{ImageBuffer, LossyEncodingConfig};

use super::pixels::Pixels;

/// The quality from which WebP is written losslessly (the WIT's contract).
pub(crate) const LOSSLESS_QUALITY: u8 = 100;

/// libwebp's `method`, 0 (fastest) to 6 (smallest): 4 is libwebp's and webp-rust's default.
/// The `encode/webp-*` benchmark cases measure it inside Wasm.
pub(crate) const METHOD: u8 = 4;

/// Why WebP encoding failed: only dimensions beyond the format's 16383 pixels.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WebpError {
    #[error(transparent)]
    Lossless(#[from] image::ImageError),
    #[error("{0}")]
    Lossy(String),
}

/// Encodes `pixels` as WebP at `quality` (1 to 100).
pub(crate) fn encode(pixels: &Pixels, quality: u8) -> Result<Vec<u8>, WebpError> {
    // webp-rust 0.3.2 decodes each loop-filter candidate it makes and, for some noisy
    // pictures, fails on one of them. Lossless WebP is always valid: a larger file beats no
    // file (a negotiated answer then picks the smallest format anyway). Too large a picture
    // fails the lossless encoder in turn, with its own error.
    if quality < LOSSLESS_QUALITY
        && let Ok(data) = encode_lossy(pixels, quality)
    {
        return Ok(data);
    }
    encode_lossless(pixels)
}

/// Lossless WebP (VP8L) with `image`'s encoder.
fn encode_lossless(pixels: &Pixels) -> Result<Vec<u8>, WebpError> {
    let color = if pixels.alpha {
        ExtendedColorType::Rgba8
    } else {
        ExtendedColorType::Rgb8
    };
    let mut data = Vec::new();
    WebPEncoder::new_lossless(&mut data).write_image(
        &pixels.data,
        pixels.width,
        pixels.height,
        color,
    )?;
    Ok(data)
}

/// Lossy WebP (VP8, with a lossless alpha plane) with webp-rust.
fn encode_lossy(pixels: &Pixels, quality: u8) -> Result<Vec<u8>, WebpError> {
    let (width, height) = (pixels.width, pixels.height);
    let image = ImageBuffer {
        width: usize::try_from(width).unwrap_or(usize::MAX),
        height: usize::try_from(height).unwrap_or(usize::MAX),
        rgba: pixels.to_rgba8(),
    };
    let config = LossyEncodingConfig {
        quality: f32::from(quality),
        method: METHOD,
        // The alpha plane stays lossless (the default), so the edge of a round avatar is
        // exactly what the filter drew.
        ..LossyEncodingConfig::default()
    };
    // An opaque image gets no alpha chunk: webp-rust leaves it out when every pixel is opaque.
    webp_rust::encode_lossy_with_config(&image, &config, None)
        .map_err(|error| WebpError::Lossy(error.to_string()))
}
