//! The `storage` section of the configuration, owned by the storage backends: which store,
//! and how to reach it. Defaults live here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::config::secret::{SecretError, read_secret_file};

/// A blob store backend. Default: `{"type": "filesystem", "path": "data/images"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum StorageConfig {
    /// A local directory.
    Filesystem {
        /// The directory; relative paths are relative to the config file. Created if missing.
        path: PathBuf,
    },
    /// An S3-compatible bucket (AWS S3, Garage, MinIO, R2).
    S3(Box<S3Config>),
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self::Filesystem {
            path: PathBuf::from("data/images"),
        }
    }
}

impl StorageConfig {
    /// Makes relative paths relative to `base` (the config file's directory).
    pub fn resolve_paths(&mut self, base: &Path) {
        match self {
            Self::Filesystem { path } => resolve(base, path),
            Self::S3(s3) => {
                for file in [&mut s3.access_key_id_file, &mut s3.secret_access_key_file]
                    .into_iter()
                    .flatten()
                {
                    resolve(base, file);
                }
            }
        }
    }
}

fn resolve(base: &Path, path: &mut PathBuf) {
    if path.is_relative() {
        *path = base.join(&*path);
    }
}

/// An S3 bucket and how to reach it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The bucket. Required.
    pub bucket: String,
    /// The region. Default `us-east-1` (Garage's default region is `garage`).
    #[serde(default = "default_region")]
    pub region: String,
    /// The endpoint URL, for stores other than AWS. Default: AWS's.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which Garage and MinIO need. Default
    /// `false`.
    #[serde(default)]
    pub path_style: bool,
    /// Prepended to every object key, e.g. `avatars/`. Default empty.
    #[serde(default)]
    pub prefix: String,
    /// Access key id; with `secret_access_key`. Default: the SDK's chain (environment,
    /// profile).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret access key. Never logged.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// A file holding the access key id (one line). Default: none.
    #[serde(default)]
    pub access_key_id_file: Option<PathBuf>,
    /// A file holding the secret access key (one line). Default: none.
    #[serde(default)]
    pub secret_access_key_file: Option<PathBuf>,
    /// Base URL of plain public object URLs (a public bucket or a CDN) for `redirect`
    /// delivery. Default: none, so redirects use presigned URLs.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Lifetime of presigned URLs, seconds. Default 3600.
    #[serde(default = "default_presign_seconds")]
    pub presign_seconds: u64,
    /// Deadline of one request attempt, milliseconds. Default 5000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Attempts per call (with backoff on throttling and 5xx), the first included. Default 3.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_presign_seconds() -> u64 {
    3600
}

fn default_timeout_ms() -> u64 {
    5000
}

fn default_attempts() -> u32 {
    3
}

impl S3Config {
    /// The access key id and secret, from the settings or their files; `None` for the SDK's
    /// default chain.
    pub fn credentials(&self) -> Result<Option<(String, String)>, SecretError> {
        let read = |value: &Option<String>, file: &Option<PathBuf>| match (value, file) {
            (Some(value), _) => Ok(Some(value.clone())),
            (None, Some(file)) => read_secret_file(file).map(Some),
            (None, None) => Ok(None),
        };
        let id = read(&self.access_key_id, &self.access_key_id_file)?;
        let secret = read(&self.secret_access_key, &self.secret_access_key_file)?;
        Ok(id.zip(secret))
    }

    /// Whether exactly one of the two credentials is set, which is a mistake.
    pub fn has_half_credentials(&self) -> bool {
        let id = self.access_key_id.is_some() || self.access_key_id_file.is_some();
        let secret = self.secret_access_key.is_some() || self.secret_access_key_file.is_some();
        id != secret
    }

    /// Lifetime of presigned URLs.
    pub fn presign_ttl(&self) -> Duration {
        Duration::from_secs(self.presign_seconds)
    }

    /// Deadline of one attempt.
    pub fn attempt_timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Deadline of a whole call: every attempt, and a second for the backoffs between them.
    pub fn operation_timeout(&self) -> Duration {
        Duration::from_millis(
            self.timeout_ms
                .saturating_mul(u64::from(self.max_attempts.max(1)))
                .saturating_add(1000),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_settings_or_files_without_their_line_break() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("id"), "GK123\n").unwrap();
        std::fs::write(dir.path().join("secret"), "s3cret\r\n").unwrap();
        let mut config: StorageConfig = serde_json::from_value(serde_json::json!({
            "type": "s3", "bucket": "b",
            "access_key_id_file": "id", "secret_access_key_file": "secret",
        }))
        .unwrap();
        config.resolve_paths(dir.path());
        let StorageConfig::S3(s3) = &config else {
            panic!("an s3 config")
        };
        assert_eq!(
            s3.credentials().unwrap(),
            Some(("GK123".to_owned(), "s3cret".to_owned()))
        );
        assert!(!s3.has_half_credentials());
        let half: S3Config =
            serde_json::from_value(serde_json::json!({"bucket": "b", "access_key_id": "x"}))
                .unwrap();
        assert!(half.has_half_credentials());
        assert_eq!(half.operation_timeout(), Duration::from_millis(16_000));
    }
}
