//! The auth call the plugins bench times and `examples/auth_calls.rs` loops for profilers:
//! auth-jwt loaded from the built-in plugins, its HMAC settings, and a request whose token is
//! bound to the request's hash and tenant.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use avatar_host::plugin::{AuthPlugin, AuthRequest, Runtime, Settings, builtin};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// The HMAC secret the tokens are signed with.
const SECRET: &str = "benchmark secret, at least thirty-two bytes long";
/// The avatar hash the token is bound to (40 hex digits, a SHA-1).
const HASH: &str = "5d41402abc4b2a76b9719d911017c592aabbccdd";
const TENANT: &str = "default";

pub fn load(runtime: &Runtime) -> AuthPlugin {
    let wasm = builtin("auth-jwt").expect("auth-jwt is built in");
    runtime
        .load_auth("auth-jwt", wasm)
        .expect("loading auth-jwt")
}

/// auth-jwt's settings: HS256 (its default) with [`SECRET`].
pub fn settings() -> Arc<Settings> {
    Arc::new(BTreeMap::from([("secret".to_owned(), SECRET.to_owned())]))
}

/// A `PUT` of [`HASH`] on [`TENANT`] with a valid token whose subject is `alice`.
pub fn request() -> AuthRequest {
    let claims = serde_json::json!({
        "sub": "alice",
        "hash": HASH,
        "tenant": TENANT,
        "exp": 4_000_000_000_u64,
    });
    let key = EncodingKey::from_secret(SECRET.as_bytes()).expect("a non-empty secret");
    AuthRequest {
        method: "PUT".to_owned(),
        tenant: TENANT.to_owned(),
        hash: HASH.to_owned(),
        token: jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
            .expect("signing"),
        now: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_secs(),
    }
}
