//! `filter-template`: the starting point for a filter plugin of avatar, walked through step by
//! step in `docs/plugins.md`.
//!
//! It implements the `filter-plugin` world of `avatar:plugins@0.1.0` with a small but real
//! filter: every `rgba8` image handed in is tinted, each pixel blended toward one colour by a
//! fixed strength; alpha is kept as it is.
//!
//! The logic lives in [`tint`] (plain Rust, no Wasm types, tested natively with `cargo test`);
//! the `component` module (built for `wasm32` only) holds the WIT bindings and converts between
//! their types and [`tint`]'s.
//!
//! # Settings
//! | key | default | meaning |
//! |---|---|---|
//! | `color` | `#ff8000` | The colour to tint toward: `#rrggbb`, hex in either case. |
//! | `strength` | `0.5` | How far each pixel moves toward `color`, from `0` (unchanged) to `1` (solid `color`), in steps of 1/256. A JSON number or a string holding one. |

pub mod tint;

#[cfg(target_arch = "wasm32")]
mod component;
