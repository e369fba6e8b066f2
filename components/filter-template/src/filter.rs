//! The tint itself: every `rgba8` image handed in is tinted, each pixel blended toward one
//! colour by a fixed strength; alpha is kept as it is. Plain Rust with no Wasm types, so that
//! it builds and is tested natively.
//!
//! This is the file a new filter rewrites: keep the two items `lib.rs` and the component call,
//! [`Settings::from_lookup`] and [`filter_in_place`], and replace everything else.
//!
//! # Settings
//! | key | default | meaning |
//! |---|---|---|
//! | `color` | `#ff8000` | The colour to tint toward: `#rrggbb`, hex in either case (an alpha, `#rrggbbaa`, is accepted and ignored: pixels keep their own). |
//! | `strength` | `0.5` | How far each pixel moves toward `color`, from `0` (unchanged) to `1` (solid `color`), in steps of 1/256. A JSON number or a string holding one. |

use guest_kit::{GuestError, Image, Lookup};

/// `strength` in fixed point: this many steps make "all the way to `color`".
const ONE: u32 = 256;

/// The filter's settings, read once per call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The colour pixels are blended toward, RGB.
    color: [u8; 3],
    /// How far, in steps of `1 / ONE`.
    strength: u32,
}

impl Default for Settings {
    /// Orange at half strength: strong enough to see at a glance that the filter ran.
    fn default() -> Self {
        Self {
            color: [0xff, 0x80, 0x00],
            strength: ONE / 2,
        }
    }
}

impl Settings {
    /// The colour to tint toward, `#rrggbb`.
    pub const COLOR_KEY: &str = "color";
    /// How far to tint, from 0 (unchanged) to 1 (solid colour).
    pub const STRENGTH_KEY: &str = "strength";

    /// Reads the settings through `get` (the host's `config.get`: a string setting as it is,
    /// a number as its JSON text), applying the defaults for keys the operator left out. A
    /// value that makes no sense is the operator's mistake: `GuestError::Misconfigured`, whose
    /// message names the key.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, GuestError> {
        let settings = Lookup::new(crate::PLUGIN, get);
        let mut read = Self::default();
        if let Some([r, g, b, _]) = settings.color(Self::COLOR_KEY)? {
            read.color = [r, g, b];
        }
        let strength = settings.number(
            Self::STRENGTH_KEY,
            "a number from 0 to 1",
            |strength: &f64| (0.0..=1.0).contains(strength),
        )?;
        if let Some(strength) = strength {
            // In 0..=256 after the range check, so the cast is exact.
            read.strength = (strength * f64::from(ONE)).round() as u32;
        }
        Ok(read)
    }

    /// The colour, RGB.
    pub fn color(&self) -> [u8; 3] {
        self.color
    }

    /// The strength as a fraction, `0.0..=1.0` (rounded to 1/256).
    pub fn strength(&self) -> f64 {
        f64::from(self.strength) / f64::from(ONE)
    }
}

/// Blends the RGB of every pixel of `image` toward the colour; alpha is kept. `image` is
/// `rgba8` with exactly `width * height * 4` bytes: `crate::apply` checked it.
///
/// Integer arithmetic, with everything that does not depend on the pixel worked out once, so
/// the loop stays short (and the compiler can use `simd128` on it).
pub fn filter_in_place(settings: &Settings, image: &mut Image) {
    if settings.strength == 0 {
        return;
    }
    let keep = ONE - settings.strength;
    // The colour's share of each channel, plus a half step so that the division rounds to
    // nearest.
    let add = settings
        .color
        .map(|c| u32::from(c) * settings.strength + ONE / 2);
    for pixel in image.data.chunks_exact_mut(4) {
        for (channel, add) in pixel[..3].iter_mut().zip(add) {
            // A weighted mean of two bytes: at most 255.
            *channel = ((u32::from(*channel) * keep + add) / ONE) as u8;
        }
    }
}

/// The tint's own tests: replace them with your filter's. (What any filter must do is tested
/// in `lib.rs`.)
#[cfg(test)]
mod tests {
    use guest_kit::ImageFormat;

    use super::*;

    /// Settings as the host would hand them over: `pairs` are (key, value as `config.get`
    /// returns it).
    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, GuestError> {
        Settings::from_lookup(|key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    fn tinted(settings: &Settings, pixel: [u8; 4]) -> [u8; 4] {
        let mut image = Image {
            format: ImageFormat::Rgba8,
            width: 1,
            height: 1,
            data: pixel.to_vec(),
        };
        filter_in_place(settings, &mut image);
        image.data[..].try_into().expect("one pixel")
    }

    #[test]
    fn defaults_tint_halfway_to_orange_and_keep_alpha() {
        let cases = [
            ([255, 255, 255, 255], [255, 192, 128, 255]),
            ([0, 0, 0, 255], [128, 64, 0, 255]),
            ([255, 128, 0, 7], [255, 128, 0, 7]),
            ([10, 20, 30, 0], [133, 74, 15, 0]),
        ];
        for (pixel, expected) in cases {
            assert_eq!(tinted(&Settings::default(), pixel), expected, "{pixel:?}");
        }
    }

    #[test]
    fn strength_runs_from_unchanged_to_solid_colour() {
        let pixel = [10, 200, 30, 99];
        let cases = [
            ("0", pixel),
            ("0.25", [8, 150, 86, 99]),
            ("1", [0, 0, 255, 99]),
        ];
        for (strength, expected) in cases {
            let settings =
                settings(&[("color", "#0000ff"), ("strength", strength)]).expect("valid");
            assert_eq!(tinted(&settings, pixel), expected, "strength {strength}");
        }
    }

    #[test]
    fn settings_defaults_and_values() {
        assert_eq!(settings(&[]).expect("defaults"), Settings::default());
        let set = settings(&[("color", "#12AbcD"), ("strength", " 0.75 ")]).expect("valid");
        assert_eq!(set.color(), [0x12, 0xab, 0xcd]);
        assert_eq!(set.strength(), 0.75);
        // An alpha in the colour is accepted and ignored: pixels keep their own.
        let set = settings(&[("color", "#12abcd00")]).expect("valid");
        assert_eq!(set.color(), [0x12, 0xab, 0xcd]);
        // A JSON number reaches the plugin as its text; a string holding one works as well.
        assert_eq!(
            settings(&[("strength", "1")]).expect("valid").strength(),
            1.0
        );
        let color = "`color` must be `#rrggbb` or `#rrggbbaa`";
        let strength = "`strength` must be a number from 0 to 1";
        let cases: [(&[(&str, &str)], &str); 10] = [
            (&[("color", "orange")], color),
            (&[("color", "ff8000")], color),
            (&[("color", "#ff800")], color),
            (&[("color", "#ff80001")], color),
            (&[("color", "#gg8000")], color),
            (&[("color", "#+f8000")], color),
            (&[("strength", "-0.1")], strength),
            (&[("strength", "1.5")], strength),
            (&[("strength", "NaN")], strength),
            (&[("strength", "\"0.5\"")], strength),
        ];
        for (pairs, message) in cases {
            assert_eq!(
                settings(pairs),
                Err(GuestError::misconfigured(crate::PLUGIN, message)),
                "{pairs:?}"
            );
        }
    }
}
