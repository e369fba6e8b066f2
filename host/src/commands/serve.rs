//! `avatar serve`: set up logs and traces as the configuration says, say where data goes,
//! warn about development secrets, serve until `SIGTERM` or `SIGINT`, and send the last
//! spans.

use std::path::Path;

use anyhow::{Context, Result};

use avatar_host::catalog::CatalogConfig;
use avatar_host::config::Config;
use avatar_host::storage::StorageConfig;

pub fn run(path: &Path, listen: Option<std::net::SocketAddr>) -> Result<()> {
    let mut config = super::load(path)?;
    if let Some(listen) = listen {
        config.listen = listen;
    }
    let runtime = super::runtime()?;
    let telemetry = avatar_host::telemetry::init(&config.log, &config.traces, runtime.handle())
        .context("starting logs and traces")?;
    describe(&config);
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let address = listener.local_addr()?;
        if config.public_url.is_none() {
            // With port 0 the real port is only known now.
            config.listen = address;
        }

        avatar_host::serve(config, listener, shutdown_signal()).await
    });
    // The exporter's requests run on the runtime, so it must outlive the flush.
    telemetry.shutdown();
    drop(runtime);
    served
}

/// Says where data goes and warns about development secrets.
fn describe(config: &Config) {
    match &config.storage {
        StorageConfig::Filesystem { path } => {
            tracing::info!(path = %path.display(), "images are stored in a local directory");
        }
        StorageConfig::S3(s3) => {
            tracing::info!(
                bucket = %s3.bucket,
                endpoint = s3.endpoint.as_deref().unwrap_or("AWS"),
                prefix = %s3.prefix,
                "images are stored in S3"
            );
        }
    }
    match &config.catalog {
        CatalogConfig::Sqlite { path } => {
            tracing::info!(path = %path.display(), "the catalog is an SQLite file");
        }
        CatalogConfig::Postgres { .. } => {
            tracing::info!("the catalog is in PostgreSQL");
        }
    }
    for tenant in &config.tenants {
        let secret = tenant.auth.config.get("secret").and_then(|v| v.as_str());
        if secret.is_some_and(|s| s.contains("development") || s.len() < 32) {
            tracing::warn!(
                tenant = %tenant.id,
                "!!! tenant's JWT secret is a DEVELOPMENT secret (or shorter than 32 bytes): \
                 anyone who reads the repository can mint upload tokens. Set \
                 AVATAR__TENANTS__<i>__AUTH__CONFIG__SECRET before exposing this service !!!"
            );
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
