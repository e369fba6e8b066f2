//! The silhouette itself: settings, the figure's outline, and its drawing. Plain Rust with no
//! Wasm types, so that it builds and is tested natively; the component only converts types.
//!
//! # The figure
//! A head (a circle) above a bust (a dome whose foot runs off the bottom edge), apart by a
//! narrow gap, in one colour on a background. It is drawn in a unit square and scaled to the
//! side, anti-aliased by tiny-skia, so it is the same figure at every size; the same for every
//! hash, which is the point: it says "no picture" without singling anyone out.

pub use guest_kit::{GuestError as GenerateError, MAX_SIDE, Picture, Rgba};

use guest_kit::{Lookup, check_side, parse_hash};
use tiny_skia::{Color, FillRule, Paint, Path, PathBuilder, Pixmap, Transform};

/// The plugin's name, in its error messages.
const PLUGIN: &str = "generate-silhouette";

/// The head's centre and radius, in the unit square.
const HEAD: (f32, f32, f32) = (0.5, 0.375, 0.18);

/// The bust: its widest point at the bottom edge (half-width from the middle), the height of
/// its top, and how square its shoulders are (0 is a half-ellipse, 1 a box).
const BUST_HALF_WIDTH: f32 = 0.37;
const BUST_TOP: f32 = 0.615;
const SHOULDERS: f32 = 0.62;

/// The plugin's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Around the figure.
    pub background: Rgba,
    /// The figure.
    pub color: Rgba,
}

impl Default for Settings {
    /// A light cool grey figure on a mid cool grey: quiet next to real photographs, and readable
    /// at 16 pixels.
    fn default() -> Self {
        Self {
            background: [0xc5, 0xcb, 0xd3, 0xff],
            color: [0xf4, 0xf6, 0xf8, 0xff],
        }
    }
}

impl Settings {
    /// The colour around the figure.
    pub const BACKGROUND_KEY: &str = "background";
    /// The figure's colour.
    pub const COLOR_KEY: &str = "color";

    /// Reads the settings through `get` (the host's `config.get`), applying the defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, GenerateError> {
        let lookup = Lookup::new(PLUGIN, get);
        let defaults = Self::default();
        Ok(Self {
            background: lookup
                .color(Self::BACKGROUND_KEY)?
                .unwrap_or(defaults.background),
            color: lookup.color(Self::COLOR_KEY)?.unwrap_or(defaults.color),
        })
    }
}

/// The figure's outline in the unit square: the head and the bust, apart.
pub fn figure() -> Path {
    let mut path = PathBuilder::new();
    let (x, y, r) = HEAD;
    path.push_circle(x, y, r);

    // The bust: from the bottom left corner up the flank, round the shoulder to the top, and
    // the same mirrored. The foot lies below the square, so the bottom edge cuts it cleanly.
    let (left, right, foot) = (0.5 - BUST_HALF_WIDTH, 0.5 + BUST_HALF_WIDTH, 1.05);
    // Control points of a quarter: at the flank, up `SHOULDERS` of the way; at the top, out
    // `SHOULDERS` of the way. 0.55 would be a circle-like quarter of an ellipse.
    let rise = foot - BUST_TOP;
    let up = BUST_TOP + rise * (1.0 - SHOULDERS);
    let out = BUST_HALF_WIDTH * SHOULDERS;
    path.move_to(left, foot);
    path.cubic_to(left, up, 0.5 - out, BUST_TOP, 0.5, BUST_TOP);
    path.cubic_to(0.5 + out, BUST_TOP, right, up, right, foot);
    path.close();
    path.finish().expect("a fixed, finite, non-empty outline")
}

/// Draws the silhouette at `size` x `size` pixels. The hash is checked like every generator's,
/// but does not change the picture.
pub fn generate(settings: &Settings, hash: &str, size: u32) -> Result<Picture, GenerateError> {
    parse_hash(hash)?;
    check_side(size)?;
    let mut pixmap = Pixmap::new(size, size).expect("1 to 4096 pixels a side");
    pixmap.fill(color(settings.background));
    let mut paint = Paint::default();
    paint.set_color(color(settings.color));
    paint.anti_alias = true;
    let scale = size as f32;
    pixmap.fill_path(
        &figure(),
        &paint,
        FillRule::Winding,
        Transform::from_scale(scale, scale),
        None,
    );
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

    /// The share of pixels (per mille) of `picture` that are exactly `color`.
    fn share(picture: &Picture, color: Rgba) -> usize {
        let pixels = picture.data.chunks_exact(4);
        let total = pixels.len();
        pixels.filter(|p| *p == color).count() * 1000 / total
    }

    #[test]
    fn every_size_has_the_right_number_of_bytes() {
        for size in (1..=64).chain([80, 127, 256, 512, 1000, 4096]) {
            let picture = generate(&Settings::default(), MD5, size).expect("draws");
            assert_eq!(picture.size, size);
            assert_eq!(picture.data.len(), size as usize * size as usize * 4);
        }
    }

    #[test]
    fn every_hash_gets_the_same_pixels() {
        let picture = generate(&Settings::default(), MD5, 96).expect("draws");
        for hash in [MD5, SHA1, SHA256] {
            assert_eq!(
                generate(&Settings::default(), hash, 96),
                Ok(picture.clone())
            );
        }
    }

    #[test]
    fn the_figure_is_where_a_head_and_shoulders_are() {
        let settings = Settings::default();
        let (bg, fg) = (settings.background, settings.color);
        let picture = generate(&settings, MD5, 200).expect("draws");
        // (x, y, colour) in a 200 px square.
        let expected = [
            (100, 75, fg),  // the middle of the head
            (100, 42, fg),  // near the top of the head
            (100, 30, bg),  // above the head
            (100, 116, bg), // the gap between head and bust
            (100, 160, fg), // the chest
            (100, 199, fg), // the bust runs off the bottom edge
            (40, 199, fg),  // wide at the foot
            (10, 199, bg),  // but not to the corners
            (10, 10, bg),   // the corners are background
            (190, 10, bg),
            (30, 75, bg), // beside the head
            (170, 75, bg),
        ];
        for (x, y, color) in expected {
            assert_eq!(picture.pixel(x, y), color, "{x},{y}");
        }
        // The figure is about a third of the picture (not counting its edge pixels).
        let figure = share(&picture, fg);
        assert!((280..=400).contains(&figure), "{figure} ‰");
    }

    #[test]
    fn it_is_mirrored_left_to_right() {
        // Up to a step or two of the anti-aliasing's coverage: its sample grid is not symmetric.
        for size in [16, 33, 128] {
            let picture = generate(&Settings::default(), MD5, size).expect("draws");
            for y in 0..size {
                for x in 0..size / 2 {
                    let (left, right) = (picture.pixel(x, y), picture.pixel(size - 1 - x, y));
                    let close = left.iter().zip(right).all(|(a, b)| a.abs_diff(b) <= 6);
                    assert!(close, "{size}: {x},{y}: {left:?} {right:?}");
                }
            }
        }
    }

    #[test]
    fn edges_are_anti_aliased_and_small_sizes_keep_both_colours() {
        let settings = Settings::default();
        let picture = generate(&settings, MD5, 128).expect("draws");
        let (bg, fg) = (
            share(&picture, settings.background),
            share(&picture, settings.color),
        );
        // Edge pixels in between make up the rest.
        assert!(bg + fg < 1000 && bg + fg > 950, "{bg} + {fg}");
        let small = generate(&settings, MD5, 16).expect("draws");
        assert_eq!(small.pixel(0, 0), settings.background);
        assert_eq!(small.pixel(8, 6), settings.color);
        // One pixel: one colour between the two, as the figure covers part of it.
        let one = generate(&settings, MD5, 1).expect("draws").pixel(0, 0);
        for channel in 0..3 {
            let (lo, hi) = (settings.background[channel], settings.color[channel]);
            assert!(lo < one[channel] && one[channel] < hi, "{one:?}");
        }
    }

    #[test]
    fn colours_are_configurable_and_alpha_stays_straight() {
        let settings =
            settings(&[("background", "#00000000"), ("color", "#FF000080")]).expect("valid");
        let picture = generate(&settings, SHA1, 100).expect("draws");
        assert_eq!(picture.pixel(0, 0), [0, 0, 0, 0]);
        assert_eq!(picture.pixel(50, 80), [255, 0, 0, 128]);
        // An edge pixel of a translucent figure on nothing: still pure red, less opaque.
        let edge = picture
            .data
            .chunks_exact(4)
            .find(|p| p[3] > 0 && p[3] < 128)
            .expect("an edge pixel");
        assert!(edge[0] >= 250 && edge[1] <= 2 && edge[2] <= 2, "{edge:?}");
    }

    #[test]
    fn settings_read_with_defaults_or_misconfigure() {
        assert_eq!(settings(&[]), Ok(Settings::default()));
        assert_eq!(
            settings(&[("background", "#102030"), ("color", "#ffffffcc")]),
            Ok(Settings {
                background: [0x10, 0x20, 0x30, 0xff],
                color: [0xff, 0xff, 0xff, 0xcc],
            })
        );
        for (key, value) in [("background", "grey"), ("color", "#fff"), ("color", "")] {
            assert_eq!(
                settings(&[(key, value)]),
                Err(GenerateError::misconfigured(
                    PLUGIN,
                    format!("`{key}` must be `#rrggbb` or `#rrggbbaa`")
                )),
                "{key}={value}"
            );
        }
    }

    #[test]
    fn bad_hashes_and_sizes_are_invalid_input() {
        for hash in ["", "abc", "0bc83cb571cd1c50ba6f3e8a78ef134g"] {
            assert!(
                matches!(
                    generate(&Settings::default(), hash, 8),
                    Err(GenerateError::InvalidInput(_))
                ),
                "{hash:?}"
            );
        }
        for size in [0, MAX_SIDE + 1] {
            assert!(matches!(
                generate(&Settings::default(), MD5, size),
                Err(GenerateError::InvalidInput(_))
            ));
        }
    }
}
