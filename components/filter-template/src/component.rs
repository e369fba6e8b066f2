//! The Wasm face of the plugin: the WIT bindings, and the conversions between their types and
//! guest-kit's. No decisions are made here, and nothing names this filter: a new filter keeps
//! this file as it is (outside avatar's repository, only the WIT path changes).

// Reads the `filter-plugin` world from the WIT package and generates: the `config` import
// (`avatar::plugins::config::get`), the shared types, and the `Guest` trait to implement for
// the exported `filter` interface. The path is relative to this crate's Cargo.toml.
wit_bindgen::generate!({ world: "filter-plugin", path: "../../wit" });

use avatar::plugins::config;
use avatar::plugins::types::{Image, ImageFormat, TransformError};
use exports::avatar::plugins::filter::Guest;

// wit-bindgen generates the WIT types anew in every crate, so only a macro can share the
// conversions between them and guest-kit's mirrors.
guest_kit::wit_conversions!(Image, ImageFormat, TransformError);

/// The exported `filter`. Stateless: each call runs in a fresh instance and reads its settings.
struct Plugin;

impl Guest for Plugin {
    fn apply(images: Vec<Image>) -> Result<Vec<Image>, TransformError> {
        let settings = crate::Settings::from_lookup(config::get)?;
        let images = crate::apply(&settings, images.into_iter().map(Into::into).collect())?;
        Ok(images.into_iter().map(Into::into).collect())
    }
}

export!(Plugin);
