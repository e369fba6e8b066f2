//! The part of the source an avatar is made of: checking a client's crop rectangle against the
//! oriented dimensions, choosing the centred square inside it, and mapping that square from
//! upright (after EXIF orientation) coordinates to the stored, unrotated pixels.
//!
//! Clients see the picture upright, so they give the rectangle in oriented coordinates; the
//! pipeline crops and resizes the pixels as stored and turns only the small results upright
//! (see [`super::square`]). Choosing the square in oriented coordinates and then mapping it
//! keeps the square exactly where the client asked, to the pixel, whatever the orientation.

use image::metadata::Orientation;

use super::{Rect, TransformError};

/// A square of the stored pixels: its top-left corner and its side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Square {
    pub left: u32,
    pub top: u32,
    pub side: u32,
}

impl Square {
    /// The whole of a square image of `side` pixels.
    pub fn whole(side: u32) -> Self {
        Self {
            left: 0,
            top: 0,
            side,
        }
    }
}

/// The dimensions of a `width` x `height` image once `orientation` is applied.
pub(crate) fn oriented_dimensions(width: u32, height: u32, orientation: Orientation) -> (u32, u32) {
    if swaps_axes(orientation) {
        (height, width)
    } else {
        (width, height)
    }
}

/// Checks `crop` against an image of `width` x `height` stored pixels shown with
/// `orientation`: it must hold at least one pixel and lie inside the oriented image.
pub(crate) fn check(
    crop: Option<Rect>,
    width: u32,
    height: u32,
    orientation: Orientation,
) -> Result<(), TransformError> {
    let Some(rect) = crop else {
        return Ok(());
    };
    let (shown_width, shown_height) = oriented_dimensions(width, height, orientation);
    let refuse = |why: &str| {
        Err(TransformError::InvalidCrop(format!(
            "the crop of {}x{} pixels at ({}, {}) {why}; the image is {shown_width}x{shown_height} \
             pixels after EXIF orientation",
            rect.width, rect.height, rect.x, rect.y
        )))
    };
    if rect.width == 0 || rect.height == 0 {
        return refuse("is empty");
    }
    // In u64: `x + width` may not fit a u32.
    let right = u64::from(rect.x) + u64::from(rect.width);
    let bottom = u64::from(rect.y) + u64::from(rect.height);
    if right > u64::from(shown_width) || bottom > u64::from(shown_height) {
        return refuse("reaches outside the image");
    }
    Ok(())
}

/// The square the avatar is made of, in stored pixels: the centred square of `crop` (already
/// [`check`]ed), or of the whole image when there is none, chosen in oriented coordinates.
pub(crate) fn square(
    crop: Option<Rect>,
    width: u32,
    height: u32,
    orientation: Orientation,
) -> Square {
    let (shown_width, shown_height) = oriented_dimensions(width, height, orientation);
    let rect = crop.unwrap_or(Rect {
        x: 0,
        y: 0,
        width: shown_width,
        height: shown_height,
    });
    let side = rect.width.min(rect.height);
    // Whole-pixel offsets, so that a size equal to the side is an exact copy.
    let x = rect.x + (rect.width - side) / 2;
    let y = rect.y + (rect.height - side) / 2;
    // A square maps to a square: map its two opposite corners and take the top-left one.
    let far = side - 1;
    let (x0, y0) = stored_point(x, y, width, height, orientation);
    let (x1, y1) = stored_point(x + far, y + far, width, height, orientation);
    Square {
        left: x0.min(x1),
        top: y0.min(y1),
        side,
    }
}

/// Whether `orientation` turns the picture by a quarter, swapping width and height.
fn swaps_axes(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Where the pixel shown at (`x`, `y`) is stored, in an image of `width` x `height` stored
/// pixels. The inverse of what `image`'s `apply_orientation` does to each pixel.
fn stored_point(x: u32, y: u32, width: u32, height: u32, orientation: Orientation) -> (u32, u32) {
    let (last_x, last_y) = (width - 1, height - 1);
    match orientation {
        Orientation::NoTransforms => (x, y),
        Orientation::FlipHorizontal => (last_x - x, y),
        Orientation::FlipVertical => (x, last_y - y),
        Orientation::Rotate180 => (last_x - x, last_y - y),
        // Turned clockwise: the stored left column is shown as the top row, right to left.
        Orientation::Rotate90 => (y, last_y - x),
        // Turned anticlockwise: the stored top row is shown as the left column, bottom up.
        Orientation::Rotate270 => (last_x - y, x),
        // Transposed (EXIF 5).
        Orientation::Rotate90FlipH => (y, x),
        // Transversed (EXIF 7).
        Orientation::Rotate270FlipH => (last_x - y, last_y - x),
    }
}

#[cfg(test)]
mod tests {
    use image::{DynamicImage, GenericImageView, Rgba, RgbaImage};

    use super::*;

    const ORIENTATIONS: [Orientation; 8] = [
        Orientation::NoTransforms,
        Orientation::FlipHorizontal,
        Orientation::FlipVertical,
        Orientation::Rotate180,
        Orientation::Rotate90,
        Orientation::Rotate270,
        Orientation::Rotate90FlipH,
        Orientation::Rotate270FlipH,
    ];

    /// Every pixel a different colour, so a pixel tells where it came from.
    fn numbered(width: u32, height: u32) -> RgbaImage {
        RgbaImage::from_fn(width, height, |x, y| {
            Rgba([
                u8::try_from(x).expect("small"),
                u8::try_from(y).expect("small"),
                7,
                255,
            ])
        })
    }

    #[test]
    fn the_mapped_square_holds_the_pixels_shown_in_the_crop() {
        let stored = numbered(7, 4);
        let crops = [
            None,
            Some(Rect {
                x: 0,
                y: 0,
                width: 1,
                height: 1,
            }),
            Some(Rect {
                x: 1,
                y: 1,
                width: 3,
                height: 2,
            }),
            Some(Rect {
                x: 1,
                y: 0,
                width: 2,
                height: 4,
            }),
            Some(Rect {
                x: 0,
                y: 2,
                width: 4,
                height: 2,
            }),
        ];
        for orientation in ORIENTATIONS {
            let mut shown = DynamicImage::ImageRgba8(stored.clone());
            shown.apply_orientation(orientation);
            let (width, height) = oriented_dimensions(7, 4, orientation);
            assert_eq!(shown.dimensions(), (width, height), "{orientation:?}");
            for crop in crops {
                check(crop, 7, 4, orientation).expect("inside");
                let Square { left, top, side } = square(crop, 7, 4, orientation);
                // The stored square, turned upright, must be the shown square.
                let mut turned =
                    DynamicImage::ImageRgba8(stored.view(left, top, side, side).to_image());
                turned.apply_orientation(orientation);
                let rect = crop.unwrap_or(Rect {
                    x: 0,
                    y: 0,
                    width,
                    height,
                });
                let x = rect.x + (rect.width - side) / 2;
                let y = rect.y + (rect.height - side) / 2;
                let expected = shown.view(x, y, side, side).to_image();
                assert_eq!(turned.into_rgba8(), expected, "{orientation:?} {crop:?}");
            }
        }
    }

    #[test]
    fn crops_outside_the_oriented_image_are_refused() {
        // Stored 6x4; shown 4x6 when turned a quarter.
        for (orientation, ok, bad) in [
            (
                Orientation::NoTransforms,
                Rect {
                    x: 0,
                    y: 0,
                    width: 6,
                    height: 4,
                },
                Rect {
                    x: 0,
                    y: 0,
                    width: 4,
                    height: 6,
                },
            ),
            (
                Orientation::Rotate90,
                Rect {
                    x: 0,
                    y: 0,
                    width: 4,
                    height: 6,
                },
                Rect {
                    x: 0,
                    y: 0,
                    width: 6,
                    height: 4,
                },
            ),
        ] {
            assert_eq!(check(Some(ok), 6, 4, orientation), Ok(()));
            let Err(TransformError::InvalidCrop(message)) = check(Some(bad), 6, 4, orientation)
            else {
                panic!("{orientation:?} {bad:?} accepted");
            };
            let (width, height) = oriented_dimensions(6, 4, orientation);
            assert!(
                message.contains(&format!("{width}x{height} pixels after EXIF orientation")),
                "{message}"
            );
        }
        let huge = Rect {
            x: u32::MAX,
            y: 0,
            width: u32::MAX,
            height: 1,
        };
        assert!(check(Some(huge), 6, 4, Orientation::NoTransforms).is_err());
    }
}

#[cfg(test)]
mod properties {
    use image::metadata::Orientation;
    use proptest::prelude::*;

    use super::*;

    fn orientation() -> impl Strategy<Value = Orientation> {
        (1u8..=8).prop_map(|n| Orientation::from_exif(n).expect("1 to 8"))
    }

    proptest! {
        /// Any rectangle, on any image, in any orientation: accepted exactly when it is not
        /// empty and lies inside the picture as shown, and then its square lies inside the
        /// stored pixels with the rectangle's shorter side.
        #[test]
        fn a_crop_is_accepted_exactly_inside_and_squares_stay_inside(
            x in any::<u32>(), y in any::<u32>(),
            crop_width in any::<u32>(), crop_height in any::<u32>(),
            width in 1u32..5000, height in 1u32..5000,
            orientation in orientation(),
            small in any::<bool>(),
        ) {
            // Half the cases small enough to land inside often.
            let rect = if small {
                Rect { x: x % 6000, y: y % 6000, width: crop_width % 6000, height: crop_height % 6000 }
            } else {
                Rect { x, y, width: crop_width, height: crop_height }
            };
            let (shown_width, shown_height) = oriented_dimensions(width, height, orientation);
            let inside = rect.width > 0
                && rect.height > 0
                && u64::from(rect.x) + u64::from(rect.width) <= u64::from(shown_width)
                && u64::from(rect.y) + u64::from(rect.height) <= u64::from(shown_height);
            let checked = check(Some(rect), width, height, orientation);
            prop_assert_eq!(checked.is_ok(), inside, "{:?}", checked);
            if inside {
                let square = square(Some(rect), width, height, orientation);
                prop_assert_eq!(square.side, rect.width.min(rect.height));
                prop_assert!(square.left + square.side <= width, "{:?}", square);
                prop_assert!(square.top + square.side <= height, "{:?}", square);
            }
        }
    }
}
