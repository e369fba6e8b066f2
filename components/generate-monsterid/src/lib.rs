//! `generate-monsterid`: a first-party generator plugin of avatar.
//!
//! It implements the `generator-plugin` world of `avatar:plugins@0.2.0`: for a hash that has no
//! avatar it draws a friendly little monster assembled from parts (body, eyes, mouth, horns or
//! ears, arms and legs, markings), each chosen by the hash, in colours from the hash. The same
//! hash and size always give the same pixels, natively and in Wasm; the shapes are anti-aliased
//! vector paths scaled to the size asked for, so every size from 1 to 4096 looks like the same
//! monster.
//!
//! The logic lives in [`monsterid`] (plain Rust, tested natively); the `component` module (built
//! for `wasm32` only) converts between the WIT types and [`monsterid`]'s. The dice, colours and
//! canvas it shares with the other drawing generators come from `guest-kit`'s `draw` module.
//!
//! # Settings
//! | key | default | meaning |
//! |---|---|---|
//! | `background` | `#f4f1ea` | Behind the monster: `#rrggbb`, `#rrggbbaa` or `transparent`. |

pub mod monsterid;

#[cfg(target_arch = "wasm32")]
mod component;
