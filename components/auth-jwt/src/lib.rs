//! `auth-jwt`: the first-party authentication plugin of avatar.
//!
//! It implements the `auth-plugin` world of `avatar:plugins@0.2.0`: a client that uploads or
//! deletes an avatar presents a JSON Web Token (`Authorization: Bearer <jwt>`), and the plugin
//! accepts it only if the signature verifies with the operator's key *and* the token is bound to
//! this request: its `hash` claim names the avatar being changed (or its `email` claim names an
//! address one of whose hashes it is) and, when present, its `tenant` claim names the tenant.
//!
//! The logic is plain Rust, tested natively: [`settings`] reads and checks the operator's settings
//! and key, [`verify`] checks a token against them. The `component` module (built for `wasm32`
//! only) is the thin adapter between the WIT types and these.
//!
//! # Settings
//! Read through the host's `config.get(key)` on every call (a plugin instance lives for one call).
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `algorithm` | `HS256` | The only algorithm accepted: one of `HS256`, `HS384`, `HS512`, `RS256`, `RS384`, `RS512`, `PS256`, `PS384`, `PS512`, `ES256`, `ES384`, `EdDSA` (exact spelling). A token whose header names any other algorithm (including `none`) is refused: the token never chooses. |
//! | `secret` | none; required for `HS*` | The shared HMAC secret, used as its UTF-8 bytes (not base64-decoded). Must not be empty; use at least 32 random bytes. Ignored for other algorithms. |
//! | `public_key` | none; required for `RS*`, `PS*`, `ES*`, `EdDSA` | The PEM public key: SPKI (`-----BEGIN PUBLIC KEY-----`), or PKCS#1 (`-----BEGIN RSA PUBLIC KEY-----`) for RSA. `ES256` wants a P-256 key, `ES384` a P-384 key, `EdDSA` an Ed25519 key. Ignored for `HS*`. |
//! | `leeway` | `30` | Seconds of clock skew allowed when checking `exp` and `nbf`. |
//! | `max_token_bytes` | `4096` | Longer tokens are refused (`too-large`) before any parsing. At least 1. |
//! | `issuer` | unset | When set, the `iss` claim must equal it (else `forbidden("issuer")`). |
//! | `audience` | unset | When set, the `aud` claim (a string or an array of strings) must contain it (else `forbidden("audience")`). |
//! | `require_tenant` | `false` | `true` or `false`. When `true`, a token without a `tenant` claim is refused (`wrong-tenant`). |
//!
//! A setting that is missing where required, or has a value that makes no sense, makes every call
//! fail with `misconfigured` (the host answers 500); the message never contains the secret.
//!
//! # Claims
//! - `exp` (required, NumericDate): expired when `now > exp + leeway`.
//! - `nbf` (optional, NumericDate): not yet valid when `now + leeway < nbf`.
//! - `hash` (required unless `email` is present, string): the avatar hash, compared
//!   case-insensitively.
//! - `email` (optional, string): an address. Trimmed and lower-cased, its MD5, SHA-1 or SHA-256
//!   must be the request's hash (and equal `hash`, when that is present too); the three hashes
//!   are returned as the grant's aliases, so that the avatar is found by each. The address is
//!   removed from the grant's claims and never appears in an error.
//! - `tenant` (optional unless `require_tenant`, string): compared exactly.
//! - `iss`, `aud`: checked only when `issuer` / `audience` are set.
//! - `sub` (optional, string): reported to the host as the grant's subject.

pub mod email;
pub mod settings;
pub mod verify;

#[cfg(test)]
mod test_support;

#[cfg(target_arch = "wasm32")]
mod component;
