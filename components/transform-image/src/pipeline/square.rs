//! Cropping a square (chosen by [`super::crop`]), resizing it with `fast_image_resize`, and
//! applying the EXIF orientation.
//!
//! Orientation is applied to each resized square rather than to the decoded source: the square
//! is chosen in upright coordinates and mapped to the stored pixels, so turning the small result
//! upright gives the same picture, and turning a 12-megapixel phone photo upright first would
//! cost a full-size copy and its time.

use std::borrow::Cow;

use fast_image_resize::images::{Image as FirImage, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, RgbImage, RgbaImage};

use super::TransformError;
use super::crop::Square;
use super::options::ResizeFilter;
use super::pixels::Pixels;

/// Resizes one source to several sizes, reusing the resizer's scratch buffers.
pub(crate) struct Squarer {
    resizer: Resizer,
    algorithm: ResizeAlg,
}

impl Squarer {
    pub fn new(filter: ResizeFilter) -> Self {
        let filter = match filter {
            ResizeFilter::Lanczos3 => FilterType::Lanczos3,
            ResizeFilter::CatmullRom => FilterType::CatmullRom,
            ResizeFilter::Mitchell => FilterType::Mitchell,
        };
        Self {
            resizer: Resizer::new(),
            algorithm: ResizeAlg::Convolution(filter),
        }
    }

    /// The `square` of `source` (inside it), resized to `size` x `size`. An RGBA source is
    /// resized with its colours premultiplied by alpha (`fast_image_resize` multiplies and
    /// divides around the convolution), so transparent pixels do not bleed their colour.
    pub fn square(
        &mut self,
        source: &Pixels,
        square: Square,
        size: u32,
    ) -> Result<Pixels, TransformError> {
        let pixel_type = if source.alpha {
            PixelType::U8x4
        } else {
            PixelType::U8x3
        };
        let Square { left, top, side } = square;

        let src = ImageRef::new(source.width, source.height, &source.data, pixel_type)
            .map_err(resize_failed)?;
        let mut dst = FirImage::new(size, size, pixel_type);
        let options = ResizeOptions::new()
            .resize_alg(self.algorithm)
            .crop(
                f64::from(left),
                f64::from(top),
                f64::from(side),
                f64::from(side),
            )
            .use_alpha(source.alpha);
        self.resizer
            .resize(&src, &mut dst, &options)
            .map_err(resize_failed)?;
        Ok(Pixels {
            width: size,
            height: size,
            alpha: source.alpha,
            data: dst.into_vec(),
        })
    }
}

/// `pixels` turned upright according to the EXIF `orientation`: borrowed when there is
/// nothing to turn, so a square resized for one size can be the source of the next.
pub(crate) fn orient(
    pixels: &Pixels,
    orientation: Orientation,
) -> Result<Cow<'_, Pixels>, TransformError> {
    if orientation == Orientation::NoTransforms {
        return Ok(Cow::Borrowed(pixels));
    }
    let (width, height, alpha) = (pixels.width, pixels.height, pixels.alpha);
    let data = pixels.data.clone();
    let image = if alpha {
        RgbaImage::from_raw(width, height, data).map(DynamicImage::ImageRgba8)
    } else {
        RgbImage::from_raw(width, height, data).map(DynamicImage::ImageRgb8)
    };
    let Some(mut image) = image else {
        return Err(resize_failed("pixel buffer does not match its dimensions"));
    };
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    let data = match image {
        DynamicImage::ImageRgba8(image) => image.into_raw(),
        other => other.into_rgb8().into_raw(),
    };
    Ok(Cow::Owned(Pixels {
        width,
        height,
        alpha,
        data,
    }))
}

/// Resizing fails only on a bug (mismatched buffers); the WIT has no "internal" case, so it
/// is reported as the input that triggered it.
fn resize_failed(error: impl std::fmt::Display) -> TransformError {
    TransformError::InvalidInput(format!("cannot resize: {error}"))
}
