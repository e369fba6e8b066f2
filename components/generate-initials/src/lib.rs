//! `generate-initials`: a first-party generator plugin of avatar.
//!
//! It implements the `generator-plugin` world of `avatar:plugins@0.2.0`: for a hash that has no
//! avatar it draws a person's initials, centred, on a colour of the hash's own (the style of
//! `d=initials`). The letters are the request's `initials` as they are, else the first letters
//! of its `name`'s first and last words, else the hash's first two hex digits ([`letters`]
//! has the rules). They are drawn in an embedded font, Inter Display Semi Bold, subset to
//! Latin, Greek and Cyrillic ([`font`]); a letter the font lacks makes the hash's digits drawn
//! instead.
//!
//! The logic lives in [`letters`], [`font`] and [`initials`] (plain Rust, tested natively); the
//! `component` module (built for `wasm32` only) converts between the WIT types and theirs.
//! What it shares with the other first-party plugins (settings, the hash, colours, errors)
//! comes from `guest-kit`; outlines come from ttf-parser and are filled by tiny-skia.
//!
//! # Settings
//! | key | default | meaning |
//! |---|---|---|
//! | `background` | from the hash | A fixed background, `#rrggbb` or `#rrggbbaa`. |
//! | `saturation` | `0.7` | The hash's background: middle Okhsl saturation, `0` to `1`. |
//! | `lightness` | `0.55` | The hash's background: middle Okhsl lightness, `0` to `1`. |
//! | `variation` | `0.05` | How far the hash moves both either way, `0` to `0.5`. |
//! | `color` | white or near-black | A fixed text colour, `#rrggbb` or `#rrggbbaa`. |
//! | `font_scale` | `0.36` | A capital's height as a fraction of the side, `0.05` to `0.8`. |

pub mod font;
pub mod initials;
pub mod letters;

#[cfg(target_arch = "wasm32")]
mod component;
