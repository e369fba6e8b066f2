//! The identicon itself: settings, the hash's bits, the layout and the drawing. Plain Rust with
//! no Wasm types, so that it builds and is tested natively; the component only converts types.
//!
//! # From hash to picture
//! The hash is read as bytes. Its first bits choose the cells, column by column from the left
//! (top to bottom, most significant bit first), for the left half of the grid including the
//! middle column; the right half mirrors it. A set bit is a filled cell. Its last four bytes
//! choose the colour: a hue from the first two, saturation (50 to 70 %) and lightness (45 to
//! 60 %) from the other two. A 9x9 grid uses 45 bits, so the cells (first 6 bytes) and the
//! colour (last 4 of at least 16) never share a byte.
//!
//! # Layout
//! All integer: the margin is `round(size * margin)` pixels on each side (smaller when that
//! would leave no room), and the `n + 1` cell edges across the rest are rounded fractions of
//! it, placed symmetrically so that mirrored cells are equally wide. Every cell is one colour
//! with hard edges, and the cells fill the inner square exactly.

pub use guest_kit::{GuestError as GenerateError, Rgba};

use guest_kit::{Lookup, parse_hex};

/// The plugin's name, in its error messages.
const PLUGIN: &str = "generate-identicon";

/// The largest side this plugin draws: 64 MiB of pixels.
pub const MAX_SIZE: u32 = 4096;

/// The smallest and largest `grid`.
pub const GRID_RANGE: std::ops::RangeInclusive<u32> = 5..=9;

/// The largest `margin`, as a fraction of the side.
pub const MAX_MARGIN: f64 = 0.4;

/// The margin and its fraction are held in units of 1/10000 of the side.
const MARGIN_UNIT: u64 = 10_000;

/// A square `rgba8` picture: `size * size * 4` bytes, rows top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// The side in pixels.
    pub size: u32,
    /// The pixels.
    pub data: Vec<u8>,
}

/// The plugin's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Behind the cells and in the margin.
    pub background: Rgba,
    /// Cells per side.
    pub grid: u32,
    /// The margin on each side, in 1/10000 of the side.
    margin: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            background: [0xf0, 0xf0, 0xf0, 0xff],
            grid: 5,
            margin: 800,
        }
    }
}

impl Settings {
    /// The background colour.
    pub const BACKGROUND_KEY: &str = "background";
    /// Cells per side.
    pub const GRID_KEY: &str = "grid";
    /// The margin, as a fraction of the side.
    pub const MARGIN_KEY: &str = "margin";

    /// Reads the settings through `get` (the host's `config.get`), applying the defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, GenerateError> {
        let lookup = Lookup::new(PLUGIN, get);
        let defaults = Self::default();
        // In this order, so that of several bad settings the first here is the one reported.
        Ok(Self {
            background: lookup
                .color(Self::BACKGROUND_KEY)?
                .unwrap_or(defaults.background),
            grid: lookup
                .number(
                    Self::GRID_KEY,
                    &format!(
                        "a whole number from {} to {}",
                        GRID_RANGE.start(),
                        GRID_RANGE.end()
                    ),
                    |grid: &u32| GRID_RANGE.contains(grid),
                )?
                .unwrap_or(defaults.grid),
            margin: lookup
                .number(
                    Self::MARGIN_KEY,
                    &format!("a number from 0 to {MAX_MARGIN}"),
                    |margin: &f64| (0.0..=MAX_MARGIN).contains(margin),
                )?
                // In 0..=4000 after the range check, so the cast is exact.
                .map_or(defaults.margin, |margin| {
                    (margin * MARGIN_UNIT as f64).round() as u64
                }),
        })
    }

    /// The margin, as a fraction of the side (rounded to 1/10000).
    pub fn margin(&self) -> f64 {
        self.margin as f64 / MARGIN_UNIT as f64
    }
}

/// The bytes of an avatar hash: 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex digits.
pub fn parse_hash(hash: &str) -> Result<Vec<u8>, GenerateError> {
    if ![32, 40, 64].contains(&hash.len()) {
        return Err(GenerateError::InvalidInput(format!(
            "the hash has {} characters, not 32, 40 or 64 hex digits",
            hash.len()
        )));
    }
    parse_hex(hash)
        .ok_or_else(|| GenerateError::InvalidInput("the hash is not hex digits".to_owned()))
}

/// What the hash chooses: the filled cells (row-major, `grid * grid`) and their colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// Cells per side.
    pub grid: u32,
    /// Whether each cell is filled, row by row.
    pub cells: Vec<bool>,
    /// The colour of filled cells.
    pub color: Rgba,
}

impl Pattern {
    /// The pattern `bytes` (at least 16) choose on a `grid`-wide grid.
    pub fn from_hash(bytes: &[u8], grid: u32) -> Self {
        let n = grid as usize;
        let mut cells = vec![false; n * n];
        for col in 0..n.div_ceil(2) {
            for row in 0..n {
                let bit = col * n + row;
                let filled = bytes[bit / 8] >> (7 - bit % 8) & 1 == 1;
                cells[row * n + col] = filled;
                cells[row * n + (n - 1 - col)] = filled;
            }
        }
        let [h1, h2, s, l] = bytes[bytes.len() - 4..] else {
            unreachable!("a hash has at least 16 bytes");
        };
        let hue = f64::from(u16::from_be_bytes([h1, h2])) * 360.0 / 65_536.0;
        let saturation = 0.50 + f64::from(s) / 255.0 * 0.20;
        let lightness = 0.45 + f64::from(l) / 255.0 * 0.15;
        Self {
            grid,
            cells,
            color: hsl_to_rgba(hue, saturation, lightness),
        }
    }

    /// Whether the cell at `row`, `col` is filled.
    pub fn filled(&self, row: usize, col: usize) -> bool {
        self.cells[row * self.grid as usize + col]
    }
}

/// An opaque colour from hue (degrees, `0..360`), saturation and lightness (`0..=1`).
pub fn hsl_to_rgba(hue: f64, saturation: f64, lightness: f64) -> Rgba {
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
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    [byte(r), byte(g), byte(b), 255]
}

/// The pixel positions of the `grid + 1` cell edges across a side of `size` pixels, with a
/// margin of `margin` (1/10000 of the side): first edge at the margin, last at `size - margin`,
/// symmetric about the middle.
pub fn cell_edges(size: u32, grid: u32, margin: u64) -> Vec<u32> {
    let size = u64::from(size);
    let grid = u64::from(grid);
    // Rounded, and at most what leaves one pixel in the middle.
    let margin = ((size * margin + MARGIN_UNIT / 2) / MARGIN_UNIT).min(size.saturating_sub(1) / 2);
    let inner = size - 2 * margin;
    let left = |i: u64| (2 * i * inner + grid) / (2 * grid);
    (0..=grid)
        .map(|i| {
            let edge = if i <= grid / 2 {
                left(i)
            } else {
                inner - left(grid - i)
            };
            // At most `size`, which is a u32.
            (margin + edge) as u32
        })
        .collect()
}

/// Draws the identicon of `hash` at `size` x `size` pixels.
pub fn generate(settings: &Settings, hash: &str, size: u32) -> Result<Picture, GenerateError> {
    let bytes = parse_hash(hash)?;
    if size == 0 || size > MAX_SIZE {
        return Err(GenerateError::InvalidInput(format!(
            "size {size} is not from 1 to {MAX_SIZE}"
        )));
    }
    let pattern = Pattern::from_hash(&bytes, settings.grid);
    let edges = cell_edges(size, settings.grid, settings.margin);
    let side = size as usize;

    // Which cell each pixel column and row falls in; `None` in the margin.
    let cell_of = |position: usize| {
        let position = position as u32;
        edges
            .windows(2)
            .position(|edge| edge[0] <= position && position < edge[1])
    };
    let cols: Vec<Option<usize>> = (0..side).map(cell_of).collect();

    // One drawn row per grid row, plus the margin's; each pixel row copies one of them.
    let background_row = settings.background.repeat(side);
    let grid_rows: Vec<Vec<u8>> = (0..settings.grid as usize)
        .map(|row| {
            cols.iter()
                .flat_map(|col| match col {
                    Some(col) if pattern.filled(row, *col) => pattern.color,
                    _ => settings.background,
                })
                .collect()
        })
        .collect();

    let mut data = Vec::with_capacity(side * side * 4);
    for y in 0..side {
        let row = match cell_of(y) {
            Some(row) => &grid_rows[row],
            None => &background_row,
        };
        data.extend_from_slice(row);
    }
    Ok(Picture { size, data })
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

    fn at(picture: &Picture, x: u32, y: u32) -> Rgba {
        let start = (y as usize * picture.size as usize + x as usize) * 4;
        picture.data[start..start + 4].try_into().expect("4 bytes")
    }

    #[test]
    fn every_size_has_the_right_number_of_bytes() {
        for size in [1, 2, 3, 4, 5, 7, 9, 10, 31, 64, 80, 512, 2048] {
            for hash in [MD5, SHA1, SHA256] {
                let picture = generate(&Settings::default(), hash, size).expect("draws");
                assert_eq!(picture.size, size);
                assert_eq!(picture.data.len(), size as usize * size as usize * 4);
            }
        }
    }

    #[test]
    fn the_same_hash_and_size_give_the_same_pixels() {
        let a = generate(&Settings::default(), MD5, 120).expect("draws");
        let b = generate(&Settings::default(), MD5, 120).expect("draws");
        assert_eq!(a, b);
    }

    #[test]
    fn different_hashes_give_different_pictures() {
        // Hash-like test inputs: splitmix64, two words per MD5-sized hash.
        let mut state = 0u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let hash = format!("{:016x}{:016x}", next(), next());
            let picture = generate(&Settings::default(), &hash, 20).expect("draws");
            assert!(seen.insert(picture.data), "hash {hash} repeats a picture");
        }
        // Changing only the colour bytes changes the picture too.
        let other = format!("{}{}", &MD5[..24], "00000000");
        assert_ne!(
            generate(&Settings::default(), MD5, 20).expect("draws"),
            generate(&Settings::default(), &other, 20).expect("draws")
        );
    }

    #[test]
    fn the_picture_is_mirrored_left_to_right() {
        for (size, grid) in [(50, 5), (64, 6), (99, 7), (512, 9), (13, 8)] {
            let settings = settings(&[("grid", &grid.to_string())]).expect("valid");
            let picture = generate(&settings, SHA256, size).expect("draws");
            let odd_split = size % 2 == 1 && grid % 2 == 0;
            for y in 0..size {
                for x in 0..size / 2 {
                    let mirrored = size - 1 - x;
                    if odd_split && x == size / 2 - 1 {
                        // An even grid on an odd side: the middle pixel column belongs to one
                        // of the two middle cells, so its neighbour has no exact mirror.
                        continue;
                    }
                    assert_eq!(
                        at(&picture, x, y),
                        at(&picture, mirrored, y),
                        "size {size}, grid {grid}: {x},{y}"
                    );
                }
            }
        }
    }

    #[test]
    fn only_two_colours_and_a_background_margin() {
        let settings = Settings::default();
        let picture = generate(&settings, MD5, 100).expect("draws");
        let pattern = Pattern::from_hash(&parse_hash(MD5).expect("hex"), 5);
        let colours: std::collections::HashSet<Rgba> = picture
            .data
            .chunks_exact(4)
            .map(|p| p.try_into().expect("4 bytes"))
            .collect();
        assert!(colours.is_subset(&[settings.background, pattern.color].into()));
        // Margin: 8 px of 100 on each side.
        for i in 0..100 {
            for (x, y) in [(i, 0), (i, 7), (0, i), (7, i), (i, 92), (92, i), (99, i)] {
                assert_eq!(at(&picture, x, y), settings.background, "{x},{y}");
            }
        }
    }

    #[test]
    fn cells_follow_the_hash_bits() {
        // 0x80: only the first bit set, the top-left cell and its mirror.
        let mut bytes = vec![0; 16];
        bytes[0] = 0x80;
        let pattern = Pattern::from_hash(&bytes, 5);
        let filled: Vec<(usize, usize)> = (0..5)
            .flat_map(|row| (0..5).map(move |col| (row, col)))
            .filter(|&(row, col)| pattern.filled(row, col))
            .collect();
        assert_eq!(filled, [(0, 0), (0, 4)]);
        // Bit 10 of 15: third column (the middle one), first row.
        let mut bytes = vec![0; 16];
        bytes[1] = 0x20;
        let pattern = Pattern::from_hash(&bytes, 5);
        assert!(pattern.filled(0, 2));
        assert_eq!(pattern.cells.iter().filter(|c| **c).count(), 1);
    }

    #[test]
    fn cells_are_whole_pixels_that_fill_the_square() {
        let settings = settings(&[("margin", "0")]).expect("valid");
        let picture = generate(&settings, SHA1, 10).expect("draws");
        // 10 px over 5 cells: every cell is a 2x2 block of one colour.
        for y in (0..10).step_by(2) {
            for x in (0..10).step_by(2) {
                let colour = at(&picture, x, y);
                for (dx, dy) in [(1, 0), (0, 1), (1, 1)] {
                    assert_eq!(at(&picture, x + dx, y + dy), colour, "{x},{y}");
                }
            }
        }
    }

    #[test]
    fn cell_edges_are_ordered_and_symmetric_at_every_size() {
        for grid in GRID_RANGE {
            for margin in [0, 800, 2500, 4000] {
                for size in 1..=2048 {
                    let edges = cell_edges(size, grid, margin);
                    assert_eq!(edges.len(), grid as usize + 1);
                    assert!(
                        edges.windows(2).all(|w| w[0] <= w[1]),
                        "{size} {grid} {margin}: {edges:?}"
                    );
                    let (first, last) = (edges[0], edges[grid as usize]);
                    assert_eq!(first, size - last, "{size} {grid} {margin}: {edges:?}");
                    assert!(last > first, "{size} {grid} {margin}: no room left");
                    let widths: Vec<u32> = edges.windows(2).map(|w| w[1] - w[0]).collect();
                    let (min, max) = (widths.iter().min(), widths.iter().max());
                    assert!(
                        max.zip(min).is_some_and(|(max, min)| max - min <= 1),
                        "{size} {grid} {margin}: widths {widths:?}"
                    );
                }
            }
        }
        assert_eq!(cell_edges(100, 5, 800), [8, 25, 42, 58, 75, 92]);
        assert_eq!(cell_edges(1, 5, 800), [0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn a_one_pixel_picture_is_the_middle_cell() {
        let bytes = parse_hash(MD5).expect("hex");
        let pattern = Pattern::from_hash(&bytes, 5);
        let picture = generate(&Settings::default(), MD5, 1).expect("draws");
        let expected = if pattern.filled(2, 2) {
            pattern.color
        } else {
            Settings::default().background
        };
        assert_eq!(at(&picture, 0, 0), expected);
    }

    #[test]
    fn colours_are_valid_and_saturated() {
        assert_eq!(hsl_to_rgba(0.0, 1.0, 0.5), [255, 0, 0, 255]);
        assert_eq!(hsl_to_rgba(120.0, 1.0, 0.5), [0, 255, 0, 255]);
        assert_eq!(hsl_to_rgba(240.0, 1.0, 0.5), [0, 0, 255, 255]);
        assert_eq!(hsl_to_rgba(359.9, 0.0, 0.5), [128, 128, 128, 255]);
        for hash in [MD5, SHA1, SHA256] {
            let color = Pattern::from_hash(&parse_hash(hash).expect("hex"), 5).color;
            let (max, min) = (color[..3].iter().max(), color[..3].iter().min());
            assert!(
                max.zip(min).is_some_and(|(max, min)| max - min > 40),
                "{color:?}"
            );
        }
    }

    #[test]
    fn bad_hashes_and_sizes_are_invalid_input() {
        for hash in [
            "",
            "0bc83cb571cd1c50ba6f3e8a78ef134",
            "0bc83cb571cd1c50ba6f3e8a78ef1346a",
            "0bc83cb571cd1c50ba6f3e8a78ef134g",
            "0bc83cb571cd1c50ba6f3e8a78ef134é",
            " bc83cb571cd1c50ba6f3e8a78ef1346",
        ] {
            assert!(
                matches!(
                    generate(&Settings::default(), hash, 64),
                    Err(GenerateError::InvalidInput(_))
                ),
                "{hash:?}"
            );
        }
        for size in [0, MAX_SIZE + 1, u32::MAX] {
            assert!(
                matches!(
                    generate(&Settings::default(), MD5, size),
                    Err(GenerateError::InvalidInput(_))
                ),
                "{size}"
            );
        }
        assert!(generate(&Settings::default(), &MD5.to_uppercase(), 8).is_ok());
    }

    #[test]
    fn settings_defaults_and_values() {
        let defaults = settings(&[]).expect("defaults");
        assert_eq!(defaults, Settings::default());
        assert_eq!(defaults.background, [0xf0, 0xf0, 0xf0, 0xff]);
        assert_eq!((defaults.grid, defaults.margin()), (5, 0.08));
        let set = settings(&[
            ("background", "#00000000"),
            ("grid", "9"),
            ("margin", "0.125"),
        ])
        .expect("valid");
        assert_eq!((set.background, set.grid, set.margin()), ([0; 4], 9, 0.125));
        let cases: [(&str, &str); 10] = [
            ("background", "grey"),
            ("background", "#fff"),
            ("grid", "4"),
            ("grid", "10"),
            ("grid", "5.0"),
            ("grid", "five"),
            ("margin", "-0.1"),
            ("margin", "0.41"),
            ("margin", "NaN"),
            ("margin", "8px"),
        ];
        for (key, value) in cases {
            assert!(
                matches!(
                    settings(&[(key, value)]),
                    Err(GenerateError::Misconfigured(_))
                ),
                "{key} = {value:?}"
            );
        }
    }
}
