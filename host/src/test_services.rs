//! Addresses of the external services tests use, from the environment `.ci/run` (or
//! `scripts/services.sh`) sets. Under `CI=true` a missing service fails the test; elsewhere
//! the test says it is skipping and returns.

/// `AVATAR_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:55432/postgres`.
pub fn postgres_url() -> Option<String> {
    required("AVATAR_TEST_POSTGRES_URL", "PostgreSQL")
}

fn required(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} is not set: under CI the {what} tests must run, not skip")
        }
        _ => {
            eprintln!("skipping: {var} is not set (run scripts/services.sh to start {what})");
            None
        }
    }
}

/// The test bucket (`AVATAR_TEST_S3_*`, set for a single-node Garage by
/// `scripts/services.sh`), with a prefix unique to this call so runs never collide.
pub fn s3_config() -> Option<crate::storage::S3Config> {
    let endpoint = required("AVATAR_TEST_S3_ENDPOINT", "Garage (S3)")?;
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let unique = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let config = serde_json::json!({
        "bucket": var("AVATAR_TEST_S3_BUCKET"),
        "region": var("AVATAR_TEST_S3_REGION"),
        "endpoint": endpoint,
        "path_style": true,
        "prefix": format!("test-{}-{unique}/", std::process::id()),
        "access_key_id": var("AVATAR_TEST_S3_ACCESS_KEY_ID"),
        "secret_access_key": var("AVATAR_TEST_S3_SECRET_ACCESS_KEY"),
        "presign_seconds": 600,
    });
    Some(serde_json::from_value(config).expect("a valid S3 configuration"))
}
