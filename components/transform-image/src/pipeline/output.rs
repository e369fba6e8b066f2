//! Encoding pixels into the output formats. The encoders are given pixels only, so they write
//! no EXIF, XMP, ICC profile or text chunks.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{self, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder};

use super::options::{Options, PngCompression};
use super::pixels::Pixels;
use super::{Image, ImageFormat, TransformError};

/// Encodes `pixels` as `format`. `quality` applies to JPEG only.
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
    let written = match format {
        ImageFormat::Rgba8 => {
            data = pixels.to_rgba8();
            Ok(())
        }
        ImageFormat::Jpeg => JpegEncoder::new_with_quality(&mut data, quality).write_image(
            &pixels.to_rgb8_over_white(),
            width,
            height,
            ExtendedColorType::Rgb8,
        ),
        ImageFormat::Png => {
            let compression = match options.png_compression {
                PngCompression::Fast => png::CompressionType::Fast,
                PngCompression::Default => png::CompressionType::Default,
            };
            PngEncoder::new_with_quality(&mut data, compression, png::FilterType::Adaptive)
                .write_image(&pixels.data, width, height, color)
        }
        ImageFormat::Webp => {
            WebPEncoder::new_lossless(&mut data).write_image(&pixels.data, width, height, color)
        }
        ImageFormat::Gif => {
            return Err(TransformError::InvalidInput(
                "gif is not an output format".to_owned(),
            ));
        }
    };
    // Encoders fail only on dimensions the format cannot hold (JPEG: 65535), which only
    // `encode` can be handed.
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
