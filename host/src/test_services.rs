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
