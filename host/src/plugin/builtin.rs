//! The first-party plugins, compiled to components by `build.rs` and embedded in the binary,
//! so `avatar` ships them and configuration can name them without a path.

/// Names of the embedded plugins, as configuration refers to them.
pub const BUILTIN_PLUGINS: &[&str] = &["auth-jwt", "transform-image"];

/// The component bytes of the embedded plugin `name`.
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    match name {
        "auth-jwt" => Some(include_bytes!(concat!(env!("OUT_DIR"), "/auth_jwt.wasm"))),
        "transform-image" => Some(include_bytes!(concat!(
            env!("OUT_DIR"),
            "/transform_image.wasm"
        ))),
        _ => None,
    }
}
