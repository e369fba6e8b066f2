//! Which backends a test server gets: the embedded ones, or (with `AVATAR_E2E_BACKEND`) a
//! PostgreSQL database and a Garage prefix of its own, made here, remembered in its directory
//! and dropped with it; and the listing of an S3 store's objects, with `aws-sdk-s3`.
//!
//! `AVATAR_E2E_BACKEND` chooses the backends of servers whose test names none: unset (or
//! `embedded`), a directory and SQLite in the server's own directory; `postgres-garage`, the
//! services of `scripts/services.sh` (S3 under a prefix of the server's own, and a PostgreSQL
//! database made for it), so the same tests prove the production backends too.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};

/// Where a server's generated backends are remembered, beside `config.json`, so a server
/// started again on the same directory (see [`crate::server::TestServer::into_dir`]) finds
/// the same data.
const BACKENDS_FILE: &str = "backends.json";

/// The most pages of 1,000 keys [`S3Listing::keys`] reads: far more than a test stores, so
/// reaching it means the listing never ends.
const MAX_LIST_PAGES: usize = 1_000;

/// A name part no other server shares, in this run or an earlier one on the same services:
/// process id, a counter, and the time.
pub(crate) fn unique_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Which backends a server gets when its test names none; see the module comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// A directory and SQLite under the server's own directory.
    Embedded,
    /// S3 in Garage and PostgreSQL, from the environment `scripts/services.sh up` prints.
    PostgresGarage,
}

/// The backend `AVATAR_E2E_BACKEND` asks for.
fn e2e_backend() -> Backend {
    static CHOSEN: OnceLock<Backend> = OnceLock::new();
    *CHOSEN.get_or_init(|| match std::env::var("AVATAR_E2E_BACKEND").as_deref() {
        Err(_) | Ok("" | "embedded") => Backend::Embedded,
        Ok("postgres-garage") => Backend::PostgresGarage,
        Ok(other) => {
            panic!("AVATAR_E2E_BACKEND={other:?}: expected `embedded` or `postgres-garage`")
        }
    })
}

/// The `storage` and `catalog` sections for a server in `dir` whose test names none: those a
/// previous server on `dir` had made; `None` (the embedded ones) when `AVATAR_E2E_BACKEND`
/// asks for those; or new ones on the services, remembered in `dir`.
pub(crate) fn default_backends(dir: &Path) -> Option<(Value, Value)> {
    let generated = match remembered(dir) {
        Some(remembered) => remembered,
        None if e2e_backend() == Backend::Embedded => return None,
        None => {
            let generated = postgres_garage_backends();
            std::fs::write(
                dir.join(BACKENDS_FILE),
                serde_json::to_vec_pretty(&generated).expect("JSON"),
            )
            .expect("writing backends.json");
            generated
        }
    };
    Some((generated["storage"].clone(), generated["catalog"].clone()))
}

/// Drops the PostgreSQL database made for a server in `dir`, if any. Best effort: a database
/// left behind goes with `scripts/services.sh down`. (The S3 objects stay: they are a few
/// small files under a prefix nobody reuses, and `scripts/services.sh down` removes all of
/// Garage's data.)
pub(crate) fn release(dir: &Path) {
    let Some(database) = remembered(dir).and_then(|b| b["database"].as_str().map(str::to_owned))
    else {
        return;
    };
    if let (Ok(pgbin), Ok(url)) = (
        std::env::var("AVATAR_TEST_PGBIN"),
        std::env::var("AVATAR_TEST_POSTGRES_URL"),
    ) {
        let sql = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
        if let Err(e) = psql(&pgbin, &url, &sql) {
            eprintln!("dropping the test database: {e}");
        }
    }
}

/// The backends generated for `dir`, if any.
fn remembered(dir: &Path) -> Option<Value> {
    let text = std::fs::read(dir.join(BACKENDS_FILE)).ok()?;
    Some(serde_json::from_slice(&text).expect("backends.json is JSON"))
}

/// A service's address from the environment. A run that asked for the production backends
/// fails without them, under `CI=true` as anywhere: quietly testing the embedded backends
/// instead would pass for the wrong reason.
fn service_env(var: &str) -> String {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => value,
        _ => {
            let ci = if std::env::var("CI").is_ok_and(|v| v == "true") {
                " (CI=true: the PostgreSQL + Garage pass must run)"
            } else {
                ""
            };
            panic!(
                "AVATAR_E2E_BACKEND=postgres-garage but {var} is not set{ci}; \
                 run `eval \"$(scripts/services.sh up)\"` first"
            )
        }
    }
}

/// Runs one SQL statement through `$AVATAR_TEST_PGBIN/psql` on the service's own database.
fn psql(pgbin: &str, url: &str, sql: &str) -> Result<(), String> {
    let output = Command::new(Path::new(pgbin).join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running psql: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// `url` (`postgres://user@host:port/db?options`) naming `database` instead.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let (scheme, rest) = base
        .split_once("://")
        .unwrap_or_else(|| panic!("AVATAR_TEST_POSTGRES_URL is not a URL: {url}"));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}/{database}{query}")
}

/// Backends on the services for one server: S3 under a prefix and a PostgreSQL database that
/// no other server shares (the tests reuse constant hashes, so servers sharing a catalog or a
/// key space would see each other's avatars). The database is made here and dropped with the
/// server's directory ([`release`]).
fn postgres_garage_backends() -> Value {
    let id = unique_id();
    let pgbin = service_env("AVATAR_TEST_PGBIN");
    let admin_url = service_env("AVATAR_TEST_POSTGRES_URL");
    let database = format!("avatar_e2e_{id}");
    psql(
        &pgbin,
        &admin_url,
        &format!("CREATE DATABASE \"{database}\""),
    )
    .unwrap_or_else(|e| panic!("creating the test database: {e}"));
    json!({
        "storage": {
            "type": "s3",
            "bucket": service_env("AVATAR_TEST_S3_BUCKET"),
            "region": service_env("AVATAR_TEST_S3_REGION"),
            "endpoint": service_env("AVATAR_TEST_S3_ENDPOINT"),
            "path_style": true,
            "prefix": format!("e2e/{id}/"),
            "access_key_id": service_env("AVATAR_TEST_S3_ACCESS_KEY_ID"),
            "secret_access_key": service_env("AVATAR_TEST_S3_SECRET_ACCESS_KEY"),
        },
        "catalog": {
            "type": "postgres",
            "url": with_database(&admin_url, &database),
            "pool_size": 4,
            // A fresh database is empty: the server must create its tables.
            "migrate_on_start": true,
        },
        "database": database,
    })
}

/// The objects of a server's S3 store, read with an S3 client of the harness's own (not the
/// server's code, which is what the tests check), driven by a runtime of its own since the
/// tests are blocking.
pub(crate) struct S3Listing {
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3Listing {
    /// A client for the `storage` section `{"type": "s3", …}`, with the keys it names.
    pub(crate) fn connect(storage: &Value) -> Self {
        let text = |key: &str| storage[key].as_str().map(str::to_owned);
        let (Some(access_key_id), Some(secret_access_key)) =
            (text("access_key_id"), text("secret_access_key"))
        else {
            panic!("listing an S3 store needs storage.access_key_id and storage.secret_access_key")
        };
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(
                text("region").unwrap_or_else(|| "us-east-1".to_owned()),
            ))
            .credentials_provider(Credentials::new(
                access_key_id,
                secret_access_key,
                None,
                None,
                "avatar-e2e",
            ))
            .force_path_style(storage["path_style"].as_bool().unwrap_or(false))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(5))
                    .operation_timeout(Duration::from_secs(20))
                    .build(),
            );
        if let Some(endpoint) = text("endpoint") {
            config = config.endpoint_url(endpoint);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        Self {
            runtime,
            client: aws_sdk_s3::Client::from_conf(config.build()),
            bucket: text("bucket").expect("storage.bucket"),
            prefix: text("prefix").unwrap_or_default(),
        }
    }

    /// Every key under the store's prefix, relative to it.
    pub(crate) fn keys(&self) -> Vec<String> {
        self.runtime.block_on(async {
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&self.prefix)
                .into_paginator()
                .send();
            let mut keys = Vec::new();
            for _ in 0..MAX_LIST_PAGES {
                let Some(page) = pages.next().await else {
                    return keys;
                };
                let page = page.unwrap_or_else(|e| panic!("listing the S3 store: {e:?}"));
                let objects = page.contents().iter().filter_map(|o| o.key());
                keys.extend(
                    objects
                        .filter_map(|key| key.strip_prefix(&self.prefix))
                        .map(str::to_owned),
                );
            }
            panic!("listing the S3 store: more than {MAX_LIST_PAGES} pages")
        })
    }
}
