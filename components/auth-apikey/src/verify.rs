//! The API-key check itself: settings, the request's facts, and the decision. Plain Rust with no
//! Wasm types, so that it builds and is tested natively; the component only converts types.
//!
//! The checks run in this order, and the first failure decides the error:
//!
//! 1. an empty token is [`AuthError::Missing`];
//! 2. a token longer than [`MAX_TOKEN_BYTES`] is [`AuthError::TooLarge`], before hashing;
//! 3. the token's SHA-256 is compared with every key's, all of them, in constant time; no
//!    match is [`AuthError::BadSignature`];
//! 4. a key limited to some methods refuses the others with [`AuthError::Forbidden`].
//!
//! Settings are checked before all of that: wrong settings fail every call with
//! [`AuthError::Misconfigured`], whose message names the entry and field but never holds a key.

use std::fmt;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// Longer tokens are refused before they are hashed.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// The setting that lists the keys.
pub const KEYS_KEY: &str = "keys";

/// The methods a key may be limited to: those that reach an auth plugin.
const METHODS: [&str; 3] = ["POST", "PUT", "DELETE"];

/// The fields a key entry may have.
const FIELDS: [&str; 4] = ["id", "sha256", "key", "methods"];

/// The facts of one request (mirrors the WIT `auth-request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The HTTP method, upper case.
    pub method: String,
    /// The tenant the request is addressed to. Not checked here: only this tenant's settings
    /// are ever in view.
    pub tenant: String,
    /// The avatar being changed. Not checked: a key covers every avatar of its tenant.
    pub hash: String,
    /// The bearer token as sent; empty when the client sent none.
    pub token: String,
    /// The host's clock; unused, keys do not expire.
    pub now: u64,
}

/// What an accepted key says (mirrors the WIT `grant`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The key's `id`.
    pub subject: String,
    /// Always `None`: a key does not expire.
    pub expires_at: Option<u64>,
    /// `{"key": "<id>"}`.
    pub claims: String,
}

/// Why a token was refused: the cases of the WIT `auth-error` this plugin uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No token at all.
    Missing,
    /// Longer than [`MAX_TOKEN_BYTES`].
    TooLarge,
    /// The token is none of the configured keys.
    BadSignature,
    /// A configured key, limited to other methods (carries `method`).
    Forbidden(String),
    /// The plugin's settings are missing or wrong.
    Misconfigured(String),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("no api key"),
            Self::TooLarge => f.write_str("api key too large"),
            Self::BadSignature => f.write_str("unknown api key"),
            Self::Forbidden(what) => write!(f, "forbidden by {what} policy"),
            Self::Misconfigured(why) => write!(f, "auth-apikey misconfigured: {why}"),
        }
    }
}

impl std::error::Error for AuthError {}

/// One configured key: its name, the SHA-256 of its bytes, and the methods it may be used for.
#[derive(Clone)]
struct Key {
    id: String,
    digest: [u8; 32],
    /// `None` for every method.
    methods: Option<Vec<&'static str>>,
}

/// The plugin's settings: the tenant's keys.
///
/// `Debug` shows the ids and methods only, never a digest.
#[derive(Clone)]
pub struct Settings {
    keys: Vec<Key>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|key| (&key.id, &key.methods)))
            .finish()
    }
}

impl Settings {
    /// Reads the settings through `get` (the host's `config.get`).
    ///
    /// Fails with [`AuthError::Misconfigured`] when `keys` is missing, is not a non-empty JSON
    /// array of well-formed entries, or two entries share an id or a key.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, AuthError> {
        let text =
            get(KEYS_KEY).ok_or_else(|| misconfigured(format!("`{KEYS_KEY}` is required")))?;
        // serde_json's syntax errors say where, never what: no key leaks into the message.
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| misconfigured(format!("`{KEYS_KEY}` is not JSON: {e}")))?;
        let Value::Array(entries) = value else {
            return Err(misconfigured(format!("`{KEYS_KEY}` must be a JSON array")));
        };
        if entries.is_empty() {
            return Err(misconfigured(format!("`{KEYS_KEY}` lists no keys")));
        }
        let mut keys: Vec<Key> = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let key = parse_entry(index, entry)?;
            if let Some(other) = keys.iter().position(|k| k.id == key.id) {
                return Err(misconfigured(format!(
                    "`{KEYS_KEY}[{index}]` has the same id as `{KEYS_KEY}[{other}]`"
                )));
            }
            // A duplicate key would make the grant depend on the order: refuse it.
            if let Some(other) = keys.iter().position(|k| k.digest == key.digest) {
                return Err(misconfigured(format!(
                    "`{KEYS_KEY}[{index}]` has the same key as `{KEYS_KEY}[{other}]`"
                )));
            }
            keys.push(key);
        }
        Ok(Self { keys })
    }

    /// The configured key ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|key| key.id.as_str())
    }
}

fn misconfigured(message: String) -> AuthError {
    AuthError::Misconfigured(message)
}

/// One entry of `keys`: an object with `id`, exactly one of `sha256` and `key`, and optionally
/// `methods`. Messages name the entry and field, never a value.
fn parse_entry(index: usize, entry: &Value) -> Result<Key, AuthError> {
    let at = |field: &str| format!("`{KEYS_KEY}[{index}].{field}`");
    let Value::Object(fields) = entry else {
        return Err(misconfigured(format!(
            "`{KEYS_KEY}[{index}]` must be an object"
        )));
    };
    if let Some(unknown) = fields.keys().find(|name| !FIELDS.contains(&name.as_str())) {
        return Err(misconfigured(format!(
            "`{KEYS_KEY}[{index}]` has an unknown field `{}`; known: {}",
            unknown.escape_debug(),
            FIELDS.join(", ")
        )));
    }
    let id = string_field(fields, "id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| misconfigured(format!("{} must be a non-empty string", at("id"))))?;

    let digest = match (fields.get("sha256"), fields.get("key")) {
        (Some(_), Some(_)) => {
            return Err(misconfigured(format!(
                "`{KEYS_KEY}[{index}]` must have `sha256` or `key`, not both"
            )));
        }
        (None, None) => {
            return Err(misconfigured(format!(
                "`{KEYS_KEY}[{index}]` needs `sha256` (recommended) or `key`"
            )));
        }
        (Some(_), None) => string_field(fields, "sha256")
            .filter(|hex| hex.len() == 64)
            .and_then(|hex| hex::decode(hex).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| misconfigured(format!("{} must be 64 hex digits", at("sha256"))))?,
        (None, Some(_)) => string_field(fields, "key")
            .filter(|key| !key.is_empty())
            .map(|key| sha256(key.as_bytes()))
            .ok_or_else(|| misconfigured(format!("{} must be a non-empty string", at("key"))))?,
    };

    let methods = match fields.get("methods") {
        None => None,
        Some(Value::Array(names)) if !names.is_empty() => {
            let mut methods = Vec::with_capacity(names.len());
            for name in names {
                let method = name
                    .as_str()
                    .and_then(|name| {
                        METHODS
                            .iter()
                            .find(|known| known.eq_ignore_ascii_case(name))
                    })
                    .ok_or_else(|| {
                        misconfigured(format!(
                            "{} may hold only {}",
                            at("methods"),
                            METHODS.join(", ")
                        ))
                    })?;
                if !methods.contains(method) {
                    methods.push(*method);
                }
            }
            Some(methods)
        }
        Some(_) => {
            return Err(misconfigured(format!(
                "{} must be a non-empty array of methods",
                at("methods")
            )));
        }
    };

    Ok(Key {
        id: id.to_owned(),
        digest,
        methods,
    })
}

fn string_field<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields.get(name).and_then(Value::as_str)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Decides whether `request` presents one of the configured keys, allowed for its method.
pub fn authenticate(settings: &Settings, request: &Request) -> Result<Grant, AuthError> {
    if request.token.is_empty() {
        return Err(AuthError::Missing);
    }
    if request.token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::TooLarge);
    }
    let key = find(settings, &sha256(request.token.as_bytes())).ok_or(AuthError::BadSignature)?;
    if let Some(methods) = &key.methods
        && !methods.contains(&request.method.as_str())
    {
        return Err(AuthError::Forbidden("method".to_owned()));
    }
    Ok(Grant {
        subject: key.id.clone(),
        expires_at: None,
        claims: serde_json::json!({ "key": key.id }).to_string(),
    })
}

/// The key whose digest is `digest`. Every key is compared, with constant-time equality and
/// selection and no early exit, so the time taken depends only on the number of keys.
fn find<'a>(settings: &'a Settings, digest: &[u8; 32]) -> Option<&'a Key> {
    let mut found = Choice::from(0);
    let mut index = 0u32;
    for (i, key) in settings.keys.iter().enumerate() {
        let same = key.digest.ct_eq(digest);
        // Fewer keys than u32::MAX: the settings came from one JSON document.
        index.conditional_assign(&(i as u32), same);
        found |= same;
    }
    bool::from(found).then(|| &settings.keys[index as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "ak_live_3f9c2e7b1d4a6058c9e2f1a7b3d5c8e0";
    const KEY_B: &str = "ak_live_second-service-key-0123456789";

    fn hex_sha256(key: &str) -> String {
        hex::encode(sha256(key.as_bytes()))
    }

    fn settings(keys: &Value) -> Result<Settings, AuthError> {
        let text = keys.to_string();
        Settings::from_lookup(|name| (name == KEYS_KEY).then(|| text.clone()))
    }

    fn two_keys() -> Settings {
        settings(&serde_json::json!([
            {"id": "svc-a", "sha256": hex_sha256(KEY_A)},
            {"id": "svc-b", "key": KEY_B, "methods": ["put", "POST"]},
        ]))
        .expect("valid settings")
    }

    fn request(method: &str, token: &str) -> Request {
        Request {
            method: method.to_owned(),
            tenant: "default".to_owned(),
            hash: "0bc83cb571cd1c50ba6f3e8a78ef1346".to_owned(),
            token: token.to_owned(),
            now: 1_800_000_000,
        }
    }

    #[test]
    fn a_hashed_key_is_granted_for_every_method() {
        for method in METHODS {
            let grant = authenticate(&two_keys(), &request(method, KEY_A)).expect("granted");
            assert_eq!(grant.subject, "svc-a");
            assert_eq!(grant.expires_at, None);
            assert_eq!(grant.claims, r#"{"key":"svc-a"}"#);
        }
    }

    #[test]
    fn a_plain_key_is_granted_for_its_methods_only() {
        let settings = two_keys();
        for method in ["PUT", "POST"] {
            let grant = authenticate(&settings, &request(method, KEY_B)).expect("granted");
            assert_eq!(grant.subject, "svc-b");
        }
        assert_eq!(
            authenticate(&settings, &request("DELETE", KEY_B)),
            Err(AuthError::Forbidden("method".to_owned()))
        );
    }

    #[test]
    fn anything_else_is_refused() {
        let settings = two_keys();
        let cases = [
            ("", AuthError::Missing),
            ("wrong", AuthError::BadSignature),
            (&KEY_A[..KEY_A.len() - 1], AuthError::BadSignature),
            (&format!("{KEY_A} "), AuthError::BadSignature),
            (&format!("Bearer {KEY_A}"), AuthError::BadSignature),
            (&KEY_A.to_uppercase(), AuthError::BadSignature),
            (&hex_sha256(KEY_A), AuthError::BadSignature),
            (&"k".repeat(MAX_TOKEN_BYTES + 1), AuthError::TooLarge),
            (&"k".repeat(MAX_TOKEN_BYTES), AuthError::BadSignature),
        ];
        for (token, expected) in cases {
            assert_eq!(
                authenticate(&settings, &request("PUT", token)),
                Err(expected),
                "{token:.40}"
            );
        }
    }

    #[test]
    fn a_key_at_the_size_limit_is_accepted() {
        let long = "x".repeat(MAX_TOKEN_BYTES);
        let settings = settings(&serde_json::json!([{"id": "long", "key": long}])).expect("valid");
        assert!(authenticate(&settings, &request("PUT", &long)).is_ok());
    }

    #[test]
    fn the_matching_key_wins_wherever_it_is() {
        let keys: Vec<Value> = (0..20)
            .map(|i| serde_json::json!({"id": format!("svc-{i}"), "key": format!("key-{i}")}))
            .collect();
        let settings = settings(&Value::Array(keys)).expect("valid");
        for i in 0..20 {
            let grant =
                authenticate(&settings, &request("PUT", &format!("key-{i}"))).expect("granted");
            assert_eq!(grant.subject, format!("svc-{i}"));
        }
    }

    #[test]
    fn hex_digests_in_either_case() {
        let upper = hex_sha256(KEY_A).to_uppercase();
        let settings = settings(&serde_json::json!([{"id": "a", "sha256": upper}])).expect("ok");
        assert!(authenticate(&settings, &request("PUT", KEY_A)).is_ok());
    }

    #[test]
    fn ids_and_methods_are_read() {
        let settings = two_keys();
        assert_eq!(settings.ids().collect::<Vec<_>>(), ["svc-a", "svc-b"]);
        let debug = format!("{settings:?}");
        assert!(debug.contains("svc-b") && debug.contains("PUT"), "{debug}");
        assert!(
            !debug.contains(&hex_sha256(KEY_A)) && !debug.contains(KEY_B),
            "{debug}"
        );
    }

    #[test]
    fn bad_settings_are_misconfigured() {
        let digest = hex_sha256(KEY_A);
        let cases: Vec<(&str, Option<String>)> = vec![
            ("missing", None),
            ("not JSON", Some("[{".to_owned())),
            (
                "not an array",
                Some(r#"{"id": "a", "key": "k"}"#.to_owned()),
            ),
            ("empty array", Some("[]".to_owned())),
            ("entry not an object", Some(r#"["k"]"#.to_owned())),
            ("no id", Some(format!(r#"[{{"sha256": "{digest}"}}]"#))),
            ("empty id", Some(r#"[{"id": "", "key": "k"}]"#.to_owned())),
            ("numeric id", Some(r#"[{"id": 7, "key": "k"}]"#.to_owned())),
            ("no key", Some(r#"[{"id": "a"}]"#.to_owned())),
            (
                "both forms",
                Some(format!(
                    r#"[{{"id": "a", "key": "k", "sha256": "{digest}"}}]"#
                )),
            ),
            ("empty key", Some(r#"[{"id": "a", "key": ""}]"#.to_owned())),
            (
                "numeric key",
                Some(r#"[{"id": "a", "key": 12345}]"#.to_owned()),
            ),
            (
                "short sha256",
                Some(r#"[{"id": "a", "sha256": "abcd"}]"#.to_owned()),
            ),
            (
                "sha256 not hex",
                Some(format!(
                    r#"[{{"id": "a", "sha256": "{}"}}]"#,
                    "z".repeat(64)
                )),
            ),
            (
                "unknown field",
                Some(r#"[{"id": "a", "key": "k", "tenant": "b"}]"#.to_owned()),
            ),
            (
                "methods not an array",
                Some(r#"[{"id": "a", "key": "k", "methods": "PUT"}]"#.to_owned()),
            ),
            (
                "empty methods",
                Some(r#"[{"id": "a", "key": "k", "methods": []}]"#.to_owned()),
            ),
            (
                "unknown method",
                Some(r#"[{"id": "a", "key": "k", "methods": ["GET"]}]"#.to_owned()),
            ),
            (
                "duplicate id",
                Some(r#"[{"id": "a", "key": "k1"}, {"id": "a", "key": "k2"}]"#.to_owned()),
            ),
            (
                "duplicate key",
                Some(format!(
                    r#"[{{"id": "a", "key": "{KEY_A}"}}, {{"id": "b", "sha256": "{digest}"}}]"#
                )),
            ),
        ];
        for (name, keys) in cases {
            let result = Settings::from_lookup(|key| {
                assert_eq!(key, KEYS_KEY);
                keys.clone()
            });
            match result {
                Err(AuthError::Misconfigured(message)) => {
                    assert!(
                        !message.contains(KEY_A) && !message.contains(&digest),
                        "case `{name}` leaks a key: {message}"
                    );
                    assert!(!message.contains("12345"), "case `{name}`: {message}");
                }
                other => panic!("case `{name}`: expected Misconfigured, got {other:?}"),
            }
        }
    }

    #[test]
    fn errors_display_lower_case_without_final_period() {
        for error in [
            AuthError::Missing,
            AuthError::TooLarge,
            AuthError::BadSignature,
            AuthError::Forbidden("method".to_owned()),
            AuthError::Misconfigured("x".to_owned()),
        ] {
            let text = error.to_string();
            assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
    }
}
