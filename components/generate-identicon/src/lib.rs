//! `generate-identicon`: a first-party generator plugin of avatar.
//!
//! It implements the `generator-plugin` world of `avatar:plugins@0.1.0`: for a hash that has no
//! avatar it draws a GitHub-style identicon, a square grid of cells mirrored left to right, one
//! colour on a background, all derived from the hash's bytes. The same hash and size always give
//! the same pixels; cell edges are whole pixels computed by integer scaling, so the picture is
//! crisp and fills the square exactly at every size.
//!
//! The logic lives in [`identicon`] (plain Rust, tested natively); the `component` module (built
//! for `wasm32` only) converts between the WIT types and [`identicon`]'s. What it shares with the
//! other first-party plugins (settings, colours, hex, errors) comes from `guest-kit`.
//!
//! # Settings
//! | key | default | meaning |
//! |---|---|---|
//! | `background` | `#f0f0f0` | The background, `#rrggbb` or `#rrggbbaa`. |
//! | `grid` | `5` | Cells per side, `5` to `9`. |
//! | `margin` | `0.08` | Empty border on each side, as a fraction of the side: `0` to `0.4`. |

pub mod identicon;

#[cfg(target_arch = "wasm32")]
mod component;
