//! The conversions between a guest's generated WIT types and this crate's mirrors.

/// Writes `From` conversions between the WIT types wit-bindgen generated in a guest and this
/// crate's mirrors: [`Image`](crate::Image) and [`ImageFormat`](crate::ImageFormat) both ways,
/// and [`GuestError`](crate::GuestError) into `transform-error` (a misconfiguration crosses as
/// its message alone). Invoke it where the generated types are in scope, naming them:
///
/// ```text
/// wit_bindgen::generate!({ world: "filter-plugin", path: "../../wit" });
/// use avatar::plugins::types::{Image, ImageFormat, TransformError};
/// guest_kit::wit_conversions!(Image, ImageFormat, TransformError);
/// ```
///
/// The matches are exhaustive, so a format added to the WIT fails the guest's build until it is
/// mirrored here.
#[macro_export]
macro_rules! wit_conversions {
    ($image:ident, $image_format:ident, $transform_error:ident) => {
        impl ::core::convert::From<$image_format> for $crate::ImageFormat {
            fn from(format: $image_format) -> Self {
                match format {
                    $image_format::Jpeg => Self::Jpeg,
                    $image_format::Png => Self::Png,
                    $image_format::Webp => Self::Webp,
                    $image_format::Gif => Self::Gif,
                    $image_format::Avif => Self::Avif,
                    $image_format::Rgba8 => Self::Rgba8,
                }
            }
        }

        impl ::core::convert::From<$crate::ImageFormat> for $image_format {
            fn from(format: $crate::ImageFormat) -> Self {
                match format {
                    $crate::ImageFormat::Jpeg => Self::Jpeg,
                    $crate::ImageFormat::Png => Self::Png,
                    $crate::ImageFormat::Webp => Self::Webp,
                    $crate::ImageFormat::Gif => Self::Gif,
                    $crate::ImageFormat::Avif => Self::Avif,
                    $crate::ImageFormat::Rgba8 => Self::Rgba8,
                }
            }
        }

        impl ::core::convert::From<$image> for $crate::Image {
            fn from(image: $image) -> Self {
                Self {
                    format: image.format.into(),
                    width: image.width,
                    height: image.height,
                    data: image.data,
                }
            }
        }

        impl ::core::convert::From<$crate::Image> for $image {
            fn from(image: $crate::Image) -> Self {
                Self {
                    format: image.format.into(),
                    width: image.width,
                    height: image.height,
                    data: image.data,
                }
            }
        }

        impl ::core::convert::From<$crate::GuestError> for $transform_error {
            fn from(error: $crate::GuestError) -> Self {
                match error {
                    $crate::GuestError::InvalidInput(why) => Self::InvalidInput(why),
                    $crate::GuestError::Misconfigured(why) => Self::Misconfigured(why.message),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    /// The shapes wit-bindgen generates for `avatar:plugins/types`, as far as the macro uses them.
    mod types {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ImageFormat {
            Jpeg,
            Png,
            Webp,
            Gif,
            Avif,
            Rgba8,
        }

        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct Image {
            pub format: ImageFormat,
            pub width: u32,
            pub height: u32,
            pub data: Vec<u8>,
        }

        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum TransformError {
            InvalidInput(String),
            Misconfigured(String),
        }
    }

    use types::{Image, ImageFormat, TransformError};

    crate::wit_conversions!(Image, ImageFormat, TransformError);

    #[test]
    fn images_cross_both_ways_unchanged() {
        let formats = [
            (ImageFormat::Jpeg, crate::ImageFormat::Jpeg),
            (ImageFormat::Png, crate::ImageFormat::Png),
            (ImageFormat::Webp, crate::ImageFormat::Webp),
            (ImageFormat::Gif, crate::ImageFormat::Gif),
            (ImageFormat::Avif, crate::ImageFormat::Avif),
            (ImageFormat::Rgba8, crate::ImageFormat::Rgba8),
        ];
        for (wit, native) in formats {
            assert_eq!(crate::ImageFormat::from(wit), native);
            assert_eq!(ImageFormat::from(native), wit);
            let image = Image {
                format: wit,
                width: 2,
                height: 1,
                data: vec![1, 2, 3, 4, 5, 6, 7, 8],
            };
            let mirrored = crate::Image::from(image.clone());
            assert_eq!(
                (mirrored.format, mirrored.width, mirrored.height),
                (native, 2, 1)
            );
            assert_eq!(mirrored.data, image.data);
            assert_eq!(Image::from(mirrored), image);
        }
    }

    #[test]
    fn errors_cross_without_the_plugin_name() {
        assert_eq!(
            TransformError::from(crate::GuestError::InvalidInput("image 0 is png".into())),
            TransformError::InvalidInput("image 0 is png".into())
        );
        assert_eq!(
            TransformError::from(crate::GuestError::misconfigured(
                "filter-circle",
                "`background` must be red"
            )),
            TransformError::Misconfigured("`background` must be red".into())
        );
    }
}
