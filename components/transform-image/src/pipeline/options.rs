//! The plugin's settings, read from the operator's `config` object for the tenant.
//!
//! | key | values | default |
//! |---|---|---|
//! | `filter` | `lanczos3`, `catmullrom`, `mitchell` | `lanczos3` |
//! | `png_compression` | `fast`, `default` | `fast` |
//!
//! Values are matched ignoring ASCII case and surrounding blanks; anything else is
//! [`TransformError::Misconfigured`]. Unknown keys are ignored.

use std::str::FromStr;

use super::TransformError;

/// The convolution filter used to resize.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ResizeFilter {
    /// Lanczos with a = 3: the sharpest, and the slowest (a 6x6 kernel).
    #[default]
    Lanczos3,
    /// Catmull-Rom bicubic: nearly as sharp, a 4x4 kernel.
    CatmullRom,
    /// Mitchell-Netravali bicubic: softer, fewer ringing artefacts, a 4x4 kernel.
    Mitchell,
}

impl FromStr for ResizeFilter {
    type Err = TransformError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "lanczos3" => Ok(Self::Lanczos3),
            "catmullrom" => Ok(Self::CatmullRom),
            "mitchell" => Ok(Self::Mitchell),
            _ => Err(TransformError::Misconfigured(format!(
                "`{}` is {value:?}; expected \"lanczos3\", \"catmullrom\" or \"mitchell\"",
                Options::FILTER_KEY
            ))),
        }
    }
}

/// How hard the PNG encoder compresses.
///
/// Measured natively (release build, busy 2-core machine, medians of 21 runs): a 1024x1024 JPEG
/// turned into 1024, 512, 256 and 128 pixel PNGs took 21 ms with `fast` and 420 ms with
/// `default` for a noisy photo-like picture (2.99 MB against 1.72 MB of PNGs), and 20 ms
/// against 216 ms for a smooth one (805 kB against 557 kB). Decoding and resizing alone took
/// 14 to 17 ms, so `default` multiplies an upload's time by 10 to 20 for files 30 to 40 %
/// smaller: `fast` is the default. (Lossless WebP, 24 to 34 ms, was smaller than either.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PngCompression {
    /// Fast deflate (`fdeflate`): a fraction of the encode time, larger files.
    #[default]
    Fast,
    /// Balanced zlib compression: smaller files, slower uploads.
    Default,
}

impl FromStr for PngCompression {
    type Err = TransformError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "fast" => Ok(Self::Fast),
            "default" => Ok(Self::Default),
            _ => Err(TransformError::Misconfigured(format!(
                "`{}` is {value:?}; expected \"fast\" or \"default\"",
                Options::PNG_COMPRESSION_KEY
            ))),
        }
    }
}

/// The plugin's settings. `Options::default()` is what an operator gets by setting nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Options {
    /// The resize filter (key `filter`, default `lanczos3`).
    pub filter: ResizeFilter,
    /// The PNG compression effort (key `png_compression`, default `fast`).
    pub png_compression: PngCompression,
}

impl Options {
    /// The config key that selects [`Options::filter`].
    pub const FILTER_KEY: &'static str = "filter";
    /// The config key that selects [`Options::png_compression`].
    pub const PNG_COMPRESSION_KEY: &'static str = "png_compression";

    /// Reads the settings through `lookup` (the component passes the host's `config.get`):
    /// absent keys take their defaults, unreadable values are
    /// [`TransformError::Misconfigured`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, TransformError> {
        let mut options = Self::default();
        if let Some(value) = lookup(Self::FILTER_KEY) {
            options.filter = value.parse()?;
        }
        if let Some(value) = lookup(Self::PNG_COMPRESSION_KEY) {
            options.png_compression = value.parse()?;
        }
        Ok(options)
    }
}
