//! Inputs generated with the `image` crate and hand-built files (EXIF segments, PNG chunks,
//! bombs), and helpers to check outputs.

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ExtendedColorType, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

use super::super::{Image, ImageFormat, Options, Spec, TransformError, transform};

pub(super) const RED: [u8; 3] = [230, 20, 20];
pub(super) const GREEN: [u8; 3] = [20, 230, 20];
pub(super) const BLUE: [u8; 3] = [20, 20, 230];
pub(super) const WHITE: [u8; 3] = [255, 255, 255];

// ---- inputs -------------------------------------------------------------------------------

pub(super) fn spec(sizes: &[u32], format: Option<ImageFormat>) -> Spec {
    Spec {
        sizes: sizes.to_vec(),
        format,
        quality: 90,
        max_pixels: 50_000_000,
        crop: None,
    }
}

/// A smooth gradient, so that every lossy format keeps its colours close.
pub(super) fn gradient(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let r = x * 255 / width.max(2).saturating_sub(1).max(1);
        let g = y * 255 / height.max(2).saturating_sub(1).max(1);
        Rgb([to_u8(r), to_u8(g), 128])
    })
}

pub(super) fn to_u8(value: u32) -> u8 {
    u8::try_from(value.min(255)).expect("clamped")
}

/// Four flat quadrants: red, green / blue, white (top-left, top-right / bottom-left,
/// bottom-right).
pub(super) fn quadrants(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb(match (x < width / 2, y < height / 2) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => WHITE,
        })
    })
}

pub(super) fn jpeg_bytes(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 95)
        .write_image(
            image,
            image.width(),
            image.height(),
            ExtendedColorType::Rgb8,
        )
        .expect("encode jpeg");
    out
}

pub(super) fn png_rgb_bytes(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            image,
            image.width(),
            image.height(),
            ExtendedColorType::Rgb8,
        )
        .expect("encode png");
    out
}

pub(super) fn png_rgba_bytes(image: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            image,
            image.width(),
            image.height(),
            ExtendedColorType::Rgba8,
        )
        .expect("encode png");
    out
}

pub(super) fn gif_bytes(image: &RgbImage) -> Vec<u8> {
    let rgba = DynamicImage::ImageRgb8(image.clone()).into_rgba8();
    let mut out = Vec::new();
    GifEncoder::new(&mut out)
        .encode(&rgba, rgba.width(), rgba.height(), ExtendedColorType::Rgba8)
        .expect("encode gif");
    out
}

pub(super) fn webp_bytes(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out)
        .write_image(
            image,
            image.width(),
            image.height(),
            ExtendedColorType::Rgb8,
        )
        .expect("encode webp");
    out
}

/// Half transparent red (left), half opaque blue (right).
pub(super) fn half_transparent(side: u32) -> RgbaImage {
    RgbaImage::from_fn(side, side, |x, _| {
        if x < side / 2 {
            Rgba([255, 0, 0, 0])
        } else {
            Rgba([0, 0, 255, 255])
        }
    })
}

pub(super) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
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

pub(super) fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = u32::try_from(data.len())
        .expect("small chunk")
        .to_be_bytes()
        .to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let crc = crc32(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk
}

/// Inserts `chunks` right after a PNG's IHDR chunk (signature 8 bytes + IHDR 25 bytes).
pub(super) fn png_with_chunks(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = png[..33].to_vec();
    for chunk in chunks {
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&png[33..]);
    out
}

/// A big-endian TIFF block holding one IFD with the Orientation tag.
pub(super) fn tiff_orientation(orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // one value
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // padding of the 4-byte value field
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    tiff
}

/// Splices an APP1 "Exif" segment with `orientation` right after the JPEG's SOI marker.
pub(super) fn jpeg_with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff_orientation(orientation));
    jpeg_with_app1(jpeg, &payload)
}

/// Splices an APP1 segment holding `payload` right after the JPEG's SOI marker.
pub(super) fn jpeg_with_app1(jpeg: &[u8], payload: &[u8]) -> Vec<u8> {
    let length = u16::try_from(payload.len() + 2).expect("small segment");
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A PNG that declares `width` x `height` pixels: signature and IHDR, optionally followed by
/// an IDAT with a few bytes and an IEND.
pub(super) fn png_declaring(width: u32, height: u32, with_body: bool) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, deflate, adaptive, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&png_chunk(b"IHDR", &ihdr));
    if with_body {
        png.extend_from_slice(&png_chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00]));
        png.extend_from_slice(&png_chunk(b"IEND", &[]));
    }
    png
}

// ---- outputs ------------------------------------------------------------------------------

pub(super) fn codec(format: ImageFormat) -> image::ImageFormat {
    match format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Webp => image::ImageFormat::WebP,
        ImageFormat::Avif => image::ImageFormat::Avif,
        ImageFormat::Gif => image::ImageFormat::Gif,
        ImageFormat::Rgba8 => panic!("rgba8 is not a codec"),
    }
}

/// Decodes an output back to RGBA, checking that its bytes really are the format it claims
/// and that it has the dimensions it claims.
pub(super) fn decode_back(image: &Image) -> RgbaImage {
    let rgba = if image.format == ImageFormat::Rgba8 {
        RgbaImage::from_raw(image.width, image.height, image.data.clone()).expect("rgba8 length")
    } else {
        let sniffed = image::guess_format(&image.data).expect("sniffable output");
        assert_eq!(sniffed, codec(image.format));
        image::load_from_memory_with_format(&image.data, sniffed)
            .expect("decodable output")
            .into_rgba8()
    };
    assert_eq!(rgba.dimensions(), (image.width, image.height));
    rgba
}

pub(super) fn dims(images: &[Image]) -> Vec<(u32, u32)> {
    images.iter().map(|i| (i.width, i.height)).collect()
}

pub(super) fn rgb_at(image: &RgbaImage, x: u32, y: u32) -> [u8; 3] {
    let [r, g, b, _] = image.get_pixel(x, y).0;
    [r, g, b]
}

pub(super) fn assert_close(actual: [u8; 3], expected: [u8; 3], tolerance: u8, what: &str) {
    let close = actual
        .iter()
        .zip(expected)
        .all(|(&a, e)| a.abs_diff(e) <= tolerance);
    assert!(
        close,
        "{what}: got {actual:?}, expected {expected:?} ±{tolerance}"
    );
}

pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

pub(super) fn run(upload: &[u8], spec: &Spec) -> Result<Vec<Image>, TransformError> {
    transform(upload, spec, &Options::default())
}

pub(super) fn rgba8(image: &RgbaImage) -> Image {
    Image {
        format: ImageFormat::Rgba8,
        width: image.width(),
        height: image.height(),
        data: image.as_raw().clone(),
    }
}
