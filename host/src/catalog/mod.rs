//! What is known about avatars (metadata, not bytes): a small async trait ([`Catalog`]) and
//! its backends, chosen once at start-up from the configuration's `catalog` section
//! ([`open`]), each operation traced in one place (`traced.rs`).

mod config;
mod merge;
mod migrate;
mod postgres;
mod sqlite;
#[cfg(test)]
pub(crate) mod suite;
mod traced;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;

pub use config::{CatalogConfig, UrlError};
pub use migrate::{MIGRATIONS, Migration};
pub use postgres::PgCatalog;
pub use sqlite::SqliteCatalog;

use crate::avatar::{ImageFormat, Rating};

/// Opens the catalog `config` names (PostgreSQL connects lazily, on first use), wrapped so
/// that every operation gets its tracing span.
pub fn open(config: &CatalogConfig) -> Result<SharedCatalog, CatalogError> {
    let catalog: SharedCatalog = match config {
        CatalogConfig::Sqlite { path } => Arc::new(SqliteCatalog::open(path)?),
        CatalogConfig::Postgres { pool_size, .. } => {
            let url = config
                .postgres_url()
                .map_err(|e| CatalogError::Config(e.to_string()))?
                .expect("a postgres section has a url");
            Arc::new(PgCatalog::connect(&url, *pool_size)?)
        }
    };
    Ok(Arc::new(traced::Traced::new(catalog)))
}

/// One stored size of an avatar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// The side of the square, in pixels (width == height == side).
    pub side: u32,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// Strong validator: hex SHA-256 of the variant's bytes (first 32 characters).
    pub etag: String,
    /// Where the bytes are in the blob store.
    pub key: String,
}

/// Everything the catalog records about one avatar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarRecord {
    pub tenant: String,
    /// Lower-case hex; the hash the record is stored under (its canonical hash).
    pub hash: String,
    /// The other hashes the record is found by (for an upload vouched for by an email
    /// address: the rest of that address's MD5, SHA-1 and SHA-256). Sorted lower-case hex,
    /// never containing `hash`; the email itself is never stored.
    pub aliases: Vec<String>,
    /// The Gravatar rating the upload carries (`g` when it gave none).
    pub rating: Rating,
    /// The person's display name (at most 256 bytes, checked by the caller), for drawing
    /// initials.
    pub name: Option<String>,
    /// The upload this record points at; part of every variant's key.
    pub version: String,
    pub format: ImageFormat,
    /// Hex SHA-256 of the uploaded file.
    pub content_hash: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
    /// Largest first.
    pub variants: Vec<Variant>,
}

impl AvatarRecord {
    /// Every hash the record is found by: `hash`, then its aliases.
    pub fn hashes(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.hash.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// Why a catalog operation failed. Every variant is the service's problem (5xx).
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The database could not be reached (a 503 to clients).
    #[error("catalog unavailable: {message}")]
    Unavailable {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A migration problem: a changed applied file, an unknown applied version.
    #[error("catalog migration: {0}")]
    Migration(String),
    /// The `catalog` section cannot be used as it is.
    #[error("catalog configuration: {0}")]
    Config(String),
    /// Data in the database that this version cannot read.
    #[error("corrupt catalog row: {0}")]
    Corrupt(String),
    /// Anything else the database reported.
    #[error("catalog failed: {message}")]
    Backend {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl CatalogError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// The avatar catalog, keyed by (tenant, hash), where a record is found by its own hash or
/// any of its aliases, and a hash finds at most one record of a tenant.
#[async_trait]
pub trait Catalog: Send + Sync + 'static {
    /// Applies pending migrations in order; refuses when an applied one has changed.
    async fn migrate(&self) -> Result<Vec<String>, CatalogError>;

    /// The record `hash` finds (stored under it, or having it among its aliases; then
    /// `record.hash` is the canonical hash), or `None`.
    async fn find(&self, tenant: &str, hash: &str) -> Result<Option<AvatarRecord>, CatalogError>;

    /// Makes `record` what each of its hashes (`hash` and `aliases`) finds, in one
    /// transaction: every record one of them found before is replaced (an earlier upload
    /// under an alias is merged into this one), with all its variants and aliases. Aliases
    /// are stored sorted and deduplicated, without `hash`. Keeps the `created_at` of the
    /// record replaced under the same `hash`. Returns the replaced records, ordered by hash,
    /// whose files the caller then deletes.
    async fn upsert(&self, record: &AvatarRecord) -> Result<Vec<AvatarRecord>, CatalogError>;

    /// Removes the record `hash` finds (through its aliases too), with its variants and
    /// aliases; returns it (for deleting its files), or `None` if there was none.
    async fn delete(&self, tenant: &str, hash: &str) -> Result<Option<AvatarRecord>, CatalogError>;

    /// Answers when the database is reachable and migrated.
    async fn health(&self) -> Result<(), CatalogError>;

    /// Every storage key a committed record points to (for `avatar gc`).
    async fn referenced_keys(&self) -> Result<HashSet<String>, CatalogError>;

    /// Starts telling `sink` about changes made by *other* hosts sharing this catalog, so
    /// their cached records can be dropped. Backends without such a channel do nothing.
    fn watch_changes(&self, sink: ChangeSink) {
        let _ = sink;
    }

    /// A short name for logs and `/readyz`.
    fn kind(&self) -> &'static str;
}

/// A change another host made: what one hash finds may have changed (a write reports every
/// hash the records it touched were or are found by), or "anything may have changed" (after
/// the channel was interrupted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Avatar { tenant: String, hash: String },
    Unknown,
}

/// Where a catalog reports changes.
pub type ChangeSink = Arc<dyn Fn(Change) + Send + Sync>;

/// The catalog the service uses, shared.
pub type SharedCatalog = Arc<dyn Catalog>;
