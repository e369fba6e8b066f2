//! The first-party `transform-image` component, called through the host's plugin runtime.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use avatar_host::avatar::ImageFormat;
use avatar_host::plugin::{
    CallLimits, Image, ImageRejection, Runtime, RuntimeOptions, Settings, TransformPlugin,
    TransformSpec, builtin,
};
use avatar_tests::images::{
    contains, encode, png_declaring, png_with_text, quadrants, translucent, with_exif_orientation,
};
use image::{DynamicImage, GenericImageView};

fn plugin() -> &'static TransformPlugin {
    static PLUGIN: OnceLock<TransformPlugin> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let runtime = Runtime::new(&RuntimeOptions::default()).expect("runtime");
        runtime
            .load_transform(
                "transform-image",
                builtin("transform-image").expect("embedded"),
            )
            .expect("transform-image loads")
    })
}

fn no_settings() -> Arc<Settings> {
    Arc::new(Settings::new())
}

fn spec(sizes: &[u32], format: Option<ImageFormat>) -> TransformSpec {
    TransformSpec {
        sides: sizes.to_vec(),
        format,
        quality: 85,
        max_pixels: 50_000_000,
        crop: None,
    }
}

fn limits() -> CallLimits {
    CallLimits {
        deadline: Duration::from_secs(20),
        ..CallLimits::default()
    }
}

fn transform(upload: &[u8], spec: &TransformSpec) -> Result<Vec<Image>, ImageRejection> {
    plugin()
        .transform(&no_settings(), &limits(), upload, spec)
        .map_err(|e| {
            e.as_image_rejection()
                .cloned()
                .unwrap_or_else(|| panic!("the plugin failed instead of deciding: {e:?}"))
        })
}

fn decode(image: &Image) -> DynamicImage {
    let format = match image.format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Webp => image::ImageFormat::WebP,
        other => panic!("not an encoded output: {other}"),
    };
    image::load_from_memory_with_format(&image.data, format).expect("output decodes")
}

fn assert_close(actual: [u8; 3], expected: [u8; 3], what: &str) {
    let off = actual
        .iter()
        .zip(expected)
        .map(|(a, e)| a.abs_diff(e))
        .max()
        .unwrap_or(0);
    assert!(
        off <= 40,
        "{what}: got {actual:?}, expected about {expected:?}"
    );
}

fn rgb_at(image: &DynamicImage, x: u32, y: u32) -> [u8; 3] {
    let p = image.get_pixel(x, y).0;
    [p[0], p[1], p[2]]
}

#[test]
fn every_input_format_keeps_or_becomes_the_right_format() {
    let source = DynamicImage::ImageRgb8(quadrants(300, 300));
    let cases = [
        (image::ImageFormat::Jpeg, ImageFormat::Jpeg),
        (image::ImageFormat::Png, ImageFormat::Png),
        (image::ImageFormat::Gif, ImageFormat::Png),
        (image::ImageFormat::WebP, ImageFormat::Png),
    ];
    for (input, expected) in cases {
        let upload = encode(&source, input);
        let images = transform(&upload, &spec(&[256, 128, 64], None))
            .unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let sides: Vec<_> = images.iter().map(|i| (i.width, i.height)).collect();
        assert_eq!(sides, [(256, 256), (128, 128), (64, 64)], "{input:?}");
        for image in &images {
            assert_eq!(image.format, expected, "{input:?}");
            let decoded = decode(image);
            assert_eq!(decoded.dimensions(), (image.width, image.height));
            // Top-left quadrant stays red, bottom-right white.
            assert_close(rgb_at(&decoded, 2, 2), [255, 0, 0], "top left");
            let last = image.width - 3;
            assert_close(
                rgb_at(&decoded, last, last),
                [255, 255, 255],
                "bottom right",
            );
        }
    }
}

#[test]
fn translucent_png_keeps_its_alpha() {
    let upload = encode(
        &DynamicImage::ImageRgba8(translucent(200, 200)),
        image::ImageFormat::Png,
    );
    let images = transform(&upload, &spec(&[100], None)).expect("transform");
    let decoded = decode(&images[0]).to_rgba8();
    assert_eq!(decoded.get_pixel(10, 50).0[3], 255);
    assert!(decoded.get_pixel(90, 50).0[3].abs_diff(128) <= 2);
}

#[test]
fn a_non_square_source_is_cropped_to_its_centre() {
    // 400x200: the centred 200x200 square spans x in 100..300, i.e. the inner halves of the
    // left (red/blue) and right (green/white) quadrants.
    let upload = encode(
        &DynamicImage::ImageRgb8(quadrants(400, 200)),
        image::ImageFormat::Png,
    );
    let images = transform(&upload, &spec(&[100], None)).expect("transform");
    let decoded = decode(&images[0]);
    assert_eq!(decoded.dimensions(), (100, 100));
    assert_close(rgb_at(&decoded, 5, 5), [255, 0, 0], "top left");
    assert_close(rgb_at(&decoded, 94, 5), [0, 255, 0], "top right");
    assert_close(rgb_at(&decoded, 5, 94), [0, 0, 255], "bottom left");
}

#[test]
fn an_exif_rotated_jpeg_comes_out_upright() {
    // Stored sideways: orientation 6 means "rotate 90° clockwise to display". The stored top
    // left (red) must end up top right after rotation.
    let jpeg = encode(
        &DynamicImage::ImageRgb8(quadrants(200, 200)),
        image::ImageFormat::Jpeg,
    );
    let rotated = with_exif_orientation(&jpeg, 6);
    let images = transform(&rotated, &spec(&[100], None)).expect("transform");
    let decoded = decode(&images[0]);
    assert_close(rgb_at(&decoded, 94, 5), [255, 0, 0], "red after rotation");
    assert_close(rgb_at(&decoded, 5, 5), [0, 0, 255], "blue after rotation");
    assert!(!contains(&images[0].data, b"Exif"), "EXIF must be stripped");
}

#[test]
fn metadata_is_stripped() {
    let source = DynamicImage::ImageRgb8(quadrants(120, 120));
    let png = png_with_text(&source);
    assert!(contains(&png, b"tEXt"));
    for image in transform(&png, &spec(&[64], None)).expect("png") {
        assert!(!contains(&image.data, b"tEXt") && !contains(&image.data, b"secret metadata"));
    }
    let jpeg = with_exif_orientation(&encode(&source, image::ImageFormat::Jpeg), 1);
    for image in transform(&jpeg, &spec(&[64], None)).expect("jpeg") {
        assert!(!contains(&image.data, b"Exif"));
    }
}

#[test]
fn a_declared_decompression_bomb_is_refused_before_decoding() {
    let bomb = png_declaring(100_000, 100_000);
    let verdict = transform(&bomb, &spec(&[128], None));
    assert_eq!(
        verdict.err(),
        Some(ImageRejection::TooManyPixels {
            width: 100_000,
            height: 100_000
        })
    );
    // Decoding would try to allocate 40 GB and fail the 256 MiB cap, a resource limit: this
    // rejection, read from the declared dimensions, means nothing was decoded. (How long the
    // check takes is the benchmarks' business, not a test's.)
}

#[test]
fn truncated_and_random_bytes_are_refused() {
    let source = DynamicImage::ImageRgb8(quadrants(256, 256));
    let png = encode(&source, image::ImageFormat::Png);
    let jpeg = encode(&source, image::ImageFormat::Jpeg);
    for (name, bytes) in [
        ("png", &png[..png.len() / 2]),
        ("jpeg", &jpeg[..jpeg.len() / 3]),
    ] {
        let verdict = transform(bytes, &spec(&[64], None));
        assert!(
            matches!(verdict, Err(ImageRejection::Undecodable(_))),
            "{name}: {verdict:?}"
        );
    }
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for bytes in [&random[..], b"", b"GIF89a"] {
        let verdict = transform(bytes, &spec(&[64], None));
        assert!(
            matches!(
                verdict,
                Err(ImageRejection::UnsupportedFormat(_) | ImageRejection::Undecodable(_))
            ),
            "{verdict:?}"
        );
    }
}

#[test]
fn sizes_larger_than_the_source_are_skipped_except_the_smallest() {
    let upload = encode(
        &DynamicImage::ImageRgb8(quadrants(300, 300)),
        image::ImageFormat::Png,
    );
    let images = transform(&upload, &spec(&[1024, 512, 256, 128], None)).expect("transform");
    let sides: Vec<_> = images.iter().map(|i| i.width).collect();
    assert_eq!(sides, [256, 128]);

    let tiny = encode(
        &DynamicImage::ImageRgb8(quadrants(40, 40)),
        image::ImageFormat::Png,
    );
    let images = transform(&tiny, &spec(&[512, 256, 128], None)).expect("transform");
    let sides: Vec<_> = images.iter().map(|i| (i.width, i.height)).collect();
    assert_eq!(sides, [(128, 128)], "the smallest size is always produced");
}

#[test]
fn explicit_output_formats_are_honoured() {
    let upload = encode(
        &DynamicImage::ImageRgb8(quadrants(200, 200)),
        image::ImageFormat::Jpeg,
    );
    for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Webp] {
        let images = transform(&upload, &spec(&[96, 48], Some(format))).expect("transform");
        for image in &images {
            assert_eq!(image.format, format);
            assert_eq!(decode(image).dimensions(), (image.width, image.height));
        }
    }
    let raw = transform(&upload, &spec(&[32], Some(ImageFormat::Rgba8))).expect("rgba8");
    assert_eq!(raw[0].format, ImageFormat::Rgba8);
    assert_eq!(raw[0].data.len(), 32 * 32 * 4);
}

#[test]
fn encode_turns_raw_pixels_into_files() {
    let upload = encode(
        &DynamicImage::ImageRgb8(quadrants(200, 200)),
        image::ImageFormat::Png,
    );
    let raw = transform(&upload, &spec(&[64, 32], Some(ImageFormat::Rgba8))).expect("rgba8");
    let encoded = plugin()
        .encode(&no_settings(), &limits(), raw, ImageFormat::Webp, 90)
        .expect("encode");
    assert_eq!(encoded.len(), 2);
    for image in &encoded {
        assert_eq!(image.format, ImageFormat::Webp);
        assert_eq!(decode(image).dimensions(), (image.width, image.width));
    }
}

#[test]
fn invalid_specs_are_refused() {
    let upload = encode(
        &DynamicImage::ImageRgb8(quadrants(64, 64)),
        image::ImageFormat::Png,
    );
    for bad in [spec(&[], None), spec(&[0], None)] {
        let verdict = transform(&upload, &bad);
        assert!(
            matches!(verdict, Err(ImageRejection::InvalidInput(_))),
            "{bad:?}: {verdict:?}"
        );
    }
}
