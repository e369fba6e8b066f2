//! Strong validators (ETags): of stored bytes, and of pictures not drawn yet, from everything
//! their pixels depend on.

use sha2::{Digest, Sha256};

/// A strong validator for image bytes: the first 32 hex characters of their SHA-256.
pub fn etag_of(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..16])
}

/// Builds the validator of a picture from its ingredients (plugin digests, settings, the
/// hash, the side, the output), each fed length-prefixed so that no two different lists of
/// ingredients give the same bytes. Stable across builds and Rust versions, unlike `Debug`
/// output.
#[derive(Clone, Default)]
pub struct Recipe(Sha256);

impl Recipe {
    /// Adds one ingredient.
    pub fn with(mut self, part: impl AsRef<[u8]>) -> Self {
        let part = part.as_ref();
        self.0.update((part.len() as u64).to_le_bytes());
        self.0.update(part);
        self
    }

    /// Adds key-value settings, in key order.
    pub fn settings<'a>(
        mut self,
        settings: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Self {
        let mut count = 0u64;
        for (key, value) in settings {
            self = self.with(key).with(value);
            count += 1;
        }
        self.with(count.to_le_bytes())
    }

    /// The validator.
    pub fn etag(self) -> String {
        hex::encode(&self.0.finalize()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn content_etags_are_short_sha256() {
        assert_eq!(etag_of(b""), "e3b0c44298fc1c149afbf4c8996fb924");
    }

    #[test]
    fn recipes_tell_ingredients_apart() {
        let a = Recipe::default().with("ab").with("c").etag();
        let b = Recipe::default().with("a").with("bc").etag();
        assert_ne!(a, b, "length prefixes keep boundaries");
        let settings = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let one = settings(&[("a", "1"), ("b", "2")]);
        let other = settings(&[("a", "12")]);
        assert_ne!(
            Recipe::default().settings(&one).etag(),
            Recipe::default().settings(&other).etag()
        );
        assert_eq!(
            Recipe::default().settings(&one).etag(),
            Recipe::default().settings(&one.clone()).etag(),
            "deterministic"
        );
    }
}
