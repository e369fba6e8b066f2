//! The Wasm face of the plugin: WIT bindings, and conversions between the WIT types and
//! [`crate::grayscale`]'s (guest-kit's mirrors). No decisions are made here.

wit_bindgen::generate!({ world: "filter-plugin", path: "../../wit" });

use avatar::plugins::config;
use avatar::plugins::types::{Image, ImageFormat, TransformError};
use exports::avatar::plugins::filter::Guest;

use crate::grayscale;

guest_kit::wit_conversions!(Image, ImageFormat, TransformError);

/// The exported `filter`. Stateless: each call runs in a fresh instance and reads its settings.
struct FilterGrayscale;

impl Guest for FilterGrayscale {
    fn apply(images: Vec<Image>) -> Result<Vec<Image>, TransformError> {
        let settings = grayscale::Settings::from_lookup(config::get)?;
        let images = grayscale::apply(&settings, images.into_iter().map(Into::into).collect())?;
        Ok(images.into_iter().map(Into::into).collect())
    }
}

export!(FilterGrayscale);
