//! The plugin's settings: read through the host's `config.get`, defaults applied, every value
//! checked, and the verifying key built (and proved to fit the algorithm) before any token is.
//!
//! The keys and their defaults are described in the crate documentation.

use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use crate::verify::AuthError;

/// The default for `leeway`, in seconds.
pub const DEFAULT_LEEWAY: u64 = 30;

/// The default for `max_token_bytes`.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 4096;

/// The algorithm used when `algorithm` is not set.
pub const DEFAULT_ALGORITHM: &str = "HS256";

/// Every algorithm the `algorithm` setting accepts, by its exact JOSE name.
const ALGORITHMS: [(&str, Algorithm); 12] = [
    ("HS256", Algorithm::HS256),
    ("HS384", Algorithm::HS384),
    ("HS512", Algorithm::HS512),
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
];

/// The plugin's settings, parsed and with the key ready to verify signatures.
///
/// `Debug` is safe to log: jsonwebtoken redacts the key.
#[derive(Debug, Clone)]
pub struct Settings {
    pub(crate) algorithm: Algorithm,
    pub(crate) algorithm_name: &'static str,
    pub(crate) key: DecodingKey,
    pub(crate) leeway: u64,
    pub(crate) max_token_bytes: usize,
    pub(crate) issuer: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) require_tenant: bool,
}

impl Settings {
    /// Reads the settings through `get` (the host's `config.get`), applying the defaults.
    ///
    /// Fails with [`AuthError::Misconfigured`] when a required setting is missing, a value does
    /// not parse, or the key does not fit the algorithm. The message names the setting and never
    /// contains the secret.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, AuthError> {
        let (algorithm_name, algorithm) = match get("algorithm") {
            None => (DEFAULT_ALGORITHM, Algorithm::HS256),
            Some(name) => ALGORITHMS
                .iter()
                .find(|(known, _)| *known == name)
                .copied()
                .ok_or_else(|| {
                    misconfigured(format!(
                        "`algorithm` must be one of {}",
                        ALGORITHMS.map(|(known, _)| known).join(", ")
                    ))
                })?,
        };

        let key = match algorithm.family() {
            AlgorithmFamily::Hmac => {
                let secret = get("secret")
                    .filter(|secret| !secret.is_empty())
                    .ok_or_else(|| {
                        misconfigured(format!("`secret` is required for {algorithm_name}"))
                    })?;
                DecodingKey::from_secret(secret.as_bytes())
                    .map_err(|_| misconfigured("`secret` is not a usable HMAC key"))?
            }
            family => {
                let pem = get("public_key")
                    .filter(|pem| !pem.trim().is_empty())
                    .ok_or_else(|| {
                        misconfigured(format!("`public_key` is required for {algorithm_name}"))
                    })?;
                public_key(algorithm, algorithm_name, family, pem.as_bytes())?
            }
        };

        let leeway = match get("leeway") {
            None => DEFAULT_LEEWAY,
            Some(text) => text.parse().map_err(|_| {
                misconfigured("`leeway` must be a whole, non-negative number of seconds")
            })?,
        };
        let max_token_bytes = match get("max_token_bytes") {
            None => DEFAULT_MAX_TOKEN_BYTES,
            Some(text) => text
                .parse()
                .ok()
                .filter(|&max: &usize| max > 0)
                .ok_or_else(|| misconfigured("`max_token_bytes` must be a whole number >= 1"))?,
        };
        let require_tenant = match get("require_tenant").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(misconfigured("`require_tenant` must be `true` or `false`")),
        };
        let issuer = non_empty(&get, "issuer")?;
        let audience = non_empty(&get, "audience")?;

        Ok(Self {
            algorithm,
            algorithm_name,
            key,
            leeway,
            max_token_bytes,
            issuer,
            audience,
            require_tenant,
        })
    }

    /// The one algorithm this configuration accepts, by its JOSE name (`HS256`, `EdDSA`, …).
    pub fn algorithm(&self) -> &'static str {
        self.algorithm_name
    }
}

/// Builds the verifying key for an asymmetric `algorithm` from `pem`, and checks that the key
/// inside the PEM really is one for that algorithm. jsonwebtoken's `from_*_pem` only unwrap the
/// PEM; without this check a wrong key would turn every request into a bad signature (or, for an
/// Ed25519 key of the wrong length, a panic) instead of one clear `misconfigured`.
fn public_key(
    algorithm: Algorithm,
    name: &str,
    family: AlgorithmFamily,
    pem: &[u8],
) -> Result<DecodingKey, AuthError> {
    let unusable = || {
        let kind = match family {
            AlgorithmFamily::Rsa => "an RSA",
            AlgorithmFamily::Ec if algorithm == Algorithm::ES384 => "a P-384",
            AlgorithmFamily::Ec => "a P-256",
            AlgorithmFamily::Ed | AlgorithmFamily::Hmac => "an Ed25519",
        };
        misconfigured(format!(
            "`public_key` must be {kind} public key in PEM form for {name}"
        ))
    };
    let provider = CryptoProvider::try_get_default()
        .ok_or_else(|| misconfigured("jsonwebtoken has no crypto backend"))?;

    let key = match family {
        AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
        AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
        AlgorithmFamily::Ed | AlgorithmFamily::Hmac => DecodingKey::from_ed_pem(pem),
    }
    .map_err(|_| unusable())?;
    let usable = match family {
        // The RSA verifier only parses the key when it verifies: parse it now.
        AlgorithmFamily::Rsa => key
            .try_get_as_bytes()
            .and_then(|der| (provider.key_utils.rsa_pub_components_from_public_key)(der))
            .is_ok(),
        // The Ed25519 verifier slices the first 32 bytes and panics on fewer.
        AlgorithmFamily::Ed => {
            key.try_get_as_bytes().is_ok_and(|raw| raw.len() == 32)
                && (provider.verifier_factory)(&algorithm, &key).is_ok()
        }
        // Parses the point on the algorithm's curve.
        AlgorithmFamily::Ec | AlgorithmFamily::Hmac => {
            (provider.verifier_factory)(&algorithm, &key).is_ok()
        }
    };
    if usable { Ok(key) } else { Err(unusable()) }
}

/// Reads an optional setting that, when set, must not be empty.
fn non_empty(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
) -> Result<Option<String>, AuthError> {
    match get(key) {
        Some(value) if value.is_empty() => {
            Err(misconfigured(format!("`{key}` must not be empty when set")))
        }
        value => Ok(value),
    }
}

/// The error of a setting that is missing or wrong; `why` names the setting, never its value.
pub(crate) fn misconfigured(why: impl Into<String>) -> AuthError {
    AuthError::Misconfigured(why.into())
}

#[cfg(test)]
mod tests;
