//! The Wasm face of the plugin: WIT bindings, and conversions between the WIT types and
//! [`crate::initials`]'s (guest-kit's mirrors). No decisions are made here.

wit_bindgen::generate!({ world: "generator-plugin", path: "../../wit" });

use avatar::plugins::config;
use avatar::plugins::types::{Image, ImageFormat, TransformError};
use exports::avatar::plugins::generator::{GenerateRequest, Guest};

use crate::initials;

guest_kit::wit_conversions!(Image, ImageFormat, TransformError);

/// The exported `generator`. Stateless: each call runs in a fresh instance and reads its
/// settings.
struct GenerateInitials;

impl Guest for GenerateInitials {
    fn generate(request: GenerateRequest) -> Result<Image, TransformError> {
        let settings = initials::Settings::from_lookup(config::get)?;
        let picture = initials::generate(
            &settings,
            &initials::Request {
                hash: &request.hash,
                size: request.size,
                initials: request.initials.as_deref(),
                name: request.name.as_deref(),
            },
        )?;
        Ok(Image {
            format: ImageFormat::Rgba8,
            width: picture.size,
            height: picture.size,
            data: picture.data,
        })
    }
}

export!(GenerateInitials);
