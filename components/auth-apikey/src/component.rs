//! The Wasm face of the plugin: WIT bindings, and conversions between the WIT types and
//! [`crate::verify`]'s. No decisions are made here.

wit_bindgen::generate!({ world: "auth-plugin", path: "../../wit" });

use avatar::plugins::config;
use exports::avatar::plugins::authenticator::{AuthError, AuthRequest, Grant, Guest};

use crate::verify;

/// The exported `authenticator`.
struct AuthApikey;

impl Guest for AuthApikey {
    fn authenticate(request: AuthRequest) -> Result<Grant, AuthError> {
        // Each call runs in a fresh instance, so there is nothing to cache the settings in;
        // parsing them costs one SHA-256 per plaintext key.
        let settings = verify::Settings::from_lookup(config::get).map_err(to_wit)?;
        let request = verify::Request {
            method: request.method,
            tenant: request.tenant,
            hash: request.hash,
            token: request.token,
            now: request.now,
        };
        verify::authenticate(&settings, &request)
            .map(|grant| Grant {
                subject: grant.subject,
                expires_at: grant.expires_at,
                claims: grant.claims,
                aliases: Vec::new(),
            })
            .map_err(to_wit)
    }
}

/// Case for case: each of the plugin's errors is one WIT case.
fn to_wit(error: verify::AuthError) -> AuthError {
    use verify::AuthError as E;
    match error {
        E::Missing => AuthError::Missing,
        E::TooLarge => AuthError::TooLarge,
        E::BadSignature => AuthError::BadSignature,
        E::Forbidden(what) => AuthError::Forbidden(what),
        E::Misconfigured(why) => AuthError::Misconfigured(why),
    }
}

export!(AuthApikey);
