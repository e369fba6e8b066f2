//! `transform-image`: the first-party transform plugin of the avatar service.
//!
//! It turns an uploaded JPEG, PNG, GIF (first frame) or WebP into the square images the host
//! stores: the declared size (and the crop rectangle, if any) is checked before anything is
//! decoded, the EXIF orientation is applied, all metadata is dropped, the centred square of the
//! picture or of the crop is resized with `fast_image_resize`, and each size is encoded as JPEG,
//! PNG, WebP (lossy below quality 100, lossless at 100), AVIF or raw `rgba8`.
//!
//! The work lives in [`pipeline`], plain Rust that builds and is tested natively (the host's
//! benchmark calls it directly to compare native and Wasm speed). The component glue that
//! exports it as world `transform-plugin` of `avatar:plugins` is compiled for `wasm32` only.

pub mod pipeline;

#[cfg(target_arch = "wasm32")]
mod component;
