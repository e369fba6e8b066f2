//! Image formats: how stored and served images are encoded, their media types, file
//! extensions and the names the catalog records.

use std::fmt;

/// An image encoding, or raw RGBA8 pixels (the pipeline's intermediate form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Webp,
    Gif,
    Avif,
    Rgba8,
}

impl ImageFormat {
    /// Every format, for round-trip checks.
    pub const ALL: [Self; 6] = [
        Self::Jpeg,
        Self::Png,
        Self::Webp,
        Self::Gif,
        Self::Avif,
        Self::Rgba8,
    ];

    /// The media type of an encoded image, `None` for raw pixels.
    pub fn media_type(self) -> Option<&'static str> {
        match self {
            Self::Jpeg => Some("image/jpeg"),
            Self::Png => Some("image/png"),
            Self::Webp => Some("image/webp"),
            Self::Gif => Some("image/gif"),
            Self::Avif => Some("image/avif"),
            Self::Rgba8 => None,
        }
    }

    /// The file extension of stored variants.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Gif => "gif",
            Self::Avif => "avif",
            Self::Rgba8 => "rgba",
        }
    }

    /// The format of a stored variant's file extension.
    pub fn from_extension(extension: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.extension() == extension)
    }

    /// The name the catalog records, and the API shows.
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

    /// Parses a name the catalog recorded.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_extensions_round_trip() {
        for format in ImageFormat::ALL {
            assert_eq!(ImageFormat::from_name(format.name()), Some(format));
            assert_eq!(
                ImageFormat::from_extension(format.extension()),
                Some(format)
            );
            assert_eq!(format.to_string(), format.name());
        }
        assert_eq!(ImageFormat::from_name("jpg"), None);
        assert_eq!(ImageFormat::from_extension("jpeg"), None);
        assert_eq!(ImageFormat::Rgba8.media_type(), None);
    }
}
