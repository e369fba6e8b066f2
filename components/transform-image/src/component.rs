//! The WebAssembly component: exports `avatar:plugins/transformer` by converting between the
//! WIT types and the mirror types of [`crate::pipeline`], and reads settings through the
//! host-provided `config` interface.

wit_bindgen::generate!({ world: "transform-plugin", path: "../../wit" });

use crate::pipeline;
use avatar::plugins::config;
use avatar::plugins::types::{Dimensions, Image, ImageFormat, Rect, TransformError};
use exports::avatar::plugins::transformer::{Guest, TransformSpec};

/// The exported plugin. Stateless: every call reads its settings afresh, and the host runs each
/// call in a fresh instance anyway.
struct TransformImage;

impl Guest for TransformImage {
    fn transform(upload: Vec<u8>, spec: TransformSpec) -> Result<Vec<Image>, TransformError> {
        let options = options()?;
        let spec = pipeline::Spec {
            sizes: spec.sizes,
            format: spec.format.map(format_from_wit),
            quality: spec.quality,
            max_pixels: spec.max_pixels,
            crop: spec.crop.map(rect_from_wit),
        };
        pipeline::transform(&upload, &spec, &options)
            .map(images_to_wit)
            .map_err(error_to_wit)
    }

    fn encode(
        images: Vec<Image>,
        format: ImageFormat,
        quality: u8,
    ) -> Result<Vec<Image>, TransformError> {
        let options = options()?;
        let images: Vec<pipeline::Image> = images
            .into_iter()
            .map(|image| pipeline::Image {
                format: format_from_wit(image.format),
                width: image.width,
                height: image.height,
                data: image.data,
            })
            .collect();
        pipeline::encode(&images, format_from_wit(format), quality, &options)
            .map(images_to_wit)
            .map_err(error_to_wit)
    }
}

/// This plugin's settings for the calling tenant.
fn options() -> Result<pipeline::Options, TransformError> {
    pipeline::Options::from_lookup(config::get).map_err(error_to_wit)
}

fn format_from_wit(format: ImageFormat) -> pipeline::ImageFormat {
    match format {
        ImageFormat::Jpeg => pipeline::ImageFormat::Jpeg,
        ImageFormat::Png => pipeline::ImageFormat::Png,
        ImageFormat::Webp => pipeline::ImageFormat::Webp,
        ImageFormat::Avif => pipeline::ImageFormat::Avif,
        ImageFormat::Gif => pipeline::ImageFormat::Gif,
        ImageFormat::Rgba8 => pipeline::ImageFormat::Rgba8,
    }
}

fn rect_from_wit(rect: Rect) -> pipeline::Rect {
    let Rect {
        x,
        y,
        width,
        height,
    } = rect;
    pipeline::Rect {
        x,
        y,
        width,
        height,
    }
}

fn format_to_wit(format: pipeline::ImageFormat) -> ImageFormat {
    match format {
        pipeline::ImageFormat::Jpeg => ImageFormat::Jpeg,
        pipeline::ImageFormat::Png => ImageFormat::Png,
        pipeline::ImageFormat::Webp => ImageFormat::Webp,
        pipeline::ImageFormat::Avif => ImageFormat::Avif,
        pipeline::ImageFormat::Gif => ImageFormat::Gif,
        pipeline::ImageFormat::Rgba8 => ImageFormat::Rgba8,
    }
}

fn images_to_wit(images: Vec<pipeline::Image>) -> Vec<Image> {
    images
        .into_iter()
        .map(|image| Image {
            format: format_to_wit(image.format),
            width: image.width,
            height: image.height,
            data: image.data,
        })
        .collect()
}

fn error_to_wit(error: pipeline::TransformError) -> TransformError {
    match error {
        pipeline::TransformError::UnsupportedFormat(seen) => {
            TransformError::UnsupportedFormat(seen)
        }
        pipeline::TransformError::Undecodable(why) => TransformError::Undecodable(why),
        pipeline::TransformError::TooManyPixels { width, height } => {
            TransformError::TooManyPixels(Dimensions { width, height })
        }
        pipeline::TransformError::InvalidInput(why) => TransformError::InvalidInput(why),
        pipeline::TransformError::InvalidCrop(why) => TransformError::InvalidCrop(why),
        pipeline::TransformError::Misconfigured(why) => TransformError::Misconfigured(why),
    }
}

export!(TransformImage);
