//! What generator plugins share: the checks of a request (the hash's bytes, the side), the
//! picture they return, and colours picked from a hash by hue (in Okhsl).

use palette::{FromColor, Okhsl, Srgb};

use crate::{GuestError, Lookup, Rgba};

/// The largest side a generator draws: 4096² `rgba8` pixels are 64 MiB.
pub const MAX_SIDE: u32 = 4096;

/// A square `rgba8` picture: `size * size * 4` bytes, rows top to bottom, not premultiplied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// The side in pixels.
    pub size: u32,
    /// The pixels.
    pub data: Vec<u8>,
}

impl Picture {
    /// A `size` x `size` picture of one colour. `size` is at most [`MAX_SIDE`] (see
    /// [`check_side`]), so the length cannot overflow.
    pub fn solid(size: u32, color: Rgba) -> Self {
        let pixels = size as usize * size as usize;
        Self {
            size,
            data: color.repeat(pixels),
        }
    }

    /// The colour at column `x`, row `y`.
    pub fn pixel(&self, x: u32, y: u32) -> Rgba {
        let start = (y as usize * self.size as usize + x as usize) * 4;
        let mut color = [0; 4];
        color.copy_from_slice(&self.data[start..start + 4]);
        color
    }
}

/// The bytes of an avatar hash: 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex digits.
pub fn parse_hash(hash: &str) -> Result<Vec<u8>, GuestError> {
    if ![32, 40, 64].contains(&hash.len()) {
        return Err(GuestError::InvalidInput(format!(
            "the hash has {} characters, not 32, 40 or 64 hex digits",
            hash.len()
        )));
    }
    crate::parse_hex(hash)
        .ok_or_else(|| GuestError::InvalidInput("the hash is not hex digits".to_owned()))
}

/// Refuses a side outside `1..=MAX_SIDE`.
pub fn check_side(size: u32) -> Result<(), GuestError> {
    if size == 0 || size > MAX_SIDE {
        return Err(GuestError::InvalidInput(format!(
            "size {size} is not from 1 to {MAX_SIDE}"
        )));
    }
    Ok(())
}

/// An opaque colour from Okhsl hue (degrees), saturation and lightness (`0..=1`).
///
/// Okhsl (Björn Ottosson's) is HSL made perceptual: colours of one lightness look equally light
/// whatever their hue, where HSL's yellows and greens glare beside its blues. Saturation `1` is
/// the edge of the sRGB gamut at that hue and lightness. palette computes it with libm's
/// functions, the same code natively and in Wasm, so the result is too.
pub fn okhsl_to_rgba(hue: f64, saturation: f64, lightness: f64) -> Rgba {
    let rgb: Srgb<f64> = Srgb::from_color(Okhsl::new(hue, saturation, lightness));
    // Within the gamut by construction, up to rounding: clamped before the 8-bit conversion.
    let [r, g, b] = [rgb.red, rgb.green, rgb.blue].map(|c| c.clamp(0.0, 1.0));
    let rgb: Srgb<u8> = Srgb::new(r, g, b).into_format();
    [rgb.red, rgb.green, rgb.blue, 255]
}

/// How a generator turns four bytes of a hash into a colour: any hue, at an Okhsl saturation
/// and lightness the settings choose, each moved by the hash by up to `variation` either way, so
/// that two hashes of nearly the same hue still differ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HuePalette {
    /// The middle saturation, `0..=1`.
    pub saturation: f64,
    /// The middle lightness, `0..=1`.
    pub lightness: f64,
    /// How far the hash moves saturation and lightness, `0..=MAX_VARIATION`.
    pub variation: f64,
}

impl HuePalette {
    /// The middle saturation.
    pub const SATURATION_KEY: &str = "saturation";
    /// The middle lightness.
    pub const LIGHTNESS_KEY: &str = "lightness";
    /// How far the hash moves them.
    pub const VARIATION_KEY: &str = "variation";
    /// The largest `variation`.
    pub const MAX_VARIATION: f64 = 0.5;

    /// Reads the three settings through `lookup`, each unset one from `defaults`.
    pub fn from_lookup<G: Fn(&str) -> Option<String>>(
        lookup: &Lookup<G>,
        defaults: Self,
    ) -> Result<Self, GuestError> {
        let fraction = |key: &str, max: f64, default: f64| {
            Ok::<_, GuestError>(
                lookup
                    .number(key, &format!("a number from 0 to {max}"), |v: &f64| {
                        (0.0..=max).contains(v)
                    })?
                    .unwrap_or(default),
            )
        };
        Ok(Self {
            saturation: fraction(Self::SATURATION_KEY, 1.0, defaults.saturation)?,
            lightness: fraction(Self::LIGHTNESS_KEY, 1.0, defaults.lightness)?,
            variation: fraction(Self::VARIATION_KEY, Self::MAX_VARIATION, defaults.variation)?,
        })
    }

    /// The colour of `bytes`: the hue from the first two (65536 steps around the circle), the
    /// saturation's and lightness's moves from the third and fourth.
    pub fn pick(&self, bytes: [u8; 4]) -> Rgba {
        let [h1, h2, s, l] = bytes;
        let hue = f64::from(u16::from_be_bytes([h1, h2])) * 360.0 / 65_536.0;
        // -1 to 1.
        let nudge = |byte: u8| (f64::from(byte) - 127.5) / 127.5;
        let saturation = (self.saturation + self.variation * nudge(s)).clamp(0.0, 1.0);
        let lightness = (self.lightness + self.variation * nudge(l)).clamp(0.0, 1.0);
        okhsl_to_rgba(hue, saturation, lightness)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&'static str, &'static str)]) -> Lookup<impl Fn(&str) -> Option<String>> {
        let pairs = pairs.to_vec();
        Lookup::new("generate-test", move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    const DEFAULTS: HuePalette = HuePalette {
        saturation: 0.5,
        lightness: 0.6,
        variation: 0.1,
    };

    #[test]
    fn hashes_parse_in_three_lengths_only() {
        assert_eq!(parse_hash(&"ab".repeat(16)), Ok(vec![0xab; 16]));
        assert_eq!(parse_hash(&"0F".repeat(20)), Ok(vec![0x0f; 20]));
        assert_eq!(parse_hash(&"00".repeat(32)), Ok(vec![0; 32]));
        for (bad, why) in [
            (
                String::new(),
                "the hash has 0 characters, not 32, 40 or 64 hex digits",
            ),
            (
                "a".repeat(31),
                "the hash has 31 characters, not 32, 40 or 64 hex digits",
            ),
            (
                "a".repeat(33),
                "the hash has 33 characters, not 32, 40 or 64 hex digits",
            ),
            (format!("{}g", "a".repeat(31)), "the hash is not hex digits"),
            // 32 bytes, but 31 characters.
            (format!("{}é", "a".repeat(30)), "the hash is not hex digits"),
        ] {
            let expected = Err(GuestError::InvalidInput(why.to_owned()));
            assert_eq!(parse_hash(&bad), expected, "{bad:?}");
        }
    }

    #[test]
    fn sides_from_1_to_4096_pass() {
        for ok in [1, 2, 80, 4096] {
            assert_eq!(check_side(ok), Ok(()));
        }
        for bad in [0, 4097, u32::MAX] {
            assert_eq!(
                check_side(bad),
                Err(GuestError::InvalidInput(format!(
                    "size {bad} is not from 1 to 4096"
                )))
            );
        }
    }

    #[test]
    fn a_solid_picture_is_one_colour_of_the_right_length() {
        let picture = Picture::solid(3, [1, 2, 3, 4]);
        assert_eq!(picture.data.len(), 36);
        assert_eq!(picture.pixel(2, 2), [1, 2, 3, 4]);
        assert!(picture.data.chunks_exact(4).all(|p| p == [1, 2, 3, 4]));
    }

    #[test]
    fn okhsl_gives_greys_black_white_and_hues_of_one_lightness() {
        assert_eq!(okhsl_to_rgba(0.0, 0.0, 0.0), [0, 0, 0, 255]);
        assert_eq!(okhsl_to_rgba(123.0, 1.0, 1.0), [255, 255, 255, 255]);
        let grey = okhsl_to_rgba(42.0, 0.0, 0.5);
        assert!(grey[0] == grey[1] && grey[1] == grey[2], "{grey:?}");
        // More saturation, more colour: a wider spread between the channels.
        let spread = |[r, g, b, _]: Rgba| r.max(g).max(b) - r.min(g).min(b);
        for hue in [0.0, 90.0, 180.0, 270.0] {
            let (full, half) = (okhsl_to_rgba(hue, 1.0, 0.6), okhsl_to_rgba(hue, 0.5, 0.6));
            assert!(spread(full) > spread(half) + 40, "{hue}: {full:?} {half:?}");
        }
        // Every hue at one lightness has nearly the same luminance, within a quarter (HSL's
        // do not: its yellow at 50 % is more than eight times as luminous as its blue).
        let luminance = |[r, g, b, _]: Rgba| {
            let lin = |c: u8| ((f64::from(c) / 255.0 + 0.055) / 1.055).powf(2.4);
            0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
        };
        let all: Vec<f64> = (0..36)
            .map(|step| luminance(okhsl_to_rgba(f64::from(step) * 10.0, 0.7, 0.6)))
            .collect();
        let (min, max) = all
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), l| (lo.min(*l), hi.max(*l)));
        assert!(max / min < 1.25, "{min} to {max}");
    }

    #[test]
    fn palette_settings_read_with_defaults_or_misconfigure() {
        assert_eq!(
            HuePalette::from_lookup(&lookup(&[]), DEFAULTS),
            Ok(DEFAULTS)
        );
        assert_eq!(
            HuePalette::from_lookup(
                &lookup(&[
                    ("saturation", "1"),
                    ("lightness", "0"),
                    ("variation", "0.5")
                ]),
                DEFAULTS
            ),
            Ok(HuePalette {
                saturation: 1.0,
                lightness: 0.0,
                variation: 0.5
            })
        );
        for (key, value, message) in [
            (
                "saturation",
                "1.01",
                "`saturation` must be a number from 0 to 1",
            ),
            (
                "saturation",
                "-0.1",
                "`saturation` must be a number from 0 to 1",
            ),
            (
                "lightness",
                "half",
                "`lightness` must be a number from 0 to 1",
            ),
            (
                "lightness",
                "NaN",
                "`lightness` must be a number from 0 to 1",
            ),
            (
                "variation",
                "0.6",
                "`variation` must be a number from 0 to 0.5",
            ),
        ] {
            assert_eq!(
                HuePalette::from_lookup(&lookup(&[(key, value)]), DEFAULTS),
                Err(GuestError::misconfigured("generate-test", message)),
                "{key}={value}"
            );
        }
    }

    #[test]
    fn the_palette_follows_the_hue_and_stays_in_its_band() {
        let fixed = HuePalette {
            variation: 0.0,
            ..DEFAULTS
        };
        // Without variation the last two bytes do not matter; the first two are the hue.
        assert_eq!(fixed.pick([0, 0, 0, 255]), okhsl_to_rgba(0.0, 0.5, 0.6));
        assert_eq!(fixed.pick([0x80, 0, 9, 9]), okhsl_to_rgba(180.0, 0.5, 0.6));
        assert_ne!(fixed.pick([0x80, 0, 9, 9]), fixed.pick([0x90, 0, 9, 9]));
        // The extremes of the nudges: saturation 0.4 to 0.6, lightness 0.5 to 0.7.
        assert_eq!(DEFAULTS.pick([0, 0, 0, 0]), okhsl_to_rgba(0.0, 0.4, 0.5));
        assert_eq!(
            DEFAULTS.pick([0, 0, 255, 255]),
            okhsl_to_rgba(0.0, 0.6, 0.7)
        );
        // Clamped at the ends of the scale.
        let bright = HuePalette {
            lightness: 1.0,
            variation: 0.5,
            ..DEFAULTS
        };
        assert_eq!(bright.pick([0, 0, 0, 255]), [255, 255, 255, 255]);
    }
}
