//! Test images, made in code so every pixel is known, and the PNG files made from them.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

/// A photo-like picture: gradients under per-pixel noise, so decoders, resizers and encoders
/// do the work a real photo asks of them. Deterministic.
pub fn photo(side: u32) -> RgbImage {
    let mut seed: u32 = 0x9E37_79B9;
    RgbImage::from_fn(side, side, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed % 24) as i32 - 12;
        let c = |v: u32| (v as i32 + noise).clamp(0, 255) as u8;
        Rgb([
            c(x * 255 / side),
            c(y * 255 / side),
            c(((x + y) * 128 / side) % 256),
        ])
    })
}

/// An RGB image whose four quadrants are red (top left), green (top right), blue (bottom
/// left) and white (bottom right), so orientation and cropping can be checked by colour.
pub fn quadrants(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        match (x < width / 2, y < height / 2) {
            (true, true) => Rgb([255, 0, 0]),
            (false, true) => Rgb([0, 255, 0]),
            (true, false) => Rgb([0, 0, 255]),
            (false, false) => Rgb([255, 255, 255]),
        }
    })
}

/// A smooth gradient with a half-transparent right half.
pub fn translucent(width: u32, height: u32) -> RgbaImage {
    RgbaImage::from_fn(width, height, |x, y| {
        let alpha = if x < width / 2 { 255 } else { 128 };
        Rgba([
            (x * 255 / width) as u8,
            (y * 255 / height) as u8,
            128,
            alpha,
        ])
    })
}

/// Encodes `image` as `format` with the `image` crate's defaults.
pub fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let image = match format {
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(image.to_rgb8()),
        _ => image.clone(),
    };
    image.write_to(&mut out, format).expect("encode test image");
    out.into_inner()
}

/// A PNG of `width` x `height` with the four coloured quadrants of [`quadrants`].
pub fn png(width: u32, height: u32) -> Vec<u8> {
    encode(
        &DynamicImage::ImageRgb8(quadrants(width, height)),
        ImageFormat::Png,
    )
}

/// A PNG of `side` x `side` in one colour.
pub fn solid_png(side: u32, rgb: [u8; 3]) -> Vec<u8> {
    let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(side, side, Rgb(rgb)));
    encode(&image, ImageFormat::Png)
}

/// Splices an EXIF block with the given orientation tag right after a JPEG's SOI marker.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    assert_eq!(&jpeg[..2], [0xFF, 0xD8], "not a JPEG");
    // TIFF header (little endian), IFD0 with one entry: 0x0112 Orientation, SHORT, count 1.
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let length = u16::try_from(app1.len() + 2).expect("small segment");
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A PNG whose header declares `width` x `height` RGBA pixels, followed by a tiny (wrong)
/// IDAT: a decompression bomb's shape, for checking that limits apply before decoding.
pub fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    push_chunk(&mut out, b"IHDR", &ihdr);
    push_chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    push_chunk(&mut out, b"IEND", &[]);
    out
}

/// A PNG with a `tEXt` metadata chunk before its image data.
pub fn png_with_text(image: &DynamicImage) -> Vec<u8> {
    let png = encode(image, ImageFormat::Png);
    // Signature (8) + IHDR chunk (4 + 4 + 13 + 4).
    let split = 8 + 25;
    let mut out = png[..split].to_vec();
    push_chunk(&mut out, b"tEXt", b"Comment\0secret metadata");
    out.extend_from_slice(&png[split..]);
    out
}

fn push_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).expect("small").to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The CRC-32 PNG chunks carry (IEEE, reflected), for tests that forge chunks.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
