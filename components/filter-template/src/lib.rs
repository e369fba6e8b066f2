//! A filter plugin of avatar, laid out as avatar's filter template: this file is the part every
//! filter keeps, the images checked and then filtered one by one. `docs/plugins.md` walks
//! through the template, from an empty folder to a running filter.
//!
//! It implements the `filter-plugin` world of `avatar:plugins@0.2.0`. What this filter does,
//! and its settings, are documented in [`filter`]. The crate has three parts, and only one of
//! them is the filter's own:
//! - [`filter`] is the filter: its settings, its pixel loop and their tests. A new filter
//!   rewrites this file.
//! - This file checks the images handed in (through guest-kit) and runs the filter on each;
//!   its tests hold for any filter. A new filter keeps it as it is.
//! - The `component` module (built for `wasm32` only) holds the WIT bindings and converts
//!   types. A new filter keeps it as it is.

pub mod filter;

#[cfg(target_arch = "wasm32")]
mod component;

pub use filter::Settings;
pub use guest_kit::{GuestError, Image, ImageFormat};

/// This plugin's name, in its messages: the package name, so a renamed crate needs no edit.
pub const PLUGIN: &str = env!("CARGO_PKG_NAME");

/// Checks every image first, so that a bad one refuses the whole call before any work, then
/// filters each in place. Images come back in the same order with the same dimensions, as
/// `rgba8`, as the WIT `filter` interface requires.
pub fn apply(settings: &Settings, mut images: Vec<Image>) -> Result<Vec<Image>, GuestError> {
    guest_kit::check_rgba8(&images)?;
    for image in &mut images {
        filter::filter_in_place(settings, image);
    }
    Ok(images)
}

/// What holds for any filter, whatever its pixels: keep these tests when you replace
/// [`filter`]. They run with the defaults, as every setting has one.
#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Settings {
        Settings::from_lookup(|_| None).expect("a filter works with no settings at all")
    }

    /// An image of `width` x `height` pixels of varied colours and alphas, so that no filter
    /// leaves all of them alone by chance.
    fn varied(width: u32, height: u32) -> Image {
        let bytes = (width * height * 4) as usize;
        Image {
            format: ImageFormat::Rgba8,
            width,
            height,
            data: (0..bytes).map(|i| (i * 37 % 256) as u8).collect(),
        }
    }

    #[test]
    fn keeps_count_order_dimensions_and_rgba8() {
        let images = vec![varied(3, 3), varied(1, 1), varied(16, 16), varied(2, 1)];
        let out = apply(&defaults(), images.clone()).expect("filters");
        assert_eq!(out.len(), images.len());
        for (before, after) in images.iter().zip(&out) {
            assert_eq!(
                (after.format, after.width, after.height, after.data.len()),
                (
                    ImageFormat::Rgba8,
                    before.width,
                    before.height,
                    before.data.len()
                ),
            );
        }
        assert!(
            apply(&defaults(), Vec::new())
                .expect("nothing to do")
                .is_empty()
        );
    }

    #[test]
    fn the_same_images_filter_the_same_way() {
        // The host caches what a filter made and serves it with an ETag: no randomness, no
        // state kept between images.
        let images = vec![varied(4, 4), varied(4, 4)];
        let out = apply(&defaults(), images).expect("filters");
        assert_eq!(out[0], out[1]);
        assert_eq!(
            out,
            apply(&defaults(), vec![varied(4, 4); 2]).expect("filters")
        );
    }

    #[test]
    fn refuses_what_is_not_rgba8_pixels_before_filtering_any() {
        let png = Image {
            format: ImageFormat::Png,
            ..varied(1, 1)
        };
        let short = Image {
            data: vec![0; 15],
            ..varied(2, 2)
        };
        let cases = [
            (png, "image 1 is png, not rgba8"),
            (short, "image 1 is 2x2 but has 15 bytes of pixels, not 16"),
            (varied(0, 0), "image 1 is 0x0: no pixels"),
        ];
        for (bad, message) in cases {
            assert_eq!(
                apply(&defaults(), vec![varied(1, 1), bad]),
                Err(GuestError::InvalidInput(message.to_owned()))
            );
        }
    }
}
