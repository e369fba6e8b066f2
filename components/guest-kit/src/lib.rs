//! `guest-kit`: what avatar's first-party filter and generator plugins (`filter-grayscale`,
//! `filter-circle`, `generate-identicon`) share. Plain Rust without Wasm types, so that it builds
//! and is tested natively, like the plugins' own logic.
//!
//! - [`Image`] and [`ImageFormat`] mirror the WIT `image` and `image-format`; [`check_rgba8`] is
//!   a filter's check of the images handed in.
//! - [`GuestError`] mirrors the two WIT `transform-error` cases these plugins refuse with.
//! - [`Lookup`] reads a plugin's settings into typed values, with the same misconfiguration
//!   messages in every plugin; [`parse_color`] and [`parse_hex`] read colours and hex digits.
//! - [`Picture`], [`parse_hash`], [`check_side`] and [`HuePalette`] are what generators share:
//!   the picture they return, the checks of a request, and colours picked from a hash by hue.
//! - [`draw`] (with the `draw` feature) is what the drawing generators share: the request's
//!   checks, dice thrown by the hash, colours, the `background` setting and a vector canvas.
//! - [`wit_conversions!`] writes the conversions between a guest's generated WIT types and these
//!   mirrors: wit-bindgen generates the WIT types anew in each guest, so only a macro can share
//!   them.
//!
//! `filter-template` does not use this crate on purpose: plugin authors copy that crate out of
//! the repository, so it stands alone.

#[cfg(feature = "draw")]
pub mod draw;
mod error;
mod generator;
mod image;
mod settings;
mod wit;

pub use error::{GuestError, Misconfiguration};
pub use generator::{HuePalette, MAX_SIDE, Picture, check_side, okhsl_to_rgba, parse_hash};
pub use image::{Image, ImageFormat, check_rgba8};
pub use settings::{Lookup, Rgba, parse_color, parse_hex};
