//! Tests of `Spec::crop`: which rectangles are refused, and that the pixels of the rectangle
//! (in upright coordinates, after EXIF orientation) are what comes out.

use std::time::{Duration, Instant};

use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, GenericImageView, Rgb, RgbImage, RgbaImage};

use super::super::*;
use super::fixtures::*;

/// Every pixel a different colour (both sides below 256), so a pixel tells where it came from.
fn numbered(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([to_u8(x), to_u8(y), to_u8((x * 7 + y * 13) % 256)])
    })
}

fn cropped(sizes: &[u32], crop: Rect) -> Spec {
    Spec {
        crop: Some(crop),
        ..spec(sizes, Some(ImageFormat::Rgba8))
    }
}

fn rect(x: u32, y: u32, width: u32, height: u32) -> Rect {
    Rect {
        x,
        y,
        width,
        height,
    }
}

/// The centred square of `crop` in the upright `shown` picture, as the pipeline must take it.
fn reference_square(shown: &RgbaImage, crop: Rect) -> RgbaImage {
    let side = crop.width.min(crop.height);
    let x = crop.x + (crop.width - side) / 2;
    let y = crop.y + (crop.height - side) / 2;
    shown.view(x, y, side, side).to_image()
}

/// `EXIF` orientation tag values and what `image` does for each.
const EXIF: [(u16, Orientation); 8] = [
    (1, Orientation::NoTransforms),
    (2, Orientation::FlipHorizontal),
    (3, Orientation::Rotate180),
    (4, Orientation::FlipVertical),
    (5, Orientation::Rotate90FlipH),
    (6, Orientation::Rotate90),
    (7, Orientation::Rotate270FlipH),
    (8, Orientation::Rotate270),
];

/// A lossless upload of `stored` that declares `exif` orientation, and the picture shown.
fn oriented_png(stored: &RgbImage, exif: u16) -> (Vec<u8>, RgbaImage) {
    let upload = png_with_chunks(
        &png_rgb_bytes(stored),
        &[png_chunk(b"eXIf", &tiff_orientation(exif))],
    );
    let orientation = EXIF
        .iter()
        .find(|(tag, _)| *tag == exif)
        .map(|(_, orientation)| *orientation)
        .expect("a known tag");
    let mut shown = DynamicImage::ImageRgb8(stored.clone());
    shown.apply_orientation(orientation);
    (upload, shown.into_rgba8())
}

#[test]
fn the_rectangle_is_what_comes_out_at_its_own_side() {
    // Stored 60x40; the quarter turns show it 40x60. At the square's own side the pipeline
    // copies pixels, so the output must be exactly the reference square.
    let stored = numbered(60, 40);
    for (exif, _) in EXIF {
        let (upload, shown) = oriented_png(&stored, exif);
        let (width, height) = shown.dimensions();
        let crops = [
            // The whole picture, and every corner and edge it touches.
            rect(0, 0, width, height),
            rect(0, 0, 10, 10),
            rect(width - 10, 0, 10, 10),
            rect(0, height - 10, 10, 10),
            rect(width - 10, height - 10, 10, 10),
            rect(5, 0, 12, 7),
            rect(5, height - 7, 12, 7),
            rect(0, 5, 7, 12),
            rect(width - 7, 5, 7, 12),
            // A single pixel in each corner and inside.
            rect(0, 0, 1, 1),
            rect(width - 1, height - 1, 1, 1),
            rect(width - 1, 0, 1, 1),
            rect(0, height - 1, 1, 1),
            rect(13, 17, 1, 1),
            // Non-square, with odd margins: their own centred square.
            rect(3, 4, 25, 8),
            rect(2, 1, 9, 30),
            rect(0, 0, width, 1),
            rect(0, 0, 1, height),
        ];
        for crop in crops {
            let expected = reference_square(&shown, crop);
            let side = expected.width();
            let images = run(&upload, &cropped(&[side], crop)).expect("a valid crop");
            assert_eq!(dims(&images), [(side, side)], "exif {exif} {crop:?}");
            assert_eq!(decode_back(&images[0]), expected, "exif {exif} {crop:?}");
        }
    }
}

#[test]
fn the_rectangle_is_what_gets_resized() {
    // A smooth picture, so a reference resize of the same square by another resizer (image's
    // own Lanczos3) must agree closely; a square shifted by even one pixel would not.
    let stored = RgbImage::from_fn(160, 120, |x, y| {
        let wave = |v: u32, period: f32| ((v as f32 / period).sin() * 100.0 + 128.0) as u8;
        Rgb([wave(x, 9.0), wave(y, 7.0), wave(x + y, 11.0)])
    });
    for exif in [1, 3, 6, 8] {
        let (upload, shown) = oriented_png(&stored, exif);
        let (width, height) = shown.dimensions();
        for crop in [
            rect(10, 20, 64, 64),
            rect(width - 90, height - 70, 90, 70),
            rect(0, 0, 50, height),
        ] {
            let square = reference_square(&shown, crop);
            let size = square.width() / 2;
            let expected = image::imageops::resize(&square, size, size, FilterType::Lanczos3);
            let images = run(&upload, &cropped(&[size], crop)).expect("a valid crop");
            let actual = decode_back(&images[0]);
            // The outermost pixels differ: this pipeline's filter reads a few pixels beyond the
            // square, the reference has nothing there.
            let margin = 3;
            let mut worst = 0;
            for y in margin..size - margin {
                for x in margin..size - margin {
                    let (a, e) = (actual.get_pixel(x, y).0, expected.get_pixel(x, y).0);
                    for channel in 0..3 {
                        worst = worst.max(a[channel].abs_diff(e[channel]));
                    }
                }
            }
            assert!(worst <= 6, "exif {exif} {crop:?}: off by up to {worst}");
        }
    }
}

#[test]
fn a_rotated_jpeg_is_cropped_upright() {
    // Stored quadrants red, green / blue, white; EXIF 6 shows blue, red / white, green.
    let upload = jpeg_with_exif(&jpeg_bytes(&quadrants(96, 64)), 6);
    // Shown 64x96: the top-right quadrant (32x48) is red, the bottom-left white.
    let cases = [(rect(32, 0, 32, 48), RED), (rect(0, 48, 32, 48), WHITE)];
    for (crop, colour) in cases {
        let images = run(&upload, &cropped(&[32, 16], crop)).expect("a valid crop");
        assert_eq!(dims(&images), [(32, 32), (16, 16)]);
        for image in &images {
            let back = decode_back(image);
            let centre = image.width / 2;
            assert_close(
                rgb_at(&back, centre, centre),
                colour,
                12,
                &format!("{crop:?}"),
            );
        }
    }
}

#[test]
fn sizes_larger_than_the_crop_are_skipped() {
    let upload = png_rgb_bytes(&gradient(200, 200));
    let images = run(&upload, &cropped(&[128, 64, 32], rect(10, 10, 50, 70))).expect("crop");
    assert_eq!(dims(&images), [(32, 32)]);
    let images = run(&upload, &cropped(&[128, 64], rect(10, 10, 50, 70))).expect("crop");
    assert_eq!(
        dims(&images),
        [(64, 64)],
        "the smallest size is always produced"
    );
}

#[test]
fn bad_rectangles_are_refused_with_the_oriented_dimensions() {
    let stored = numbered(60, 40);
    for exif in [1, 3, 6, 8] {
        let (upload, shown) = oriented_png(&stored, exif);
        let (width, height) = shown.dimensions();
        let bad = [
            rect(0, 0, 0, 10),
            rect(0, 0, 10, 0),
            rect(width, 0, 0, 0),
            // One pixel past each edge.
            rect(0, 0, width + 1, height),
            rect(0, 0, width, height + 1),
            rect(1, 0, width, 10),
            rect(0, 1, 10, height),
            rect(width, 0, 1, 1),
            rect(0, height, 1, 1),
            rect(width - 10, height - 10, 11, 10),
            rect(width - 10, height - 10, 10, 11),
            // The stored (unrotated) dimensions are not the shown ones.
            rect(0, 0, height, width),
            // `x + width` overflows a u32.
            rect(u32::MAX, 0, 2, 1),
            rect(0, u32::MAX, 1, u32::MAX),
        ];
        for crop in bad {
            let result = run(&upload, &cropped(&[16], crop));
            let Err(TransformError::InvalidCrop(message)) = result else {
                panic!("exif {exif} {crop:?}: {result:?}");
            };
            let needle = format!("the image is {width}x{height} pixels after EXIF orientation");
            assert!(message.contains(&needle), "exif {exif}: {message}");
        }
        // The same rectangles shifted back inside are fine.
        for crop in [rect(0, 0, width, height), rect(width - 1, height - 1, 1, 1)] {
            assert!(
                run(&upload, &cropped(&[16], crop)).is_ok(),
                "exif {exif} {crop:?}"
            );
        }
    }
}

#[test]
fn a_bad_crop_of_a_huge_file_is_refused_before_decoding() {
    // 20000x20000 is allowed by `max_pixels` here, so only the crop check stops the decoder
    // from allocating 1.2 GB; the file holds no real pixels, so the refusal can only come
    // from its header.
    let png = png_declaring(20_000, 20_000, true);
    let mut jpeg = jpeg_with_exif(&jpeg_bytes(&gradient(16, 16)), 6);
    let sof = jpeg
        .windows(2)
        .position(|pair| pair == [0xFF, 0xC0])
        .expect("baseline JPEG");
    // Height 20000, width 10000: shown 20000 wide and 10000 high.
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0x4E, 0x20, 0x27, 0x10]);
    let cases = [
        ("png", png, rect(19_999, 0, 2, 2), "20000x20000"),
        ("rotated jpeg", jpeg, rect(0, 9_999, 2, 2), "20000x10000"),
    ];
    for (name, upload, crop, shown) in cases {
        let mut spec = cropped(&[256], crop);
        spec.max_pixels = 400_000_000;
        let started = Instant::now();
        let result = run(&upload, &spec);
        let elapsed = started.elapsed();
        let Err(TransformError::InvalidCrop(message)) = result else {
            panic!("{name}: {result:?}");
        };
        assert!(message.contains(shown), "{name}: {message}");
        assert!(
            elapsed < Duration::from_millis(50),
            "{name} took {elapsed:?}"
        );
    }
}
