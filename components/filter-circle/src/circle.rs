//! The circle mask itself: its settings and the pixel loop. Plain Rust with no Wasm types, so
//! that it builds and is tested natively; the component only converts types. The image types,
//! the checks on the images handed in, the error and the reading of settings are guest-kit's,
//! shared with the other first-party plugins.
//!
//! # Coverage
//! Each pixel is a unit square; what matters is how much of it lies inside the circle. The
//! filter uses the analytic approximation `clamp(radius - d + 0.5, 0, 1)`, where `d` is the
//! distance from the pixel's centre to the circle's centre: exact for an edge that crosses the
//! pixel straight, and within a few percent for the curvature of any circle of a few pixels or
//! more. It gives a smooth ramp one pixel wide, needs one square root per edge pixel (pixels
//! well inside or outside are decided on squared distances), and is the same in Wasm and
//! natively (IEEE arithmetic and a correctly rounded square root).
//!
//! With a border of width `b`, the picture covers `c(r - b)` of a pixel, the ring
//! `c(r) - c(r - b)`, and the background the rest; the three are mixed by those weights in
//! premultiplied space, so a transparent layer contributes no colour.

pub use guest_kit::{GuestError as FilterError, Image, ImageFormat, Rgba};

use guest_kit::Lookup;

/// The plugin's name, in its error messages.
const PLUGIN: &str = "filter-circle";

/// Fully transparent: the default background.
pub const TRANSPARENT: Rgba = [0, 0, 0, 0];

/// Opaque white: the default border colour.
pub const WHITE: Rgba = [255, 255, 255, 255];

/// The filter's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// What fills the outside of the circle.
    pub background: Rgba,
    /// The ring's width in pixels; `0` for none.
    pub border_width: f64,
    /// The ring's colour.
    pub border_color: Rgba,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            background: TRANSPARENT,
            border_width: 0.0,
            border_color: WHITE,
        }
    }
}

impl Settings {
    /// The colour outside the circle.
    pub const BACKGROUND_KEY: &str = "background";
    /// The ring's width in pixels.
    pub const BORDER_WIDTH_KEY: &str = "border_width";
    /// The ring's colour.
    pub const BORDER_COLOR_KEY: &str = "border_color";

    /// Reads the settings through `get` (the host's `config.get`), applying the defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, FilterError> {
        let lookup = Lookup::new(PLUGIN, get);
        let defaults = Self::default();
        // In this order, so that of several bad settings the first here is the one reported.
        Ok(Self {
            background: lookup
                .color(Self::BACKGROUND_KEY)?
                .unwrap_or(defaults.background),
            border_color: lookup
                .color(Self::BORDER_COLOR_KEY)?
                .unwrap_or(defaults.border_color),
            border_width: lookup
                .number(
                    Self::BORDER_WIDTH_KEY,
                    "a number of pixels, 0 or more",
                    |width: &f64| width.is_finite() && *width >= 0.0,
                )?
                .unwrap_or(defaults.border_width),
        })
    }
}

/// Checks every image first (so that a bad one refuses the whole call before any work), then
/// masks each in place. Images come back in the same order with the same dimensions.
pub fn apply(settings: &Settings, mut images: Vec<Image>) -> Result<Vec<Image>, FilterError> {
    guest_kit::check_rgba8(&images)?;
    for image in &mut images {
        mask(settings, image.width, image.height, &mut image.data);
    }
    Ok(images)
}

/// How much of a pixel whose centre is `distance` from the centre lies inside a disk of
/// `radius` (see the module documentation).
fn coverage(radius: f64, distance: f64) -> f64 {
    if radius <= 0.0 {
        return 0.0;
    }
    (radius - distance + 0.5).clamp(0.0, 1.0)
}

/// Masks one `width` x `height` RGBA image in place. `pixels` has been checked.
fn mask(settings: &Settings, width: u32, height: u32, pixels: &mut [u8]) {
    let radius = f64::from(width.min(height)) / 2.0;
    let inner = (radius - settings.border_width).max(0.0);
    let (cx, cy) = (f64::from(width) / 2.0, f64::from(height) / 2.0);
    // Squared distances below which a pixel is all picture, and from which it is all
    // background; only pixels in between need a square root and a mix.
    let all_picture = if inner >= 0.5 {
        (inner - 0.5).powi(2)
    } else {
        -1.0
    };
    let all_outside = (radius + 0.5).powi(2);

    for (y, row) in pixels.chunks_exact_mut(width as usize * 4).enumerate() {
        let dy = y as f64 + 0.5 - cy;
        for (x, pixel) in row.chunks_exact_mut(4).enumerate() {
            let dx = x as f64 + 0.5 - cx;
            let squared = dx * dx + dy * dy;
            if squared <= all_picture {
                continue;
            }
            let pixel: &mut [u8; 4] = pixel.try_into().expect("chunks of 4");
            if squared >= all_outside {
                *pixel = settings.background;
                continue;
            }
            let distance = squared.sqrt();
            let outer = coverage(radius, distance);
            let picture = coverage(inner, distance);
            *pixel = mix([
                (*pixel, picture),
                (settings.border_color, outer - picture),
                (settings.background, 1.0 - outer),
            ]);
        }
    }
}

/// Mixes colours by weights that sum to 1, in premultiplied space (a transparent layer adds
/// no colour). A layer of weight 1 comes out exactly.
fn mix(layers: [(Rgba, f64); 3]) -> Rgba {
    if let Some((color, _)) = layers.iter().find(|(_, weight)| *weight >= 1.0) {
        return *color;
    }
    let mut alpha = 0.0;
    let mut premultiplied = [0.0; 3];
    let mut plain = [0.0; 3];
    for (color, weight) in layers {
        let share = weight * f64::from(color[3]) / 255.0;
        alpha += share;
        for channel in 0..3 {
            premultiplied[channel] += share * f64::from(color[channel]);
            plain[channel] += weight * f64::from(color[channel]);
        }
    }
    // Colour means nothing where nothing is visible; average it plainly instead of dividing
    // by zero.
    let rgb = if alpha > 0.0 {
        premultiplied.map(|value| value / alpha)
    } else {
        plain
    };
    let byte = |value: f64| value.round().clamp(0.0, 255.0) as u8;
    [
        byte(rgb[0]),
        byte(rgb[1]),
        byte(rgb[2]),
        byte(alpha * 255.0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(width: u32, height: u32, color: Rgba) -> Image {
        Image {
            format: ImageFormat::Rgba8,
            width,
            height,
            data: color.repeat(width as usize * height as usize),
        }
    }

    fn at(image: &Image, x: u32, y: u32) -> Rgba {
        let start = (y as usize * image.width as usize + x as usize) * 4;
        image.data[start..start + 4].try_into().expect("4 bytes")
    }

    fn masked(settings: &Settings, image: Image) -> Image {
        apply(settings, vec![image])
            .expect("filters")
            .pop()
            .expect("one image")
    }

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, FilterError> {
        Settings::from_lookup(|key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    const RED: Rgba = [200, 10, 10, 255];

    #[test]
    fn corners_go_transparent_the_centre_stays_and_the_edge_is_partial() {
        for side in [8, 33, 64, 256] {
            let out = masked(&Settings::default(), solid(side, side, RED));
            let last = side - 1;
            for (x, y) in [(0, 0), (last, 0), (0, last), (last, last)] {
                assert_eq!(at(&out, x, y), TRANSPARENT, "{side}: corner {x},{y}");
            }
            assert_eq!(at(&out, side / 2, side / 2), RED, "{side}: centre");
            // Along the middle row, alpha rises from the left edge to the centre, and some
            // pixel on the way is neither transparent nor opaque.
            let alphas: Vec<u8> = (0..side / 2).map(|x| at(&out, x, side / 2)[3]).collect();
            assert!(
                alphas.windows(2).all(|w| w[0] <= w[1]),
                "{side}: {alphas:?}"
            );
            assert!(
                (0..side).any(|x| {
                    let alpha = at(&out, x, side / 3)[3];
                    alpha > 0 && alpha < 255
                }),
                "{side}: no anti-aliased pixel"
            );
            // Colour is never darkened at the edge: only alpha changes.
            for x in 0..side {
                let pixel = at(&out, x, side / 3);
                assert!(pixel[3] == 0 || pixel[..3] == RED[..3], "{side}: {pixel:?}");
            }
        }
    }

    #[test]
    fn the_covered_area_is_the_disk() {
        for side in [16u32, 64, 255, 512] {
            let out = masked(&Settings::default(), solid(side, side, [0, 0, 0, 255]));
            let area: f64 = out
                .data
                .chunks_exact(4)
                .map(|p| f64::from(p[3]) / 255.0)
                .sum();
            let disk = std::f64::consts::PI * f64::from(side).powi(2) / 4.0;
            let off = (area - disk).abs() / disk;
            assert!(off < 0.005, "{side}: area {area}, disk {disk}");
        }
    }

    #[test]
    fn the_mask_is_symmetric() {
        let side = 37;
        let out = masked(&Settings::default(), solid(side, side, RED));
        for y in 0..side {
            for x in 0..side {
                let here = at(&out, x, y);
                assert_eq!(here, at(&out, side - 1 - x, y), "{x},{y}");
                assert_eq!(here, at(&out, x, side - 1 - y), "{x},{y}");
                assert_eq!(here, at(&out, y, x), "{x},{y}");
            }
        }
    }

    #[test]
    fn alpha_inside_is_multiplied_not_replaced() {
        let out = masked(&Settings::default(), solid(64, 64, [1, 2, 3, 100]));
        assert_eq!(at(&out, 32, 32), [1, 2, 3, 100]);
        for pixel in out.data.chunks_exact(4) {
            assert!(pixel[3] <= 100);
        }
        let half = (0..64)
            .map(|x| at(&out, x, 10)[3])
            .find(|alpha| *alpha > 0 && *alpha < 100);
        assert!(half.is_some(), "the edge is partially covered");
    }

    #[test]
    fn a_background_fills_the_outside_and_mixes_at_the_edge() {
        let blue = [0, 0, 255, 255];
        let settings = settings(&[("background", "#0000ff")]).expect("valid");
        let out = masked(&settings, solid(64, 64, RED));
        assert_eq!(at(&out, 0, 0), blue);
        assert_eq!(at(&out, 32, 32), RED);
        for pixel in out.data.chunks_exact(4) {
            assert_eq!(pixel[3], 255, "an opaque background leaves no hole");
            assert!(pixel[1] <= 10, "only red and blue are mixed: {pixel:?}");
        }
        let mixed = (0..32)
            .map(|x| at(&out, x, 20))
            .find(|p| *p != blue && *p != RED);
        let mixed = mixed.expect("a mixed edge pixel");
        assert!(mixed[0] > 0 && mixed[0] < 200 && mixed[2] > 0 && mixed[2] < 255);
    }

    #[test]
    fn a_border_rings_the_picture() {
        let settings =
            settings(&[("border_width", "4"), ("border_color", "#00ff00ff")]).expect("valid");
        let out = masked(&settings, solid(64, 64, RED));
        // Radius 32: the ring spans distances 28 to 32 from the centre.
        assert_eq!(at(&out, 32, 32), RED);
        assert_eq!(at(&out, 2, 32), [0, 255, 0, 255], "in the ring");
        assert_eq!(at(&out, 6, 32), RED, "inside the ring");
        assert_eq!(at(&out, 0, 0), TRANSPARENT);
        // Between ring and picture, a pixel mixes both; between ring and outside, it fades.
        let boundary = at(&out, 4, 32);
        assert!(boundary[0] > 0 && boundary[1] > 0, "{boundary:?}");
        assert!(at(&out, 0, 32)[3] < 255);
    }

    #[test]
    fn a_border_wider_than_the_radius_fills_the_disk() {
        let settings = settings(&[("border_width", "100")]).expect("valid");
        let out = masked(&settings, solid(16, 16, RED));
        assert_eq!(at(&out, 8, 8), WHITE);
        assert_eq!(at(&out, 0, 0), TRANSPARENT);
    }

    #[test]
    fn tiny_and_oblong_images() {
        let one = masked(&Settings::default(), solid(1, 1, RED));
        assert_eq!(at(&one, 0, 0), RED, "a 1x1 image is its own circle");
        let two = masked(&Settings::default(), solid(2, 2, RED));
        for pixel in two.data.chunks_exact(4) {
            assert!(pixel[3] > 128 && pixel[3] < 255, "{pixel:?}");
        }
        // 40x20: a circle of diameter 20 in the middle; the left and right quarters are gone.
        let wide = masked(&Settings::default(), solid(40, 20, RED));
        assert_eq!(at(&wide, 20, 10), RED);
        assert_eq!(at(&wide, 5, 10), TRANSPARENT);
        assert_eq!(at(&wide, 34, 10), TRANSPARENT);
        assert_eq!(at(&wide, 11, 10)[3], 255);
    }

    #[test]
    fn settings_defaults_and_values() {
        assert_eq!(settings(&[]).expect("defaults"), Settings::default());
        let set = settings(&[
            ("background", "#ffffff"),
            ("border_width", "2.5"),
            ("border_color", "#00000080"),
        ])
        .expect("valid");
        assert_eq!(set.background, WHITE);
        assert_eq!(set.border_width, 2.5);
        assert_eq!(set.border_color, [0, 0, 0, 128]);
        let cases: [&[(&str, &str)]; 6] = [
            &[("background", "red")],
            &[("background", "#12345")],
            &[("border_color", "white")],
            &[("border_width", "-1")],
            &[("border_width", "wide")],
            &[("border_width", "inf")],
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
                format: ImageFormat::Webp,
                width: 1,
                height: 1,
                data: vec![0; 4],
            },
            Image {
                data: vec![0; 15],
                ..solid(2, 2, RED)
            },
            Image {
                data: vec![0; 17],
                ..solid(2, 2, RED)
            },
            Image {
                width: 0,
                data: Vec::new(),
                ..solid(0, 5, RED)
            },
        ];
        for image in cases {
            let images = vec![solid(1, 1, RED), image.clone()];
            match apply(&Settings::default(), images) {
                Err(FilterError::InvalidInput(message)) => {
                    assert!(message.starts_with("image 1 "), "{message}");
                }
                other => panic!("{image:?}: expected InvalidInput, got {other:?}"),
            }
        }
    }

    #[test]
    fn several_images_keep_their_order_and_sizes() {
        let images = vec![solid(32, 32, RED), solid(8, 8, WHITE)];
        let out = apply(&Settings::default(), images).expect("filters");
        assert_eq!(
            out.iter().map(|i| (i.width, i.height)).collect::<Vec<_>>(),
            [(32, 32), (8, 8)]
        );
        assert_eq!(at(&out[0], 16, 16), RED);
        assert_eq!(at(&out[1], 4, 4), WHITE);
    }
}
