//! The tint filter itself: its settings, the checks on the images handed in, and the pixel
//! loop. Plain Rust with no Wasm types, so that it builds and is tested natively; the component
//! only converts types.
//!
//! Errors are plain enums without `Display`: their messages cross into the WIT
//! `transform-error` as they are, and a guest is smaller without a formatting dependency.

/// `strength` in fixed point: this many steps make "all the way to `color`".
const ONE: u32 = 256;

/// How an image's bytes are encoded, as far as a filter cares (mirrors WIT `image-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Raw pixels: `width * height * 4` bytes, RGBA, rows top to bottom, not premultiplied.
    Rgba8,
    /// An encoded file, with its WIT name (`jpeg`, `png`, …) for messages. The host never hands
    /// a filter one; a filter refuses it.
    Encoded(&'static str),
}

/// One image (mirrors WIT `image`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// How `data` is encoded; this filter accepts [`Format::Rgba8`] only.
    pub format: Format,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels.
    pub data: Vec<u8>,
}

/// Why the filter refused (mirrors the two WIT `transform-error` cases a filter uses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterError {
    /// An image is not `rgba8`, or its data does not match its dimensions: the uploader's
    /// fault as far as the host can tell (422).
    InvalidInput(String),
    /// A setting has a value that makes no sense: the operator's fault (500, logged).
    Misconfigured(String),
}

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
    /// a number as its JSON text), applying the defaults for keys the operator left out.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, FilterError> {
        let mut settings = Self::default();
        if let Some(text) = get(Self::COLOR_KEY) {
            settings.color = parse_color(&text).ok_or_else(|| {
                FilterError::Misconfigured(format!(
                    "`{}` must be a colour written #rrggbb, not {text:?}",
                    Self::COLOR_KEY
                ))
            })?;
        }
        if let Some(text) = get(Self::STRENGTH_KEY) {
            let strength = text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|strength| (0.0..=1.0).contains(strength))
                .ok_or_else(|| {
                    FilterError::Misconfigured(format!(
                        "`{}` must be a number from 0 to 1, not {text:?}",
                        Self::STRENGTH_KEY
                    ))
                })?;
            // In 0..=256 after the range check, so the cast is exact.
            settings.strength = (strength * f64::from(ONE)).round() as u32;
        }
        Ok(settings)
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

/// Parses `#rrggbb` (hex digits in either case).
pub fn parse_color(text: &str) -> Option<[u8; 3]> {
    let hex = text.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// Checks every image first (so that a bad one refuses the whole call before any work), then
/// tints each in place. Images come back in the same order with the same dimensions, as the
/// `filter` interface requires.
pub fn apply(settings: &Settings, mut images: Vec<Image>) -> Result<Vec<Image>, FilterError> {
    for (index, image) in images.iter().enumerate() {
        check(index, image)?;
    }
    if settings.strength > 0 {
        for image in &mut images {
            tint_in_place(&mut image.data, settings);
        }
    }
    Ok(images)
}

/// Refuses anything but a non-empty `rgba8` image whose data is exactly `width * height * 4`
/// bytes. The message names the image by its index.
pub fn check(index: usize, image: &Image) -> Result<(), FilterError> {
    if let Format::Encoded(name) = image.format {
        return Err(FilterError::InvalidInput(format!(
            "image {index} is {name}, not rgba8"
        )));
    }
    if image.width == 0 || image.height == 0 {
        return Err(FilterError::InvalidInput(format!(
            "image {index} is {}x{}: no pixels",
            image.width, image.height
        )));
    }
    let expected = u64::from(image.width) * u64::from(image.height) * 4;
    if image.data.len() as u64 != expected {
        return Err(FilterError::InvalidInput(format!(
            "image {index} is {}x{} but has {} bytes of pixels, not {expected}",
            image.width,
            image.height,
            image.data.len()
        )));
    }
    Ok(())
}

/// Blends the RGB of every pixel of `pixels` (RGBA) toward the colour; alpha is kept. Integer
/// arithmetic with everything that does not depend on the pixel worked out once, so the loop
/// stays short (and the compiler can use `simd128` on it).
fn tint_in_place(pixels: &mut [u8], settings: &Settings) {
    let keep = ONE - settings.strength;
    // The colour's share of each channel, plus a half step so that the shift rounds to nearest.
    let add = settings
        .color
        .map(|c| u32::from(c) * settings.strength + ONE / 2);
    for pixel in pixels.chunks_exact_mut(4) {
        for (channel, add) in pixel[..3].iter_mut().zip(add) {
            // A weighted mean of two bytes: at most 255.
            *channel = ((u32::from(*channel) * keep + add) / ONE) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgba(width: u32, height: u32, pixels: &[[u8; 4]]) -> Image {
        Image {
            format: Format::Rgba8,
            width,
            height,
            data: pixels.concat(),
        }
    }

    /// Settings as the host would hand them over: `pairs` are (key, value as `config.get`
    /// returns it).
    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, FilterError> {
        Settings::from_lookup(|key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    fn tinted(settings: &Settings, pixel: [u8; 4]) -> [u8; 4] {
        let out = apply(settings, vec![rgba(1, 1, &[pixel])]).expect("filters");
        out[0].data[..].try_into().expect("one pixel")
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
        // A JSON number reaches the plugin as its text; a string holding one works as well.
        assert_eq!(
            settings(&[("strength", "1")]).expect("valid").strength(),
            1.0
        );
        let cases: [&[(&str, &str)]; 10] = [
            &[("color", "orange")],
            &[("color", "ff8000")],
            &[("color", "#ff800")],
            &[("color", "#ff80001")],
            &[("color", "#gg8000")],
            &[("color", "#+f8000")],
            &[("strength", "-0.1")],
            &[("strength", "1.5")],
            &[("strength", "NaN")],
            &[("strength", "\"0.5\"")],
        ];
        for pairs in cases {
            assert!(
                matches!(settings(pairs), Err(FilterError::Misconfigured(_))),
                "{pairs:?} should be refused"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_rgba8_pixels() {
        let cases = [
            Image {
                format: Format::Encoded("png"),
                ..rgba(1, 1, &[[0; 4]])
            },
            rgba(2, 2, &[[0; 4]; 3]),
            rgba(1, 1, &[[0; 4]; 2]),
            rgba(0, 0, &[]),
        ];
        for image in cases {
            let original = vec![rgba(1, 1, &[[1, 2, 3, 4]]), image.clone()];
            match apply(&Settings::default(), original) {
                Err(FilterError::InvalidInput(message)) => {
                    assert!(message.starts_with("image 1 "), "{message}");
                }
                other => panic!("{image:?}: expected InvalidInput, got {other:?}"),
            }
        }
    }

    #[test]
    fn several_images_keep_their_order_and_sizes() {
        let images = vec![
            rgba(2, 1, &[[255, 255, 255, 255], [0, 0, 0, 255]]),
            rgba(1, 1, &[[255, 128, 0, 255]]),
        ];
        let out = apply(&Settings::default(), images).expect("filters");
        assert_eq!(
            out[0],
            rgba(2, 1, &[[255, 192, 128, 255], [128, 64, 0, 255]])
        );
        assert_eq!(out[1], rgba(1, 1, &[[255, 128, 0, 255]]));
        assert!(
            apply(&Settings::default(), Vec::new())
                .expect("nothing to do")
                .is_empty()
        );
    }
}
