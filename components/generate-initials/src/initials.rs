//! The picture: settings, the colours, and the letters drawn on them. Plain Rust with no Wasm
//! types, so that it builds and is tested natively; the component only converts types.
//!
//! # From request to picture
//! The letters come from [`letters::choose`]; if the embedded font lacks any of them, the
//! hash's two hex digits are drawn instead (never a box for a missing glyph). The background
//! is the `background` setting or, by default, a colour of the hash: its last four bytes
//! through a [`HuePalette`], so it does not follow the first byte that the hex digits show.
//! The text is the `color` setting or, by default, white or near-black, whichever contrasts
//! more with the background by the WCAG measure. The letters are filled by tiny-skia,
//! anti-aliased, straight into the picture, so drawing needs no memory beyond the picture's.

pub use guest_kit::{GuestError as GenerateError, HuePalette, MAX_SIDE, Picture, Rgba};

use guest_kit::{Lookup, check_side, parse_hash};
use tiny_skia::{Color, FillRule, Paint, Pixmap, Transform};

use crate::font::EmbeddedFont;
use crate::letters::{self, Letters};

/// The plugin's name, in its error messages.
const PLUGIN: &str = "generate-initials";

/// The light text colour.
pub const WHITE: Rgba = [0xff, 0xff, 0xff, 0xff];
/// The dark text colour: near-black, softer on colour than pure black.
pub const INK: Rgba = [0x1c, 0x1e, 0x21, 0xff];

/// The smallest and largest `font_scale`.
pub const FONT_SCALE_RANGE: std::ops::RangeInclusive<f32> = 0.05..=0.8;

/// What to draw: the WIT `generate-request`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The hash, hex.
    pub hash: &'a str,
    /// The side in pixels.
    pub size: u32,
    /// Letters to draw as they are.
    pub initials: Option<&'a str>,
    /// A name to take letters from.
    pub name: Option<&'a str>,
}

/// The plugin's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// A fixed background; `None` for one from the hash.
    pub background: Option<Rgba>,
    /// How the hash becomes a background.
    pub palette: HuePalette,
    /// A fixed text colour; `None` for white or near-black by contrast.
    pub color: Option<Rgba>,
    /// The height of a capital letter, as a fraction of the side.
    pub font_scale: f32,
}

impl Default for Settings {
    /// Lively mid-tone colours on which white letters reach the contrast large text needs at
    /// every hue (Okhsl keeps the hues equally light); capitals a little over a third of the
    /// side.
    fn default() -> Self {
        Self {
            background: None,
            palette: HuePalette {
                saturation: 0.7,
                lightness: 0.55,
                variation: 0.05,
            },
            color: None,
            font_scale: 0.36,
        }
    }
}

impl Settings {
    /// A fixed background colour.
    pub const BACKGROUND_KEY: &str = "background";
    /// A fixed text colour.
    pub const COLOR_KEY: &str = "color";
    /// The capitals' height.
    pub const FONT_SCALE_KEY: &str = "font_scale";

    /// Reads the settings through `get` (the host's `config.get`), applying the defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, GenerateError> {
        let lookup = Lookup::new(PLUGIN, get);
        let defaults = Self::default();
        // In this order, so that of several bad settings the first here is the one reported.
        Ok(Self {
            background: lookup.color(Self::BACKGROUND_KEY)?,
            palette: HuePalette::from_lookup(&lookup, defaults.palette)?,
            color: lookup.color(Self::COLOR_KEY)?,
            font_scale: lookup
                .number(
                    Self::FONT_SCALE_KEY,
                    &format!(
                        "a number from {} to {}",
                        FONT_SCALE_RANGE.start(),
                        FONT_SCALE_RANGE.end()
                    ),
                    |scale: &f32| FONT_SCALE_RANGE.contains(scale),
                )?
                .unwrap_or(defaults.font_scale),
        })
    }

    /// The background for a hash's bytes (at least 16).
    pub fn background_of(&self, bytes: &[u8]) -> Rgba {
        self.background.unwrap_or_else(|| {
            let last: [u8; 4] = bytes[bytes.len() - 4..]
                .try_into()
                .expect("a hash has at least 16 bytes");
            self.palette.pick(last)
        })
    }

    /// The text colour on `background`.
    pub fn text_color_on(&self, background: Rgba) -> Rgba {
        self.color.unwrap_or_else(|| contrasting(background))
    }
}

/// The WCAG contrast ratio that large text needs (level AA): the letters here are large.
pub const LARGE_TEXT_CONTRAST: f64 = 3.0;

/// White if it reaches [`LARGE_TEXT_CONTRAST`] with `background` (its alpha ignored), else
/// whichever of white and [`INK`] contrasts more. White first, because on mid tones that
/// both pass it reads as lighter and calmer than near-black.
pub fn contrasting(background: Rgba) -> Rgba {
    let behind = luminance(background);
    let white = contrast(luminance(WHITE), behind);
    if white >= LARGE_TEXT_CONTRAST || white >= contrast(luminance(INK), behind) {
        WHITE
    } else {
        INK
    }
}

/// The WCAG contrast ratio of two luminances, from 1 to 21.
pub fn contrast(a: f64, b: f64) -> f64 {
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

/// The relative luminance of a colour (WCAG 2), from 0 (black) to 1 (white). `libm`'s `pow`
/// is the same code natively and in Wasm, so the choice it makes is too.
pub fn luminance([r, g, b, _]: Rgba) -> f64 {
    let linear = |channel: u8| {
        let c = f64::from(channel) / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            libm::pow((c + 0.055) / 1.055, 2.4)
        }
    };
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

/// The letters `request` asks for, or the hash's if `font` cannot draw them all.
pub fn drawn_letters(font: &EmbeddedFont, request: &Request) -> Letters {
    let chosen = letters::choose(request.initials, request.name, request.hash);
    if font.can_draw(&chosen.letters) {
        chosen
    } else {
        letters::from_hash(request.hash)
    }
}

/// Draws the initials `request` asks for.
pub fn generate(settings: &Settings, request: &Request) -> Result<Picture, GenerateError> {
    let bytes = parse_hash(request.hash)?;
    let size = request.size;
    check_side(size)?;
    let background = settings.background_of(&bytes);
    let text = settings.text_color_on(background);

    let font = EmbeddedFont::new();
    let letters = drawn_letters(&font, request);
    let side = size as f32;
    let mut pixmap = Pixmap::new(size, size).expect("1 to 4096 pixels a side");
    pixmap.fill(color(background));
    // The hash's hex digits are always drawable, so an outline is always there.
    if let Some(outline) = font.outline(&letters.letters, side, settings.font_scale * side) {
        let mut paint = Paint::default();
        paint.set_color(color(text));
        paint.anti_alias = true;
        pixmap.fill_path(
            &outline,
            &paint,
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
    // tiny-skia keeps premultiplied pixels; the WIT's rgba8 is straight alpha.
    Ok(Picture {
        size,
        data: pixmap.take_demultiplied(),
    })
}

fn color([r, g, b, a]: Rgba) -> Color {
    Color::from_rgba8(r, g, b, a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::letters::Source;

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

    fn request<'a>(hash: &'a str, size: u32, name: Option<&'a str>) -> Request<'a> {
        Request {
            hash,
            size,
            initials: None,
            name,
        }
    }

    fn draw(request: &Request) -> Picture {
        generate(&Settings::default(), request).expect("draws")
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

    /// The smallest box (left, top, right, bottom; inclusive) of pixels unlike `background`.
    fn ink_box(picture: &Picture, background: Rgba) -> Option<(u32, u32, u32, u32)> {
        let mut found: Option<(u32, u32, u32, u32)> = None;
        for y in 0..picture.size {
            for x in 0..picture.size {
                if picture.pixel(x, y) != background {
                    let (l, t, r, b) = found.unwrap_or((x, y, x, y));
                    found = Some((l.min(x), t.min(y), r.max(x), b.max(y)));
                }
            }
        }
        found
    }

    #[test]
    fn every_size_has_the_right_number_of_bytes() {
        for size in (1..=64).chain([80, 127, 256, 512, 1000, 4096]) {
            for name in [None, Some("Émile Zola")] {
                let picture = draw(&request(MD5, size, name));
                assert_eq!(picture.size, size);
                assert_eq!(picture.data.len(), size as usize * size as usize * 4);
            }
        }
    }

    #[test]
    fn the_same_request_gives_the_same_pixels() {
        for (hash, name) in [
            (MD5, None),
            (SHA1, Some("Ada Lovelace")),
            (SHA256, Some("李")),
        ] {
            let a = draw(&request(hash, 96, name));
            assert!(a == draw(&request(hash, 96, name)), "{hash} {name:?}");
        }
    }

    #[test]
    fn different_hashes_give_visibly_different_pictures() {
        for name in [None, Some("Ada Lovelace")] {
            let mut seen = std::collections::HashSet::new();
            let mut previous: Option<Picture> = None;
            let mut alike = 0;
            for hash in hashes(300) {
                let picture = draw(&request(&hash, 24, name));
                if let Some(previous) = &previous {
                    // The mean difference per channel, out of 255.
                    let total: u64 = (previous.data.iter().zip(&picture.data))
                        .map(|(a, b)| u64::from(a.abs_diff(*b)))
                        .sum();
                    if total / picture.data.len() as u64 <= 3 {
                        alike += 1;
                    }
                }
                assert!(
                    seen.insert(picture.data.clone()),
                    "{hash} repeats a picture"
                );
                previous = Some(picture);
            }
            // Neighbours in the list are unrelated hashes: few may look nearly the same.
            assert!(alike <= 15, "{name:?}: {alike} of 299 alike");
        }
    }

    #[test]
    fn letters_are_drawn_centred_and_as_tall_as_the_setting() {
        let size = 200;
        let bytes = parse_hash(MD5).expect("hex");
        let background = Settings::default().background_of(&bytes);
        for (name, scale) in [("Hugo Hill", "0.36"), ("Hugo Hill", "0.2"), ("Ida", "0.5")] {
            let settings = settings(&[("font_scale", scale)]).expect("valid");
            let picture = generate(&settings, &request(MD5, size, Some(name))).expect("draws");
            let (l, t, r, b) = ink_box(&picture, background).expect("letters");
            // H and I are as tall as a capital, with no overshoot; anti-aliasing adds a pixel.
            let expected = settings.font_scale * size as f32;
            let height = (b - t + 1) as f32;
            assert!(
                (height - expected).abs() <= 2.0,
                "{name} {scale}: {height} vs {expected}"
            );
            let (middle_x, middle_y) = ((l + r) as f32 / 2.0, (t + b) as f32 / 2.0);
            assert!((middle_x - 99.5).abs() <= 1.0, "{name} {scale}: {l}..{r}");
            assert!((middle_y - 99.5).abs() <= 1.0, "{name} {scale}: {t}..{b}");
            // The middle of the H's crossbar is letter-coloured.
            assert_eq!(
                picture.pixel(l + 3, 100),
                settings.text_color_on(background)
            );
        }
    }

    #[test]
    fn letters_the_font_lacks_fall_back_to_the_hash_digits() {
        let font = EmbeddedFont::new();
        let hash_only = draw(&request(SHA1, 64, None));
        let lacking = ["李小龍", "🙂x", "עברית", "Á\u{302}c", "A李"];
        for text in lacking {
            let asked = Request {
                initials: Some(text),
                ..request(SHA1, 64, None)
            };
            let letters = drawn_letters(&font, &asked);
            assert_eq!(
                (letters.source, letters.text()),
                (Source::Hash, "01".into())
            );
            assert!(draw(&asked) == hash_only, "initials {text:?}");
        }
        // As names: the first letters of the first and last words.
        for name in ["李小龍", "עברית", "Á\u{302}da Lovelace", "Ada 李"] {
            assert!(
                draw(&request(SHA1, 64, Some(name))) == hash_only,
                "name {name:?}"
            );
        }
        // Drawable letters are drawn, and differ from the digits.
        let ada = request(SHA1, 64, Some("Ada Lovelace"));
        assert_eq!(drawn_letters(&font, &ada).source, Source::Name);
        assert!(draw(&ada) != hash_only);
    }

    #[test]
    fn text_contrasts_with_the_background() {
        let cases = [
            ([0x1a, 0x3d, 0x8f, 0xff], WHITE), // dark blue
            ([0x77, 0x77, 0x77, 0xff], WHITE), // mid grey: 4.5 to 1 for white
            ([0x94, 0x94, 0x94, 0xff], WHITE), // 3.03 to 1: still white
            ([0x95, 0x95, 0x95, 0xff], INK),   // 2.99 to 1 for white, 5.6 for ink
            ([0xff, 0xff, 0x00, 0xff], INK),   // yellow
            ([0xff, 0xff, 0xff, 0x00], INK),   // white, however transparent
            ([0x00, 0x00, 0x00, 0xff], WHITE),
        ];
        for (background, expected) in cases {
            assert_eq!(contrasting(background), expected, "{background:?}");
        }
        // Every default background takes white, at a contrast fit for large text.
        for hash in hashes(300) {
            let background = Settings::default().background_of(&parse_hash(&hash).expect("hex"));
            let ratio = contrast(luminance(WHITE), luminance(background));
            assert!(
                ratio >= LARGE_TEXT_CONTRAST,
                "{hash}: {background:?} {ratio}"
            );
        }
    }

    #[test]
    fn fixed_colours_replace_the_hash_colours() {
        let settings =
            settings(&[("background", "#00000000"), ("color", "#ff000080")]).expect("valid");
        let picture = generate(&settings, &request(MD5, 64, Some("Max"))).expect("draws");
        assert_eq!(picture.pixel(0, 0), [0, 0, 0, 0]);
        let (l, _, _, _) = ink_box(&picture, [0, 0, 0, 0]).expect("letters");
        // The M's left stem, fully covered: the text colour as it is (straight alpha).
        assert_eq!(picture.pixel(l + 1, 32), [255, 0, 0, 128]);
    }

    #[test]
    fn one_pixel_is_one_colour_near_the_background() {
        let picture = draw(&request(MD5, 1, Some("Wolfgang Amadeus Mozart")));
        let background = Settings::default().background_of(&parse_hash(MD5).expect("hex"));
        let pixel = picture.pixel(0, 0);
        for channel in 0..3 {
            let (drawn, behind) = (pixel[channel], background[channel]);
            assert!(
                drawn >= behind && drawn - behind <= 80,
                "{pixel:?} on {background:?}"
            );
        }
    }

    #[test]
    fn hostile_text_still_draws() {
        let long = "\u{202e}\u{301}W\u{200d}".repeat(64);
        for text in [
            long.as_str(),
            "\0\0\0",
            "\u{fffd}",
            "ǅ ǈ ǋ",
            "\u{1f600}\u{fe0f}",
        ] {
            for (initials, name) in [(Some(text), None), (None, Some(text))] {
                let picture = draw(&Request {
                    initials,
                    name,
                    ..request(SHA256, 33, None)
                });
                assert_eq!(picture.data.len(), 33 * 33 * 4);
            }
        }
    }

    #[test]
    fn settings_read_with_defaults_or_misconfigure() {
        assert_eq!(settings(&[]), Ok(Settings::default()));
        assert_eq!(
            settings(&[
                ("background", "#336699"),
                ("saturation", "0.2"),
                ("lightness", "0.3"),
                ("variation", "0"),
                ("color", "#fafafa"),
                ("font_scale", " 0.5 "),
            ]),
            Ok(Settings {
                background: Some([0x33, 0x66, 0x99, 0xff]),
                palette: HuePalette {
                    saturation: 0.2,
                    lightness: 0.3,
                    variation: 0.0,
                },
                color: Some([0xfa, 0xfa, 0xfa, 0xff]),
                font_scale: 0.5,
            })
        );
        for (key, value, message) in [
            (
                "background",
                "red",
                "`background` must be `#rrggbb` or `#rrggbbaa`",
            ),
            (
                "color",
                "#12345",
                "`color` must be `#rrggbb` or `#rrggbbaa`",
            ),
            (
                "saturation",
                "1.5",
                "`saturation` must be a number from 0 to 1",
            ),
            ("lightness", "x", "`lightness` must be a number from 0 to 1"),
            (
                "variation",
                "1",
                "`variation` must be a number from 0 to 0.5",
            ),
            (
                "font_scale",
                "0",
                "`font_scale` must be a number from 0.05 to 0.8",
            ),
            (
                "font_scale",
                "0.81",
                "`font_scale` must be a number from 0.05 to 0.8",
            ),
            (
                "font_scale",
                "NaN",
                "`font_scale` must be a number from 0.05 to 0.8",
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
        for hash in ["", "abc", "0bc83cb571cd1c50ba6f3e8a78ef134g"] {
            assert!(
                matches!(
                    generate(&Settings::default(), &request(hash, 8, None)),
                    Err(GenerateError::InvalidInput(_))
                ),
                "{hash:?}"
            );
        }
        for size in [0, MAX_SIDE + 1] {
            assert!(matches!(
                generate(&Settings::default(), &request(MD5, size, None)),
                Err(GenerateError::InvalidInput(_))
            ));
        }
    }
}
