//! The JWT check itself: the request's facts, the decision, and why a token was refused. Plain
//! Rust with no Wasm types, so that it builds and is tested natively; the component only
//! converts types. The settings it checks against are [`crate::settings`]'s.
//!
//! The settings and claims are described in the crate documentation. The checks run in a fixed
//! order, and the first failure decides the error:
//!
//! 1. an empty token is [`AuthError::Missing`];
//! 2. a token longer than `max_token_bytes` is [`AuthError::TooLarge`], before any parsing;
//! 3. anything but three dot-separated base64url parts is [`AuthError::Malformed`];
//! 4. the header's `alg` must be exactly the configured algorithm, else
//!    [`AuthError::DisallowedAlgorithm`] (this is where `none` and HS/RS confusion die);
//! 5. the signature must verify with the configured key ([`AuthError::BadSignature`]);
//! 6. `exp` is required and checked against the host's `now` with `leeway`;
//! 7. `nbf`, when present, likewise;
//! 8. the token must name the avatar of the request: an `email` claim, when present, must be an
//!    address one of whose three hashes is the request's; a `hash` claim, required without
//!    `email`, must be the request's hash;
//! 9. `tenant`, when present (or when `require_tenant`), must name the request's tenant;
//! 10. `iss` and `aud`, when the operator configured `issuer` and `audience`.
//!
//! A claim of the wrong JSON type (a string `exp`, a numeric `hash`) is [`AuthError::Malformed`].
//! The address in an `email` claim is personal data the host must not keep: it never reaches the
//! grant (only its hashes do, as aliases) nor an error message.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Validation;
use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use serde_json::{Map, Value};

use crate::email;
use crate::settings::misconfigured;
// Callers run the whole check through this module: `verify::{Settings, Request, authenticate}`.
pub use crate::settings::Settings;

/// The longest `alg` echoed back in [`AuthError::DisallowedAlgorithm`]: the header is the
/// client's, and the host logs the message.
const MAX_ECHOED_ALG_CHARS: usize = 32;

/// The facts of one request (mirrors the WIT `auth-request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The HTTP method, upper case. Not bound by the token: the `hash` claim is.
    pub method: String,
    /// The tenant the request is addressed to.
    pub tenant: String,
    /// The avatar being changed, lower-case hex.
    pub hash: String,
    /// The bearer token as sent; empty when the client sent none.
    pub token: String,
    /// The host's clock, in seconds since the Unix epoch.
    pub now: u64,
}

/// What an accepted token says (mirrors the WIT `grant`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The `sub` claim, or empty when the token has none.
    pub subject: String,
    /// The `exp` claim. Always set by this plugin, which requires `exp`.
    pub expires_at: Option<u64>,
    /// The token's claims as a compact JSON object, without `email`.
    pub claims: String,
    /// For a token with an `email` claim: the MD5, SHA-1 and SHA-256 of the normalised address
    /// in lower-case hex, the request's hash among them. Empty for a token bound by `hash` alone.
    pub aliases: Vec<String>,
}

/// Why a token was refused (mirrors the WIT `auth-error` variant case for case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No token at all.
    Missing,
    /// Not a JWT this plugin can parse: wrong shape, bad base64url, bad JSON, a claim of the
    /// wrong type.
    Malformed(String),
    /// Longer than `max_token_bytes`.
    TooLarge,
    /// The header names an algorithm other than the configured one (carries that name).
    DisallowedAlgorithm(String),
    /// The signature does not verify with the configured key.
    BadSignature,
    /// A required claim is absent (carries its name).
    MissingClaim(String),
    /// `exp` is past, beyond the leeway.
    Expired,
    /// `nbf` is in the future, beyond the leeway.
    NotYetValid,
    /// The `hash` claim names another avatar, or no hash of the `email` claim is the request's.
    WrongHash,
    /// The `tenant` claim names another tenant, or is absent while `require_tenant` is set.
    WrongTenant,
    /// The issuer or audience policy refuses the token (carries `issuer` or `audience`).
    Forbidden(String),
    /// The plugin's settings are missing or wrong.
    Misconfigured(String),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("no token"),
            Self::Malformed(why) => write!(f, "malformed token: {why}"),
            Self::TooLarge => f.write_str("token too large"),
            Self::DisallowedAlgorithm(alg) => write!(f, "algorithm `{alg}` is not allowed"),
            Self::BadSignature => f.write_str("bad signature"),
            Self::MissingClaim(claim) => write!(f, "missing claim `{claim}`"),
            Self::Expired => f.write_str("token expired"),
            Self::NotYetValid => f.write_str("token not yet valid"),
            Self::WrongHash => f.write_str("token issued for another avatar"),
            Self::WrongTenant => f.write_str("token issued for another tenant"),
            Self::Forbidden(what) => write!(f, "forbidden by {what} policy"),
            Self::Misconfigured(why) => write!(f, "auth-jwt misconfigured: {why}"),
        }
    }
}

impl std::error::Error for AuthError {}

/// Checks `req.token` against `settings` and `req`, in the order given in the module doc.
pub fn authenticate(settings: &Settings, req: &Request) -> Result<Grant, AuthError> {
    let token = req.token.as_str();
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    if token.len() > settings.max_token_bytes {
        return Err(AuthError::TooLarge);
    }

    let header = split_token(token)?;
    let alg = header_alg(header)?;
    if alg != settings.algorithm_name {
        return Err(AuthError::DisallowedAlgorithm(
            alg.chars().take(MAX_ECHOED_ALG_CHARS).collect(),
        ));
    }

    // Signature only: jsonwebtoken's time checks use the system clock and its own leeway, so
    // every claim check below is ours, against the host's `now`.
    let mut validation = Validation::new(settings.algorithm);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let mut claims = jsonwebtoken::decode::<Map<String, Value>>(token, &settings.key, &validation)
        .map_err(|err| from_jwt_error(&err, settings.algorithm_name))?
        .claims;

    let exp = match claims.get("exp") {
        None => return Err(AuthError::MissingClaim("exp".to_owned())),
        Some(value) => numeric_date(value, "exp")?,
    };
    if req.now > exp.saturating_add(settings.leeway) {
        return Err(AuthError::Expired);
    }
    if let Some(value) = claims.get("nbf") {
        let nbf = numeric_date(value, "nbf")?;
        if req.now.saturating_add(settings.leeway) < nbf {
            return Err(AuthError::NotYetValid);
        }
    }

    let aliases = bind_hash(&mut claims, &req.hash)?;

    match claims.get("tenant") {
        None if settings.require_tenant => return Err(AuthError::WrongTenant),
        None => {}
        Some(Value::String(tenant)) if *tenant == req.tenant => {}
        Some(Value::String(_)) => return Err(AuthError::WrongTenant),
        Some(_) => return Err(wrong_type("tenant", "a string")),
    }

    if let Some(issuer) = &settings.issuer
        && !matches!(claims.get("iss"), Some(Value::String(iss)) if iss == issuer)
    {
        return Err(AuthError::Forbidden("issuer".to_owned()));
    }
    if let Some(audience) = &settings.audience {
        let admitted = match claims.get("aud") {
            Some(Value::String(aud)) => aud == audience,
            Some(Value::Array(auds)) => auds
                .iter()
                .any(|aud| matches!(aud, Value::String(aud) if aud == audience)),
            _ => false,
        };
        if !admitted {
            return Err(AuthError::Forbidden("audience".to_owned()));
        }
    }

    let subject = match claims.get("sub") {
        None => String::new(),
        Some(Value::String(sub)) => sub.clone(),
        Some(_) => return Err(wrong_type("sub", "a string")),
    };
    Ok(Grant {
        subject,
        expires_at: Some(exp),
        claims: Value::Object(claims).to_string(),
        aliases,
    })
}

/// Checks that the token names the request's avatar, by its `email` claim (any of the address's
/// three hashes) or its `hash` claim (when both are present, each must agree), and returns the
/// aliases. The `email` claim is taken out of `claims` here, so that the address goes no further.
fn bind_hash(claims: &mut Map<String, Value>, hash: &str) -> Result<Vec<String>, AuthError> {
    let aliases = match claims.remove("email") {
        None => Vec::new(),
        Some(Value::String(address)) => {
            // The message names the claim, never its value.
            if !email::looks_like_address(&address) {
                return Err(malformed("claim `email` is not an address"));
            }
            let hashes = email::hashes(&address);
            if !hashes.iter().any(|alias| alias.eq_ignore_ascii_case(hash)) {
                return Err(AuthError::WrongHash);
            }
            hashes.into()
        }
        Some(_) => return Err(wrong_type("email", "a string")),
    };
    match claims.get("hash") {
        None if aliases.is_empty() => Err(AuthError::MissingClaim("hash".to_owned())),
        None => Ok(aliases),
        Some(Value::String(claimed)) if claimed.eq_ignore_ascii_case(hash) => Ok(aliases),
        Some(Value::String(_)) => Err(AuthError::WrongHash),
        Some(_) => Err(wrong_type("hash", "a string")),
    }
}

/// Checks the compact JWS shape (`header.payload.signature`, base64url characters only, header
/// and payload non-empty) and returns the encoded header. The signature may be empty here, so
/// that an unsigned `alg: none` token is reported as the disallowed algorithm it is.
fn split_token(token: &str) -> Result<&str, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not three dot-separated parts"));
    };
    let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
    if header.is_empty() || payload.is_empty() || !token.bytes().all(base64url) {
        return Err(malformed("not three base64url parts"));
    }
    Ok(header)
}

/// Decodes the header and returns its `alg`, without trusting anything else in it.
fn header_alg(encoded: &str) -> Result<String, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| malformed("header is not base64url"))?;
    let header: Value =
        serde_json::from_slice(&bytes).map_err(|_| malformed("header is not JSON"))?;
    let Value::Object(mut header) = header else {
        return Err(malformed("header is not a JSON object"));
    };
    match header.remove("alg") {
        Some(Value::String(alg)) => Ok(alg),
        Some(_) => Err(malformed("header `alg` is not a string")),
        None => Err(malformed("header has no `alg`")),
    }
}

/// Reads a NumericDate (RFC 7519: seconds, possibly fractional). Fractions are dropped and
/// negative values read as 0, which only ever makes `exp` earlier.
fn numeric_date(value: &Value, claim: &str) -> Result<u64, AuthError> {
    let Value::Number(number) = value else {
        return Err(wrong_type(claim, "a number"));
    };
    Ok(match number.as_u64() {
        Some(seconds) => seconds,
        // `as` saturates: negative and NaN become 0, huge values u64::MAX.
        None => number.as_f64().map_or(0, |seconds| seconds as u64),
    })
}

/// Maps a jsonwebtoken failure (after our own shape and `alg` checks) to the plugin's error.
fn from_jwt_error(err: &JwtError, algorithm_name: &str) -> AuthError {
    match err.kind() {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::InvalidAlgorithm => AuthError::DisallowedAlgorithm(algorithm_name.to_owned()),
        ErrorKind::InvalidKeyFormat
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::MissingAlgorithm
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::Provider(_) => {
            misconfigured(format!("the configured key cannot verify {algorithm_name}"))
        }
        ErrorKind::InvalidToken => malformed("unsupported header (`crit` or `b64`)"),
        ErrorKind::Base64(_) => malformed("not base64url"),
        ErrorKind::Json(_) => malformed("header or claims are not the expected JSON"),
        ErrorKind::Utf8(_) => malformed("not UTF-8"),
        _ => AuthError::Malformed(err.to_string()),
    }
}

fn malformed(why: &str) -> AuthError {
    AuthError::Malformed(why.to_owned())
}

fn wrong_type(claim: &str, expected: &str) -> AuthError {
    AuthError::Malformed(format!("claim `{claim}` is not {expected}"))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod email_tests;
