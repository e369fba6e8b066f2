//! `filter-grayscale`: a first-party filter plugin of avatar.
//!
//! It implements the `filter-plugin` world of `avatar:plugins@0.1.0`: every `rgba8` image handed
//! in comes back in grayscale (Rec. 709 luma, integer arithmetic), alpha untouched. The optional
//! `amount` setting blends between the original colours (`0`) and full gray (`1`, the default).
//!
//! The logic lives in [`grayscale`] (plain Rust, tested natively); the `component` module (built
//! for `wasm32` only) converts between the WIT types and [`grayscale`]'s. What it shares with the
//! other first-party plugins (image types, input checks, settings, errors) comes from `guest-kit`.
//!
//! # Settings
//! | key | default | meaning |
//! |---|---|---|
//! | `amount` | `1.0` | How gray, from `0.0` (unchanged) to `1.0` (fully gray). A JSON number or a string holding one. |

pub mod grayscale;

#[cfg(target_arch = "wasm32")]
mod component;
