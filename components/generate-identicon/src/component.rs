//! The Wasm face of the plugin: WIT bindings, and conversions between the WIT types and
//! [`crate::identicon`]'s. No decisions are made here.

wit_bindgen::generate!({ world: "generator-plugin", path: "../../wit" });

use avatar::plugins::config;
use avatar::plugins::types::{Image, ImageFormat, TransformError};
use exports::avatar::plugins::generator::Guest;

use crate::identicon;

/// The exported `generator`. Stateless: each call runs in a fresh instance and reads its
/// settings.
struct GenerateIdenticon;

impl Guest for GenerateIdenticon {
    fn generate(hash: String, size: u32) -> Result<Image, TransformError> {
        let settings = identicon::Settings::from_lookup(config::get).map_err(error_to_wit)?;
        identicon::generate(&settings, &hash, size)
            .map(|picture| Image {
                format: ImageFormat::Rgba8,
                width: picture.size,
                height: picture.size,
                data: picture.data,
            })
            .map_err(error_to_wit)
    }
}

fn error_to_wit(error: identicon::GenerateError) -> TransformError {
    match error {
        identicon::GenerateError::InvalidInput(why) => TransformError::InvalidInput(why),
        identicon::GenerateError::Misconfigured(why) => TransformError::Misconfigured(why),
    }
}

export!(GenerateIdenticon);
