//! The image pipeline, in plain Rust: validate the spec, sniff and size-check the upload,
//! check the crop against its headers, decode it, crop the square, resize it to every wanted
//! size and encode the results.
//!
//! The types here mirror the WIT contract (`avatar:plugins/types` and `transformer`) so that the
//! component glue is a mechanical conversion, and so that the host's benchmark can call the
//! same code natively.

mod avif;
mod crop;
mod decode;
mod options;
mod output;
mod pixels;
mod square;
mod webp;

#[cfg(test)]
mod tests;

pub use options::{Options, PngCompression, ResizeFilter};

use pixels::Pixels;

/// The largest side, in pixels, that a spec may ask for.
pub const MAX_SIZE: u32 = 8192;

/// An image encoding, or raw pixels (mirrors WIT `image-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// JPEG; lossy, honours the quality.
    Jpeg,
    /// PNG; lossless.
    Png,
    /// WebP; this plugin writes lossy WebP below quality 100 and lossless WebP at 100.
    Webp,
    /// AVIF (an AV1 still image); lossy, honours the quality. Written, never read.
    Avif,
    /// GIF; read (first frame only), and written as one frame of 256 colours.
    Gif,
    /// Raw pixels: `width * height * 4` bytes, RGBA, rows top to bottom, not premultiplied.
    Rgba8,
}

/// One image: an encoded file, or raw `rgba8` pixels (mirrors WIT `image`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// How `data` is encoded.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The encoded file, or the pixels for [`ImageFormat::Rgba8`].
    pub data: Vec<u8>,
}

/// A rectangle of an image, in pixels from its top-left corner (mirrors WIT `rect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width; a rectangle of width 0 is empty.
    pub width: u32,
    /// Height; a rectangle of height 0 is empty.
    pub height: u32,
}

/// What to make of an upload (mirrors WIT `transform-spec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Sides of the square images wanted, each in `1..=MAX_SIZE`; duplicates are ignored.
    /// Sizes larger than the source's square side are skipped, except the smallest, which is
    /// always produced (upscaled if need be).
    pub sizes: Vec<u32>,
    /// The output format; `None` keeps JPEG as JPEG and makes everything else PNG. Never GIF.
    pub format: Option<ImageFormat>,
    /// The quality of lossy outputs (JPEG, AVIF, and WebP below 100), 1 to 100.
    pub quality: u8,
    /// The largest `width * height` accepted, checked against the declared dimensions before
    /// decoding.
    pub max_pixels: u64,
    /// The part of the source to make the avatar of, in pixels of the upright picture (after
    /// EXIF orientation); a rectangle that is not square keeps its own centred square. `None`:
    /// the whole picture. Checked against the declared dimensions before decoding.
    pub crop: Option<Rect>,
}

/// Why the pipeline refused its input (mirrors WIT `transform-error`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// Not JPEG, PNG, GIF or WebP; names what was seen (`"bmp"`, `"unknown"`, ...).
    #[error("unsupported image format: {0}")]
    UnsupportedFormat(String),
    /// A supported format whose bytes do not decode: truncated or corrupt.
    #[error("undecodable image: {0}")]
    Undecodable(String),
    /// The upload declares more than `Spec::max_pixels` pixels.
    #[error("image of {width}x{height} pixels is larger than allowed")]
    TooManyPixels {
        /// Declared width, before any EXIF rotation.
        width: u32,
        /// Declared height, before any EXIF rotation.
        height: u32,
    },
    /// The spec or the images handed in make no sense.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The crop rectangle is empty or reaches outside the upright picture, whose dimensions
    /// the message gives.
    #[error("invalid crop: {0}")]
    InvalidCrop(String),
    /// A setting of this plugin is wrong.
    #[error("misconfigured: {0}")]
    Misconfigured(String),
}

/// Decodes `upload`, applies its EXIF orientation, drops all metadata, keeps `spec.crop` (when
/// given), crops the centred square and resizes it to each size of `spec`. Returns one square
/// image per produced size, largest first, in `spec.format` (see [`Spec::format`] for the default).
///
/// Never panics on any `upload`: refusals are [`TransformError`]s.
pub fn transform(
    upload: &[u8],
    spec: &Spec,
    options: &Options,
) -> Result<Vec<Image>, TransformError> {
    let sizes = validated_sizes(&spec.sizes)?;
    check_quality(spec.quality)?;
    let decoded = decode::decode(upload, spec.max_pixels, |width, height, orientation| {
        crop::check(spec.crop, width, height, orientation)
    })?;
    let format = spec.format.unwrap_or(match decoded.source {
        decode::Source::Jpeg => ImageFormat::Jpeg,
        decode::Source::Png | decode::Source::Gif | decode::Source::Webp => ImageFormat::Png,
    });

    let (width, height) = (decoded.pixels.width, decoded.pixels.height);
    let region = crop::square(spec.crop, width, height, decoded.orientation);
    let mut squarer = square::Squarer::new(options.filter);
    let mut images = Vec::new();
    // The last square made, still as stored (not yet turned upright): the source of the next,
    // smaller size when it is at least `CASCADE_FACTOR` times as large.
    let mut previous: Option<Pixels> = None;
    for size in produced_sizes(&sizes, region.side) {
        let resized = match &previous {
            Some(larger) if larger.width >= CASCADE_FACTOR * size => {
                squarer.square(larger, crop::Square::whole(larger.width), size)?
            }
            _ => squarer.square(&decoded.pixels, region, size)?,
        };
        let oriented = square::orient(&resized, decoded.orientation)?;
        images.push(output::encode_pixels(
            &oriented,
            format,
            spec.quality,
            options,
        )?);
        previous = Some(resized);
    }
    Ok(images)
}

/// How many times larger than a wanted size a square already made must be for that size to be
/// resized from it rather than from the source: each step then reads a quarter or less of the
/// pixels, and the result stays above 40 dB PSNR against the direct resize
/// (`cascade_matches_direct_resize`).
const CASCADE_FACTOR: u32 = 2;

/// Encodes raw `rgba8` images into `format` (JPEG, PNG, WebP or AVIF) at `quality`, in order.
/// The last step of a pipeline with filters, and how the host makes the AVIF and WebP files it
/// negotiates with browsers. Opaque images are written without an alpha channel; JPEG output
/// composites transparent pixels over white.
pub fn encode(
    images: &[Image],
    format: ImageFormat,
    quality: u8,
    options: &Options,
) -> Result<Vec<Image>, TransformError> {
    check_quality(quality)?;
    if format == ImageFormat::Rgba8 {
        return Err(TransformError::InvalidInput(format!(
            "cannot encode to {format:?}; expected jpeg, png, webp, avif or gif"
        )));
    }
    images
        .iter()
        .enumerate()
        .map(|(index, image)| {
            if image.format != ImageFormat::Rgba8 {
                return Err(TransformError::InvalidInput(format!(
                    "image {index} is {:?}, expected rgba8",
                    image.format
                )));
            }
            let pixels =
                Pixels::from_rgba8(image.width, image.height, &image.data).ok_or_else(|| {
                    TransformError::InvalidInput(format!(
                        "image {index} is {}x{} but holds {} bytes, expected width * height * 4 \
                         and both sides at least 1",
                        image.width,
                        image.height,
                        image.data.len()
                    ))
                })?;
            output::encode_pixels(&pixels, format, quality, options)
        })
        .collect()
}

/// Checks the sizes of a spec and returns them deduplicated, largest first.
fn validated_sizes(sizes: &[u32]) -> Result<Vec<u32>, TransformError> {
    if sizes.is_empty() {
        return Err(TransformError::InvalidInput(
            "no sizes requested".to_owned(),
        ));
    }
    if let Some(bad) = sizes.iter().find(|size| !(1..=MAX_SIZE).contains(*size)) {
        return Err(TransformError::InvalidInput(format!(
            "size {bad} is outside 1..={MAX_SIZE}"
        )));
    }
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.dedup();
    Ok(sizes)
}

fn check_quality(quality: u8) -> Result<(), TransformError> {
    if (1..=100).contains(&quality) {
        Ok(())
    } else {
        Err(TransformError::InvalidInput(format!(
            "quality {quality} is outside 1..=100"
        )))
    }
}

/// The sizes to produce from a square of `side` pixels, given the wanted sizes largest first
/// (non-empty): those that fit, or else the smallest alone, upscaled.
fn produced_sizes(sizes_desc: &[u32], side: u32) -> Vec<u32> {
    let fitting: Vec<u32> = sizes_desc
        .iter()
        .copied()
        .filter(|&size| size <= side)
        .collect();
    if fitting.is_empty() {
        sizes_desc.last().copied().into_iter().collect()
    } else {
        fitting
    }
}
