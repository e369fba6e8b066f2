//! `generate-silhouette`: a first-party generator plugin of avatar.
//!
//! It implements the `generator-plugin` world of `avatar:plugins@0.2.0`: for a hash that has no
//! avatar it draws one neutral head-and-shoulders silhouette (a "mystery person", Gravatar's
//! `d=mp`), the same for every hash, anti-aliased and scaled to the side.
//!
//! The logic lives in [`silhouette`] (plain Rust, tested natively); the `component` module
//! (built for `wasm32` only) converts between the WIT types and [`silhouette`]'s. What it
//! shares with the other first-party plugins (settings, the hash, colours, errors) comes from
//! `guest-kit`; the drawing is tiny-skia's.
//!
//! # Settings
//! | key | default | meaning |
//! |---|---|---|
//! | `background` | `#c5cbd3` | Around the figure, `#rrggbb` or `#rrggbbaa`. |
//! | `color` | `#f4f6f8` | The figure, `#rrggbb` or `#rrggbbaa`. |

pub mod silhouette;

#[cfg(target_arch = "wasm32")]
mod component;
