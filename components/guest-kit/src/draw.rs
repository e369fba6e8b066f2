//! What the drawing generators share: the request's checks, dice thrown by the hash, colours,
//! the `background` setting, and a vector canvas in design units that returns `rgba8` pixels.
//!
//! # The same pixels natively and in Wasm
//! A generator's picture is cached and tagged by the host, so it must not depend on where it
//! was drawn. The canvas is tiny-skia built without `std` and `simd` (see the workspace's
//! `Cargo.toml`): its pipelines then run the same scalar arithmetic on every target, and its
//! few transcendental functions come from libm, pure Rust, instead of the platform's C library.
//! Generators do the same: angles go through [`polar`], never `f32::sin`.
//!
//! # Design units
//! Generators draw on a square of [`UNITS`] x [`UNITS`] whatever the size asked for; the
//! canvas scales it. Shapes are anti-aliased, so small sizes are a faithful blur of large ones
//! and a 1 x 1 picture is the average of the design.

use tiny_skia::{FillRule, LineCap, LineJoin, Paint, Pixmap, Rect, Stroke, Transform};
pub use tiny_skia::{Path, PathBuilder};

use crate::{GuestError, Rgba, parse_color, parse_hex};

/// The largest side a generator draws: 64 MiB of pixels.
pub const MAX_SIZE: u32 = 4096;

/// The side of the design square generators draw on, in design units.
pub const UNITS: f32 = 100.0;

/// Fully transparent: the `background` setting's `transparent`.
pub const TRANSPARENT: Rgba = [0, 0, 0, 0];

/// The bytes of an avatar hash, 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex digits, after
/// checking `size` is one a generator draws (1 to [`MAX_SIZE`]).
pub fn check_request(hash: &str, size: u32) -> Result<Vec<u8>, GuestError> {
    if ![32, 40, 64].contains(&hash.len()) {
        return Err(GuestError::InvalidInput(format!(
            "the hash has {} characters, not 32, 40 or 64 hex digits",
            hash.len()
        )));
    }
    let bytes = parse_hex(hash)
        .ok_or_else(|| GuestError::InvalidInput("the hash is not hex digits".to_owned()))?;
    if size == 0 || size > MAX_SIZE {
        return Err(GuestError::InvalidInput(format!(
            "size {size} is not from 1 to {MAX_SIZE}"
        )));
    }
    Ok(bytes)
}

/// Reads a background setting through `get`: `#rrggbb`, `#rrggbbaa` or `transparent` (any
/// case). `None` when unset, for the generator's default.
pub fn background_setting(
    plugin: &'static str,
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
) -> Result<Option<Rgba>, GuestError> {
    let Some(text) = get(key) else {
        return Ok(None);
    };
    if text.eq_ignore_ascii_case("transparent") {
        return Ok(Some(TRANSPARENT));
    }
    parse_color(&text).map(Some).ok_or_else(|| {
        GuestError::misconfigured(
            plugin,
            format!("`{key}` must be `#rrggbb`, `#rrggbbaa` or `transparent`"),
        )
    })
}

/// The choices a picture makes, thrown by its hash: a splitmix64 stream seeded with every byte
/// of the hash, so each choice depends on all of them and a generator may make as many as it
/// likes (an MD5 has only 128 bits). Integer arithmetic only, the same on every target.
#[derive(Clone, Debug)]
pub struct Dice {
    state: u64,
}

impl Dice {
    /// The dice of `hash`'s bytes.
    pub fn from_hash(hash: &[u8]) -> Self {
        let mut dice = Self {
            state: 0x243f_6a88_85a3_08d3 ^ hash.len() as u64,
        };
        for chunk in hash.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            dice.state ^= u64::from_be_bytes(word);
            dice.next_u64();
        }
        dice
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// One of `0..n` (0 when `n` is 0); the bias of 64 bits modulo a small `n` is negligible.
    pub fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % u64::from(n)) as u32
    }

    /// A number in `lo..hi`, in steps of 2^-24 of the range.
    pub fn between(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u32 << 24) as f32;
        lo + (hi - lo) * unit
    }

    /// One of `choices`, all equally likely.
    pub fn pick<T: Copy, const N: usize>(&mut self, choices: &[T; N]) -> T {
        const { assert!(N > 0, "nothing to pick from") };
        choices[self.below(N as u32) as usize]
    }

    /// True one time in `n` (never when `n` is 0).
    pub fn one_in(&mut self, n: u32) -> bool {
        n != 0 && self.below(n) == 0
    }
}

/// An opaque colour from hue (degrees, any value, wrapped), saturation and lightness (`0..=1`).
pub fn hsl(hue: f32, saturation: f32, lightness: f32) -> Rgba {
    let hue = hue.rem_euclid(360.0);
    let (saturation, lightness) = (saturation.clamp(0.0, 1.0), lightness.clamp(0.0, 1.0));
    let chroma = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let sector = hue / 60.0;
    let x = chroma * (1.0 - (sector % 2.0 - 1.0).abs());
    let (r, g, b) = match sector as u32 {
        0 => (chroma, x, 0.0),
        1 => (x, chroma, 0.0),
        2 => (0.0, chroma, x),
        3 => (0.0, x, chroma),
        4 => (x, 0.0, chroma),
        _ => (chroma, 0.0, x),
    };
    let m = lightness - chroma / 2.0;
    let byte = |v: f32| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    [byte(r), byte(g), byte(b), 255]
}

/// `from` moved towards `to` by `amount` (`0..=1`), alpha included.
pub fn mix(from: Rgba, to: Rgba, amount: f32) -> Rgba {
    let amount = amount.clamp(0.0, 1.0);
    let mut out = from;
    for (channel, target) in out.iter_mut().zip(to) {
        let value = f32::from(*channel) + (f32::from(target) - f32::from(*channel)) * amount;
        *channel = value.round() as u8;
    }
    out
}

/// `color` with its alpha multiplied by `opacity` (`0..=1`).
pub fn faded(color: Rgba, opacity: f32) -> Rgba {
    let [r, g, b, a] = color;
    [
        r,
        g,
        b,
        (f32::from(a) * opacity.clamp(0.0, 1.0)).round() as u8,
    ]
}

/// The point at `radius` from (`cx`, `cy`) at `degrees` clockwise from the right (y grows
/// downwards), computed with libm so that it is the same on every target.
pub fn polar(cx: f32, cy: f32, radius: f32, degrees: f32) -> (f32, f32) {
    let radians = degrees.to_radians();
    (
        cx + radius * libm::cosf(radians),
        cy + radius * libm::sinf(radians),
    )
}

/// A circle; `None` when it has no area.
pub fn circle(cx: f32, cy: f32, radius: f32) -> Option<Path> {
    ellipse(cx, cy, radius, radius)
}

/// An axis-aligned ellipse; `None` when it has no area.
pub fn ellipse(cx: f32, cy: f32, rx: f32, ry: f32) -> Option<Path> {
    if !(rx > 0.0 && ry > 0.0) {
        return None;
    }
    PathBuilder::from_oval(Rect::from_xywh(cx - rx, cy - ry, 2.0 * rx, 2.0 * ry)?)
}

/// A rectangle with corners rounded by `radius` (shrunk to fit); `None` when it has no area.
pub fn rounded_rect(x: f32, y: f32, width: f32, height: f32, radius: f32) -> Option<Path> {
    if !(width > 0.0 && height > 0.0) {
        return None;
    }
    let r = radius.clamp(0.0, width.min(height) / 2.0);
    // The distance of a cubic's control points from its ends for a quarter circle.
    let k = r * (1.0 - 0.552_284_8);
    let (right, bottom) = (x + width, y + height);
    let mut path = PathBuilder::new();
    path.move_to(x + r, y);
    path.line_to(right - r, y);
    path.cubic_to(right - k, y, right, y + k, right, y + r);
    path.line_to(right, bottom - r);
    path.cubic_to(right, bottom - k, right - k, bottom, right - r, bottom);
    path.line_to(x + r, bottom);
    path.cubic_to(x + k, bottom, x, bottom - k, x, bottom - r);
    path.line_to(x, y + r);
    path.cubic_to(x, y + k, x + k, y, x + r, y);
    path.close();
    path.finish()
}

/// A closed polygon through `points`.
pub fn polygon(points: &[(f32, f32)]) -> Option<Path> {
    let (first, rest) = points.split_first()?;
    let mut path = PathBuilder::new();
    path.move_to(first.0, first.1);
    for point in rest {
        path.line_to(point.0, point.1);
    }
    path.close();
    path.finish()
}

/// An open line through `points`, straight segments.
pub fn polyline(points: &[(f32, f32)]) -> Option<Path> {
    let (first, rest) = points.split_first()?;
    let mut path = PathBuilder::new();
    path.move_to(first.0, first.1);
    for point in rest {
        path.line_to(point.0, point.1);
    }
    path.finish()
}

/// A smooth closed curve through `points` (a Catmull-Rom spline as cubics): blobs.
pub fn smooth_closed(points: &[(f32, f32)]) -> Option<Path> {
    let n = points.len();
    if n < 3 {
        return polygon(points);
    }
    let at = |i: usize| points[i % n];
    let mut path = PathBuilder::new();
    path.move_to(points[0].0, points[0].1);
    for i in 0..n {
        let (before, from, to, after) = (at(i + n - 1), at(i), at(i + 1), at(i + 2));
        catmull_rom(&mut path, before, from, to, after);
    }
    path.close();
    path.finish()
}

/// A smooth open curve through `points` (a Catmull-Rom spline as cubics): waves and strokes.
pub fn smooth_open(points: &[(f32, f32)]) -> Option<Path> {
    if points.len() < 2 {
        return None;
    }
    let mut path = PathBuilder::new();
    spline(&mut path, points);
    path.finish()
}

/// Continues `path` with a smooth curve through `points`: a line to the first (or a move, when
/// the path is empty), then a Catmull-Rom spline through the rest. For shapes with one wavy
/// side.
pub fn spline(path: &mut PathBuilder, points: &[(f32, f32)]) {
    let Some(&(x, y)) = points.first() else {
        return;
    };
    if path.is_empty() {
        path.move_to(x, y);
    } else {
        path.line_to(x, y);
    }
    let n = points.len();
    for i in 0..n.saturating_sub(1) {
        let before = points[i.saturating_sub(1)];
        let after = points[(i + 2).min(n - 1)];
        catmull_rom(path, before, points[i], points[i + 1], after);
    }
}

/// The cubic from `from` to `to` of the Catmull-Rom spline through the four points.
fn catmull_rom(
    path: &mut PathBuilder,
    before: (f32, f32),
    from: (f32, f32),
    to: (f32, f32),
    after: (f32, f32),
) {
    path.cubic_to(
        from.0 + (to.0 - before.0) / 6.0,
        from.1 + (to.1 - before.1) / 6.0,
        to.0 - (after.0 - from.0) / 6.0,
        to.1 - (after.1 - from.1) / 6.0,
        to.0,
        to.1,
    );
}

/// A square `rgba8` picture: `size * size * 4` bytes, rows top to bottom, not premultiplied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// The side in pixels.
    pub size: u32,
    /// The pixels.
    pub data: Vec<u8>,
}

/// A square picture being drawn in design units: a tiny-skia pixmap scaled from [`UNITS`].
pub struct Canvas {
    pixmap: Pixmap,
    transform: Transform,
}

impl Canvas {
    /// A `size` x `size` canvas (1 to [`MAX_SIZE`]) filled with `background`.
    pub fn new(size: u32, background: Rgba) -> Result<Self, GuestError> {
        if size == 0 || size > MAX_SIZE {
            return Err(GuestError::InvalidInput(format!(
                "size {size} is not from 1 to {MAX_SIZE}"
            )));
        }
        let mut pixmap = Pixmap::new(size, size).ok_or_else(|| {
            GuestError::InvalidInput(format!("no room for a {size} x {size} picture"))
        })?;
        let [r, g, b, a] = background;
        pixmap.fill(tiny_skia::Color::from_rgba8(r, g, b, a));
        let scale = size as f32 / UNITS;
        Ok(Self {
            pixmap,
            transform: Transform::from_scale(scale, scale),
        })
    }

    /// Fills `shape` (nothing when it is `None`: a shape without area).
    pub fn fill(&mut self, shape: Option<Path>, color: Rgba) {
        if let Some(path) = shape {
            self.pixmap.fill_path(
                &path,
                &paint(color),
                FillRule::Winding,
                self.transform,
                None,
            );
        }
    }

    /// Strokes `shape` with round caps and joins, `width` design units wide.
    pub fn stroke(&mut self, shape: Option<Path>, color: Rgba, width: f32) {
        if let Some(path) = shape {
            let stroke = Stroke {
                width,
                line_cap: LineCap::Round,
                line_join: LineJoin::Round,
                ..Stroke::default()
            };
            self.pixmap
                .stroke_path(&path, &paint(color), &stroke, self.transform, None);
        }
    }

    /// Fills `shape` and strokes its edge: a cartoon's outlined part.
    pub fn outlined(&mut self, shape: Option<Path>, color: Rgba, outline: Rgba, width: f32) {
        if let Some(path) = shape {
            self.fill(Some(path.clone()), color);
            self.stroke(Some(path), outline, width);
        }
    }

    /// The picture, demultiplied.
    pub fn into_picture(self) -> Picture {
        Picture {
            size: self.pixmap.width(),
            data: self.pixmap.take_demultiplied(),
        }
    }
}

fn paint(color: Rgba) -> Paint<'static> {
    let mut paint = Paint::default();
    let [r, g, b, a] = color;
    paint.set_color_rgba8(r, g, b, a);
    paint.anti_alias = true;
    paint
}

/// Helpers for the generators' tests, shared so that each judges its pictures the same way.
pub mod testing {
    /// `count` distinct, hash-like MD5-length hex strings (a fixed splitmix64 sequence).
    pub fn sample_hashes(count: usize) -> Vec<String> {
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

    /// The share of pixels (`0..=1`) of two same-sized `rgba8` pictures where some channel
    /// differs by more than `threshold`: how much of a picture visibly changed.
    pub fn changed_share(a: &[u8], b: &[u8], threshold: u8) -> f64 {
        assert_eq!(a.len(), b.len(), "pictures of different sizes");
        let pixels = a.len() / 4;
        if pixels == 0 {
            return 0.0;
        }
        let changed = a
            .chunks_exact(4)
            .zip(b.chunks_exact(4))
            .filter(|(p, q)| p.iter().zip(*q).any(|(x, y)| x.abs_diff(*y) > threshold))
            .count();
        changed as f64 / pixels as f64
    }

    /// A 64-bit FNV-1a digest of `bytes`, for golden tests of whole pictures.
    pub fn digest(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(value: Option<&str>) -> Result<Option<Rgba>, GuestError> {
        let get = |key: &str| {
            (key == "background")
                .then(|| value.map(str::to_owned))
                .flatten()
        };
        background_setting("generate-test", &get, "background")
    }

    #[test]
    fn requests_are_checked() {
        assert_eq!(
            check_request("00ff00ff00ff00ff00ff00ff00ff00ff", 1),
            Ok([0, 255].repeat(8))
        );
        assert!(check_request(&"A".repeat(40), MAX_SIZE).is_ok());
        assert!(check_request(&"a".repeat(64), 80).is_ok());
        let bad = [
            ("", 80),
            ("0bc83cb571cd1c50ba6f3e8a78ef134", 80),
            ("0bc83cb571cd1c50ba6f3e8a78ef134g", 80),
            ("0bc83cb571cd1c50ba6f3e8a78ef134é", 80),
            ("0bc83cb571cd1c50ba6f3e8a78ef1346", 0),
            ("0bc83cb571cd1c50ba6f3e8a78ef1346", MAX_SIZE + 1),
            ("0bc83cb571cd1c50ba6f3e8a78ef1346", u32::MAX),
        ];
        for (hash, size) in bad {
            assert!(
                matches!(check_request(hash, size), Err(GuestError::InvalidInput(_))),
                "{hash:?} {size}"
            );
        }
    }

    #[test]
    fn backgrounds_are_colours_or_transparent() {
        let cases = [
            (None, Some(None)),
            (Some("#102030"), Some(Some([16, 32, 48, 255]))),
            (Some("#10203040"), Some(Some([16, 32, 48, 64]))),
            (Some("transparent"), Some(Some(TRANSPARENT))),
            (Some("Transparent"), Some(Some(TRANSPARENT))),
            (Some("none"), None),
            (Some("#fff"), None),
            (Some(" transparent"), None),
            (Some(""), None),
        ];
        for (value, expected) in cases {
            match expected {
                Some(expected) => assert_eq!(lookup(value), Ok(expected), "{value:?}"),
                None => assert_eq!(
                    lookup(value),
                    Err(GuestError::misconfigured(
                        "generate-test",
                        "`background` must be `#rrggbb`, `#rrggbbaa` or `transparent`"
                    )),
                    "{value:?}"
                ),
            }
        }
    }

    #[test]
    fn dice_follow_every_byte_of_the_hash() {
        let hash = [7u8; 16];
        let first: Vec<u64> = (0..4)
            .scan(Dice::from_hash(&hash), |d, _| Some(d.next_u64()))
            .collect();
        let again: Vec<u64> = (0..4)
            .scan(Dice::from_hash(&hash), |d, _| Some(d.next_u64()))
            .collect();
        assert_eq!(first, again);
        for byte in 0..16 {
            let mut other = hash;
            other[byte] ^= 1;
            assert_ne!(Dice::from_hash(&other).next_u64(), first[0], "byte {byte}");
        }
        // A longer hash that starts the same is another hash.
        assert_ne!(Dice::from_hash(&[7u8; 20]).next_u64(), first[0]);
    }

    #[test]
    fn dice_stay_in_range() {
        let mut dice = Dice::from_hash(&[1; 16]);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            seen[dice.below(5) as usize] = true;
            let x = dice.between(-2.0, 3.0);
            assert!((-2.0..3.0).contains(&x), "{x}");
        }
        assert_eq!(seen, [true; 5]);
        let mut picked = [false; 3];
        for _ in 0..100 {
            picked[dice.pick(&[0, 1, 2])] = true;
        }
        assert_eq!(picked, [true; 3]);
        assert_eq!(dice.below(0), 0);
        assert!(!dice.one_in(0));
        assert!(dice.one_in(1));
    }

    #[test]
    fn colours() {
        assert_eq!(hsl(0.0, 1.0, 0.5), [255, 0, 0, 255]);
        assert_eq!(hsl(120.0, 1.0, 0.5), [0, 255, 0, 255]);
        assert_eq!(hsl(-120.0, 1.0, 0.5), [0, 0, 255, 255]);
        assert_eq!(hsl(720.0, 0.0, 1.0), [255, 255, 255, 255]);
        assert_eq!(hsl(f32::NAN, 0.5, 0.5)[3], 255);
        assert_eq!(
            mix([0, 0, 0, 255], [255, 255, 255, 255], 0.5),
            [128, 128, 128, 255]
        );
        assert_eq!(mix([10, 20, 30, 40], [0; 4], 0.0), [10, 20, 30, 40]);
        assert_eq!(faded([1, 2, 3, 255], 0.5), [1, 2, 3, 128]);
    }

    #[test]
    fn polar_points_go_clockwise_from_the_right() {
        let close = |(x, y): (f32, f32), (ex, ey): (f32, f32)| {
            (x - ex).abs() < 1e-4 && (y - ey).abs() < 1e-4
        };
        assert!(close(polar(50.0, 50.0, 10.0, 0.0), (60.0, 50.0)));
        assert!(close(polar(50.0, 50.0, 10.0, 90.0), (50.0, 60.0)));
        assert!(close(polar(0.0, 0.0, 2.0, 180.0), (-2.0, 0.0)));
    }

    #[test]
    fn a_canvas_is_its_size_and_background() {
        for size in [1, 2, 3, 17, 100] {
            let canvas = Canvas::new(size, [10, 20, 30, 255]).expect("a canvas");
            let pixels = canvas.into_picture().data;
            assert_eq!(pixels.len(), size as usize * size as usize * 4);
            assert!(pixels.chunks_exact(4).all(|p| p == [10, 20, 30, 255]));
        }
        for size in [0, MAX_SIZE + 1] {
            assert!(Canvas::new(size, TRANSPARENT).is_err(), "{size}");
        }
    }

    #[test]
    fn shapes_are_drawn_in_design_units() {
        let mut canvas = Canvas::new(10, TRANSPARENT).expect("a canvas");
        // The left half, in design units, is the left 5 pixels at any size.
        canvas.fill(rounded_rect(0.0, 0.0, 50.0, 100.0, 0.0), [255, 0, 0, 255]);
        canvas.fill(None, [0, 255, 0, 255]);
        let pixels = canvas.into_picture().data;
        for (i, pixel) in pixels.chunks_exact(4).enumerate() {
            let expected = if i % 10 < 5 {
                [255, 0, 0, 255]
            } else {
                TRANSPARENT
            };
            assert_eq!(pixel, expected, "pixel {i}");
        }
        // A half-covered pixel keeps its colour and gets half the alpha, not premultiplied.
        let mut canvas = Canvas::new(1, TRANSPARENT).expect("a canvas");
        canvas.fill(rounded_rect(0.0, 0.0, 50.0, 100.0, 0.0), [200, 100, 0, 255]);
        let pixel = canvas.into_picture().data;
        assert!((126..=130).contains(&pixel[3]), "{pixel:?}");
        assert!(
            pixel[0].abs_diff(200) <= 2 && pixel[1].abs_diff(100) <= 2,
            "{pixel:?}"
        );
    }

    #[test]
    fn degenerate_shapes_draw_nothing() {
        assert!(circle(5.0, 5.0, 0.0).is_none());
        assert!(ellipse(5.0, 5.0, 3.0, 0.0).is_none());
        assert!(rounded_rect(0.0, 0.0, 0.0, 5.0, 1.0).is_none());
        assert!(rounded_rect(0.0, 0.0, f32::NAN, 5.0, 1.0).is_none());
        assert!(polygon(&[]).is_none());
        assert!(smooth_open(&[(1.0, 1.0)]).is_none());
        assert!(smooth_closed(&[(1.0, 1.0), (2.0, 2.0), (3.0, 1.0)]).is_some());
        assert!(smooth_open(&[(1.0, 1.0), (2.0, 2.0), (3.0, 1.0)]).is_some());
    }

    #[test]
    fn pictures_are_compared_by_visible_change() {
        let a = [0, 0, 0, 255].repeat(4);
        let mut b = a.clone();
        b[0] = 10;
        assert_eq!(testing::changed_share(&a, &b, 16), 0.0);
        b[4] = 200;
        assert_eq!(testing::changed_share(&a, &b, 16), 0.25);
        let hashes = testing::sample_hashes(50);
        let unique: std::collections::HashSet<&String> = hashes.iter().collect();
        assert_eq!(unique.len(), 50);
        assert!(hashes.iter().all(|h| check_request(h, 1).is_ok()));
        assert_ne!(testing::digest(&a), testing::digest(&b));
    }
}
