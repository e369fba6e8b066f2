//! The domain's pure parts: avatar hashes, requested sizes, the choice of a stored variant,
//! and storage keys. No I/O here.

use std::fmt;

/// A validated avatar hash: lower-case hex of MD5 (32), SHA-1 (40) or SHA-256 (64).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AvatarHash(String);

/// Why a string is not an avatar hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an avatar hash is 32, 40 or 64 hexadecimal characters")]
pub struct InvalidHash;

impl AvatarHash {
    /// Parses `s`, case-insensitively; the result is lower case.
    pub fn parse(s: &str) -> Result<Self, InvalidHash> {
        if !Self::looks_like(s) {
            return Err(InvalidHash);
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    /// Whether `s` has the shape of a hash (used to tell a backup hash from a size).
    pub fn looks_like(s: &str) -> bool {
        matches!(s.len(), 32 | 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AvatarHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The largest side a request may ask for, in pixels.
pub const MAX_REQUESTED_SIDE: u32 = 4096;

/// Why a size segment is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSize {
    #[error("unknown size name {0:?}")]
    UnknownName(String),
    #[error("a size in pixels must be between 1 and {MAX_REQUESTED_SIDE}")]
    OutOfRange,
}

/// A tenant's named sizes, in pixels, e.g. `small` = 128.
pub trait SizePresets {
    fn pixels_of(&self, name: &str) -> Option<u32>;
}

impl<S: std::hash::BuildHasher> SizePresets for std::collections::HashMap<String, u32, S> {
    fn pixels_of(&self, name: &str) -> Option<u32> {
        self.get(name).copied()
    }
}

impl SizePresets for std::collections::BTreeMap<String, u32> {
    fn pixels_of(&self, name: &str) -> Option<u32> {
        self.get(name).copied()
    }
}

/// Resolves a size segment: a preset name, or a number of pixels from 1 to 4096.
pub fn parse_size(segment: &str, presets: &impl SizePresets) -> Result<u32, InvalidSize> {
    if let Some(pixels) = presets.pixels_of(segment) {
        return Ok(pixels);
    }
    if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
        return match segment.parse::<u32>() {
            Ok(n @ 1..=MAX_REQUESTED_SIDE) => Ok(n),
            _ => Err(InvalidSize::OutOfRange),
        };
    }
    Err(InvalidSize::UnknownName(segment.to_owned()))
}

/// Chooses among stored sides the one to serve for `wanted` pixels: the smallest side at
/// least `wanted`, or, when none is that large, the largest. `None` only when `stored` is
/// empty.
pub fn choose_side(stored: impl IntoIterator<Item = u32>, wanted: u32) -> Option<u32> {
    let mut at_least: Option<u32> = None;
    let mut largest: Option<u32> = None;
    for side in stored {
        largest = Some(largest.map_or(side, |l| l.max(side)));
        if side >= wanted {
            at_least = Some(at_least.map_or(side, |a| a.min(side)));
        }
    }
    at_least.or(largest)
}

/// Where a variant is stored: `<tenant>/<ab>/<cd>/<hash>/<version>/<side>.<ext>`. The two
/// prefix levels spread objects; the version makes every upload's files distinct, so a
/// replacement never overwrites a file a client may still be fetching.
pub fn variant_key(tenant: &str, hash: &AvatarHash, version: &str, side: u32, ext: &str) -> String {
    let h = hash.as_str();
    format!(
        "{}/{}/{}/{h}/{version}/{side}.{ext}",
        tenant,
        &h[..2],
        &h[2..4]
    )
}

/// The key prefix under which every version of an avatar is stored.
pub fn avatar_prefix(tenant: &str, hash: &AvatarHash) -> String {
    let h = hash.as_str();
    format!("{tenant}/{}/{}/{h}/", &h[..2], &h[2..4])
}

/// A new upload version: time-ordered (milliseconds since the epoch, hex) with random bits,
/// so concurrent uploads of the same avatar never collide.
pub fn new_version(now_ms: u64, random: u64) -> String {
    format!("{now_ms:012x}{:08x}", random as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn presets() -> BTreeMap<String, u32> {
        crate::config::default_sizes()
    }

    #[test]
    fn hashes() {
        let sha1 = "0123456789ABCDEF0123456789abcdef01234567";
        assert_eq!(
            AvatarHash::parse(sha1).unwrap().as_str(),
            sha1.to_lowercase()
        );
        for ok in ["a".repeat(32), "b".repeat(40), "c".repeat(64)] {
            assert!(AvatarHash::parse(&ok).is_ok(), "{ok}");
        }
        for bad in [
            "".to_owned(),
            "a".repeat(31),
            "a".repeat(39),
            "a".repeat(41),
            "a".repeat(65),
            "g".repeat(40),
            format!("{}-", "a".repeat(39)),
            "../../etc/passwd".to_owned(),
        ] {
            assert_eq!(AvatarHash::parse(&bad), Err(InvalidHash), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        let p = presets();
        let cases: &[(&str, Result<u32, InvalidSize>)] = &[
            ("small", Ok(128)),
            ("original", Ok(1024)),
            ("1", Ok(1)),
            ("4096", Ok(4096)),
            ("300", Ok(300)),
            ("0", Err(InvalidSize::OutOfRange)),
            ("4097", Err(InvalidSize::OutOfRange)),
            ("99999999999999999999", Err(InvalidSize::OutOfRange)),
            ("huge", Err(InvalidSize::UnknownName("huge".into()))),
            ("-5", Err(InvalidSize::UnknownName("-5".into()))),
            ("", Err(InvalidSize::UnknownName(String::new()))),
        ];
        for (segment, expected) in cases {
            assert_eq!(&parse_size(segment, &p), expected, "{segment:?}");
        }
    }

    #[test]
    fn side_choice_is_deterministic() {
        let stored = [1024, 512, 256, 128];
        let cases = [
            (1, 128),
            (128, 128),
            (129, 256),
            (256, 256),
            (257, 512),
            (1024, 1024),
            (1025, 1024),
            (4096, 1024),
        ];
        for (wanted, expected) in cases {
            assert_eq!(choose_side(stored, wanted), Some(expected), "{wanted}");
        }
        // A source smaller than some presets stored only some sides.
        assert_eq!(choose_side([200, 128], 256), Some(200));
        assert_eq!(choose_side([200, 128], 129), Some(200));
        assert_eq!(choose_side(std::iter::empty(), 10), None);
    }

    #[test]
    fn keys() {
        let hash = AvatarHash::parse(&"ab".repeat(20)).unwrap();
        assert_eq!(
            variant_key("default", &hash, "v1", 256, "png"),
            format!("default/ab/ab/{}/v1/256.png", hash)
        );
        assert_eq!(avatar_prefix("t", &hash), format!("t/ab/ab/{hash}/"));
        assert_eq!(new_version(1, 2), "00000000000100000002");
        assert!(new_version(2, 0) > new_version(1, u64::MAX));
    }
}
