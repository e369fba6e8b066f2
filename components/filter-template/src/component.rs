//! The Wasm face of the plugin: the WIT bindings, and conversions between their types and
//! [`crate::tint`]'s. No decisions are made here.

// Reads the `filter-plugin` world from the WIT package and generates: the `config` import
// (`avatar::plugins::config::get`), the shared types, and the `Guest` trait to implement for
// the exported `filter` interface. The path is relative to this crate's Cargo.toml.
wit_bindgen::generate!({ world: "filter-plugin", path: "../../wit" });

use avatar::plugins::config;
use avatar::plugins::types::{Image, ImageFormat, TransformError};
use exports::avatar::plugins::filter::Guest;

use crate::tint;

/// The exported `filter`. Stateless: each call runs in a fresh instance and reads its settings.
struct FilterTint;

impl Guest for FilterTint {
    fn apply(images: Vec<Image>) -> Result<Vec<Image>, TransformError> {
        let settings = tint::Settings::from_lookup(config::get).map_err(error_to_wit)?;
        let images = images.into_iter().map(image_from_wit).collect();
        tint::apply(&settings, images)
            .map(|images| images.into_iter().map(image_to_wit).collect())
            .map_err(error_to_wit)
    }
}

fn image_from_wit(image: Image) -> tint::Image {
    tint::Image {
        format: match image.format {
            ImageFormat::Rgba8 => tint::Format::Rgba8,
            ImageFormat::Jpeg => tint::Format::Encoded("jpeg"),
            ImageFormat::Png => tint::Format::Encoded("png"),
            ImageFormat::Webp => tint::Format::Encoded("webp"),
            ImageFormat::Gif => tint::Format::Encoded("gif"),
            ImageFormat::Avif => tint::Format::Encoded("avif"),
        },
        width: image.width,
        height: image.height,
        data: image.data,
    }
}

fn image_to_wit(image: tint::Image) -> Image {
    Image {
        // `tint::apply` returns only images it checked were `rgba8`.
        format: ImageFormat::Rgba8,
        width: image.width,
        height: image.height,
        data: image.data,
    }
}

fn error_to_wit(error: tint::FilterError) -> TransformError {
    match error {
        tint::FilterError::InvalidInput(why) => TransformError::InvalidInput(why),
        tint::FilterError::Misconfigured(why) => TransformError::Misconfigured(why),
    }
}

export!(FilterTint);
