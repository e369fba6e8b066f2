//! `auth-apikey`: a first-party authentication plugin of avatar, for services that do not mint
//! JWTs.
//!
//! It implements the `auth-plugin` world of `avatar:plugins@0.1.0`: the operator lists static
//! API keys in the tenant's auth settings, and a client that uploads or deletes an avatar
//! presents one as its bearer token (`Authorization: Bearer <key>`). The token's SHA-256 is
//! compared with every configured key's SHA-256 in constant time, with no early exit, so neither
//! which key matched nor how much of it did shows in the timing.
//!
//! A key authorises any avatar of the tenant whose settings list it (it is not bound to a hash,
//! unlike `auth-jwt`'s tokens), and only that tenant: each tenant has its own settings, so a key
//! configured for tenant A is simply unknown to tenant B.
//!
//! The logic lives in [`verify`] (plain Rust, tested natively); the `component` module (built
//! for `wasm32` only) converts between the WIT types and [`verify`]'s.
//!
//! # Settings
//! | key | default | meaning |
//! |---|---|---|
//! | `keys` | required | A JSON array of objects: `{"id": "svc-a", "sha256": "<64 hex digits>"}` (recommended) or `{"id": "svc-a", "key": "<the key itself>"}`, each with an optional `"methods": ["PUT", "POST"]` limiting it to those methods. |

pub mod verify;

#[cfg(target_arch = "wasm32")]
mod component;
