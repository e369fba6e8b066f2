//! Where image bytes live: a small async trait ([`BlobStore`]) and its backends, chosen once
//! at start-up from the configuration's `storage` section ([`open`]), each operation traced
//! in one place (`traced.rs`).

mod config;
mod fs;
mod presigned;
mod s3;
#[cfg(test)]
pub(crate) mod suite;
mod traced;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};

pub use config::{S3Config, StorageConfig};
pub use fs::FsStore;
pub use s3::S3Store;

/// Opens the store `config` names, wrapped so that every operation gets its tracing span.
pub async fn open(config: &StorageConfig) -> Result<SharedStore, StorageError> {
    let store: SharedStore = match config {
        StorageConfig::Filesystem { path } => Arc::new(FsStore::open(path)?),
        StorageConfig::S3(s3) => Arc::new(S3Store::connect(s3).await?),
    };
    Ok(Arc::new(traced::Traced::new(store)))
}

/// What is known about a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub bytes: u64,
}

/// An object being read: its length, known up front, and its bytes as they arrive.
pub struct BlobReader {
    pub len: u64,
    pub body: BoxStream<'static, Result<Bytes, StorageError>>,
}

impl BlobReader {
    /// A reader over bytes already in memory.
    pub fn whole(bytes: Bytes) -> Self {
        Self {
            len: bytes.len() as u64,
            body: stream::once(async move { Ok(bytes) }).boxed(),
        }
    }
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader")
            .field("len", &self.len)
            .finish()
    }
}

/// Why a storage operation failed. Every variant is the service's problem (5xx).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The backend could not be reached or refused to work (a 503 to clients).
    #[error("storage unavailable: {message}")]
    Unavailable {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A key that cannot be stored (not produced by this service).
    #[error("invalid storage key {0:?}")]
    InvalidKey(String),
    /// The `storage` section cannot be used as it is.
    #[error("storage configuration: {0}")]
    Config(String),
    /// Anything else the backend reported.
    #[error("storage failed: {message}")]
    Backend {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl StorageError {
    pub fn io(message: impl Into<String>, source: std::io::Error) -> Self {
        Self::Backend {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// Whether retrying later may succeed (the backend is down, not the request wrong).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// A blob store. Keys are `/`-separated relative paths made by `avatar::VariantKey`:
/// ASCII letters, digits, `-`, `_`, `.` and `/`, never `..`, never starting with `/`.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under `key`, replacing any previous object. Atomic: a reader sees the
    /// old object or the whole new one, never a part.
    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<(), StorageError>;

    /// The object under `key`, or `None` when there is none.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, StorageError>;

    /// The object under `key` as a stream, or `None` when there is none. Backends that can
    /// stream (S3) hand out the bytes as they arrive, so a proxied response never holds a whole
    /// object in memory; the default reads it whole.
    async fn open(&self, key: &str) -> Result<Option<BlobReader>, StorageError> {
        Ok(self.get(key).await?.map(BlobReader::whole))
    }

    /// Removes the object under `key`; removing a missing object is not an error.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;

    /// Every object whose key starts with `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError>;

    /// Answers when the backend is reachable and usable.
    async fn health(&self) -> Result<(), StorageError>;

    /// A URL where clients fetch `key` directly (a public bucket, a CDN, or a presigned URL),
    /// or `None` when the host itself serves the store's objects (`/_media/…`).
    async fn url_for(&self, key: &str) -> Result<Option<String>, StorageError> {
        validate_key(key)?;
        Ok(None)
    }

    /// A short name for logs and `/readyz`.
    fn kind(&self) -> &'static str;
}

/// The store the service uses, shared.
pub type SharedStore = Arc<dyn BlobStore>;

/// Checks that `key` is one this service makes, so no key can escape a store's root.
pub fn validate_key(key: &str) -> Result<(), StorageError> {
    let ok = !key.is_empty()
        && key.len() <= 512
        && !key.starts_with('/')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if ok {
        Ok(())
    } else {
        Err(StorageError::InvalidKey(key.to_owned()))
    }
}
