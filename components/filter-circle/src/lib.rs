//! `filter-circle`: a first-party filter plugin of avatar.
//!
//! It implements the `filter-plugin` world of `avatar:plugins@0.1.0`: every `rgba8` image handed
//! in comes back cut to the circle inscribed in it (diameter the shorter side, centred). Pixels
//! wholly outside the circle take the background (transparent by default), pixels wholly inside
//! keep their values exactly, and pixels on the edge are mixed by how much of them the circle
//! covers, so the edge is anti-aliased at every size. An optional border ring is drawn just
//! inside the edge.
//!
//! The logic lives in [`circle`] (plain Rust, tested natively); the `component` module (built for
//! `wasm32` only) converts between the WIT types and [`circle`]'s. What it shares with the other
//! first-party plugins (image types, input checks, settings, errors) comes from `guest-kit`.
//!
//! # Settings
//! | key | default | meaning |
//! |---|---|---|
//! | `background` | transparent | Fills the outside of the circle: `#rrggbb` or `#rrggbbaa`. |
//! | `border_width` | `0` | Width in pixels of a ring drawn inside the edge, at every size alike. A number `>= 0`; fractions are allowed. |
//! | `border_color` | `#ffffff` | The ring's colour, `#rrggbb` or `#rrggbbaa`. Used only when `border_width > 0`. |

pub mod circle;

#[cfg(target_arch = "wasm32")]
mod component;
