//! Unit tests of the verification: every check, in its order, against tokens signed here.

use super::*;
use crate::settings::DEFAULT_MAX_TOKEN_BYTES;
use crate::test_support::{
    EC_PRIVATE, EC_PUBLIC, ED_PRIVATE, ED_PUBLIC, RSA_PRIVATE, RSA_PUBLIC, SECRET, hs256, settings,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

const HASH: &str = "0bc83cb571cd1c50ba6f3e8a78ef1346";
const NOW: u64 = 1_700_000_000;

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
    let unsigned = |alg: &str| format!("{}.{payload}.", b64(&json!({ "alg": alg }).to_string()));
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
