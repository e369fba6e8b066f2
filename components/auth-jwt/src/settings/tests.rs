//! Unit tests of the settings: defaults, every accepted value, and every refused one.

use super::*;
use crate::test_support::{
    EC_PRIVATE, EC_PUBLIC, ED_PRIVATE, RSA_PRIVATE, RSA_PUBLIC, SECRET, hs256, settings,
};

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
