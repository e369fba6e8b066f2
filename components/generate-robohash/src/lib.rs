//! `generate-robohash`: a first-party generator plugin of avatar.
//!
//! It implements the `generator-plugin` world of `avatar:plugins@0.2.0`: for a hash that has no
//! avatar it draws a robot assembled from parts (body and shoulders, head, eyes, mouth, antenna,
//! ears, rivets), each chosen by the hash, in colours from the hash. The same hash and size
//! always give the same pixels, natively and in Wasm; the shapes are anti-aliased vector paths
//! scaled to the size asked for, so every size from 1 to 4096 looks like the same robot.
//!
//! The logic lives in [`robohash`] (plain Rust, tested natively); the `component` module (built
//! for `wasm32` only) converts between the WIT types and [`robohash`]'s. The dice, colours and
//! canvas it shares with the other drawing generators come from `guest-kit`'s `draw` module.
//!
//! # Settings
//! | key | default | meaning |
//! |---|---|---|
//! | `background` | `#e9eef2` | Behind the robot: `#rrggbb`, `#rrggbbaa` or `transparent`. |

pub mod robohash;

#[cfg(target_arch = "wasm32")]
mod component;
