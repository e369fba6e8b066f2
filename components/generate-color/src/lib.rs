//! `generate-color`: a first-party generator plugin of avatar.
//!
//! It implements the `generator-plugin` world of `avatar:plugins@0.2.0`: for a hash that has no
//! avatar it fills the square with one colour of the hash's own: a hue anywhere on the circle,
//! at an Okhsl saturation and lightness the settings choose, which the hash moves a little so that
//! hashes of nearly the same hue still differ. The same hash always gives the same colour, at
//! every size.
//!
//! The logic lives in [`color`] (plain Rust, tested natively); the `component` module (built for
//! `wasm32` only) converts between the WIT types and [`color`]'s. What it shares with the other
//! first-party plugins (settings, the hash, colours, errors) comes from `guest-kit`.
//!
//! # Settings
//! | key | default | meaning |
//! |---|---|---|
//! | `saturation` | `0.6` | The middle Okhsl saturation, `0` (grey) to `1`. |
//! | `lightness` | `0.68` | The middle Okhsl lightness, `0` (black) to `1` (white). |
//! | `variation` | `0.08` | How far the hash moves both either way, `0` to `0.5`. |

pub mod color;

#[cfg(target_arch = "wasm32")]
mod component;
