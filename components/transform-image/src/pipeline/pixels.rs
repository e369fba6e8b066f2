//! The pixel buffer the pipeline stages hand to each other: 8-bit RGB, or RGBA (not
//! premultiplied) when some pixel is not opaque.

use std::borrow::Cow;

use image::DynamicImage;

/// Decoded or resized pixels, rows top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pixels {
    pub width: u32,
    pub height: u32,
    /// `true`: 4 bytes a pixel (RGBA); `false`: 3 (RGB).
    pub alpha: bool,
    pub data: Vec<u8>,
}

impl Pixels {
    /// Takes a decoded image as RGB8, or as RGBA8 when it has an alpha channel that is not
    /// entirely opaque (a GIF decodes to RGBA even without transparency): three channels
    /// resize faster and encode smaller.
    pub fn from_dynamic(image: DynamicImage) -> Self {
        let (width, height) = (image.width(), image.height());
        if image.color().has_alpha() {
            let rgba = image.into_rgba8().into_raw();
            Self::from_rgba_vec(width, height, rgba)
        } else {
            Self {
                width,
                height,
                alpha: false,
                data: image.into_rgb8().into_raw(),
            }
        }
    }

    /// Copies raw `rgba8` pixels, refusing a zero side or a length other than
    /// `width * height * 4`.
    pub fn from_rgba8(width: u32, height: u32, data: &[u8]) -> Option<Self> {
        if width == 0 || height == 0 {
            return None;
        }
        let expected = usize::try_from(width)
            .ok()?
            .checked_mul(usize::try_from(height).ok()?)?
            .checked_mul(4)?;
        if data.len() != expected {
            return None;
        }
        Some(if is_opaque(data) {
            Self {
                width,
                height,
                alpha: false,
                data: strip_alpha(data),
            }
        } else {
            Self {
                width,
                height,
                alpha: true,
                data: data.to_vec(),
            }
        })
    }

    fn from_rgba_vec(width: u32, height: u32, rgba: Vec<u8>) -> Self {
        if is_opaque(&rgba) {
            Self {
                width,
                height,
                alpha: false,
                data: strip_alpha(&rgba),
            }
        } else {
            Self {
                width,
                height,
                alpha: true,
                data: rgba,
            }
        }
    }

    /// The pixels as RGBA8, opaque when there is no alpha channel.
    pub fn to_rgba8(&self) -> Vec<u8> {
        if self.alpha {
            return self.data.clone();
        }
        let mut rgba = Vec::with_capacity(self.data.len() / 3 * 4);
        for rgb in self.data.chunks_exact(3) {
            rgba.extend_from_slice(rgb);
            rgba.push(u8::MAX);
        }
        rgba
    }

    /// The pixels as RGB8, transparent pixels composited over white (for JPEG).
    pub fn to_rgb8_over_white(&self) -> Cow<'_, [u8]> {
        if !self.alpha {
            return Cow::Borrowed(&self.data);
        }
        let mut rgb = Vec::with_capacity(self.data.len() / 4 * 3);
        for rgba in self.data.chunks_exact(4) {
            let alpha = u32::from(rgba[3]);
            for &channel in &rgba[..3] {
                // c * a + 255 * (1 - a), in 0..=255 * 255, rounded to nearest.
                let blended = (u32::from(channel) * alpha + 255 * (255 - alpha) + 127) / 255;
                rgb.push(u8::try_from(blended).unwrap_or(u8::MAX));
            }
        }
        Cow::Owned(rgb)
    }
}

fn is_opaque(rgba: &[u8]) -> bool {
    rgba.chunks_exact(4).all(|pixel| pixel[3] == u8::MAX)
}

fn strip_alpha(rgba: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(rgba.len() / 4 * 3);
    for pixel in rgba.chunks_exact(4) {
        rgb.extend_from_slice(&pixel[..3]);
    }
    rgb
}
