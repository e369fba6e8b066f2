//! Everything that reads the untrusted upload: format sniffing from magic bytes, the
//! declared-size check before any pixel is allocated, and decoding.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};

use super::TransformError;
use super::pixels::Pixels;

/// The formats this plugin reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Jpeg,
    Png,
    Gif,
    Webp,
}

impl Source {
    fn codec(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
            Self::Gif => image::ImageFormat::Gif,
            Self::Webp => image::ImageFormat::WebP,
        }
    }
}

/// A decoded upload, before orientation (applied later to the small outputs, see
/// [`super::square::orient`]).
#[derive(Debug)]
pub(crate) struct Decoded {
    pub source: Source,
    pub pixels: Pixels,
    pub orientation: Orientation,
}

/// Room for a decoder's own allocations (tables, palettes, chunk buffers) beyond the pixels.
const DECODER_SLACK: u64 = 64 << 20;

/// The most bytes a decoded pixel can take (16-bit RGBA).
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// Decodes the first frame of `upload`, refusing it before decoding when its declared
/// dimensions exceed `max_pixels` or when `check_header` refuses the declared (stored) width,
/// height and EXIF orientation: whatever can be refused from the headers costs no decoding.
pub(crate) fn decode(
    upload: &[u8],
    max_pixels: u64,
    check_header: impl FnOnce(u32, u32, Orientation) -> Result<(), TransformError>,
) -> Result<Decoded, TransformError> {
    let source = sniff(upload)?;

    // PNG and GIF put their dimensions at a fixed offset, so a bomb is refused before the
    // decoder even starts (and also when nothing follows the header, where the decoder would
    // only say EOF). A GIF decoder allocates its whole logical screen while it starts.
    let declared = match source {
        Source::Png => png_declared_dimensions(upload),
        Source::Gif => gif_declared_dimensions(upload),
        _ => None,
    };
    if let Some((width, height)) = declared {
        check_pixels(width, height, max_pixels)?;
    }

    // Second fence: the decoders' own allocation budget, in proportion to what we accept.
    let mut limits = Limits::default();
    limits.max_alloc = Some(
        max_pixels
            .saturating_mul(MAX_BYTES_PER_PIXEL)
            .saturating_add(DECODER_SLACK),
    );
    let mut reader = ImageReader::with_format(Cursor::new(upload), source.codec());
    reader.limits(limits);

    // Building the decoder reads the headers only.
    let mut decoder = reader
        .into_decoder()
        .map_err(|error| from_image_error(error, declared))?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, max_pixels)?;
    if width == 0 || height == 0 {
        return Err(TransformError::Undecodable(format!(
            "the image declares {width}x{height} pixels"
        )));
    }
    // A broken EXIF block is no reason to refuse a picture: treat it as upright.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    check_header(width, height, orientation)?;
    if source == Source::Jpeg && !jpeg_reaches_eoi(upload) {
        return Err(TransformError::Undecodable(
            "the JPEG stops before its end-of-image marker (truncated)".to_owned(),
        ));
    }

    let image = DynamicImage::from_decoder(decoder)
        .map_err(|error| from_image_error(error, Some((width, height))))?;
    // `DynamicImage` holds pixels only: EXIF, XMP, ICC and text chunks stay behind here.
    Ok(Decoded {
        source,
        pixels: Pixels::from_dynamic(image),
        orientation,
    })
}

/// Identifies the format from its magic bytes (never from a client-provided content type).
pub(crate) fn sniff(upload: &[u8]) -> Result<Source, TransformError> {
    match image::guess_format(upload) {
        Ok(image::ImageFormat::Jpeg) => Ok(Source::Jpeg),
        Ok(image::ImageFormat::Png) => Ok(Source::Png),
        Ok(image::ImageFormat::Gif) => Ok(Source::Gif),
        Ok(image::ImageFormat::WebP) => Ok(Source::Webp),
        Ok(other) => Err(TransformError::UnsupportedFormat(
            format!("{other:?}").to_ascii_lowercase(),
        )),
        Err(_) => Err(TransformError::UnsupportedFormat("unknown".to_owned())),
    }
}

/// The width and height in a PNG's IHDR chunk, which the format requires to come first,
/// right after the 8-byte signature.
fn png_declared_dimensions(upload: &[u8]) -> Option<(u32, u32)> {
    let ihdr = upload.get(12..24)?;
    if &ihdr[..4] != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(ihdr[4..8].try_into().ok()?);
    let height = u32::from_be_bytes(ihdr[8..12].try_into().ok()?);
    Some((width, height))
}

/// A GIF's logical screen, from its header: `GIF87a` or `GIF89a`, then the width and the
/// height, little-endian 16-bit.
fn gif_declared_dimensions(upload: &[u8]) -> Option<(u32, u32)> {
    let header = upload.get(..10)?;
    if &header[..3] != b"GIF" {
        return None;
    }
    let width = u16::from_le_bytes([header[6], header[7]]);
    let height = u16::from_le_bytes([header[8], header[9]]);
    Some((u32::from(width), u32::from(height)))
}

/// Whether a JPEG runs to its end-of-image marker. The decoder is lenient with a file cut short
/// (it fills the missing rows with grey, as browsers do); an upload cut short is refused
/// instead of being stored half grey.
///
/// Walks the segments by their lengths (an EXIF thumbnail carries its own EOI) and scans
/// entropy-coded data byte by byte, where `FF` is only followed by `00` (stuffing), `D0`-`D7`
/// (restart markers) or a real marker. Stray bytes between segments are skipped, as the decoder
/// skips them. Bytes after the EOI (a "motion photo" video, say) are allowed.
fn jpeg_reaches_eoi(jpeg: &[u8]) -> bool {
    let mut at = 2; // after SOI
    while let Some(&byte) = jpeg.get(at) {
        if byte != 0xFF {
            at += 1;
            continue;
        }
        let Some(&marker) = jpeg.get(at + 1) else {
            return false;
        };
        match marker {
            0xD9 => return true,
            // Fill byte: the marker follows.
            0xFF => at += 1,
            // Stuffed zero, restart markers, TEM, a stray SOI: no length follows.
            0x00 | 0x01 | 0xD0..=0xD8 => at += 2,
            // A segment (SOS included: its header, then entropy-coded data scanned above).
            _ => {
                let Some(length) = jpeg.get(at + 2..at + 4) else {
                    return false;
                };
                let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
                if length < 2 {
                    return false;
                }
                at += 2 + length;
            }
        }
    }
    false
}

fn check_pixels(width: u32, height: u32, max_pixels: u64) -> Result<(), TransformError> {
    match u64::from(width).checked_mul(u64::from(height)) {
        Some(pixels) if pixels <= max_pixels => Ok(()),
        _ => Err(TransformError::TooManyPixels { width, height }),
    }
}

/// Maps a decoder failure. `declared` is the size the file declared, when known, for a
/// decoder that ran out of its memory budget.
fn from_image_error(error: ImageError, declared: Option<(u32, u32)>) -> TransformError {
    match error {
        ImageError::Unsupported(error) => TransformError::UnsupportedFormat(error.to_string()),
        ImageError::Limits(error) => match declared {
            Some((width, height)) => TransformError::TooManyPixels { width, height },
            None => TransformError::Undecodable(error.to_string()),
        },
        ImageError::Decoding(error) => TransformError::Undecodable(error.to_string()),
        ImageError::IoError(error) => TransformError::Undecodable(error.to_string()),
        other => TransformError::Undecodable(other.to_string()),
    }
}
