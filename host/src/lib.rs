//! The avatar service: serves avatars by hash, accepts uploads and deletes authorised by a
//! plugin, and runs every job that touches untrusted input inside sandboxed WebAssembly
//! components.
//!
//! Where a request goes: `http` (edge: request id, tenant, CORS; extractors; one handler)
//! → `service` (one operation, in the order that loses nothing) → `tenant` (the tenant's
//! plugins, pipeline and jobs) → `plugin` (wasmtime), and `catalog` / `storage` (the
//! backends) with `cache` in front. `avatar` is the pure model everything shares; `config`
//! reads the configuration.

pub mod avatar;
pub mod cache;
pub mod catalog;
pub mod config;
pub mod gc;
pub mod http;
pub mod metrics;
pub mod plugin;
pub mod rate;
pub mod service;
pub mod storage;
pub mod telemetry;
pub mod tenant;
#[cfg(test)]
mod test_services;
pub mod watch;

use std::sync::Arc;

use anyhow::Context;

use crate::cache::Cache;
use crate::config::Config;
use crate::plugin::{Runtime, RuntimeOptions};
use crate::service::{Links, Service};
use crate::tenant::Tenants;
use crate::tenant::reload::{self, LiveTenants};

/// The plugin runtime the configuration asks for.
pub fn plugin_runtime(config: &Config) -> anyhow::Result<Runtime> {
    Runtime::new(&RuntimeOptions::from_config(config)).context("starting the plugin runtime")
}

/// Wires backends, plugins and tenants, and serves until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let catalog = catalog::open(&config.catalog).context("opening the catalog")?;
    if config.catalog.migrate_on_start() {
        let applied = catalog.migrate().await.context("migrating the catalog")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied catalog migrations");
        }
    }
    let store = storage::open(&config.storage)
        .await
        .context("opening the store")?;
    let runtime = plugin_runtime(&config)?;
    let tenants = {
        let config = config.clone();
        let runtime = runtime.clone();
        tokio::task::spawn_blocking(move || Tenants::from_config(&config, &runtime))
            .await
            .context("loading tenants")??
    };
    let cache = Cache::new(config.cache.max_records, config.cache.max_image_bytes());
    let tenants = Arc::new(LiveTenants::new(tenants, &config, runtime.clone()));
    reload::spawn_watchers(
        tenants.clone(),
        std::time::Duration::from_millis(config.plugins.watch_interval_ms),
    );
    let links = Links {
        delivery: config.delivery,
        public_base: config.public_base().into(),
    };
    let admin_token = config.admin.token().context("reading the admin token")?;
    if config.admin.metrics {
        metrics::install();
    }
    let rate = Arc::new(rate::RateLimits::new(&config.rate_limits));
    rate::spawn_upkeep(rate.clone());
    let state = http::AppState::new(http::Shared {
        service: Service::new(catalog, store, cache, links).with_rate_limits(rate),
        tenants,
        admin_token,
        trusted_proxies: config
            .rate_limits
            .trusted_proxies
            .iter()
            .map(|proxy| proxy.0)
            .collect(),
        body_read_timeout: std::time::Duration::from_millis(
            config.connections.body_read_timeout_ms,
        ),
    });
    // Every listener stops on the one shutdown signal; readiness fails first, so a load
    // balancer that still polls `/readyz` on an open connection moves away.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let admin = match config.admin.listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("binding the admin listener {address}"))?;
            let address = listener.local_addr()?;
            println!("avatar admin listening on http://{address}");
            tracing::info!(%address, "admin surface (/_status, /metrics) is serving");
            let app = http::admin_app(state.clone());
            let limits = config.connections.clone();
            let stopped = until_stopped();
            Some(tokio::spawn(async move {
                http::serve::serve(listener, app, &limits, stopped).await;
            }))
        }
        None => None,
    };
    let address = listener.local_addr()?;
    // One machine-readable line on stdout, once ready, for scripts and tests on port 0.
    println!("avatar listening on http://{address}");
    tracing::info!(
        %address,
        pooling = runtime.is_pooling(),
        "avatar is serving"
    );
    let service = state.service.clone();
    let mut public = {
        let (app, limits, stopped) = (
            http::app(state),
            config.connections.clone(),
            until_stopped(),
        );
        tokio::spawn(async move { http::serve::serve(listener, app, &limits, stopped).await })
    };
    tokio::select! {
        finished = &mut public => {
            // Serving ended before any signal: only a panic does that.
            finished.context("the listener's task")?;
            anyhow::bail!("the listener stopped by itself");
        }
        () = shutdown => {}
    }
    service.begin_shutdown();
    let _ = stop.send(true);
    let grace = std::time::Duration::from_millis(config.shutdown_grace_ms);
    let deadline = tokio::time::Instant::now() + grace;
    match tokio::time::timeout_at(deadline, &mut public).await {
        Ok(finished) => finished.context("the listener's task")?,
        Err(_) => {
            tracing::warn!(
                grace_ms = config.shutdown_grace_ms,
                "requests still in flight after the shutdown grace; closing their connections"
            );
            public.abort();
        }
    }
    if let Some(mut admin) = admin
        && tokio::time::timeout_at(deadline, &mut admin).await.is_err()
    {
        admin.abort();
    }
    // Requests are done: the files they might have read can go now.
    if !service.finish_deferred(grace).await {
        tracing::warn!(
            "deferred removals of replaced files did not finish; `avatar gc` reclaims them"
        );
    }
    tracing::info!("stopped");
    Ok(())
}
