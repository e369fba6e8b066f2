//! AVIF output with `ravif` (rav1e, pure Rust, single-threaded in a component): the speed
//! preset and the mapping from the service's quality scale, chosen by measurement.

use ravif::{BitDepth, Encoder, Img, RGB8, RGBA8};

use super::pixels::Pixels;

/// rav1e's speed preset, 1 (slowest, smallest) to 10 (fastest).
///
/// Provisional, not yet measured: in ravif's speed tweaks, presets 5 to 8 share the same
/// partition sizes (8 to 16 px) and 8 drops the slower searches of the lower ones, while 9 and
/// 10 allow 16 px blocks only (coarse for an 80 px avatar, which is five blocks across) and 10
/// trades 10 % larger files for 20 % speed. The goal is a first encode of an 80 to 256 px avatar
/// in tens of milliseconds inside Wasm; the `encode/avif-*` benchmark cases measure it.
pub(crate) const SPEED: u8 = 8;

/// ravif's quality for the service's `quality` (the JPEG-like 1-100 scale of the WIT).
///
/// The identity for now: ravif's own scale is modelled on JPEG's (its default, 80, is meant to
/// look like a JPEG at 80 to 90). Not yet checked against decoded output; the bench prints the
/// bytes each format takes at the service's default quality.
pub(crate) fn avif_quality(quality: u8) -> f32 {
    f32::from(quality)
}

/// Encodes `pixels` as an AVIF file: 4:4:4 YCbCr at 8 bits, with an alpha plane only when some
/// pixel is not opaque (`Pixels` drops an all-opaque alpha channel).
pub(crate) fn encode(pixels: &Pixels, quality: u8) -> Result<Vec<u8>, ravif::Error> {
    let quality = avif_quality(quality);
    let encoder = Encoder::new()
        .with_quality(quality)
        .with_alpha_quality(quality)
        .with_speed(SPEED)
        .with_bit_depth(BitDepth::Eight)
        .with_num_threads(Some(1));
    let (width, height) = (to_usize(pixels.width), to_usize(pixels.height));
    let encoded = if pixels.alpha {
        let rgba: Vec<RGBA8> = pixels
            .data
            .chunks_exact(4)
            .map(|p| RGBA8::new(p[0], p[1], p[2], p[3]))
            .collect();
        encoder.encode_rgba(Img::new(&rgba[..], width, height))?
    } else {
        let rgb: Vec<RGB8> = pixels
            .data
            .chunks_exact(3)
            .map(|p| RGB8::new(p[0], p[1], p[2]))
            .collect();
        encoder.encode_rgb(Img::new(&rgb[..], width, height))?
    };
    Ok(encoded.avif_file)
}

fn to_usize(side: u32) -> usize {
    usize::try_from(side).unwrap_or(usize::MAX)
}
