//! `transform-image`: the first-party transform plugin of the avatar service.
//!
//! It turns an uploaded JPEG, PNG, GIF (first frame) or WebP into the square images the host
//! stores: the declared size is checked before anything is decoded, the EXIF orientation is
//! applied, all metadata is dropped, the centred square is cropped and resized with
//! `fast_image_resize`, and each size is encoded as JPEG, PNG, lossless WebP or raw `rgba8`.
//!
//! The work lives in [`pipeline`], plain Rust that builds and is tested natively (the host's
//! benchmark calls it directly to compare native and Wasm speed). The component glue that
//! exports it as world `transform-plugin` of `avatar:plugins` is compiled for `wasm32` only.

pub mod pipeline;

#[cfg(target_arch = "wasm32")]
mod component;
