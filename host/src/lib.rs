//! The avatar service: serves avatars by hash, accepts uploads and deletes authorised by a
//! plugin, and runs every job that touches untrusted input inside sandboxed WebAssembly
//! components.

pub mod avatar;
pub mod breaker;
pub mod cache;
pub mod catalog;
pub mod config;
pub mod gc;
pub mod http;
pub mod plugin;
pub mod reload;
pub mod service;
pub mod storage;
pub mod tenant;
#[cfg(test)]
mod test_services;

use std::sync::Arc;

use anyhow::Context;

use crate::cache::Cache;
use crate::catalog::{PgCatalog, SharedCatalog, SqliteCatalog};
use crate::config::{CatalogConfig, Config, StorageConfig};
use crate::plugin::{Runtime, RuntimeOptions};
use crate::service::Service;
use crate::storage::{FsStore, S3Settings, S3Store, SharedStore};
use crate::tenant::Tenants;

/// Opens the configured catalog.
pub fn open_catalog(config: &Config) -> anyhow::Result<SharedCatalog> {
    Ok(match &config.catalog {
        CatalogConfig::Sqlite { path } => Arc::new(
            SqliteCatalog::open(path)
                .with_context(|| format!("opening the SQLite catalog {}", path.display()))?,
        ),
        CatalogConfig::Postgres {
            url,
            password,
            password_file,
            pool_size,
            ..
        } => {
            let mut url = url.clone();
            let secret = match (password, password_file) {
                (Some(p), _) => Some(p.clone()),
                (None, Some(file)) => Some(
                    std::fs::read_to_string(file)
                        .with_context(|| format!("reading {}", file.display()))?
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                ),
                (None, None) => None,
            };
            if let Some(secret) = secret {
                url = with_password(&url, &secret)?;
            }
            Arc::new(PgCatalog::connect(&url, *pool_size).context("catalog.url")?)
        }
    })
}

/// `url` with its password replaced by `password` (percent-encoded).
fn with_password(url: &str, password: &str) -> anyhow::Result<String> {
    let encoded: String = password
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let (scheme, rest) = url
        .split_once("://")
        .context("catalog.url must look like postgres://user@host/db")?;
    let (userinfo, host) = rest
        .split_once('@')
        .context("catalog.url must name a user (postgres://user@host/db)")?;
    let user = userinfo.split(':').next().unwrap_or(userinfo);
    Ok(format!("{scheme}://{user}:{encoded}@{host}"))
}

/// Opens the configured blob store.
pub async fn open_store(config: &Config) -> anyhow::Result<SharedStore> {
    Ok(match &config.storage {
        StorageConfig::Filesystem { path } => Arc::new(
            FsStore::open(path)
                .with_context(|| format!("opening the image directory {}", path.display()))?,
        ),
        StorageConfig::S3(s3) => {
            let first_line = |file: &Option<std::path::PathBuf>| -> anyhow::Result<Option<String>> {
                file.as_ref()
                    .map(|f| {
                        std::fs::read_to_string(f)
                            .with_context(|| format!("reading {}", f.display()))
                            .map(|s| s.lines().next().unwrap_or_default().trim().to_owned())
                    })
                    .transpose()
            };
            let settings = S3Settings {
                bucket: s3.bucket.clone(),
                region: s3.region.clone(),
                endpoint: s3.endpoint.clone(),
                path_style: s3.path_style,
                prefix: s3.prefix.clone(),
                access_key_id: s3
                    .access_key_id
                    .clone()
                    .or(first_line(&s3.access_key_id_file)?),
                secret_access_key: s3
                    .secret_access_key
                    .clone()
                    .or(first_line(&s3.secret_access_key_file)?),
                public_url: s3.public_url.clone(),
                presign_ttl: std::time::Duration::from_secs(s3.presign_seconds),
                attempt_timeout: std::time::Duration::from_millis(s3.timeout_ms),
                operation_timeout: std::time::Duration::from_millis(
                    s3.timeout_ms
                        .saturating_mul(u64::from(s3.max_attempts.max(1)))
                        + 1000,
                ),
                max_attempts: s3.max_attempts,
            };
            Arc::new(S3Store::connect(&settings).await.context("storage (s3)")?)
        }
    })
}

/// The plugin runtime the configuration asks for.
pub fn plugin_runtime(config: &Config) -> anyhow::Result<Runtime> {
    let options = RuntimeOptions {
        cache_dir: config.plugins.cache_dir.clone(),
        max_instances: config.plugins.max_instances,
        max_memory_bytes: usize::try_from(config.limits.plugin_memory_mib << 20)
            .context("limits.plugin_memory_mib is too large")?,
    };
    Runtime::new(&options).context("starting the plugin runtime")
}

/// Wires backends, plugins and tenants, and serves until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let catalog = open_catalog(&config)?;
    if config.catalog.migrate_on_start() {
        let applied = catalog.migrate().await.context("migrating the catalog")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied catalog migrations");
        }
    }
    let store = open_store(&config).await?;
    let runtime = plugin_runtime(&config)?;
    let tenants = {
        let config = config.clone();
        let runtime = runtime.clone();
        tokio::task::spawn_blocking(move || Tenants::from_config(&config, &runtime))
            .await
            .context("loading tenants")??
    };
    let cache = Cache::new(
        config.cache.max_records,
        usize::try_from(config.cache.max_image_mib << 20).unwrap_or(usize::MAX),
    );
    let tenants = Arc::new(reload::LiveTenants::new(tenants, &config, runtime.clone()));
    reload::spawn_watchers(
        tenants.clone(),
        std::time::Duration::from_millis(config.plugins.watch_interval_ms),
    );
    let state = http::AppState {
        service: Service::new(catalog, store, cache),
        tenants,
        delivery: config.delivery,
        public_base: config.public_base().into(),
    };
    let address = listener.local_addr()?;
    // One machine-readable line on stdout, once ready, for scripts and tests on port 0.
    println!("avatar listening on http://{address}");
    tracing::info!(
        %address,
        pooling = runtime.is_pooling(),
        "avatar is serving"
    );
    axum::serve(listener, http::app(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")
}
