//! The first-party plugins, compiled to components by `build.rs` and embedded in the binary,
//! so `avatar` ships them and configuration can name them without a path.

/// Names of the embedded plugins, as configuration refers to them.
pub const BUILTIN_PLUGINS: &[&str] = &[
    "auth-jwt",
    "auth-apikey",
    "transform-image",
    "filter-grayscale",
    "filter-circle",
    "generate-identicon",
    "generate-silhouette",
    "generate-monsterid",
    "generate-wavatar",
    "generate-retro",
    "generate-robohash",
    "generate-initials",
    "generate-color",
];

/// The component bytes of the embedded plugin `name`.
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    match name {
        "auth-jwt" => Some(include_bytes!(concat!(env!("OUT_DIR"), "/auth_jwt.wasm"))),
        "auth-apikey" => Some(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/auth_apikey.wasm"
        ))),
        "transform-image" => Some(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/transform_image.wasm"
        ))),
        "filter-grayscale" => Some(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/filter_grayscale.wasm"
        ))),
        "filter-circle" => Some(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/filter_circle.wasm"
        ))),
        "generate-identicon" => Some(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/generate_identicon.wasm"
        ))),
        "generate-silhouette" => Some(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/generate_silhouette.wasm"
        ))),
        "generate-monsterid" => Some(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/generate_monsterid.wasm"
        ))),
        "generate-wavatar" => Some(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/generate_wavatar.wasm"
        ))),
        "generate-retro" => Some(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/generate_retro.wasm"
        ))),
        "generate-robohash" => Some(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/generate_robohash.wasm"
        ))),
        "generate-initials" => Some(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/generate_initials.wasm"
        ))),
        "generate-color" => Some(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/generate_color.wasm"
        ))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_plugin_is_embedded_and_nothing_else() {
        for name in BUILTIN_PLUGINS {
            let wasm = builtin(name).unwrap_or_else(|| panic!("{name} is not embedded"));
            // A component, not a core module: magic, then layer 1 in the version field.
            assert_eq!(&wasm[..4], b"\0asm", "{name}");
            assert_eq!(&wasm[6..8], [1, 0], "{name} is not a component");
        }
        assert_eq!(builtin("auth_jwt"), None);
        assert_eq!(builtin(""), None);
    }
}
