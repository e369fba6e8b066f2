//! Avatar hashes: the lower-case hex of an MD5 (32), SHA-1 (40) or SHA-256 (64).

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

#[cfg(test)]
mod tests {
    use super::*;

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
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::AvatarHash;

    proptest! {
        /// Any string: a hash exactly when it is 32, 40 or 64 hex digits, and then its
        /// lower-case self, whatever the case it came in.
        #[test]
        fn parse_accepts_exactly_hex_of_three_lengths(s in "\\PC{0,70}") {
            let shaped = matches!(s.len(), 32 | 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit());
            match AvatarHash::parse(&s) {
                Ok(hash) => {
                    prop_assert!(shaped);
                    prop_assert_eq!(hash.as_str(), s.to_ascii_lowercase());
                }
                Err(_) => prop_assert!(!shaped),
            }
        }

        #[test]
        fn case_does_not_matter(s in "[0-9a-fA-F]{40}") {
            prop_assert_eq!(
                AvatarHash::parse(&s).unwrap(),
                AvatarHash::parse(&s.to_ascii_uppercase()).unwrap()
            );
        }
    }
}
