//! `generate-retro`: a first-party generator plugin of avatar.
//!
//! It implements the `generator-plugin` world of `avatar:plugins@0.2.0`: for a hash that has no
//! avatar it draws an 8-bit arcade-style sprite, a little creature of chunky pixel blocks,
//! mirrored left to right and outlined, its body plan, optional cells and colours chosen by the
//! hash. The same hash and size always give the same pixels, natively and in Wasm; the drawing is
//! integer-only, crisp blocks from 16 pixels up and area-weighted averages below.
//!
//! The logic lives in [`retro`] (plain Rust, tested natively); the `component` module (built for
//! `wasm32` only) converts between the WIT types and [`retro`]'s. The dice, colours and settings
//! it shares with the other drawing generators come from `guest-kit`'s `draw` module.
//!
//! # Settings
//! | key | default | meaning |
//! |---|---|---|
//! | `background` | `#f2f0e6` | Behind the sprite: `#rrggbb`, `#rrggbbaa` or `transparent`. |

pub mod retro;

#[cfg(target_arch = "wasm32")]
mod component;
