//! Native mirrors of the WIT `image` and `image-format`, and the check a filter makes of the
//! images handed in before it touches any.

use crate::GuestError;

/// An image encoding, or raw pixels (mirrors WIT `image-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    /// An encoded JPEG file.
    Jpeg,
    /// An encoded PNG file.
    Png,
    /// An encoded WebP file.
    Webp,
    /// An encoded GIF file.
    Gif,
    /// An encoded AVIF file.
    Avif,
    /// Raw pixels: `width * height * 4` bytes, RGBA, rows top to bottom, not premultiplied.
    Rgba8,
}

impl ImageFormat {
    /// The WIT name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Gif => "gif",
            Self::Avif => "avif",
            Self::Rgba8 => "rgba8",
        }
    }
}

/// One image (mirrors WIT `image`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// How `data` is encoded; filters accept [`ImageFormat::Rgba8`] only.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels.
    pub data: Vec<u8>,
}

/// Refuses anything but non-empty `rgba8` images whose data is exactly `width * height * 4`
/// bytes. A filter checks every image before it works on any, so that a bad one refuses the
/// whole call; the message names the first bad image by its index.
pub fn check_rgba8(images: &[Image]) -> Result<(), GuestError> {
    for (index, image) in images.iter().enumerate() {
        check(index, image)?;
    }
    Ok(())
}

fn check(index: usize, image: &Image) -> Result<(), GuestError> {
    if image.format != ImageFormat::Rgba8 {
        return Err(GuestError::InvalidInput(format!(
            "image {index} is {}, not rgba8",
            image.format.name()
        )));
    }
    if image.width == 0 || image.height == 0 {
        return Err(GuestError::InvalidInput(format!(
            "image {index} is {}x{}: no pixels",
            image.width, image.height
        )));
    }
    // In u128: `u32::MAX` squared times 4 overflows u64.
    let expected = u128::from(image.width) * u128::from(image.height) * 4;
    if image.data.len() as u128 != expected {
        return Err(GuestError::InvalidInput(format!(
            "image {index} is {}x{} but has {} bytes of pixels, not {expected}",
            image.width,
            image.height,
            image.data.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgba8(width: u32, height: u32, bytes: usize) -> Image {
        Image {
            format: ImageFormat::Rgba8,
            width,
            height,
            data: vec![0; bytes],
        }
    }

    #[test]
    fn accepts_rgba8_pixels_and_nothing() {
        assert_eq!(check_rgba8(&[]), Ok(()));
        assert_eq!(check_rgba8(&[rgba8(1, 1, 4), rgba8(3, 2, 24)]), Ok(()));
    }

    #[test]
    fn refuses_the_first_bad_image_by_index() {
        let png = Image {
            format: ImageFormat::Png,
            ..rgba8(1, 1, 4)
        };
        let cases = [
            (png, "image 1 is png, not rgba8"),
            (rgba8(0, 5, 0), "image 1 is 0x5: no pixels"),
            (rgba8(2, 0, 0), "image 1 is 2x0: no pixels"),
            (
                rgba8(2, 2, 15),
                "image 1 is 2x2 but has 15 bytes of pixels, not 16",
            ),
            (
                rgba8(2, 2, 17),
                "image 1 is 2x2 but has 17 bytes of pixels, not 16",
            ),
        ];
        for (bad, message) in cases {
            let images = [rgba8(1, 1, 4), bad, rgba8(0, 0, 1)];
            assert_eq!(
                check_rgba8(&images),
                Err(GuestError::InvalidInput(message.to_owned()))
            );
        }
    }

    #[test]
    fn the_size_check_does_not_overflow() {
        // 2^31 x 2^31 x 4 is 2^64: 0 bytes in wrapping u64 arithmetic.
        for (side, expected) in [
            (1 << 31, "18446744073709551616"),
            (u32::MAX, "73786976260478468100"),
        ] {
            assert_eq!(
                check_rgba8(&[rgba8(side, side, 0)]),
                Err(GuestError::InvalidInput(format!(
                    "image 0 is {side}x{side} but has 0 bytes of pixels, not {expected}"
                )))
            );
        }
    }

    #[test]
    fn format_names_are_the_wit_names() {
        let names = [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::Webp,
            ImageFormat::Gif,
            ImageFormat::Avif,
            ImageFormat::Rgba8,
        ]
        .map(ImageFormat::name);
        assert_eq!(names, ["jpeg", "png", "webp", "gif", "avif", "rgba8"]);
    }
}
