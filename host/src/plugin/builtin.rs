//! The first-party plugins, compiled to components by `build.rs` and embedded in the binary,
//! so `avatar` ships them and configuration can name them without a path.

/// One embedded plugin; `build.rs` writes the table of them, with each one's digest.
struct Embedded {
    /// The name configuration refers to it by.
    name: &'static str,
    wasm: &'static [u8],
    /// The lowercase hex SHA-256 of `wasm`.
    sha256: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// The names of the embedded plugins, as configuration refers to them.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    EMBEDDED.iter().map(|e| e.name)
}

/// The component bytes of the embedded plugin `name`.
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    EMBEDDED.iter().find(|e| e.name == name).map(|e| e.wasm)
}

/// The SHA-256 of `wasm` when it is one of the embedded plugins' own bytes (the very slice
/// `builtin` hands out, not a copy), known without reading them.
pub(crate) fn embedded_digest(wasm: &[u8]) -> Option<&'static str> {
    EMBEDDED
        .iter()
        .find(|e| std::ptr::eq(e.wasm, wasm))
        .map(|e| e.sha256)
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn every_plugin_is_a_component_under_a_unique_name() {
        let names: Vec<_> = builtin_names().collect();
        assert!(names.contains(&"auth-jwt") && names.contains(&"transform-image"));
        for name in &names {
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
            let wasm = builtin(name).unwrap_or_else(|| panic!("{name} is not embedded"));
            // A component, not a core module: magic, then layer 1 in the version field.
            assert_eq!(&wasm[..4], b"\0asm", "{name}");
            assert_eq!(&wasm[6..8], [1, 0], "{name} is not a component");
        }
        assert_eq!(builtin("auth_jwt"), None);
        assert_eq!(builtin(""), None);
    }

    #[test]
    fn embedded_digests_are_the_digests_of_the_embedded_bytes() {
        for name in builtin_names() {
            let wasm = builtin(name).expect("embedded");
            assert_eq!(
                embedded_digest(wasm),
                Some(hex::encode(Sha256::digest(wasm)).as_str()),
                "{name}"
            );
            // A copy is not recognised: its bytes could differ, so it is hashed.
            let copy: Vec<u8> = wasm.to_vec();
            assert_eq!(embedded_digest(&copy), None, "{name}");
            assert_eq!(embedded_digest(&wasm[1..]), None, "{name}");
        }
    }
}
