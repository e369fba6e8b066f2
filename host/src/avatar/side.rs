//! Requested sizes: a tenant's named presets or pixels, and the choice of the stored square
//! that answers a request. A square's edge is its *side*, in pixels.

use std::collections::BTreeMap;

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

/// Resolves a size segment: a preset name (`small`), or a number of pixels from 1 to 4096.
pub fn parse_side(segment: &str, presets: &BTreeMap<String, u32>) -> Result<u32, InvalidSize> {
    if let Some(side) = presets.get(segment) {
        return Ok(*side);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn presets() -> BTreeMap<String, u32> {
        crate::config::defaults::sizes()
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
            assert_eq!(&parse_side(segment, &p), expected, "{segment:?}");
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
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any segment: a preset's side, or pixels from 1 to the maximum, or refused.
        #[test]
        fn a_side_is_a_preset_or_in_range(segment in "\\PC{0,12}") {
            let presets = crate::config::defaults::sizes();
            match parse_side(&segment, &presets) {
                Ok(side) => prop_assert!(
                    presets.get(&segment) == Some(&side)
                        || (1..=MAX_REQUESTED_SIDE).contains(&side)
                ),
                Err(_) => prop_assert!(!presets.contains_key(&segment)),
            }
        }

        /// Every number in range is that many pixels, with or without leading zeros.
        #[test]
        fn numbers_in_range_are_exact(n in 1..=MAX_REQUESTED_SIDE, zeros in 0usize..3) {
            let segment = format!("{}{n}", "0".repeat(zeros));
            prop_assert_eq!(parse_side(&segment, &BTreeMap::new()), Ok(n));
        }

        #[test]
        fn numbers_out_of_range_are_refused(n in (MAX_REQUESTED_SIDE + 1)..u32::MAX) {
            prop_assert_eq!(
                parse_side(&n.to_string(), &BTreeMap::new()),
                Err(InvalidSize::OutOfRange)
            );
        }
    }
}
