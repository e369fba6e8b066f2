//! The grayscale filter itself: its settings and the pixel loop. Plain Rust with no Wasm types,
//! so that it builds and is tested natively; the component only converts types. The image types,
//! the checks on the images handed in, the error and the reading of settings are guest-kit's,
//! shared with the other first-party plugins.

/// Rec. 709 luma weights for R, G and B in 16-bit fixed point. They sum to exactly `1 << 16`,
/// so white stays 255 and every gray stays itself.
const LUMA_WEIGHTS: [u32; 3] = [13_933, 46_871, 4_732];

/// `amount` in fixed point: this many steps make "fully gray".
const AMOUNT_ONE: u32 = 256;

pub use guest_kit::{GuestError as FilterError, Image, ImageFormat};

use guest_kit::Lookup;

/// The plugin's name, in its error messages.
const PLUGIN: &str = "filter-grayscale";

/// The filter's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// How gray, in steps of `1 / AMOUNT_ONE`.
    amount: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self { amount: AMOUNT_ONE }
    }
}

impl Settings {
    /// The setting that blends between the original (`0`) and gray (`1`).
    pub const AMOUNT_KEY: &str = "amount";

    /// Reads the settings through `get` (the host's `config.get`), applying the defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, FilterError> {
        let amount = Lookup::new(PLUGIN, get).number(
            Self::AMOUNT_KEY,
            "a number from 0 to 1",
            |amount: &f64| (0.0..=1.0).contains(amount),
        )?;
        Ok(amount.map_or_else(Self::default, |amount| Self {
            // In 0..=256 after the range check, so the cast is exact.
            amount: (amount * f64::from(AMOUNT_ONE)).round() as u32,
        }))
    }

    /// The amount as a fraction, `0.0..=1.0` (rounded to 1/256).
    pub fn amount(&self) -> f64 {
        f64::from(self.amount) / f64::from(AMOUNT_ONE)
    }
}

/// Checks every image first (so that a bad one refuses the whole call before any work), then
/// turns each gray in place. Images come back in the same order with the same dimensions.
pub fn apply(settings: &Settings, mut images: Vec<Image>) -> Result<Vec<Image>, FilterError> {
    guest_kit::check_rgba8(&images)?;
    if settings.amount > 0 {
        for image in &mut images {
            gray_in_place(&mut image.data, settings.amount);
        }
    }
    Ok(images)
}

/// The Rec. 709 luma of one pixel, rounded to nearest.
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    let [wr, wg, wb] = LUMA_WEIGHTS;
    let y = (wr * u32::from(r) + wg * u32::from(g) + wb * u32::from(b) + (1 << 15)) >> 16;
    // At most 255: the weights sum to 1 << 16.
    y as u8
}

/// Blends every pixel of `pixels` (RGBA) towards its luma by `amount / AMOUNT_ONE`; alpha is
/// kept.
fn gray_in_place(pixels: &mut [u8], amount: u32) {
    if amount == AMOUNT_ONE {
        // The default: no blending to do.
        for pixel in pixels.chunks_exact_mut(4) {
            let y = luma(pixel[0], pixel[1], pixel[2]);
            pixel[..3].fill(y);
        }
        return;
    }
    let keep = AMOUNT_ONE - amount;
    for pixel in pixels.chunks_exact_mut(4) {
        let y = u32::from(luma(pixel[0], pixel[1], pixel[2]));
        for channel in &mut pixel[..3] {
            let mixed = (u32::from(*channel) * keep + y * amount + AMOUNT_ONE / 2) / AMOUNT_ONE;
            // A weighted mean of two bytes.
            *channel = mixed as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgba(width: u32, height: u32, pixels: &[[u8; 4]]) -> Image {
        Image {
            format: ImageFormat::Rgba8,
            width,
            height,
            data: pixels.concat(),
        }
    }

    fn settings(amount: Option<&str>) -> Result<Settings, FilterError> {
        Settings::from_lookup(|key| {
            assert_eq!(key, Settings::AMOUNT_KEY);
            amount.map(str::to_owned)
        })
    }

    #[test]
    fn luma_follows_rec_709() {
        let cases = [
            ([0, 0, 0], 0),
            ([255, 255, 255], 255),
            ([255, 0, 0], 54),    // 0.2126 * 255 = 54.2
            ([0, 255, 0], 182),   // 0.7152 * 255 = 182.4
            ([0, 0, 255], 18),    // 0.0722 * 255 = 18.4
            ([10, 200, 30], 147), // 2.126 + 143.04 + 2.166 = 147.3
        ];
        for ([r, g, b], y) in cases {
            assert_eq!(luma(r, g, b), y, "{r} {g} {b}");
        }
        for v in 0..=255 {
            assert_eq!(luma(v, v, v), v, "gray {v} stays itself");
        }
    }

    #[test]
    fn full_amount_makes_every_pixel_gray_and_keeps_alpha() {
        let image = rgba(
            2,
            2,
            &[
                [255, 0, 0, 255],
                [0, 255, 0, 128],
                [0, 0, 255, 0],
                [12, 34, 56, 7],
            ],
        );
        let out = apply(&Settings::default(), vec![image]).expect("filters");
        let pixels: Vec<_> = out[0].data.chunks_exact(4).collect();
        assert_eq!(pixels[0], [54, 54, 54, 255]);
        assert_eq!(pixels[1], [182, 182, 182, 128]);
        assert_eq!(pixels[2], [18, 18, 18, 0]);
        assert_eq!(pixels[3][3], 7);
        assert!(pixels[3][0] == pixels[3][1] && pixels[3][1] == pixels[3][2]);
    }

    #[test]
    fn amount_blends_between_original_and_gray() {
        let red = || vec![rgba(1, 1, &[[255, 0, 0, 200]])];
        let zero = settings(Some("0")).expect("valid");
        assert_eq!(apply(&zero, red()).expect("filters"), red());
        let half = settings(Some("0.5")).expect("valid");
        // Halfway between 255 and 54, and between 0 and 54.
        assert_eq!(
            apply(&half, red()).expect("filters")[0].data,
            [155, 27, 27, 200]
        );
        let one = settings(Some("1")).expect("valid");
        assert_eq!(
            apply(&one, red()).expect("filters")[0].data,
            [54, 54, 54, 200]
        );
    }

    #[test]
    fn settings_defaults_and_values() {
        assert_eq!(settings(None).expect("default").amount(), 1.0);
        assert_eq!(settings(Some("0.25")).expect("valid").amount(), 0.25);
        assert_eq!(settings(Some(" 1.0 ")).expect("valid").amount(), 1.0);
        assert_eq!(settings(Some("0")).expect("valid").amount(), 0.0);
        for bad in ["", "gray", "-0.1", "1.01", "NaN", "inf", "[1]", "\"0.5\""] {
            assert!(
                matches!(settings(Some(bad)), Err(FilterError::Misconfigured(_))),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_rgba8_pixels() {
        let cases = [
            Image {
                format: ImageFormat::Png,
                width: 1,
                height: 1,
                data: vec![0; 4],
            },
            rgba(2, 2, &[[0; 4]; 3]),
            rgba(1, 1, &[[0; 4]; 2]),
            Image {
                format: ImageFormat::Rgba8,
                width: 0,
                height: 0,
                data: Vec::new(),
            },
        ];
        for image in cases {
            let images = vec![rgba(1, 1, &[[1, 2, 3, 4]]), image.clone()];
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
        let images = vec![
            rgba(2, 1, &[[255, 255, 255, 255], [0, 0, 0, 255]]),
            rgba(1, 1, &[[0, 0, 0, 0]]),
        ];
        let out = apply(&Settings::default(), images.clone()).expect("filters");
        assert_eq!(
            out, images,
            "black, white and transparent black are already gray"
        );
        assert!(
            apply(&Settings::default(), Vec::new())
                .expect("nothing to do")
                .is_empty()
        );
    }
}
