//! The Wasm face of the plugin: WIT bindings, and conversions between the WIT types and
//! [`crate::robohash`]'s (guest-kit's mirrors). No decisions are made here.

wit_bindgen::generate!({ world: "generator-plugin", path: "../../wit" });

use avatar::plugins::config;
use avatar::plugins::types::{Image, ImageFormat, TransformError};
use exports::avatar::plugins::generator::{GenerateRequest, Guest};

use crate::robohash;

guest_kit::wit_conversions!(Image, ImageFormat, TransformError);

/// The exported `generator`. Stateless: each call runs in a fresh instance and reads its
/// settings. A robot has no text, so `initials` and `name` are not read.
struct GenerateRobohash;

impl Guest for GenerateRobohash {
    fn generate(request: GenerateRequest) -> Result<Image, TransformError> {
        let settings = robohash::Settings::from_lookup(config::get)?;
        let picture = robohash::generate(&settings, &request.hash, request.size)?;
        Ok(Image {
            format: ImageFormat::Rgba8,
            width: picture.size,
            height: picture.size,
            data: picture.data,
        })
    }
}

export!(GenerateRobohash);
