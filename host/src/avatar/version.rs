//! Upload versions: time-ordered names that make every upload's files distinct.

use std::fmt;
use std::time::SystemTime;

use super::clock;

/// An upload's version: 12 hex digits of milliseconds since the Unix epoch, then 8 random hex
/// digits, so versions sort by time and concurrent uploads of the same avatar never collide.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(String);

impl Version {
    /// The version made at `made_at_ms` with `random` bits.
    pub fn new(made_at_ms: u64, random: u64) -> Self {
        Self(format!("{made_at_ms:012x}{:08x}", random as u32))
    }

    /// A fresh version for an upload made at `now`.
    pub fn generate(now: SystemTime) -> Self {
        let mut buf = [0u8; 8];
        // The OS random source only fails on exotic platforms; a zero suffix is still unique
        // enough with the millisecond prefix.
        let _ = getrandom::fill(&mut buf);
        Self::new(
            u64::try_from(clock::unix_millis(now)).unwrap_or(0),
            u64::from_le_bytes(buf),
        )
    }

    /// Reads a version; `None` unless it is exactly 20 lower-case hex digits.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 20 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(s.to_owned()))
    }

    /// When the upload was made, in milliseconds since the Unix epoch.
    pub fn made_at_ms(&self) -> u64 {
        u64::from_str_radix(&self.0[..12], 16).unwrap_or(0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_by_time_and_carry_it() {
        assert_eq!(Version::new(1, 2).as_str(), "00000000000100000002");
        assert!(Version::new(2, 0) > Version::new(1, u64::MAX));
        let v = Version::new(1_700_000_000_123, 7);
        assert_eq!(v.made_at_ms(), 1_700_000_000_123);
        assert_eq!(Version::parse(v.as_str()), Some(v));
        for bad in [
            "",
            "zz",
            "0000000000010000000",
            "000000000001000000021",
            "0000000000010000000A",
        ] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
        let now = SystemTime::now();
        let a = Version::generate(now);
        assert_ne!(a, Version::generate(now), "random bits differ");
        assert_eq!(a.made_at_ms() as i64, clock::unix_millis(now));
    }
}
