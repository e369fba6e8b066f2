//! The Wasm face of the plugin: WIT bindings, and conversions between the WIT types and
//! [`crate::circle`]'s. No decisions are made here.

wit_bindgen::generate!({ world: "filter-plugin", path: "../../wit" });

use avatar::plugins::config;
use avatar::plugins::types::{Image, ImageFormat, TransformError};
use exports::avatar::plugins::filter::Guest;

use crate::circle;

/// The exported `filter`. Stateless: each call runs in a fresh instance and reads its settings.
struct FilterCircle;

impl Guest for FilterCircle {
    fn apply(images: Vec<Image>) -> Result<Vec<Image>, TransformError> {
        let settings = circle::Settings::from_lookup(config::get).map_err(error_to_wit)?;
        let images = images.into_iter().map(image_from_wit).collect();
        circle::apply(&settings, images)
            .map(|images| images.into_iter().map(image_to_wit).collect())
            .map_err(error_to_wit)
    }
}

fn image_from_wit(image: Image) -> circle::Image {
    circle::Image {
        format: match image.format {
            ImageFormat::Jpeg => circle::ImageFormat::Jpeg,
            ImageFormat::Png => circle::ImageFormat::Png,
            ImageFormat::Webp => circle::ImageFormat::Webp,
            ImageFormat::Gif => circle::ImageFormat::Gif,
            ImageFormat::Rgba8 => circle::ImageFormat::Rgba8,
        },
        width: image.width,
        height: image.height,
        data: image.data,
    }
}

fn image_to_wit(image: circle::Image) -> Image {
    Image {
        format: match image.format {
            circle::ImageFormat::Jpeg => ImageFormat::Jpeg,
            circle::ImageFormat::Png => ImageFormat::Png,
            circle::ImageFormat::Webp => ImageFormat::Webp,
            circle::ImageFormat::Gif => ImageFormat::Gif,
            circle::ImageFormat::Rgba8 => ImageFormat::Rgba8,
        },
        width: image.width,
        height: image.height,
        data: image.data,
    }
}

fn error_to_wit(error: circle::FilterError) -> TransformError {
    match error {
        circle::FilterError::InvalidInput(why) => TransformError::InvalidInput(why),
        circle::FilterError::Misconfigured(why) => TransformError::Misconfigured(why),
    }
}

export!(FilterCircle);
