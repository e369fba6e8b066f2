//! Tests of the whole pipeline on inputs generated here with the `image` crate.

mod crop;
mod encoders;
mod fixtures;

use std::time::{Duration, Instant};

use image::{DynamicImage, Rgb, RgbImage, Rgba, RgbaImage};

use super::*;
use fixtures::*;

// ---- transform ----------------------------------------------------------------------------

#[test]
fn every_input_format_gives_its_default_output_at_exact_sizes() {
    let source = gradient(200, 150);
    let alpha = RgbaImage::from_fn(200, 150, |x, y| {
        Rgba([to_u8(x), to_u8(y), 128, to_u8(x + 40)])
    });
    let cases = [
        ("jpeg", jpeg_bytes(&source), ImageFormat::Jpeg),
        ("png with alpha", png_rgba_bytes(&alpha), ImageFormat::Png),
        ("png", png_rgb_bytes(&source), ImageFormat::Png),
        ("gif", gif_bytes(&source), ImageFormat::Png),
        ("webp", webp_bytes(&source), ImageFormat::Png),
    ];
    for (name, upload, expected) in cases {
        let images = run(&upload, &spec(&[32, 128, 64], None)).expect(name);
        assert_eq!(dims(&images), [(128, 128), (64, 64), (32, 32)], "{name}");
        for image in &images {
            assert_eq!(image.format, expected, "{name}");
            let back = decode_back(image);
            // The gradient's centre column is about half red.
            let [r, _, b] = rgb_at(&back, image.width / 2, image.height / 2);
            assert!((100..=156).contains(&r), "{name}: red {r} at the centre");
            assert!((100..=156).contains(&b), "{name}: blue {b} at the centre");
        }
    }
}

#[test]
fn transparency_is_kept_and_does_not_bleed() {
    let upload = png_rgba_bytes(&half_transparent(100));
    // WebP at quality 100 is lossless, so its pixels can be compared exactly.
    let mut lossless = spec(&[100, 50, 30], Some(ImageFormat::Webp));
    lossless.quality = 100;
    for spec in [
        spec(&[100, 50, 30], None),
        lossless,
        spec(&[100, 50, 30], Some(ImageFormat::Rgba8)),
    ] {
        let format = spec.format;
        let images = run(&upload, &spec).expect("transform");
        for image in &images {
            let back = decode_back(image);
            let side = image.width;
            assert_eq!(
                back.get_pixel(2, side / 2).0[3],
                0,
                "{format:?} {side}: left"
            );
            assert_eq!(
                back.get_pixel(side - 3, side / 2).0,
                [0, 0, 255, 255],
                "{format:?} {side}: right"
            );
            // Premultiplied resizing: the transparent red never tints visible pixels.
            for pixel in back.pixels() {
                let [r, _, _, a] = pixel.0;
                assert!(
                    a == 0 || r <= 1,
                    "{format:?} {side}: red {r} leaked at alpha {a}"
                );
            }
        }
    }
    let png = run(&upload, &spec(&[50], None)).expect("transform");
    let decoded = image::load_from_memory(&png[0].data).expect("png");
    assert_eq!(decoded.color(), image::ColorType::Rgba8);
}

#[test]
fn opaque_sources_are_written_without_alpha() {
    let opaque = RgbaImage::from_pixel(40, 40, Rgba([10, 200, 30, 255]));
    for upload in [png_rgba_bytes(&opaque), gif_bytes(&gradient(40, 40))] {
        let images = run(&upload, &spec(&[20], Some(ImageFormat::Png))).expect("transform");
        let decoded = image::load_from_memory(&images[0].data).expect("png");
        assert_eq!(decoded.color(), image::ColorType::Rgb8);
    }
}

#[test]
fn jpeg_output_composites_alpha_over_white() {
    let upload = png_rgba_bytes(&half_transparent(64));
    let images = run(&upload, &spec(&[64], Some(ImageFormat::Jpeg))).expect("transform");
    let back = decode_back(&images[0]);
    assert_close(rgb_at(&back, 8, 32), WHITE, 3, "transparent half");
    assert_close(rgb_at(&back, 56, 32), [0, 0, 255], 6, "opaque half");
}

#[test]
fn non_square_sources_crop_the_centre() {
    // Landscape: red | green | blue columns; portrait: red / green / blue rows.
    let band = |i: u32| {
        if i < 100 {
            RED
        } else if i < 200 {
            GREEN
        } else {
            BLUE
        }
    };
    let landscape = RgbImage::from_fn(300, 100, |x, _| Rgb(band(x)));
    let portrait = RgbImage::from_fn(100, 300, |_, y| Rgb(band(y)));
    for (name, source) in [("landscape", landscape), ("portrait", portrait)] {
        let upload = png_rgb_bytes(&source);
        let images = run(&upload, &spec(&[100, 40], Some(ImageFormat::Rgba8))).expect(name);
        assert_eq!(dims(&images), [(100, 100), (40, 40)], "{name}");
        // At the source's own side the crop is an exact copy.
        assert!(
            images[0]
                .data
                .chunks_exact(4)
                .all(|p| p == [20, 230, 20, 255]),
            "{name}"
        );
        let small = decode_back(&images[1]);
        for (x, y, pixel) in small.enumerate_pixels() {
            let [r, g, b, a] = pixel.0;
            let what = format!("{name} ({x}, {y})");
            // Like Pillow's `resize(box=...)`, the filter reads a few pixels beyond the crop
            // (Lanczos3 at 2.5:1 reaches 7.5 source pixels, 3 output pixels), which tints the
            // outermost pixels a little; everything inside that is exactly the centre colour.
            let inner = (3..37).contains(&x) && (3..37).contains(&y);
            assert_close([r, g, b], GREEN, if inner { 0 } else { 16 }, &what);
            assert_eq!(a, 255, "{what}");
        }
    }
}

#[test]
fn exif_orientation_is_applied() {
    // Display corner colours (top-left, top-right, bottom-left, bottom-right) for the stored
    // quadrants red, green / blue, white.
    let cases: [(u16, [[u8; 3]; 4]); 5] = [
        (1, [RED, GREEN, BLUE, WHITE]),
        (3, [WHITE, BLUE, GREEN, RED]),
        (6, [BLUE, RED, WHITE, GREEN]),
        (8, [GREEN, WHITE, RED, BLUE]),
        (2, [GREEN, RED, WHITE, BLUE]),
    ];
    let source = quadrants(64, 64);
    for (orientation, expected) in cases {
        let jpeg = jpeg_with_exif(&jpeg_bytes(&source), orientation);
        let png = png_with_chunks(
            &png_rgb_bytes(&source),
            &[png_chunk(b"eXIf", &tiff_orientation(orientation))],
        );
        for (name, upload) in [("jpeg", jpeg), ("png", png)] {
            let images =
                run(&upload, &spec(&[64, 32], Some(ImageFormat::Rgba8))).expect("transform");
            for image in &images {
                let back = decode_back(image);
                let (near, far) = (image.width / 8, image.width - 1 - image.width / 8);
                let corners = [(near, near), (far, near), (near, far), (far, far)];
                for ((x, y), colour) in corners.into_iter().zip(expected) {
                    let what = format!(
                        "{name} orientation {orientation} size {} ({x}, {y})",
                        image.width
                    );
                    assert_close(rgb_at(&back, x, y), colour, 12, &what);
                }
            }
        }
    }
}

#[test]
fn a_rotated_non_square_jpeg_gives_squares() {
    let upload = jpeg_with_exif(&jpeg_bytes(&quadrants(96, 64)), 6);
    let images = run(&upload, &spec(&[64, 16], None)).expect("transform");
    assert_eq!(dims(&images), [(64, 64), (16, 16)]);
}

#[test]
fn declared_bombs_are_refused_before_decoding() {
    for with_body in [false, true] {
        let upload = png_declaring(100_000, 100_000, with_body);
        let started = Instant::now();
        let refused = run(&upload, &spec(&[256], None));
        let elapsed = started.elapsed();
        assert_eq!(
            refused,
            Err(TransformError::TooManyPixels {
                width: 100_000,
                height: 100_000
            })
        );
        assert!(elapsed < Duration::from_millis(50), "took {elapsed:?}");
    }

    let source = gradient(64, 48);
    let uploads = [
        jpeg_bytes(&source),
        png_rgb_bytes(&source),
        gif_bytes(&source),
        webp_bytes(&source),
    ];
    for upload in uploads {
        let mut tight = spec(&[16], None);
        tight.max_pixels = 64 * 48 - 1;
        assert_eq!(
            run(&upload, &tight),
            Err(TransformError::TooManyPixels {
                width: 64,
                height: 48
            })
        );
        tight.max_pixels = 64 * 48;
        assert!(run(&upload, &tight).is_ok());
    }
}

#[test]
fn patched_headers_declaring_huge_images_are_refused_quickly() {
    let source = gradient(16, 16);

    // JPEG: the SOF0 segment holds height then width, big-endian, after FF C0, length and
    // precision.
    let mut jpeg = jpeg_bytes(&source);
    let sof = jpeg
        .windows(2)
        .position(|pair| pair == [0xFF, 0xC0])
        .expect("baseline JPEG");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFE]);

    // GIF: the logical screen is 16-bit little-endian width and height at offset 6.
    let mut gif = gif_bytes(&source);
    gif[6..10].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);

    // Lossless WebP: after "VP8L", its size and the 0x2F signature, 14 bits of width - 1 and
    // 14 bits of height - 1, little-endian.
    let mut webp = webp_bytes(&source);
    assert_eq!(&webp[12..16], b"VP8L");
    // (16383 rather than the format's 16384: image-webp 0.2.4 masks 16384 to 0.)
    let header = u32::from_le_bytes(webp[21..25].try_into().expect("4 bytes"));
    let header = (header & !0x0FFF_FFFF) | 16382 | (16382 << 14);
    webp[21..25].copy_from_slice(&header.to_le_bytes());

    let cases = [
        ("jpeg", jpeg, 65534, 65535),
        ("gif", gif, 65535, 65535),
        ("webp", webp, 16383, 16383),
    ];
    for (name, upload, width, height) in cases {
        let started = Instant::now();
        let refused = run(&upload, &spec(&[256], None));
        let elapsed = started.elapsed();
        assert_eq!(
            refused,
            Err(TransformError::TooManyPixels { width, height }),
            "{name}"
        );
        assert!(
            elapsed < Duration::from_millis(50),
            "{name} took {elapsed:?}"
        );
    }
}

#[test]
fn unknown_and_unsupported_formats_are_named() {
    let mut random = vec![0u8; 4096];
    let mut state = 0x1234_5678_u32;
    for byte in &mut random {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *byte = state.to_be_bytes()[0];
    }
    random[0] = 0x42; // not a magic number of anything
    let cases: [(&[u8], &str); 5] = [
        (&random, "unknown"),
        (b"", "unknown"),
        (b"BM\x36\0\0\0\0\0\0\0\x36\0\0\0", "bmp"),
        (b"II*\0\x08\0\0\0", "tiff"),
        (b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>", "unknown"),
    ];
    for (upload, seen) in cases {
        assert_eq!(
            run(upload, &spec(&[16], None)),
            Err(TransformError::UnsupportedFormat(seen.to_owned()))
        );
    }
}

#[test]
fn truncated_files_are_undecodable() {
    let source = gradient(64, 64);
    let uploads = [
        ("jpeg", jpeg_bytes(&source)),
        ("png", png_rgb_bytes(&source)),
        ("gif", gif_bytes(&source)),
        ("webp", webp_bytes(&source)),
    ];
    for (name, upload) in uploads {
        for keep in [16, 40, upload.len() / 2] {
            let result = run(&upload[..keep], &spec(&[16], None));
            assert!(
                matches!(result, Err(TransformError::Undecodable(_))),
                "{name} cut at {keep}: {result:?}"
            );
        }
    }
}

#[test]
fn a_jpeg_must_reach_its_end_marker() {
    let jpeg = jpeg_bytes(&gradient(64, 64));
    // An embedded thumbnail's end marker does not count as the image's.
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff_orientation(1));
    payload.extend_from_slice(b"\xFF\xD8\xFF\xD9");
    let with_thumbnail = jpeg_with_app1(&jpeg, &payload);
    for (name, upload) in [("plain", &jpeg), ("thumbnail", &with_thumbnail)] {
        for cut in [2, 3, 200] {
            let result = run(&upload[..upload.len() - cut], &spec(&[16], None));
            assert!(
                matches!(result, Err(TransformError::Undecodable(_))),
                "{name} without its last {cut} bytes: {result:?}"
            );
        }
        assert!(run(upload, &spec(&[16], None)).is_ok(), "{name}");
        // Data after the end marker (a motion photo's video, say) is fine.
        let mut trailed = upload.clone();
        trailed.extend_from_slice(b"\0\0\0\x18ftypmp42 trailing data");
        assert!(
            run(&trailed, &spec(&[16], None)).is_ok(),
            "{name} with trailer"
        );
    }
}

#[test]
fn no_input_makes_it_panic() {
    let source = gradient(48, 40);
    let alpha = png_rgba_bytes(&half_transparent(32));
    let uploads = [
        jpeg_with_exif(&jpeg_bytes(&source), 6),
        png_rgb_bytes(&source),
        alpha,
        gif_bytes(&source),
        webp_bytes(&source),
    ];
    let mut state = 0x9E37_79B9_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let mut tight = spec(&[64, 24, 8], None);
    tight.max_pixels = 1 << 20;
    for upload in uploads {
        let step = (upload.len() / 97).max(1);
        for keep in (0..upload.len()).step_by(step) {
            let _ = run(&upload[..keep], &tight);
        }
        for _ in 0..200 {
            let mut corrupt = upload.clone();
            for _ in 0..4 {
                let at = usize::try_from(next()).expect("u32 fits") % corrupt.len();
                corrupt[at] = next().to_be_bytes()[1];
            }
            let _ = run(&corrupt, &tight);
        }
    }
}

#[test]
fn sizes_larger_than_the_source_are_skipped_except_the_smallest() {
    let upload = png_rgb_bytes(&gradient(100, 80));
    // (wanted sizes, produced sides): the square side of the source is 80.
    let cases = [
        (vec![256, 128, 80, 64, 16], vec![80, 64, 16]),
        (vec![512, 256, 128], vec![128]),
        (vec![80], vec![80]),
        (vec![81], vec![81]),
    ];
    for (sizes, sides) in cases {
        let images = run(&upload, &spec(&sizes, None)).expect("transform");
        let expected: Vec<(u32, u32)> = sides.iter().map(|&side| (side, side)).collect();
        assert_eq!(dims(&images), expected, "{sizes:?}");
        for image in &images {
            decode_back(image);
        }
    }
}

#[test]
fn duplicate_sizes_are_produced_once() {
    let upload = png_rgb_bytes(&gradient(64, 64));
    let images = run(&upload, &spec(&[16, 32, 16, 32], None)).expect("transform");
    assert_eq!(dims(&images), [(32, 32), (16, 16)]);
}

#[test]
fn explicit_output_formats_are_honoured() {
    let source = gradient(120, 90);
    let uploads = [
        ("png", png_rgb_bytes(&source)),
        ("jpeg", jpeg_bytes(&source)),
    ];
    let formats = [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Webp,
        ImageFormat::Rgba8,
    ];
    for (name, upload) in uploads {
        for format in formats {
            let images = run(&upload, &spec(&[90, 45, 7], Some(format))).expect(name);
            assert_eq!(
                dims(&images),
                [(90, 90), (45, 45), (7, 7)],
                "{name} {format:?}"
            );
            for image in &images {
                assert_eq!(image.format, format, "{name}");
                if format == ImageFormat::Rgba8 {
                    assert_eq!(image.data.len(), (image.width * image.height * 4) as usize);
                }
                let back = decode_back(image);
                let [_, g, _] = rgb_at(&back, image.width / 2, image.height / 2);
                assert!((110..=146).contains(&g), "{name} {format:?}: green {g}");
            }
        }
    }
}

#[test]
fn metadata_is_dropped() {
    let source = gradient(64, 64);
    let png = png_with_chunks(
        &png_rgb_bytes(&source),
        &[
            png_chunk(b"tEXt", b"Comment\0secret-location"),
            png_chunk(b"eXIf", &tiff_orientation(1)),
        ],
    );
    let jpeg = jpeg_with_exif(&jpeg_bytes(&source), 1);
    assert!(contains(&png, b"tEXt") && contains(&png, b"eXIf"));
    assert!(contains(&jpeg, b"Exif"));
    let formats = [
        None,
        Some(ImageFormat::Png),
        Some(ImageFormat::Jpeg),
        Some(ImageFormat::Webp),
    ];
    let forbidden: [&[u8]; 9] = [
        b"Exif", b"EXIF", b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"iCCP", b"XMP", b"secret",
    ];
    for upload in [png, jpeg] {
        for format in formats {
            for image in run(&upload, &spec(&[64, 32], format)).expect("transform") {
                for needle in forbidden {
                    assert!(
                        !contains(&image.data, needle),
                        "{format:?} output contains {:?}",
                        String::from_utf8_lossy(needle)
                    );
                }
            }
        }
    }
}

#[test]
fn invalid_specs_are_refused() {
    let upload = png_rgb_bytes(&gradient(16, 16));
    let mut cases = vec![
        spec(&[], None),
        spec(&[0], None),
        spec(&[16, 0], None),
        spec(&[MAX_SIZE + 1], None),
        spec(&[u32::MAX], None),
    ];
    for quality in [0, 101, 255] {
        let mut bad = spec(&[16], None);
        bad.quality = quality;
        cases.push(bad);
    }
    for bad in cases {
        let result = run(&upload, &bad);
        assert!(
            matches!(result, Err(TransformError::InvalidInput(_))),
            "{bad:?}: {result:?}"
        );
    }
    assert!(run(&upload, &spec(&[MAX_SIZE, 1], None)).is_ok());
}

// ---- encode -------------------------------------------------------------------------------

#[test]
fn encode_round_trips() {
    let transparent = half_transparent(40);
    let opaque = DynamicImage::ImageRgb8(gradient(24, 24)).into_rgba8();
    let images = [rgba8(&transparent), rgba8(&opaque)];
    let options = Options::default();

    // WebP at quality 100 is lossless.
    for (format, quality) in [(ImageFormat::Png, 90), (ImageFormat::Webp, 100)] {
        let encoded = encode(&images, format, quality, &options).expect("encode");
        assert_eq!(dims(&encoded), [(40, 40), (24, 24)]);
        assert_eq!(decode_back(&encoded[0]), transparent, "{format:?}");
        assert_eq!(decode_back(&encoded[1]), opaque, "{format:?}");
    }
    let png = encode(&images[1..], ImageFormat::Png, 90, &options).expect("encode");
    let decoded = image::load_from_memory(&png[0].data).expect("png");
    assert_eq!(decoded.color(), image::ColorType::Rgb8);

    let jpeg = encode(&images, ImageFormat::Jpeg, 95, &options).expect("encode");
    assert_eq!(dims(&jpeg), [(40, 40), (24, 24)]);
    let back = decode_back(&jpeg[0]);
    assert_close(rgb_at(&back, 5, 20), WHITE, 3, "transparent over white");
    assert_close(rgb_at(&back, 35, 20), [0, 0, 255], 6, "opaque");
    assert_eq!(encode(&[], ImageFormat::Png, 90, &options), Ok(Vec::new()));
}

#[test]
fn encode_refuses_invalid_input() {
    let good = rgba8(&half_transparent(8));
    let options = Options::default();
    let mut wrong_format = good.clone();
    wrong_format.format = ImageFormat::Png;
    let mut short = good.clone();
    short.data.pop();
    let mut long = good.clone();
    long.data.push(0);
    let empty = Image {
        format: ImageFormat::Rgba8,
        width: 0,
        height: 8,
        data: Vec::new(),
    };
    let huge = Image {
        format: ImageFormat::Rgba8,
        width: u32::MAX,
        height: u32::MAX,
        data: vec![0; 16],
    };
    for bad in [wrong_format, short, long, empty, huge] {
        let result = encode(&[good.clone(), bad], ImageFormat::Png, 90, &options);
        assert!(
            matches!(result, Err(TransformError::InvalidInput(_))),
            "{result:?}"
        );
    }
    for (format, quality) in [
        (ImageFormat::Rgba8, 90),
        (ImageFormat::Jpeg, 0),
        (ImageFormat::Png, 101),
    ] {
        let result = encode(std::slice::from_ref(&good), format, quality, &options);
        assert!(
            matches!(result, Err(TransformError::InvalidInput(_))),
            "{format:?} {quality}"
        );
    }
}

// ---- options and errors -------------------------------------------------------------------

#[test]
fn options_are_read_from_the_config() {
    let lookup = |pairs: &'static [(&'static str, &'static str)]| {
        move |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    assert_eq!(Options::from_lookup(lookup(&[])), Ok(Options::default()));
    assert_eq!(
        Options::default(),
        Options {
            filter: ResizeFilter::Lanczos3,
            png_compression: PngCompression::Fast
        }
    );
    assert_eq!(
        Options::from_lookup(lookup(&[
            ("filter", " CatmullRom "),
            ("png_compression", "default")
        ])),
        Ok(Options {
            filter: ResizeFilter::CatmullRom,
            png_compression: PngCompression::Default
        })
    );
    assert_eq!(
        Options::from_lookup(lookup(&[("filter", "mitchell"), ("other", "ignored")])),
        Ok(Options {
            filter: ResizeFilter::Mitchell,
            png_compression: PngCompression::Fast
        })
    );
    for bad in [
        &[("filter", "nearest")][..],
        &[("png_compression", "best")],
        &[("png_compression", "9")],
    ] {
        assert!(matches!(
            Options::from_lookup(lookup(bad)),
            Err(TransformError::Misconfigured(_))
        ));
    }
}

#[test]
fn every_filter_resizes() {
    let upload = jpeg_bytes(&gradient(90, 90));
    for filter in [
        ResizeFilter::Lanczos3,
        ResizeFilter::CatmullRom,
        ResizeFilter::Mitchell,
    ] {
        let options = Options {
            filter,
            ..Options::default()
        };
        let images = transform(&upload, &spec(&[60, 30], None), &options).expect("transform");
        assert_eq!(dims(&images), [(60, 60), (30, 30)]);
    }
}

#[test]
fn errors_read_well() {
    let cases = [
        (
            TransformError::TooManyPixels {
                width: 100_000,
                height: 5,
            },
            "image of 100000x5 pixels is larger than allowed",
        ),
        (
            TransformError::UnsupportedFormat("bmp".to_owned()),
            "unsupported image format: bmp",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
}

// ---- cascaded resizing --------------------------------------------------------------------

/// Peak signal-to-noise ratio of `b` against `a`, in dB, over their colour channels.
fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let squared: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    let mse = squared / a.len() as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0_f64 * 255.0 / mse).log10()
}

#[test]
fn cascade_matches_direct_resize() {
    // Photo-like detail at every scale: gradients, stripes of several periods and noise.
    let side = 1000;
    let mut state = 0x9E37_79B9_u32;
    let source = RgbImage::from_fn(side, side, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = f64::from(state % 24);
        let (fx, fy) = (f64::from(x), f64::from(y));
        let stripes =
            40.0 * (fx / 3.1).sin() + 30.0 * (fy / 7.3).cos() + 20.0 * ((fx + fy) / 17.0).sin();
        let channel = |base: f64| (base + stripes + noise).clamp(0.0, 255.0) as u8;
        Rgb([
            channel(fx * 0.12 + 40.0),
            channel(fy * 0.12 + 30.0),
            channel((fx + fy) * 0.05 + 50.0),
        ])
    });
    let upload = png_rgb_bytes(&source);
    let sizes = [512, 256, 128, 64];
    let cascaded = run(&upload, &spec(&sizes, Some(ImageFormat::Rgba8))).expect("transform");
    let pixels = pixels::Pixels::from_dynamic(DynamicImage::ImageRgb8(source));
    let mut squarer = square::Squarer::new(ResizeFilter::default());
    for (image, size) in cascaded.iter().zip(sizes) {
        let direct = squarer
            .square(&pixels, super::crop::Square::whole(side), size)
            .expect("resize");
        let rgb: Vec<u8> = image
            .data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        let db = psnr(&direct.data, &rgb);
        eprintln!("{size} px: {db:.1} dB against a direct resize");
        assert!(db >= 40.0, "{size} px: {db:.1} dB");
    }
}
