//! Encoding pixels into the output formats. The encoders are given pixels only, so they write
//! no EXIF, XMP, ICC profile or text chunks.

use image::codecs::png::{self, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};

use super::options::{Options, PngCompression};
use super::pixels::Pixels;
use super::{Image, ImageFormat, TransformError, avif, webp};

/// Encodes `pixels` as `format`. `quality` applies to JPEG, AVIF and WebP.
pub(crate) fn encode_pixels(
    pixels: &Pixels,
    format: ImageFormat,
    quality: u8,
    options: &Options,
) -> Result<Image, TransformError> {
    let (width, height) = (pixels.width, pixels.height);
    let color = if pixels.alpha {
        ExtendedColorType::Rgba8
    } else {
        ExtendedColorType::Rgb8
    };
    let mut data = Vec::new();
    let written: Result<(), Box<dyn std::error::Error>> = match format {
        ImageFormat::Rgba8 => {
            data = pixels.to_rgba8();
            Ok(())
        }
        // jpeg-encoder rather than image's own JPEG encoder: measured about 3 times faster
        // for the same quality setting, and JPEG encoding dominated JPEG uploads.
        ImageFormat::Jpeg => encode_jpeg(
            &mut data,
            &pixels.to_rgb8_over_white(),
            width,
            height,
            quality,
        )
        .map_err(Into::into),
        ImageFormat::Png => {
            let compression = match options.png_compression {
                PngCompression::Fast => png::CompressionType::Fast,
                PngCompression::Default => png::CompressionType::Default,
            };
            PngEncoder::new_with_quality(&mut data, compression, png::FilterType::Adaptive)
                .write_image(&pixels.data, width, height, color)
                .map_err(Into::into)
        }
        ImageFormat::Webp => webp::encode(pixels, quality)
            .map(|file| data = file)
            .map_err(Into::into),
        ImageFormat::Avif => avif::encode(pixels, quality)
            .map(|file| data = file)
            .map_err(Into::into),
        ImageFormat::Gif => encode_gif(&mut data, pixels).map_err(Into::into),
    };
    // Encoders fail only on dimensions the format cannot hold (JPEG and GIF: 65535, WebP:
    // 16383), which only `encode` can be handed.
    written.map_err(|error| {
        TransformError::InvalidInput(format!(
            "cannot encode {width}x{height} as {format:?}: {error}"
        ))
    })?;
    Ok(Image {
        format,
        width,
        height,
        data,
    })
}

/// A single-frame GIF for clients that ask for one by name (`/avatar/{hash}.gif`): 256
/// colours chosen by NeuQuant at image's middle speed (10 of 1 to 30: smaller files than the
/// fastest setting for a few milliseconds at avatar sizes), fully transparent pixels kept as
/// GIF's one transparent index.
fn encode_gif(out: &mut Vec<u8>, pixels: &Pixels) -> Result<(), image::ImageError> {
    let rgba = image::RgbaImage::from_raw(pixels.width, pixels.height, pixels.to_rgba8())
        .ok_or_else(|| {
            image::ImageError::Limits(image::error::LimitError::from_kind(
                image::error::LimitErrorKind::DimensionError,
            ))
        })?;
    let mut encoder = image::codecs::gif::GifEncoder::new_with_speed(out, 10);
    encoder.encode_frame(image::Frame::new(rgba))
}

/// Baseline JPEG, 4:2:0 chroma subsampling (the common web setting), no metadata.
fn encode_jpeg(
    out: &mut Vec<u8>,
    rgb: &[u8],
    width: u32,
    height: u32,
    quality: u8,
) -> Result<(), image::ImageError> {
    let too_large = || {
        image::ImageError::Limits(image::error::LimitError::from_kind(
            image::error::LimitErrorKind::DimensionError,
        ))
    };
    let width = u16::try_from(width).map_err(|_| too_large())?;
    let height = u16::try_from(height).map_err(|_| too_large())?;
    let mut encoder = jpeg_encoder::Encoder::new(out, quality);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    encoder
        .encode(rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| {
            image::ImageError::Encoding(image::error::EncodingError::new(
                image::error::ImageFormatHint::Exact(image::ImageFormat::Jpeg),
                e,
            ))
        })
}
