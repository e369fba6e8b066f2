//! Unit tests of the `email` claim: which request hashes an address covers, how it combines with
//! `hash`, the aliases it yields, and that the address goes no further than the check.

use super::*;
use crate::test_support::{SECRET, hs256};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

const NOW: u64 = 1_700_000_000;

/// Gravatar's documented example address, as normalised.
const ADDRESS: &str = "myemailaddress@example.com";
/// Its MD5, SHA-1 and SHA-256.
const MD5: &str = "0bc83cb571cd1c50ba6f3e8a78ef1346";
const SHA1: &str = "6b933a5f1b8864ac6e72157b9c58d45913b6f32c";
const SHA256: &str = "84059b07d4be67b806386c0aad8070a23f18836bbaae342275dc0a83414c32ee";
/// The MD5 of another address ("someone@example.com").
const OTHER_MD5: &str = "16d113840f999444259f73bac9ab8b10";

fn token(claims: &Value) -> String {
    let key = EncodingKey::from_secret(SECRET.as_bytes()).expect("non-empty secret");
    encode(&Header::new(Algorithm::HS256), claims, &key).expect("signing works")
}

/// Valid claims for an hour from `NOW`, with `email` and whatever `extra` adds.
fn claims(email: Value, extra: &Value) -> Value {
    let mut claims = json!({ "sub": "alice", "exp": NOW + 3600, "email": email });
    for (name, value) in extra.as_object().expect("extra claims are an object") {
        claims[name] = value.clone();
    }
    claims
}

fn check(path_hash: &str, claims: &Value) -> Result<Grant, AuthError> {
    authenticate(
        &hs256(),
        &Request {
            method: "PUT".to_owned(),
            tenant: "default".to_owned(),
            hash: path_hash.to_owned(),
            token: token(claims),
            now: NOW,
        },
    )
}

fn all_three() -> Vec<String> {
    vec![MD5.to_owned(), SHA1.to_owned(), SHA256.to_owned()]
}

#[test]
fn the_other_md5_is_not_of_the_address() {
    // Guards the refusal test below: the fourth hash really is another address's.
    assert_eq!(crate::email::hashes("someone@example.com")[0], OTHER_MD5);
    assert!(!all_three().contains(&OTHER_MD5.to_owned()));
}

#[test]
fn each_of_the_three_hashes_is_covered_and_all_are_aliases() {
    for path_hash in [MD5, SHA1, SHA256] {
        let grant = check(path_hash, &claims(json!(ADDRESS), &json!({})))
            .unwrap_or_else(|e| panic!("{path_hash}: {e}"));
        assert_eq!(grant.aliases, all_three(), "{path_hash}");
        assert!(grant.aliases.iter().any(|alias| alias == path_hash));
        assert_eq!(grant.subject, "alice");
        assert_eq!(grant.expires_at, Some(NOW + 3600));
    }
}

#[test]
fn the_address_is_normalised_before_hashing() {
    for address in [
        "MyEmailAddress@example.com",
        "MYEMAILADDRESS@EXAMPLE.COM",
        " MyEmailAddress@Example.com ",
        "\tmyemailaddress@example.com\n",
    ] {
        let grant = check(SHA256, &claims(json!(address), &json!({})))
            .unwrap_or_else(|e| panic!("{address:?}: {e}"));
        assert_eq!(grant.aliases, all_three(), "{address:?}");
    }
}

#[test]
fn a_hash_of_another_address_is_refused() {
    assert_eq!(
        check(OTHER_MD5, &claims(json!(ADDRESS), &json!({}))),
        Err(AuthError::WrongHash)
    );
}

#[test]
fn with_both_claims_each_must_name_the_request() {
    let agreeing = check(MD5, &claims(json!(ADDRESS), &json!({ "hash": MD5 })));
    assert_eq!(agreeing.expect("both agree").aliases, all_three());
    let upper = check(
        MD5,
        &claims(json!(ADDRESS), &json!({ "hash": MD5.to_uppercase() })),
    );
    assert_eq!(
        upper.expect("hash compared case-insensitively").aliases,
        all_three()
    );

    // Another hash of the same address is still not the request's hash.
    assert_eq!(
        check(MD5, &claims(json!(ADDRESS), &json!({ "hash": SHA1 }))),
        Err(AuthError::WrongHash)
    );
    // The `hash` claim names the request, the address does not cover it.
    assert_eq!(
        check(
            OTHER_MD5,
            &claims(json!(ADDRESS), &json!({ "hash": OTHER_MD5 }))
        ),
        Err(AuthError::WrongHash)
    );
    assert_eq!(
        check(MD5, &claims(json!(ADDRESS), &json!({ "hash": 42 }))),
        Err(AuthError::Malformed(
            "claim `hash` is not a string".to_owned()
        ))
    );
}

#[test]
fn the_address_is_not_in_the_claims() {
    let address = " MyEmailAddress@Example.com ";
    let grant = check(
        MD5,
        &claims(json!(address), &json!({ "tenant": "default" })),
    )
    .expect("valid token");
    let parsed: Value = serde_json::from_str(&grant.claims).expect("claims are JSON");
    assert_eq!(
        parsed,
        json!({ "sub": "alice", "exp": NOW + 3600, "tenant": "default" })
    );
    let lower = grant.claims.to_lowercase();
    assert!(!lower.contains("myemailaddress"), "{}", grant.claims);
    assert!(!lower.contains("email"), "{}", grant.claims);
}

#[test]
fn a_claim_that_is_not_an_address_is_malformed() {
    for not_an_address in [
        "",
        "myemailaddress",
        "me@",
        "@example.com",
        "me@a@b",
        "my email@example.com",
    ] {
        assert_eq!(
            check(MD5, &claims(json!(not_an_address), &json!({ "hash": MD5 }))),
            Err(AuthError::Malformed(
                "claim `email` is not an address".to_owned()
            )),
            "{not_an_address:?}"
        );
    }
    // A JSON null is a claim like any other: present, and not a string.
    for not_a_string in [json!(42), json!(["a@b"]), json!(null)] {
        let mut claims = claims(json!(ADDRESS), &json!({ "hash": MD5 }));
        claims["email"] = not_a_string.clone();
        assert_eq!(
            check(MD5, &claims),
            Err(AuthError::Malformed(
                "claim `email` is not a string".to_owned()
            )),
            "{not_a_string}"
        );
    }
}

#[test]
fn errors_never_name_the_address() {
    let cases = [
        (OTHER_MD5, claims(json!(ADDRESS), &json!({}))),
        (MD5, claims(json!(ADDRESS), &json!({ "hash": SHA1 }))),
        (
            MD5,
            claims(json!("my emailaddress@example.com"), &json!({})),
        ),
        (MD5, claims(json!(ADDRESS), &json!({ "tenant": "other" }))),
        (MD5, claims(json!(ADDRESS), &json!({ "exp": NOW - 100 }))),
    ];
    for (path_hash, claims) in cases {
        let error = check(path_hash, &claims).expect_err("refused");
        let message = format!("{error} {error:?}").to_lowercase();
        assert!(!message.contains("myemailaddress"), "{message}");
        assert!(!message.contains("example.com"), "{message}");
    }
}

#[test]
fn without_email_or_hash_the_hash_is_missing() {
    let mut claims = claims(json!(ADDRESS), &json!({}));
    claims.as_object_mut().unwrap().remove("email");
    assert_eq!(
        check(MD5, &claims),
        Err(AuthError::MissingClaim("hash".to_owned()))
    );
}

#[test]
fn a_token_bound_by_hash_alone_has_no_aliases() {
    let mut claims = claims(json!(ADDRESS), &json!({ "hash": MD5 }));
    claims.as_object_mut().unwrap().remove("email");
    assert_eq!(
        check(MD5, &claims).expect("valid token").aliases,
        Vec::<String>::new()
    );
}

#[test]
fn the_tenant_is_still_checked_with_an_email() {
    assert_eq!(
        check(MD5, &claims(json!(ADDRESS), &json!({ "tenant": "other" }))),
        Err(AuthError::WrongTenant)
    );
}
