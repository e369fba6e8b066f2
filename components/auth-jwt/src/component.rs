//! The Wasm face of the plugin: WIT bindings, and conversions between the WIT types and
//! [`crate::verify`]'s. No decisions are made here.

wit_bindgen::generate!({ world: "auth-plugin", path: "../../wit" });

use avatar::plugins::config;
use exports::avatar::plugins::authenticator::{AuthError, AuthRequest, Grant, Guest};

use crate::verify;

/// The exported `authenticator`.
struct AuthJwt;

impl Guest for AuthJwt {
    fn authenticate(request: AuthRequest) -> Result<Grant, AuthError> {
        // Each call runs in a fresh instance, so there is nothing to cache the settings in;
        // parsing them (and the key) is cheap next to the signature check.
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
                aliases: grant.aliases,
            })
            .map_err(to_wit)
    }
}

/// Case for case: the two enums mirror each other.
fn to_wit(error: verify::AuthError) -> AuthError {
    use verify::AuthError as E;
    match error {
        E::Missing => AuthError::Missing,
        E::Malformed(why) => AuthError::Malformed(why),
        E::TooLarge => AuthError::TooLarge,
        E::DisallowedAlgorithm(alg) => AuthError::DisallowedAlgorithm(alg),
        E::BadSignature => AuthError::BadSignature,
        E::MissingClaim(claim) => AuthError::MissingClaim(claim),
        E::Expired => AuthError::Expired,
        E::NotYetValid => AuthError::NotYetValid,
        E::WrongHash => AuthError::WrongHash,
        E::WrongTenant => AuthError::WrongTenant,
        E::Forbidden(what) => AuthError::Forbidden(what),
        E::Misconfigured(why) => AuthError::Misconfigured(why),
    }
}

export!(AuthJwt);
