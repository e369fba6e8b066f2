//! `generate-wavatar`: a first-party generator plugin of avatar.
//!
//! It implements the `generator-plugin` world of `avatar:plugins@0.2.0`: for a hash that has no
//! avatar it draws a face of soft, wavy shapes (a wavy background, the face, eyes, brows, mouth,
//! hair and cheeks), each chosen by the hash, in colours from the hash. The same hash and size
//! always give the same pixels, natively and in Wasm; the shapes are anti-aliased vector paths
//! scaled to the size asked for, so every size from 1 to 4096 looks like the same face.
//!
//! The logic lives in [`wavatar`] (plain Rust, tested natively); the `component` module (built
//! for `wasm32` only) converts between the WIT types and [`wavatar`]'s. The dice, colours and
//! canvas it shares with the other drawing generators come from `guest-kit`'s `draw` module.
//!
//! # Settings
//! | key | default | meaning |
//! |---|---|---|
//! | `background` | waves from the hash | One colour instead: `#rrggbb`, `#rrggbbaa` or `transparent`. |

pub mod wavatar;

#[cfg(target_arch = "wasm32")]
mod component;
