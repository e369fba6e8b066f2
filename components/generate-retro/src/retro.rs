//! The retro sprite itself: settings, the sprite the hash chooses, and the drawing. Plain Rust
//! with no Wasm types, so that it builds and is tested natively; the component only converts
//! types.
//!
//! # From hash to picture
//! The hash seeds guest-kit's [`Dice`]; in a fixed order they choose the colours, a body plan
//! (the top half of one of the [`PLANS`] over the bottom half of another), which of the plan's
//! optional cells are filled, whether a belt of the second colour crosses the body, and how
//! the eyes look. Every choice depends on every byte of the hash. The plan is the left half of a sprite
//! of at most 12 x 12 cells; the right half mirrors it. Filled cells that do not touch the
//! plan's core are dropped, so no speck floats free; every empty cell beside a filled one
//! becomes the dark outline; filled cells with nothing above them catch the light. The sprite
//! sits in the middle of a square of [`GRID`] x [`GRID`] cells.
//!
//! # Pixels
//! All integer. From [`GRID`] pixels up, each cell is a solid block, its edges rounded
//! fractions of the side placed symmetrically, so the sprite stays crisp and mirrored and
//! fills the square exactly. Below that, each pixel is the area-weighted average of the cells it
//! covers, so a small sprite is a faithful miniature and a 1 x 1 picture is the average colour.

pub use guest_kit::draw::Picture;
pub use guest_kit::{GuestError as GenerateError, Rgba};

use guest_kit::draw::{Dice, background_setting, check_request, hsl, mix};

mod pixels;

/// The plugin's name, in its error messages.
const PLUGIN: &str = "generate-retro";

/// Cells per side of the picture: a 12-cell sprite, its outline, and a cell of margin.
pub const GRID: usize = 16;

/// The plugin's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Behind the sprite.
    pub background: Rgba,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            background: [0xf2, 0xf0, 0xe6, 0xff],
        }
    }
}

impl Settings {
    /// The background colour, or `transparent`.
    pub const BACKGROUND_KEY: &str = "background";

    /// Reads the settings through `get` (the host's `config.get`), applying the defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, GenerateError> {
        Ok(Self {
            background: background_setting(PLUGIN, &get, Self::BACKGROUND_KEY)?
                .unwrap_or(Self::default().background),
        })
    }
}

/// The body plans, as the left half of a sprite, outermost column first, top row first:
/// `#` always the body, `?` the body on a toss of the dice, `s` always the second colour, `%`
/// the second colour on a toss, `e` an eye, `.` never filled. The last column lies on the
/// mirror line.
pub const PLANS: [[&str; 10]; 6] = [
    // A crab with its claws up.
    [
        "?.....", ".?..?.", "..?.?#", "..?###", ".##e##", "?#####", "#?####", "#.%ss%", "%.?%.%",
        "?.%%..",
    ],
    // A squid with trailing tentacles.
    [
        ".....#", "....?#", "...?##", "..?###", ".##e##", "?#####", "..??##", ".?%%.s", ".%.%?.",
        "%.%..?",
    ],
    // An octopus with a dome for a head.
    [
        "....?.", "...###", ".?####", "?#####", "##ee##", "######", ".??##?", ".%%.?%", "%%.%..",
        "?.....",
    ],
    // A bug with wings.
    [
        "....?.", "?....#", "%.?###", "%%.e##", "%%####", "%%%###", ".%%###", "..?###", "..??.#",
        ".?.?..",
    ],
    // A robot with a visor.
    [
        "....#.", "...?#?", "..####", "..#sss", "..#ees", "?.####", "?%?###", "?#####", "..#.??",
        ".##.??",
    ],
    // A blob with horns.
    [
        "..?...", ".?#...", "..####", ".#####", ".#e###", "?#####", "######", "#?####", "?.#??#",
        "?.?..?",
    ],
];

/// The rows of a plan that make the top half of a sprite; the rest make the bottom half. Every
/// plan's eyes are in its top half.
const HEAD: usize = 5;

/// What one cell of the picture shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// The background.
    Empty,
    /// The body's colour.
    Body,
    /// The second colour.
    Second,
    /// The body's colour, lit from above.
    Lit,
    /// The outline around the sprite.
    Outline,
    /// An eye's white (or glow).
    Eye,
    /// A pupil.
    Pupil,
}

/// Everything the hash chooses about a sprite: its cells and their colours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sprite {
    /// Which body plans its top half and its bottom half follow.
    pub plan: (usize, usize),
    /// [`GRID`] x [`GRID`] cells, row by row.
    pub cells: Vec<Cell>,
    /// The colours of [`Cell::Body`], [`Cell::Second`], [`Cell::Lit`], [`Cell::Outline`],
    /// [`Cell::Eye`] and [`Cell::Pupil`], in that order.
    pub colors: [Rgba; 6],
}

impl Sprite {
    /// The sprite `hash`'s bytes choose.
    pub fn from_hash(hash: &[u8]) -> Self {
        let mut dice = Dice::from_hash(hash);
        let hue = dice.between(0.0, 360.0);
        let body = hsl(hue, dice.between(0.65, 0.85), dice.between(0.5, 0.6));
        let second_hue = hue + dice.pick(&[60.0, -60.0, 120.0, -120.0, 180.0]);
        let second = hsl(
            second_hue,
            dice.between(0.65, 0.85),
            dice.between(0.5, 0.62),
        );
        let outline = hsl(hue, 0.5, 0.14);
        // Light eyes on a light body would vanish: such a body gets dark eyes.
        let glow = hsl(hue + 180.0, 0.9, 0.62);
        let (eye, pupil) = dice.pick(&[([0xff; 4], outline), (glow, outline), (outline, outline)]);
        let (eye, pupil) = if luma(body) > 170 && eye != outline {
            (outline, [0xff; 4])
        } else {
            (eye, pupil)
        };
        let colors = [
            body,
            second,
            mix(body, [0xff; 4], 0.35),
            outline,
            eye,
            pupil,
        ];

        let plan = (
            dice.below(PLANS.len() as u32) as usize,
            dice.below(PLANS.len() as u32) as usize,
        );
        let half = GRID / 2;
        // The plan's top-left cell in the picture: the plan's 6 x 10 half centred.
        let (left, top) = (half - 6, (GRID - 10) / 2);
        let mut cells = vec![Cell::Empty; GRID * GRID];
        let mut core = vec![false; GRID * GRID];
        let lines = PLANS[plan.0][..HEAD].iter().chain(&PLANS[plan.1][HEAD..]);
        for (row, line) in lines.enumerate() {
            for (col, code) in line.bytes().enumerate() {
                let cell = match code {
                    b'#' => Cell::Body,
                    b'?' if dice.one_in(2) => Cell::Body,
                    b's' => Cell::Second,
                    b'%' if dice.one_in(2) => Cell::Second,
                    b'e' => Cell::Eye,
                    _ => Cell::Empty,
                };
                let (y, x) = (top + row, left + col);
                for x in [x, GRID - 1 - x] {
                    cells[y * GRID + x] = cell;
                    core[y * GRID + x] = matches!(code, b'#' | b's' | b'e');
                }
            }
        }
        // One time in three, a belt of the second colour across the body.
        if dice.one_in(3) {
            let row = top + 5 + dice.below(3) as usize;
            for cell in &mut cells[row * GRID..(row + 1) * GRID] {
                if *cell == Cell::Body {
                    *cell = Cell::Second;
                }
            }
        }
        // Two-cell eyes get a pupil on the inside.
        for y in 0..GRID {
            for x in 1..half {
                if cells[y * GRID + x] == Cell::Eye && cells[y * GRID + x - 1] == Cell::Eye {
                    cells[y * GRID + x] = Cell::Pupil;
                    cells[y * GRID + GRID - 1 - x] = Cell::Pupil;
                }
            }
        }
        keep_connected(&mut cells, &core);
        light_and_outline(&mut cells);
        centre_vertically(&mut cells);
        Self {
            plan,
            cells,
            colors,
        }
    }

    /// The colour of `cell`, on `background`.
    pub fn color(&self, cell: Cell, background: Rgba) -> Rgba {
        match cell {
            Cell::Empty => background,
            Cell::Body => self.colors[0],
            Cell::Second => self.colors[1],
            Cell::Lit => self.colors[2],
            Cell::Outline => self.colors[3],
            Cell::Eye => self.colors[4],
            Cell::Pupil => self.colors[5],
        }
    }
}

/// The neighbours of cell `i` of the grid: 4 or (with `diagonal`) 8 of them, fewer at edges.
fn neighbours(i: usize, diagonal: bool) -> impl Iterator<Item = usize> {
    let (x, y) = ((i % GRID) as isize, (i / GRID) as isize);
    let steps: &[(isize, isize)] = if diagonal {
        &[
            (-1, -1),
            (0, -1),
            (1, -1),
            (-1, 0),
            (1, 0),
            (-1, 1),
            (0, 1),
            (1, 1),
        ]
    } else {
        &[(0, -1), (-1, 0), (1, 0), (0, 1)]
    };
    steps.iter().filter_map(move |(dx, dy)| {
        let (nx, ny) = (x + dx, y + dy);
        let inside = (0..GRID as isize).contains(&nx) && (0..GRID as isize).contains(&ny);
        inside.then(|| ny as usize * GRID + nx as usize)
    })
}

/// Empties every filled cell that does not reach a `core` cell through filled cells (corners
/// count: sprites are drawn with diagonal strokes).
fn keep_connected(cells: &mut [Cell], core: &[bool]) {
    let mut reached: Vec<bool> = core.to_vec();
    let mut todo: Vec<usize> = (0..cells.len()).filter(|&i| core[i]).collect();
    while let Some(i) = todo.pop() {
        for n in neighbours(i, true) {
            if !reached[n] && cells[n] != Cell::Empty {
                reached[n] = true;
                todo.push(n);
            }
        }
    }
    for (cell, reached) in cells.iter_mut().zip(reached) {
        if !reached {
            *cell = Cell::Empty;
        }
    }
}

/// Lights body cells with nothing above them, then outlines the sprite: every empty cell
/// beside (not only diagonally) a filled one.
fn light_and_outline(cells: &mut [Cell]) {
    for i in (GRID..cells.len()).rev() {
        if cells[i] == Cell::Body && cells[i - GRID] == Cell::Empty {
            cells[i] = Cell::Lit;
        }
    }
    let outline: Vec<usize> = (0..cells.len())
        .filter(|&i| {
            cells[i] == Cell::Empty
                && neighbours(i, false).any(|n| !matches!(cells[n], Cell::Empty | Cell::Outline))
        })
        .collect();
    for i in outline {
        cells[i] = Cell::Outline;
    }
}

/// Moves the rows so that the empty rows above the sprite and below it differ by at most one
/// (the extra one below).
fn centre_vertically(cells: &mut [Cell]) {
    let filled = |row: &[Cell]| row.iter().any(|cell| *cell != Cell::Empty);
    let rows: Vec<bool> = cells.chunks_exact(GRID).map(filled).collect();
    let (Some(first), Some(last)) = (rows.iter().position(|f| *f), rows.iter().rposition(|f| *f))
    else {
        return;
    };
    let target = (GRID - (last - first + 1)) / 2;
    if target < first {
        cells.rotate_left((first - target) * GRID);
    } else {
        cells.rotate_right((target - first) * GRID);
    }
}

/// A colour's brightness, 0 to 255 (Rec. 601 weights, in integers).
fn luma([r, g, b, _]: Rgba) -> u32 {
    (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000
}

/// Draws the sprite of `hash` at `size` x `size` pixels.
pub fn generate(settings: &Settings, hash: &str, size: u32) -> Result<Picture, GenerateError> {
    let bytes = check_request(hash, size)?;
    let sprite = Sprite::from_hash(&bytes);
    let colors: Vec<Rgba> = sprite
        .cells
        .iter()
        .map(|cell| sprite.color(*cell, settings.background))
        .collect();
    Ok(Picture {
        size,
        data: pixels::render(&colors, GRID, size),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_kit::draw::testing::{changed_share, digest, sample_hashes};
    use guest_kit::draw::{MAX_SIZE, TRANSPARENT};

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

    fn draw(hash: &str, size: u32) -> Picture {
        generate(&Settings::default(), hash, size).expect("draws")
    }

    fn at(picture: &Picture, x: u32, y: u32) -> Rgba {
        let start = (y as usize * picture.size as usize + x as usize) * 4;
        picture.data[start..start + 4].try_into().expect("4 bytes")
    }

    fn sprite(hash: &str) -> Sprite {
        Sprite::from_hash(&check_request(hash, 1).expect("valid"))
    }

    #[test]
    fn every_size_has_the_right_number_of_bytes() {
        let sizes = (1..=64).chain([80, 127, 128, 255, 256, 512, 1000, MAX_SIZE]);
        for size in sizes {
            let picture = draw(MD5, size);
            assert_eq!(picture.size, size);
            assert_eq!(
                picture.data.len(),
                size as usize * size as usize * 4,
                "{size}"
            );
        }
        for hash in [SHA1, SHA256] {
            assert_eq!(draw(hash, 33).data.len(), 33 * 33 * 4);
        }
    }

    #[test]
    fn the_same_request_gives_the_same_pixels() {
        assert_eq!(draw(MD5, 120), draw(MD5, 120));
        assert_eq!(draw(&MD5.to_uppercase(), 120), draw(MD5, 120));
        // Golden digests: the pixels are part of the contract (the host caches them and tags
        // them with an ETag). A deliberate change of the design updates these.
        let golden = [
            (MD5, 80, 8_341_363_745_440_979_873),
            (SHA1, 17, 4_146_446_096_395_644_460),
            (SHA256, 256, 1_443_684_024_820_968_229),
            (MD5, 7, 7_363_827_648_598_682_380),
        ];
        for (hash, size, expected) in golden {
            assert_eq!(digest(&draw(hash, size).data), expected, "{hash} at {size}");
        }
    }

    #[test]
    fn different_hashes_give_visibly_different_sprites() {
        let pictures: Vec<(String, Vec<u8>)> = sample_hashes(300)
            .into_iter()
            .map(|hash| {
                let data = draw(&hash, 32).data;
                (hash, data)
            })
            .collect();
        for (i, (a, pa)) in pictures.iter().enumerate() {
            for (b, pb) in &pictures[i + 1..] {
                let share = changed_share(pa, pb, 24);
                assert!(share > 0.05, "{a} and {b}: only {share} of pixels differ");
            }
        }
        let plans: std::collections::HashSet<(usize, usize)> =
            sample_hashes(300).iter().map(|h| sprite(h).plan).collect();
        assert_eq!(plans.len(), PLANS.len() * PLANS.len());
    }

    #[test]
    fn the_picture_is_mirrored_left_to_right_at_every_size() {
        for size in (1..=64).chain([99, 128, 257]) {
            for hash in [MD5, SHA1, SHA256] {
                let picture = draw(hash, size);
                for y in 0..size {
                    for x in 0..size / 2 {
                        assert_eq!(
                            at(&picture, x, y),
                            at(&picture, size - 1 - x, y),
                            "{hash} at {size}: {x},{y}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn large_pictures_are_crisp_blocks() {
        for size in [16, 23, 64, 100] {
            for hash in [MD5, SHA1, SHA256] {
                let sprite = sprite(hash);
                let background = Settings::default().background;
                let mut allowed: Vec<Rgba> = sprite.colors.to_vec();
                allowed.push(background);
                let picture = draw(hash, size);
                for pixel in picture.data.chunks_exact(4) {
                    assert!(
                        allowed.iter().any(|c| c == pixel),
                        "{hash} at {size}: {pixel:?}"
                    );
                }
                // At one pixel per cell, the picture is the cells.
                if size as usize == GRID {
                    for (i, cell) in sprite.cells.iter().enumerate() {
                        let (x, y) = ((i % GRID) as u32, (i / GRID) as u32);
                        assert_eq!(at(&picture, x, y), sprite.color(*cell, background));
                    }
                }
            }
        }
    }

    #[test]
    fn sprites_follow_their_plan_and_are_outlined() {
        for hash in sample_hashes(200) {
            let sprite = sprite(&hash);
            let cells = &sprite.cells;
            let filled = |c: Cell| !matches!(c, Cell::Empty | Cell::Outline);
            // Every filled cell is walled in: no filled cell touches the background.
            for (i, cell) in cells.iter().enumerate() {
                if filled(*cell) {
                    assert!(
                        neighbours(i, false).all(|n| cells[n] != Cell::Empty),
                        "{hash}: cell {i} is not outlined"
                    );
                    let (x, y) = (i % GRID, i / GRID);
                    assert!((1..GRID - 1).contains(&x) && (1..GRID - 1).contains(&y));
                }
            }
            // Every plan's eyes are there, and its core.
            assert!(cells.contains(&Cell::Eye), "{hash}: no eyes");
            let (top, bottom) = sprite.plan;
            let plan = [&PLANS[top][..HEAD], &PLANS[bottom][HEAD..]]
                .concat()
                .concat();
            let core = plan.matches(['#', 's', 'e']).count() * 2;
            let body = cells.iter().filter(|c| filled(**c)).count();
            assert!(
                body >= core,
                "{hash}: {body} filled cells, the plan has {core}"
            );
            // Centred: as many empty rows above as below, or one more below.
            let rows: Vec<bool> = cells
                .chunks_exact(GRID)
                .map(|r| r.iter().any(|c| *c != Cell::Empty))
                .collect();
            let above = rows.iter().position(|r| *r).expect("a sprite");
            let below = GRID - 1 - rows.iter().rposition(|r| *r).expect("a sprite");
            assert!(
                below == above || below == above + 1,
                "{hash}: {above} above, {below} below"
            );
        }
    }

    #[test]
    fn no_speck_floats_free() {
        for hash in sample_hashes(200) {
            let cells = sprite(&hash).cells;
            let filled: Vec<usize> = (0..cells.len())
                .filter(|&i| !matches!(cells[i], Cell::Empty | Cell::Outline))
                .collect();
            let mut reached = vec![false; cells.len()];
            let mut todo = vec![filled[0]];
            reached[filled[0]] = true;
            while let Some(i) = todo.pop() {
                for n in neighbours(i, true) {
                    if !reached[n] && filled.contains(&n) {
                        reached[n] = true;
                        todo.push(n);
                    }
                }
            }
            assert!(filled.iter().all(|&i| reached[i]), "{hash}: a loose piece");
        }
    }

    #[test]
    fn small_pictures_are_averages() {
        let settings = Settings {
            background: [0, 0, 0, 255],
        };
        for hash in [MD5, SHA1, SHA256] {
            let sprite = sprite(hash);
            let colors: Vec<Rgba> = sprite
                .cells
                .iter()
                .map(|cell| sprite.color(*cell, settings.background))
                .collect();
            let dot = generate(&settings, hash, 1).expect("draws");
            for channel in 0..3 {
                let sum: u32 = colors.iter().map(|c| u32::from(c[channel])).sum();
                let mean = (sum + 128) / 256;
                assert_eq!(u32::from(dot.data[channel]), mean, "{hash}");
            }
            assert_eq!(dot.data[3], 255);
        }
        // Around a transparent background, a small picture's alpha is the sprite's share.
        let clear = Settings {
            background: TRANSPARENT,
        };
        let dot = generate(&clear, MD5, 1).expect("draws");
        let share = sprite(MD5)
            .cells
            .iter()
            .filter(|c| **c != Cell::Empty)
            .count();
        assert_eq!(u32::from(dot.data[3]), (share as u32 * 255 + 128) / 256);
    }

    #[test]
    fn bad_hashes_and_sizes_are_invalid_input() {
        for (hash, size) in [
            ("", 64),
            ("0bc83cb571cd1c50ba6f3e8a78ef134", 64),
            ("0bc83cb571cd1c50ba6f3e8a78ef134é", 64),
            (MD5, 0),
            (MD5, MAX_SIZE + 1),
        ] {
            assert!(
                matches!(
                    generate(&Settings::default(), hash, size),
                    Err(GenerateError::InvalidInput(_))
                ),
                "{hash:?} at {size}"
            );
        }
    }

    #[test]
    fn settings_defaults_and_values() {
        assert_eq!(settings(&[]), Ok(Settings::default()));
        assert_eq!(Settings::default().background, [0xf2, 0xf0, 0xe6, 0xff]);
        let good = [
            ("#000000", [0, 0, 0, 255]),
            ("#FFFFFF80", [255, 255, 255, 128]),
            ("transparent", TRANSPARENT),
        ];
        for (value, expected) in good {
            assert_eq!(
                settings(&[("background", value)]).map(|s| s.background),
                Ok(expected),
                "{value}"
            );
        }
        for value in ["white", "#fff", "", "#00000g"] {
            assert_eq!(
                settings(&[("background", value)]),
                Err(GenerateError::misconfigured(
                    PLUGIN,
                    "`background` must be `#rrggbb`, `#rrggbbaa` or `transparent`"
                )),
                "{value:?}"
            );
        }
    }
}
