//! Where a variant's bytes live in the blob store, built *and* parsed here only:
//! `<prefix>/<ab>/<cd>/<hash>/<version>/<side>.<ext>` for the sizes an upload stores, and
//! `…/<version>/r<side>.<ext>` for a size or format rendered later from them, where
//! `<prefix>` is the tenant's
//! storage prefix (one or more `/`-separated segments), `<ab>` and `<cd>` are the hash's
//! first two pairs of hex digits (they spread objects over directories and S3 partitions), and
//! the version makes every upload's files distinct, so a replacement never overwrites a file
//! a client may still be fetching.

use std::fmt::{self, Write as _};

use super::format::ImageFormat;
use super::hash::AvatarHash;
use super::version::Version;

/// A stored variant's key, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantKey {
    /// The tenant's storage prefix, without leading or trailing `/`.
    pub prefix: String,
    pub hash: AvatarHash,
    pub version: Version,
    pub side: u32,
    pub format: ImageFormat,
    /// Rendered on demand from a stored variant, rather than stored by the upload.
    pub rendered: bool,
}

impl VariantKey {
    /// Reads a key this module built; `None` for any other key (another program's object, a
    /// scratch file), which callers must leave alone.
    pub fn parse(key: &str) -> Option<Self> {
        let mut segments = key.rsplitn(6, '/');
        let file = segments.next()?;
        let version = Version::parse(segments.next()?)?;
        let written = segments.next()?;
        let hash = AvatarHash::parse(written).ok()?;
        let cd = segments.next()?;
        let ab = segments.next()?;
        let prefix = segments.next()?;
        // Keys are built in lower case: an upper-case hash segment is not one of ours.
        if written != hash.as_str()
            || ab != &hash.as_str()[..2]
            || cd != &hash.as_str()[2..4]
            || prefix.is_empty()
            || prefix.starts_with('/')
            || prefix.ends_with('/')
        {
            return None;
        }
        let file = FileName::parse(file)?;
        Some(Self {
            prefix: prefix.to_owned(),
            hash,
            version,
            side: file.side,
            format: file.format,
            rendered: file.rendered,
        })
    }
}

impl fmt::Display for VariantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}/{}",
            avatar_prefix(&self.prefix, &self.hash),
            self.version,
            FileName {
                rendered: self.rendered,
                side: self.side,
                format: self.format,
            }
        )
    }
}

/// The last segment of a key: `<side>.<ext>`, or `r<side>.<ext>` for a rendition.
struct FileName {
    rendered: bool,
    side: u32,
    format: ImageFormat,
}

impl FileName {
    fn parse(file: &str) -> Option<Self> {
        let (file, rendered) = match file.strip_prefix('r') {
            Some(rest) => (rest, true),
            None => (file, false),
        };
        let (side, extension) = file.split_once('.')?;
        if side.is_empty() || !side.bytes().all(|b| b.is_ascii_digit()) || side.starts_with('0') {
            return None;
        }
        Some(Self {
            rendered,
            side: side.parse().ok()?,
            format: ImageFormat::from_extension(extension)?,
        })
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.rendered { "r" } else { "" };
        write!(f, "{mark}{}.{}", self.side, self.format.extension())
    }
}

impl VariantKey {
    /// The key of `self`'s bytes rendered at `side` in `format`.
    pub fn rendered(&self, side: u32, format: ImageFormat) -> Self {
        Self {
            side,
            format,
            rendered: true,
            ..self.clone()
        }
    }

    /// The key of the rendition at `side` in `format` of the variant an upload stored under
    /// `stored`: `parse(stored)?.rendered(side, format)` as text, made by replacing the file
    /// name alone, as a read of a size nobody stored does on every request. `None` when the
    /// file name is not a stored variant's (callers never see a key this module did not build).
    pub fn rendered_from(stored: &str, side: u32, format: ImageFormat) -> Option<String> {
        let (version_dir, file) = stored.rsplit_once('/')?;
        if FileName::parse(file)?.rendered {
            return None;
        }
        let file = FileName {
            rendered: true,
            side,
            format,
        };
        // Sized once: `format!` would grow the string as it writes.
        let mut key = String::with_capacity(stored.len() + 8);
        let _ = write!(key, "{version_dir}/{file}");
        Some(key)
    }

    /// The prefix of every file of this key's version (ends with `/`).
    pub fn version_prefix(&self) -> String {
        format!(
            "{}{}/",
            avatar_prefix(&self.prefix, &self.hash),
            self.version
        )
    }
}

/// The key prefix under which every version of an avatar is stored (ends with `/`).
pub fn avatar_prefix(prefix: &str, hash: &AvatarHash) -> String {
    let h = hash.as_str();
    format!("{prefix}/{}/{}/{h}/", &h[..2], &h[2..4])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(prefix: &str, side: u32) -> VariantKey {
        VariantKey {
            prefix: prefix.to_owned(),
            hash: AvatarHash::parse(&"ab".repeat(20)).unwrap(),
            version: Version::new(1, 2),
            side,
            format: ImageFormat::Png,
            rendered: false,
        }
    }

    #[test]
    fn built_and_parsed_alike() {
        let hash = "ab".repeat(20);
        for (prefix, expected) in [
            (
                "default",
                format!("default/ab/ab/{hash}/00000000000100000002/256.png"),
            ),
            (
                "a/b",
                format!("a/b/ab/ab/{hash}/00000000000100000002/256.png"),
            ),
            (
                "x/y/z",
                format!("x/y/z/ab/ab/{hash}/00000000000100000002/256.png"),
            ),
        ] {
            let built = key(prefix, 256);
            assert_eq!(built.to_string(), expected);
            assert_eq!(VariantKey::parse(&expected), Some(built), "{expected}");
        }
        assert_eq!(
            avatar_prefix("t", &key("t", 1).hash),
            format!("t/ab/ab/{hash}/")
        );
        let rendered = key("a/b", 256).rendered(80, ImageFormat::Webp);
        let text = format!("a/b/ab/ab/{hash}/00000000000100000002/r80.webp");
        assert_eq!(rendered.to_string(), text);
        assert_eq!(VariantKey::parse(&text), Some(rendered.clone()));
        for prefix in ["t", "a/b", "x/y/z"] {
            for format in ImageFormat::ALL {
                let stored = key(prefix, 256);
                assert_eq!(
                    VariantKey::rendered_from(&stored.to_string(), 80, format),
                    Some(stored.rendered(80, format).to_string())
                );
            }
        }
        assert_eq!(
            rendered.version_prefix(),
            format!("a/b/ab/ab/{hash}/00000000000100000002/")
        );
    }

    #[test]
    fn other_keys_are_not_ours() {
        let hash = "ab".repeat(20);
        let version = "00000000000100000002";
        for foreign in [
            "notes.txt".to_owned(),
            format!("ab/ab/{hash}/{version}/128.png"), // no prefix
            format!("t/ab/cd/{hash}/{version}/128.png"), // spread directories disagree
            format!("t/ab/ab/{}/{version}/128.png", hash.to_uppercase()),
            format!("t/ab/ab/{hash}/zz/128.png"),
            format!("t/ab/ab/{hash}/{version}/128.bmp"),
            format!("t/ab/ab/{hash}/{version}/x.png"),
            format!("t/ab/ab/{hash}/{version}/0128.png"),
            format!("t/ab/ab/{hash}/{version}/rr128.png"),
            format!("t/ab/ab/{hash}/{version}/r.png"),
            format!("t/ab/ab/{hash}/{version}/128"),
            format!("/t/ab/ab/{hash}/{version}/128.png"),
            "t/ab/ab/abab/zz/1.png".to_owned(),
        ] {
            assert_eq!(VariantKey::parse(&foreign), None, "{foreign}");
        }
        for not_stored in [
            "notes.txt".to_owned(),
            format!("t/ab/ab/{hash}/{version}/128.bmp"),
            format!("t/ab/ab/{hash}/{version}/r128.png"),
            format!("t/ab/ab/{hash}/{version}/.png"),
            format!("t/ab/ab/{hash}/{version}/0128.png"),
            format!("t/ab/ab/{hash}/{version}/128"),
        ] {
            let rendered = VariantKey::rendered_from(&not_stored, 80, ImageFormat::Png);
            assert_eq!(rendered, None, "{not_stored}");
        }
    }
}
