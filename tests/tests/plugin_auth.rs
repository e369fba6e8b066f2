//! The first-party `auth-jwt` component, called through the host's plugin runtime: every kind
//! of token maps to the right typed rejection.

use std::sync::{Arc, OnceLock};

use avatar_host::plugin::{
    AuthPlugin, AuthRejection, AuthRequest, CallLimits, PluginError, Runtime, RuntimeOptions,
    Settings, builtin,
};
use avatar_tests::fixture;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const SECRET: &str = "a-test-secret-that-is-at-least-32-bytes-long";
const HASH: &str = "0123456789abcdef0123456789abcdef01234567";
const NOW: u64 = 1_800_000_000;

fn plugin() -> &'static AuthPlugin {
    static PLUGIN: OnceLock<AuthPlugin> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let runtime = Runtime::new(&RuntimeOptions::default()).expect("runtime");
        runtime
            .load_auth("auth-jwt", builtin("auth-jwt").expect("embedded"))
            .expect("auth-jwt loads")
    })
}

fn settings(pairs: &[(&str, &str)]) -> Arc<Settings> {
    Arc::new(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn hs256() -> Arc<Settings> {
    settings(&[("secret", SECRET)])
}

fn key(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("keys/{name}.pem"))).expect("key fixture")
}

fn claims() -> Value {
    json!({"sub": "user-1", "hash": HASH, "tenant": "default", "exp": NOW + 600, "iat": NOW})
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().expect("object").remove(key);
    claims
}

fn hs_token(alg: Algorithm, claims: &Value) -> String {
    encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).expect("key"),
    )
    .expect("encode")
}

fn request(token: &str) -> AuthRequest {
    AuthRequest {
        method: "PUT".into(),
        tenant: "default".into(),
        hash: HASH.into(),
        token: token.into(),
        now: NOW,
    }
}

fn check(settings: &Arc<Settings>, token: &str) -> Result<(), AuthRejection> {
    match plugin().authenticate(settings, &CallLimits::default(), &request(token)) {
        Ok(_) => Ok(()),
        Err(PluginError::Rejected(r)) => match r {
            avatar_host::plugin::Rejection::Auth(a) => Err(a),
            other => panic!("not an auth rejection: {other:?}"),
        },
        Err(e) => panic!("the plugin failed instead of deciding: {e:?}"),
    }
}

#[test]
fn a_valid_hs256_token_is_granted_with_its_claims() {
    let grant = plugin()
        .authenticate(
            &hs256(),
            &CallLimits::default(),
            &request(&hs_token(Algorithm::HS256, &claims())),
        )
        .expect("granted");
    assert_eq!(grant.subject, "user-1");
    assert_eq!(grant.expires_at, Some(NOW + 600));
    let claims: Value = serde_json::from_str(&grant.claims).expect("claims are JSON");
    assert_eq!(claims["hash"], HASH);
}

#[test]
fn hs384_and_hs512_when_configured() {
    for (name, alg) in [("HS384", Algorithm::HS384), ("HS512", Algorithm::HS512)] {
        let settings = settings(&[("secret", SECRET), ("algorithm", name)]);
        assert_eq!(
            check(&settings, &hs_token(alg, &claims())),
            Ok(()),
            "{name}"
        );
    }
}

#[test]
fn asymmetric_algorithms_verify_with_a_public_key() {
    let cases = [
        ("RS256", Algorithm::RS256, "rsa"),
        ("ES256", Algorithm::ES256, "ec"),
        ("EdDSA", Algorithm::EdDSA, "ed25519"),
    ];
    for (name, alg, kind) in cases {
        let private = key(&format!("{kind}-private"));
        let encoding = match kind {
            "rsa" => EncodingKey::from_rsa_pem(private.as_bytes()),
            "ec" => EncodingKey::from_ec_pem(private.as_bytes()),
            _ => EncodingKey::from_ed_pem(private.as_bytes()),
        }
        .expect("private key");
        let token = encode(&Header::new(alg), &claims(), &encoding).expect("encode");
        let public = key(&format!("{kind}-public"));
        let settings = settings(&[("algorithm", name), ("public_key", &public)]);
        assert_eq!(check(&settings, &token), Ok(()), "{name}");
        // The same token against another tenant's key of the same kind fails.
        let tampered = format!("{}x", &token[..token.len() - 1]);
        assert!(check(&settings, &tampered).is_err(), "{name} tampered");
    }
}

#[test]
fn expired_and_leeway() {
    let expired = with(claims(), "exp", json!(NOW - 31));
    assert_eq!(
        check(&hs256(), &hs_token(Algorithm::HS256, &expired)),
        Err(AuthRejection::Expired)
    );
    let within_leeway = with(claims(), "exp", json!(NOW - 29));
    assert_eq!(
        check(&hs256(), &hs_token(Algorithm::HS256, &within_leeway)),
        Ok(())
    );
    let strict = settings(&[("secret", SECRET), ("leeway", "0")]);
    assert_eq!(
        check(&strict, &hs_token(Algorithm::HS256, &within_leeway)),
        Err(AuthRejection::Expired)
    );
}

#[test]
fn not_yet_valid() {
    let early = with(claims(), "nbf", json!(NOW + 120));
    assert_eq!(
        check(&hs256(), &hs_token(Algorithm::HS256, &early)),
        Err(AuthRejection::NotYetValid)
    );
}

#[test]
fn a_token_binds_the_hash_case_insensitively() {
    let other = with(claims(), "hash", json!("f".repeat(40)));
    assert_eq!(
        check(&hs256(), &hs_token(Algorithm::HS256, &other)),
        Err(AuthRejection::WrongHash)
    );
    let upper = with(claims(), "hash", json!(HASH.to_uppercase()));
    assert_eq!(check(&hs256(), &hs_token(Algorithm::HS256, &upper)), Ok(()));
}

#[test]
fn a_token_binds_the_tenant() {
    let other = with(claims(), "tenant", json!("another"));
    assert_eq!(
        check(&hs256(), &hs_token(Algorithm::HS256, &other)),
        Err(AuthRejection::WrongTenant)
    );
    let untenanted = hs_token(Algorithm::HS256, &without(claims(), "tenant"));
    assert_eq!(check(&hs256(), &untenanted), Ok(()));
    let strict = settings(&[("secret", SECRET), ("require_tenant", "true")]);
    assert_eq!(check(&strict, &untenanted), Err(AuthRejection::WrongTenant));
}

#[test]
fn bad_signature() {
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"another-secret-another-secret-another").expect("key"),
    )
    .expect("encode");
    assert_eq!(check(&hs256(), &forged), Err(AuthRejection::BadSignature));
}

#[test]
fn the_configured_algorithm_wins_over_the_header() {
    let hs512 = hs_token(Algorithm::HS512, &claims());
    assert_eq!(
        check(&hs256(), &hs512),
        Err(AuthRejection::DisallowedAlgorithm("HS512".into()))
    );
}

#[test]
fn alg_none_is_refused() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64.encode(claims().to_string());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        let verdict = check(&hs256(), &token);
        assert!(
            matches!(
                verdict,
                Err(AuthRejection::DisallowedAlgorithm(_) | AuthRejection::Malformed(_))
            ),
            "{token}: {verdict:?}"
        );
    }
    assert_eq!(
        check(&hs256(), &format!("{header}.{payload}.")),
        Err(AuthRejection::DisallowedAlgorithm("none".into()))
    );
}

#[test]
fn hs_rs_confusion_is_refused() {
    // The attacker knows the RSA public key and signs an HS256 token with it as the secret.
    let public = key("rsa-public");
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(public.as_bytes()).expect("key"),
    )
    .expect("encode");
    let settings = settings(&[("algorithm", "RS256"), ("public_key", &public)]);
    assert_eq!(
        check(&settings, &forged),
        Err(AuthRejection::DisallowedAlgorithm("HS256".into()))
    );
}

#[test]
fn exp_is_required() {
    let token = hs_token(Algorithm::HS256, &without(claims(), "exp"));
    assert_eq!(
        check(&hs256(), &token),
        Err(AuthRejection::MissingClaim("exp".into()))
    );
}

#[test]
fn garbage_is_malformed_and_nothing_is_missing() {
    for token in ["not a token", "a.b.c", "eyJ.eyJ.sig", "....", "%%%.%%%.%%%"] {
        assert!(
            matches!(check(&hs256(), token), Err(AuthRejection::Malformed(_))),
            "{token}"
        );
    }
    assert_eq!(check(&hs256(), ""), Err(AuthRejection::Missing));
}

#[test]
fn oversized_tokens_are_refused_before_parsing() {
    let huge = with(claims(), "padding", json!("x".repeat(8 << 10)));
    assert_eq!(
        check(&hs256(), &hs_token(Algorithm::HS256, &huge)),
        Err(AuthRejection::TooLarge)
    );
    assert_eq!(
        check(&hs256(), &"a".repeat(1 << 20)),
        Err(AuthRejection::TooLarge)
    );
}

#[test]
fn missing_settings_are_the_operators_fault() {
    let error = plugin()
        .authenticate(
            &settings(&[]),
            &CallLimits::default(),
            &request(&hs_token(Algorithm::HS256, &claims())),
        )
        .expect_err("no secret configured");
    assert!(
        matches!(
            error.as_auth_rejection(),
            Some(AuthRejection::Misconfigured(_))
        ),
        "{error:?}"
    );
    assert!(error.is_server_fault());
}
