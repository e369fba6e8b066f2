//! The colour itself: settings, and the hash's colour filling the square. Plain Rust with no
//! Wasm types, so that it builds and is tested natively; the component only converts types.
//!
//! # From hash to colour
//! The first four bytes of the hash choose it, in Okhsl (see [`HuePalette::pick`]): the first
//! two the hue, in 65536 steps around the circle; the third and fourth move the saturation and
//! lightness by up to `variation` either way from the settings' values. Okhsl's lightness is
//! perceptual, so every hue comes out about as light as the others. A hue alone would give only
//! a few hundred distinct 8-bit colours at a fixed saturation and lightness, so many hashes
//! would share one; the small moves make coincidences rare while keeping every colour in one
//! band of the settings' choosing.

pub use guest_kit::{GuestError as GenerateError, HuePalette, MAX_SIDE, Picture, Rgba};

use guest_kit::{Lookup, check_side, parse_hash};

/// The plugin's name, in its error messages.
const PLUGIN: &str = "generate-color";

/// The plugin's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// How the hash becomes a colour.
    pub palette: HuePalette,
}

impl Default for Settings {
    /// Light, moderately saturated colours: bright enough to be cheerful, soft enough that a
    /// page of them is calm, and never near black or white.
    fn default() -> Self {
        Self {
            palette: HuePalette {
                saturation: 0.6,
                lightness: 0.68,
                variation: 0.08,
            },
        }
    }
}

impl Settings {
    /// Reads the settings through `get` (the host's `config.get`), applying the defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, GenerateError> {
        let lookup = Lookup::new(PLUGIN, get);
        Ok(Self {
            palette: HuePalette::from_lookup(&lookup, Self::default().palette)?,
        })
    }
}

/// The colour of a hash's bytes (at least 16, as every hash has).
pub fn color_of(settings: &Settings, bytes: &[u8]) -> Rgba {
    settings
        .palette
        .pick([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Fills a `size` x `size` square with the colour of `hash`.
pub fn generate(settings: &Settings, hash: &str, size: u32) -> Result<Picture, GenerateError> {
    let bytes = parse_hash(hash)?;
    check_side(size)?;
    Ok(Picture::solid(size, color_of(settings, &bytes)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    const MD5: &str = "0bc83cb571cd1c50ba6f3e8a78ef1346";
    const SHA1: &str = "0123456789abcdef0123456789abcdef01234567";
    const SHA256: &str = "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c";

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, GenerateError> {
        Settings::from_lookup(|key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    /// Hash-like test inputs: splitmix64, two words per MD5-sized hash.
    fn hashes(count: usize) -> Vec<String> {
        let mut state = 0u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        (0..count)
            .map(|_| format!("{:016x}{:016x}", next(), next()))
            .collect()
    }

    #[test]
    fn every_size_has_the_right_number_of_bytes_in_one_colour() {
        let sizes = (1..=64).chain([80, 255, 256, 512, 1000, 4096]);
        for size in sizes {
            let picture = generate(&Settings::default(), MD5, size).expect("draws");
            assert_eq!(picture.size, size);
            assert_eq!(picture.data.len(), size as usize * size as usize * 4);
            let first = picture.pixel(0, 0);
            assert!(picture.data.chunks_exact(4).all(|p| p == first), "{size}");
        }
    }

    #[test]
    fn the_same_hash_gives_the_same_colour_at_every_size() {
        for hash in [MD5, SHA1, SHA256] {
            let a = generate(&Settings::default(), hash, 40).expect("draws");
            let b = generate(&Settings::default(), hash, 40).expect("draws");
            assert_eq!(a, b);
            let small = generate(&Settings::default(), hash, 1).expect("draws");
            assert_eq!(small.pixel(0, 0), a.pixel(17, 3));
        }
        // A known colour, so that a change of the mapping is a deliberate one.
        assert_eq!(
            color_of(&Settings::default(), &parse_hash(MD5).expect("hex")),
            [227, 152, 155, 255]
        );
    }

    #[test]
    fn different_hashes_give_different_colours_all_round_the_circle() {
        let settings = Settings::default();
        let mut seen = HashSet::new();
        // Twelve 30° sectors of hue, each of which some hash must land in.
        let mut sectors = [0u32; 12];
        for hash in hashes(400) {
            let bytes = parse_hash(&hash).expect("hex");
            let color = color_of(&settings, &bytes);
            assert!(seen.insert(color), "hash {hash} repeats colour {color:?}");
            sectors[usize::from(bytes[0]) * 12 / 256] += 1;
        }
        assert!(sectors.iter().all(|n| *n > 10), "{sectors:?}");
    }

    #[test]
    fn every_colour_stays_in_the_band_the_settings_choose() {
        // WCAG relative luminance, to check the lightness band without Okhsl's own formulas.
        let luminance = |[r, g, b, _]: Rgba| {
            let lin = |c: u8| ((f64::from(c) / 255.0 + 0.055) / 1.055).powf(2.4);
            0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
        };
        // Okhsl lightness 0.6 to 0.76: never dark, never white, every hue about as light as
        // the others; and always a colour, not a grey.
        let (mut darkest, mut lightest) = (f64::MAX, f64::MIN);
        for hash in hashes(400) {
            let color = color_of(&Settings::default(), &parse_hash(&hash).expect("hex"));
            let [r, g, b, a] = color;
            assert_eq!(a, 255);
            assert!(r.max(g).max(b) - r.min(g).min(b) >= 40, "{hash}: {color:?}");
            darkest = darkest.min(luminance(color));
            lightest = lightest.max(luminance(color));
        }
        assert!(darkest > 0.2 && lightest < 0.6, "{darkest} to {lightest}");
        // Saturation 0 and no variation: one grey for every hash.
        let grey = settings(&[
            ("saturation", "0"),
            ("variation", "0"),
            ("lightness", "0.5"),
        ])
        .expect("valid");
        let first = generate(&grey, MD5, 2).expect("draws").pixel(1, 1);
        assert!(first[0] == first[1] && first[1] == first[2], "{first:?}");
        for hash in [SHA1, SHA256] {
            assert_eq!(generate(&grey, hash, 2).expect("draws").pixel(0, 1), first);
        }
    }

    #[test]
    fn settings_read_with_defaults_or_misconfigure() {
        assert_eq!(settings(&[]), Ok(Settings::default()));
        assert_eq!(
            settings(&[
                ("saturation", " 0.8 "),
                ("lightness", "0.3"),
                ("variation", "0")
            ]),
            Ok(Settings {
                palette: HuePalette {
                    saturation: 0.8,
                    lightness: 0.3,
                    variation: 0.0,
                }
            })
        );
        for (key, value, message) in [
            (
                "saturation",
                "2",
                "`saturation` must be a number from 0 to 1",
            ),
            (
                "saturation",
                "50%",
                "`saturation` must be a number from 0 to 1",
            ),
            (
                "lightness",
                "-0.5",
                "`lightness` must be a number from 0 to 1",
            ),
            ("lightness", "", "`lightness` must be a number from 0 to 1"),
            (
                "variation",
                "0.51",
                "`variation` must be a number from 0 to 0.5",
            ),
            (
                "variation",
                "inf",
                "`variation` must be a number from 0 to 0.5",
            ),
        ] {
            assert_eq!(
                settings(&[(key, value)]),
                Err(GenerateError::misconfigured(PLUGIN, message)),
                "{key}={value}"
            );
        }
    }

    #[test]
    fn bad_hashes_and_sizes_are_invalid_input() {
        for hash in [
            "",
            "0bc83cb571cd1c50ba6f3e8a78ef134",
            "0bc83cb571cd1c50ba6f3e8a78ef134g",
        ] {
            assert!(
                matches!(
                    generate(&Settings::default(), hash, 8),
                    Err(GenerateError::InvalidInput(_))
                ),
                "{hash:?}"
            );
        }
        for size in [0, MAX_SIDE + 1] {
            assert_eq!(
                generate(&Settings::default(), MD5, size),
                Err(GenerateError::InvalidInput(format!(
                    "size {size} is not from 1 to 4096"
                )))
            );
        }
    }
}
