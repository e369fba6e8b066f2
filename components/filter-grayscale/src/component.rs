//! The Wasm face of the plugin: WIT bindings, and conversions between the WIT types and
//! [`crate::grayscale`]'s. No decisions are made here.

wit_bindgen::generate!({ world: "filter-plugin", path: "../../wit" });

use avatar::plugins::config;
use avatar::plugins::types::{Image, ImageFormat, TransformError};
use exports::avatar::plugins::filter::Guest;

use crate::grayscale;

/// The exported `filter`. Stateless: each call runs in a fresh instance and reads its settings.
struct FilterGrayscale;

impl Guest for FilterGrayscale {
    fn apply(images: Vec<Image>) -> Result<Vec<Image>, TransformError> {
        let settings = grayscale::Settings::from_lookup(config::get).map_err(error_to_wit)?;
        let images = images.into_iter().map(image_from_wit).collect();
        grayscale::apply(&settings, images)
            .map(|images| images.into_iter().map(image_to_wit).collect())
            .map_err(error_to_wit)
    }
}

fn image_from_wit(image: Image) -> grayscale::Image {
    grayscale::Image {
        format: match image.format {
            ImageFormat::Jpeg => grayscale::ImageFormat::Jpeg,
            ImageFormat::Png => grayscale::ImageFormat::Png,
            ImageFormat::Webp => grayscale::ImageFormat::Webp,
            ImageFormat::Gif => grayscale::ImageFormat::Gif,
            ImageFormat::Rgba8 => grayscale::ImageFormat::Rgba8,
        },
        width: image.width,
        height: image.height,
        data: image.data,
    }
}

fn image_to_wit(image: grayscale::Image) -> Image {
    Image {
        format: match image.format {
            grayscale::ImageFormat::Jpeg => ImageFormat::Jpeg,
            grayscale::ImageFormat::Png => ImageFormat::Png,
            grayscale::ImageFormat::Webp => ImageFormat::Webp,
            grayscale::ImageFormat::Gif => ImageFormat::Gif,
            grayscale::ImageFormat::Rgba8 => ImageFormat::Rgba8,
        },
        width: image.width,
        height: image.height,
        data: image.data,
    }
}

fn error_to_wit(error: grayscale::FilterError) -> TransformError {
    match error {
        grayscale::FilterError::InvalidInput(why) => TransformError::InvalidInput(why),
        grayscale::FilterError::Misconfigured(why) => TransformError::Misconfigured(why),
    }
}

export!(FilterGrayscale);
