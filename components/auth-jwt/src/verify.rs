//! The JWT check itself: settings, the request's facts, and the decision. Plain Rust with no
//! Wasm types, so that it builds and is tested natively; the component only converts types.
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
//! 8. `hash` is required and must name the avatar of the request;
//! 9. `tenant`, when present (or when `require_tenant`), must name the request's tenant;
//! 10. `iss` and `aud`, when the operator configured `issuer` and `audience`.
//!
//! A claim of the wrong JSON type (a string `exp`, a numeric `hash`) is [`AuthError::Malformed`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde_json::{Map, Value};

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
    /// The token's claims as a compact JSON object.
    pub claims: String,
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
    /// The `hash` claim names another avatar.
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

/// The plugin's settings, parsed and with the key ready to verify signatures.
///
/// `Debug` is safe to log: jsonwebtoken redacts the key.
#[derive(Debug, Clone)]
pub struct Settings {
    algorithm: Algorithm,
    algorithm_name: &'static str,
    key: DecodingKey,
    leeway: u64,
    max_token_bytes: usize,
    issuer: Option<String>,
    audience: Option<String>,
    require_tenant: bool,
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
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &settings.key, &validation)
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

    match claims.get("hash") {
        None => return Err(AuthError::MissingClaim("hash".to_owned())),
        Some(Value::String(hash)) if hash.eq_ignore_ascii_case(&req.hash) => {}
        Some(Value::String(_)) => return Err(AuthError::WrongHash),
        Some(_) => return Err(wrong_type("hash", "a string")),
    }

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
    })
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

fn misconfigured(why: impl Into<String>) -> AuthError {
    AuthError::Misconfigured(why.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const SECRET: &str = "an-hmac-test-secret-of-32+-bytes";
    const HASH: &str = "0bc83cb571cd1c50ba6f3e8a78ef1346";
    const NOW: u64 = 1_700_000_000;

    const RSA_PRIVATE: &str = include_str!("../../../tests/fixtures/keys/rsa-private.pem");
    const RSA_PUBLIC: &str = include_str!("../../../tests/fixtures/keys/rsa-public.pem");
    const EC_PRIVATE: &str = include_str!("../../../tests/fixtures/keys/ec-private.pem");
    const EC_PUBLIC: &str = include_str!("../../../tests/fixtures/keys/ec-public.pem");
    const ED_PRIVATE: &str = include_str!("../../../tests/fixtures/keys/ed25519-private.pem");
    const ED_PUBLIC: &str = include_str!("../../../tests/fixtures/keys/ed25519-public.pem");

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, AuthError> {
        Settings::from_lookup(|key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    fn hs256() -> Settings {
        settings(&[("secret", SECRET)]).expect("HS256 settings are valid")
    }

    fn sign(alg: Algorithm, key: &EncodingKey, claims: &Value) -> String {
        encode(&Header::new(alg), claims, key).expect("signing works")
    }

    fn hmac_key(secret: &[u8]) -> EncodingKey {
        EncodingKey::from_secret(secret).expect("non-empty secret")
    }

    fn hs256_token(claims: &Value) -> String {
        sign(Algorithm::HS256, &hmac_key(SECRET.as_bytes()), claims)
    }

    /// A token with an arbitrary header and payload, correctly signed with HS256 and `SECRET`.
    fn hs256_raw(header: &str, payload: &str) -> String {
        let message = format!("{}.{}", b64(header), b64(payload));
        let key = hmac_key(SECRET.as_bytes());
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256)
            .expect("signing works");
        format!("{message}.{signature}")
    }

    fn b64(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text)
    }

    /// Good claims for `HASH`, valid for an hour from `NOW`.
    fn claims() -> Value {
        json!({ "sub": "alice", "exp": NOW + 3600, "hash": HASH })
    }

    /// `claims()` with `changes` applied; a `null` removes the claim.
    fn with(changes: &Value) -> Value {
        let mut claims = claims();
        for (name, value) in changes.as_object().expect("changes are an object") {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    }

    /// Replaces the payload of `token`, keeping its header and signature.
    fn tamper(token: &str, claims: &Value) -> String {
        let parts: Vec<&str> = token.split('.').collect();
        format!("{}.{}.{}", parts[0], b64(&claims.to_string()), parts[2])
    }

    fn check(settings: &Settings, token: &str) -> Result<Grant, AuthError> {
        authenticate(
            settings,
            &Request {
                method: "PUT".to_owned(),
                tenant: "default".to_owned(),
                hash: HASH.to_owned(),
                token: token.to_owned(),
                now: NOW,
            },
        )
    }

    #[test]
    fn valid_hs256_token_grants_its_claims() {
        let grant = check(&hs256(), &hs256_token(&claims())).expect("valid token");
        assert_eq!(grant.subject, "alice");
        assert_eq!(grant.expires_at, Some(NOW + 3600));
        let parsed: Value = serde_json::from_str(&grant.claims).expect("claims are JSON");
        assert_eq!(parsed, claims());
        assert!(
            !grant.claims.contains(' '),
            "compact JSON: {}",
            grant.claims
        );
    }

    #[test]
    fn subject_is_empty_without_sub() {
        let grant = check(&hs256(), &hs256_token(&with(&json!({ "sub": null }))));
        assert_eq!(grant.expect("valid token").subject, "");
    }

    /// A case of `claim_checks`: name, settings besides `secret`, changes to `claims()`, outcome.
    type ClaimCase = (
        &'static str,
        Vec<(&'static str, &'static str)>,
        Value,
        Result<(), AuthError>,
    );

    #[test]
    fn claim_checks() {
        let cases: Vec<ClaimCase> = vec![
            ("valid", vec![], json!({}), Ok(())),
            (
                "expired",
                vec![],
                json!({ "exp": NOW - 31 }),
                Err(AuthError::Expired),
            ),
            (
                "expired within leeway",
                vec![],
                json!({ "exp": NOW - 30 }),
                Ok(()),
            ),
            (
                "expires now",
                vec![("leeway", "0")],
                json!({ "exp": NOW }),
                Ok(()),
            ),
            (
                "expired, no leeway",
                vec![("leeway", "0")],
                json!({ "exp": NOW - 1 }),
                Err(AuthError::Expired),
            ),
            (
                "negative exp",
                vec![],
                json!({ "exp": -1 }),
                Err(AuthError::Expired),
            ),
            (
                "fractional exp",
                vec![],
                json!({ "exp": NOW as f64 + 0.5 }),
                Ok(()),
            ),
            ("far-future exp", vec![], json!({ "exp": u64::MAX }), Ok(())),
            (
                "missing exp",
                vec![],
                json!({ "exp": null }),
                Err(AuthError::MissingClaim("exp".to_owned())),
            ),
            (
                "string exp",
                vec![],
                json!({ "exp": "tomorrow" }),
                Err(AuthError::Malformed(
                    "claim `exp` is not a number".to_owned(),
                )),
            ),
            (
                "not yet valid",
                vec![],
                json!({ "nbf": NOW + 31 }),
                Err(AuthError::NotYetValid),
            ),
            (
                "nbf within leeway",
                vec![],
                json!({ "nbf": NOW + 30 }),
                Ok(()),
            ),
            ("nbf past", vec![], json!({ "nbf": NOW - 100 }), Ok(())),
            (
                "string nbf",
                vec![],
                json!({ "nbf": "now" }),
                Err(AuthError::Malformed(
                    "claim `nbf` is not a number".to_owned(),
                )),
            ),
            (
                "wrong hash",
                vec![],
                json!({ "hash": "ffffffffffffffffffffffffffffffff" }),
                Err(AuthError::WrongHash),
            ),
            (
                "upper-case hash",
                vec![],
                json!({ "hash": HASH.to_uppercase() }),
                Ok(()),
            ),
            (
                "missing hash",
                vec![],
                json!({ "hash": null }),
                Err(AuthError::MissingClaim("hash".to_owned())),
            ),
            (
                "numeric hash",
                vec![],
                json!({ "hash": 42 }),
                Err(AuthError::Malformed(
                    "claim `hash` is not a string".to_owned(),
                )),
            ),
            (
                "right tenant",
                vec![],
                json!({ "tenant": "default" }),
                Ok(()),
            ),
            (
                "wrong tenant",
                vec![],
                json!({ "tenant": "other" }),
                Err(AuthError::WrongTenant),
            ),
            (
                "tenant differs in case",
                vec![],
                json!({ "tenant": "Default" }),
                Err(AuthError::WrongTenant),
            ),
            ("tenant absent, not required", vec![], json!({}), Ok(())),
            (
                "tenant absent, required",
                vec![("require_tenant", "true")],
                json!({}),
                Err(AuthError::WrongTenant),
            ),
            (
                "tenant present, required",
                vec![("require_tenant", "true")],
                json!({ "tenant": "default" }),
                Ok(()),
            ),
            (
                "numeric tenant",
                vec![],
                json!({ "tenant": 1 }),
                Err(AuthError::Malformed(
                    "claim `tenant` is not a string".to_owned(),
                )),
            ),
            (
                "numeric sub",
                vec![],
                json!({ "sub": 7 }),
                Err(AuthError::Malformed(
                    "claim `sub` is not a string".to_owned(),
                )),
            ),
            (
                "issuer matches",
                vec![("issuer", "idp")],
                json!({ "iss": "idp" }),
                Ok(()),
            ),
            (
                "issuer differs",
                vec![("issuer", "idp")],
                json!({ "iss": "evil" }),
                Err(AuthError::Forbidden("issuer".to_owned())),
            ),
            (
                "issuer absent",
                vec![("issuer", "idp")],
                json!({}),
                Err(AuthError::Forbidden("issuer".to_owned())),
            ),
            (
                "iss ignored when not configured",
                vec![],
                json!({ "iss": "anyone" }),
                Ok(()),
            ),
            (
                "audience string",
                vec![("audience", "avatar")],
                json!({ "aud": "avatar" }),
                Ok(()),
            ),
            (
                "audience in array",
                vec![("audience", "avatar")],
                json!({ "aud": ["mail", "avatar"] }),
                Ok(()),
            ),
            (
                "audience not in array",
                vec![("audience", "avatar")],
                json!({ "aud": ["mail"] }),
                Err(AuthError::Forbidden("audience".to_owned())),
            ),
            (
                "audience absent",
                vec![("audience", "avatar")],
                json!({}),
                Err(AuthError::Forbidden("audience".to_owned())),
            ),
            (
                "aud ignored when not configured",
                vec![],
                json!({ "aud": "other" }),
                Ok(()),
            ),
            (
                "expiry is checked before the hash",
                vec![],
                json!({ "exp": NOW - 100, "hash": "ff" }),
                Err(AuthError::Expired),
            ),
            (
                "hash is checked before the tenant",
                vec![],
                json!({ "hash": "ff", "tenant": "other" }),
                Err(AuthError::WrongHash),
            ),
        ];
        for (name, extra, changes, expected) in cases {
            let mut pairs = vec![("secret", SECRET)];
            pairs.extend(extra);
            let settings = settings(&pairs).expect("valid settings");
            let got = check(&settings, &hs256_token(&with(&changes))).map(|_| ());
            assert_eq!(got, expected, "case `{name}`");
        }
    }

    #[test]
    fn asymmetric_algorithms_verify_pem_keys() {
        let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).expect("RSA PKCS#8 PEM");
        let ec = EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).expect("EC PKCS#8 PEM");
        let ed = EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).expect("Ed25519 PKCS#8 PEM");
        let cases = [
            (Algorithm::RS256, "RS256", &rsa, RSA_PUBLIC),
            (Algorithm::RS512, "RS512", &rsa, RSA_PUBLIC),
            (Algorithm::PS256, "PS256", &rsa, RSA_PUBLIC),
            (Algorithm::ES256, "ES256", &ec, EC_PUBLIC),
            (Algorithm::EdDSA, "EdDSA", &ed, ED_PUBLIC),
        ];
        for (alg, name, private, public) in cases {
            let settings = settings(&[("algorithm", name), ("public_key", public)])
                .unwrap_or_else(|err| panic!("{name}: public PEM refused: {err}"));
            assert_eq!(settings.algorithm(), name);
            let token = sign(alg, private, &claims());

            let grant = check(&settings, &token).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(grant.subject, "alice", "{name}");

            let forged = tamper(&token, &with(&json!({ "sub": "mallory" })));
            assert_eq!(
                check(&settings, &forged),
                Err(AuthError::BadSignature),
                "{name}"
            );

            let expired = sign(alg, private, &with(&json!({ "exp": NOW - 100 })));
            assert_eq!(
                check(&settings, &expired),
                Err(AuthError::Expired),
                "{name}"
            );
        }
    }

    #[test]
    fn bad_signatures() {
        let settings = hs256();
        let token = hs256_token(&claims());
        let cases = [
            (
                "tampered payload",
                tamper(&token, &with(&json!({ "hash": "ff" }))),
            ),
            (
                "tampered into an unexpired token",
                tamper(&hs256_token(&with(&json!({ "exp": NOW - 100 }))), &claims()),
            ),
            (
                "wrong secret",
                sign(Algorithm::HS256, &hmac_key(b"another secret"), &claims()),
            ),
            ("signature of another token", {
                let other = hs256_token(&with(&json!({ "sub": "bob" })));
                let (message, _) = token.rsplit_once('.').unwrap();
                format!("{message}.{}", other.rsplit_once('.').unwrap().1)
            }),
            (
                "empty signature",
                format!("{}.", token.rsplit_once('.').unwrap().0),
            ),
        ];
        for (name, token) in cases {
            assert_eq!(
                check(&settings, &token),
                Err(AuthError::BadSignature),
                "case `{name}`"
            );
        }
    }

    #[test]
    fn only_the_configured_algorithm_is_accepted() {
        let payload = b64(&claims().to_string());
        let unsigned =
            |alg: &str| format!("{}.{payload}.", b64(&json!({ "alg": alg }).to_string()));
        let rsa_settings = settings(&[("algorithm", "RS256"), ("public_key", RSA_PUBLIC)])
            .expect("RS256 settings are valid");
        let hs512 = sign(Algorithm::HS512, &hmac_key(SECRET.as_bytes()), &claims());
        // The classic confusion attack: HMAC keyed with the public key the verifier holds.
        let confused = sign(
            Algorithm::HS256,
            &hmac_key(RSA_PUBLIC.as_bytes()),
            &claims(),
        );
        let cases = [
            ("HS512 token, HS256 configured", &hs256(), hs512, "HS512"),
            (
                "alg none",
                &hs256(),
                format!("{}.{payload}.", b64(r#"{"alg":"none","typ":"JWT"}"#)),
                "none",
            ),
            ("alg None", &hs256(), unsigned("None"), "None"),
            ("alg NONE", &hs256(), unsigned("NONE"), "NONE"),
            ("alg in lower case", &hs256(), unsigned("hs256"), "hs256"),
            ("alg with a space", &hs256(), unsigned("HS256 "), "HS256 "),
            (
                "HS256 signed with the RSA public key",
                &rsa_settings,
                confused,
                "HS256",
            ),
        ];
        for (name, settings, token, alg) in cases {
            assert_eq!(
                check(settings, &token),
                Err(AuthError::DisallowedAlgorithm(alg.to_owned())),
                "case `{name}`"
            );
        }
    }

    #[test]
    fn an_rs256_header_does_not_make_an_hmac_signature_valid() {
        let settings = settings(&[("algorithm", "RS256"), ("public_key", RSA_PUBLIC)])
            .expect("RS256 settings are valid");
        let message = format!(
            "{}.{}",
            b64(r#"{"alg":"RS256","typ":"JWT"}"#),
            b64(&claims().to_string())
        );
        let hmac = hmac_key(RSA_PUBLIC.as_bytes());
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &hmac, Algorithm::HS256)
            .expect("signing works");
        let token = format!("{message}.{signature}");
        assert_eq!(check(&settings, &token), Err(AuthError::BadSignature));
    }

    #[test]
    fn an_echoed_algorithm_name_is_truncated() {
        let long = "X".repeat(200);
        let token = format!(
            "{}.{}.",
            b64(&json!({ "alg": long }).to_string()),
            b64(&claims().to_string())
        );
        assert_eq!(
            check(&hs256(), &token),
            Err(AuthError::DisallowedAlgorithm(
                "X".repeat(MAX_ECHOED_ALG_CHARS)
            ))
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let payload = b64(&claims().to_string());
        let header = b64(r#"{"alg":"HS256","typ":"JWT"}"#);
        let cases = [
            "not a token".to_owned(),
            "a.b.c".to_owned(),
            "c29tZSByYW5kb20gYnl0ZXMgdGhhdCBhcmUgbm90IGEgand0".to_owned(),
            "YWJj.ZGVm.Z2hp".to_owned(),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            "..".to_owned(),
            format!(".{payload}.c2ln"),
            format!("{header}..c2ln"),
            format!("{header}=.{payload}.c2ln"),
            format!("{header}.{payload}.sig+nature/"),
            format!("{}.{payload}.", b64("[1,2]")),
            format!("{}.{payload}.", b64(r#"{"typ":"JWT"}"#)),
            format!("{}.{payload}.", b64(r#"{"alg":256}"#)),
            // Shape and `alg` are fine from here on; jsonwebtoken finds the fault.
            format!("{header}.{payload}.x"),
            hs256_raw(r#"{"alg":"HS256"}"#, "not json"),
            hs256_raw(r#"{"alg":"HS256"}"#, "[1,2,3]"),
            hs256_raw(
                r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
                &claims().to_string(),
            ),
            hs256_raw(r#"{"alg":"HS256","typ":7}"#, &claims().to_string()),
        ];
        let settings = hs256();
        for token in cases {
            let got = check(&settings, &token);
            assert!(
                matches!(got, Err(AuthError::Malformed(_))),
                "{token:?}: {got:?}"
            );
        }
    }

    #[test]
    fn token_size() {
        let settings = hs256();
        assert_eq!(check(&settings, ""), Err(AuthError::Missing));
        let limit = DEFAULT_MAX_TOKEN_BYTES;
        assert_eq!(
            check(&settings, &"a".repeat(limit + 1)),
            Err(AuthError::TooLarge)
        );
        // Exactly at the limit, it gets parsed (and is garbage).
        assert!(matches!(
            check(&settings, &"a".repeat(limit)),
            Err(AuthError::Malformed(_))
        ));

        let token = hs256_token(&claims());
        let tight = settings_with_limit(token.len());
        assert!(check(&tight, &token).is_ok());
        let too_tight = settings_with_limit(token.len() - 1);
        assert_eq!(check(&too_tight, &token), Err(AuthError::TooLarge));
    }

    fn settings_with_limit(limit: usize) -> Settings {
        let limit = limit.to_string();
        settings(&[("secret", SECRET), ("max_token_bytes", &limit)]).expect("valid settings")
    }

    #[test]
    fn settings_defaults_and_values() {
        let defaults = hs256();
        assert_eq!(defaults.algorithm(), "HS256");
        assert_eq!(defaults.leeway, DEFAULT_LEEWAY);
        assert_eq!(defaults.max_token_bytes, DEFAULT_MAX_TOKEN_BYTES);
        assert!(!defaults.require_tenant);
        assert_eq!((defaults.issuer, defaults.audience), (None, None));

        let set = settings(&[
            ("algorithm", "HS512"),
            ("secret", SECRET),
            ("leeway", "0"),
            ("max_token_bytes", "100"),
            ("require_tenant", "true"),
            ("issuer", "idp"),
            ("audience", "avatar"),
        ])
        .expect("valid settings");
        assert_eq!(set.algorithm(), "HS512");
        assert_eq!(
            (set.leeway, set.max_token_bytes, set.require_tenant),
            (0, 100, true)
        );
        assert_eq!(set.issuer.as_deref(), Some("idp"));
        assert_eq!(set.audience.as_deref(), Some("avatar"));
        assert!(settings(&[("secret", SECRET), ("require_tenant", "false")]).is_ok());
    }

    #[test]
    fn bad_settings_are_misconfigured() {
        let junk_pem = "-----BEGIN PUBLIC KEY-----\nAAECAwQFBgcICQ==\n-----END PUBLIC KEY-----\n";
        // A well-formed Ed25519 SPKI whose key is 31 bytes: jsonwebtoken would panic on it.
        let short_ed = "-----BEGIN PUBLIC KEY-----\n\
                        MCkwBQYDK2VwAyAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw==\n\
                        -----END PUBLIC KEY-----\n";
        let cases: [(&str, &[(&str, &str)]); 25] = [
            ("no secret", &[]),
            ("empty secret", &[("secret", "")]),
            (
                "algorithm none",
                &[("algorithm", "none"), ("secret", SECRET)],
            ),
            (
                "algorithm in lower case",
                &[("algorithm", "hs256"), ("secret", SECRET)],
            ),
            (
                "unsupported algorithm",
                &[("algorithm", "ES512"), ("secret", SECRET)],
            ),
            (
                "HS256 with only a public key",
                &[("public_key", RSA_PUBLIC)],
            ),
            (
                "RS256 without public key",
                &[("algorithm", "RS256"), ("secret", SECRET)],
            ),
            (
                "RS256 with blank public key",
                &[("algorithm", "RS256"), ("public_key", " \n")],
            ),
            (
                "not PEM",
                &[("algorithm", "RS256"), ("public_key", "not a pem")],
            ),
            (
                "PEM of junk",
                &[("algorithm", "RS256"), ("public_key", junk_pem)],
            ),
            (
                "RSA private key",
                &[("algorithm", "RS256"), ("public_key", RSA_PRIVATE)],
            ),
            (
                "EC key for RS256",
                &[("algorithm", "RS256"), ("public_key", EC_PUBLIC)],
            ),
            (
                "RSA key for ES256",
                &[("algorithm", "ES256"), ("public_key", RSA_PUBLIC)],
            ),
            (
                "P-256 key for ES384",
                &[("algorithm", "ES384"), ("public_key", EC_PUBLIC)],
            ),
            (
                "EC private key",
                &[("algorithm", "ES256"), ("public_key", EC_PRIVATE)],
            ),
            (
                "EC key for EdDSA",
                &[("algorithm", "EdDSA"), ("public_key", EC_PUBLIC)],
            ),
            (
                "Ed25519 private key",
                &[("algorithm", "EdDSA"), ("public_key", ED_PRIVATE)],
            ),
            (
                "Ed25519 PEM of junk",
                &[("algorithm", "EdDSA"), ("public_key", junk_pem)],
            ),
            (
                "short Ed25519 key",
                &[("algorithm", "EdDSA"), ("public_key", short_ed)],
            ),
            (
                "leeway not a number",
                &[("secret", SECRET), ("leeway", "soon")],
            ),
            ("negative leeway", &[("secret", SECRET), ("leeway", "-1")]),
            (
                "zero max_token_bytes",
                &[("secret", SECRET), ("max_token_bytes", "0")],
            ),
            (
                "max_token_bytes not a number",
                &[("secret", SECRET), ("max_token_bytes", "4k")],
            ),
            (
                "require_tenant not a boolean",
                &[("secret", SECRET), ("require_tenant", "yes")],
            ),
            ("empty issuer", &[("secret", SECRET), ("issuer", "")]),
        ];
        for (name, pairs) in cases {
            match settings(pairs) {
                Err(AuthError::Misconfigured(message)) => {
                    assert!(!message.contains(SECRET), "case `{name}` leaks the secret");
                }
                other => panic!("case `{name}`: expected Misconfigured, got {other:?}"),
            }
        }
    }

    #[test]
    fn settings_debug_redacts_the_secret() {
        assert!(!format!("{:?}", hs256()).contains(SECRET));
    }

    #[test]
    fn errors_display_lower_case_without_final_period() {
        let errors = [
            AuthError::Missing,
            AuthError::Malformed("x".to_owned()),
            AuthError::TooLarge,
            AuthError::DisallowedAlgorithm("none".to_owned()),
            AuthError::BadSignature,
            AuthError::MissingClaim("exp".to_owned()),
            AuthError::Expired,
            AuthError::NotYetValid,
            AuthError::WrongHash,
            AuthError::WrongTenant,
            AuthError::Forbidden("issuer".to_owned()),
            AuthError::Misconfigured("x".to_owned()),
        ];
        for error in errors {
            let text = error.to_string();
            assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
    }
}
