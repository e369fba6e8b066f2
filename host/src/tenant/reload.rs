//! Hot swap: the tenants (their plugins, settings and limits) are rebuilt from the
//! configuration file while the server runs, when that file or any `.wasm` or image file it
//! names changes, and on `SIGHUP`. The new tenants are built completely (every component
//! compiled and checked against its world, default avatars made) before they replace the old
//! ones in one atomic swap; requests in flight keep the tenant they started with. A reload that
//! fails leaves the old tenants serving and is reported on `GET /_status`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use serde_json::Value;

use super::Tenants;
use crate::config::{Config, DefaultAvatar};
use crate::plugin::Runtime;
use crate::watch::FileWatcher;

/// The tenants being served, swappable at run time.
pub struct LiveTenants {
    current: ArcSwap<Tenants>,
    runtime: Runtime,
    /// The configuration file, when the server was started from one.
    source: Option<PathBuf>,
    /// The sections a reload cannot change, as first loaded.
    fixed: Value,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
    status: Mutex<Status>,
}

/// What `GET /_status` shows of the reloads: the generation of the tenants being served,
/// when they were loaded, the last attempt and the files watched.
#[derive(Debug, Clone)]
pub struct Status {
    pub generation: u64,
    pub loaded_at: SystemTime,
    pub last: Option<Attempt>,
    pub watched: Vec<PathBuf>,
}

/// One reload attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: SystemTime,
    pub trigger: String,
    /// How long it took, or why it was refused.
    pub outcome: Result<Duration, String>,
    /// Sections that changed but take effect only at a restart.
    pub restart_needed: Vec<String>,
}

/// Why a reload was refused; the old tenants keep serving.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("the server was not started from a configuration file")]
    NoSource,
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Tenant(#[from] super::TenantError),
    #[error("loading the tenants failed: {0}")]
    Join(String),
}

/// The top-level keys whose changes take effect only at a restart.
const FIXED_KEYS: &[&str] = &[
    "listen",
    "public_url",
    "storage",
    "catalog",
    "delivery",
    "cache",
    "plugins",
];

impl LiveTenants {
    pub fn new(tenants: Tenants, config: &Config, runtime: Runtime) -> Self {
        Self {
            current: ArcSwap::from_pointee(tenants),
            runtime,
            source: config.source.clone(),
            fixed: config
                .source
                .as_deref()
                .map(fixed_sections)
                .unwrap_or(Value::Null),
            reloading: tokio::sync::Mutex::new(()),
            status: Mutex::new(Status {
                generation: 1,
                loaded_at: SystemTime::now(),
                last: None,
                watched: watched_files(config),
            }),
        }
    }

    /// The tenants now; a request keeps the snapshot it started with.
    pub fn current(&self) -> Arc<Tenants> {
        self.current.load_full()
    }

    /// The files whose change triggers a reload.
    pub fn watched(&self) -> Vec<PathBuf> {
        self.status.lock().expect("status lock").watched.clone()
    }

    /// Reads the configuration again and, if every tenant builds, swaps them in.
    pub async fn reload(&self, trigger: &str) -> Result<(), ReloadError> {
        let _one_at_a_time = self.reloading.lock().await;
        let started = Instant::now();
        let result = self.build().await;
        crate::metrics::reloaded(result.is_ok());
        let mut status = self.status.lock().expect("status lock");
        let (outcome, restart_needed) = match result {
            Ok((tenants, config)) => {
                self.current.store(Arc::new(tenants));
                status.generation += 1;
                status.loaded_at = SystemTime::now();
                status.watched = watched_files(&config);
                let restart_needed = match config.source.as_deref() {
                    Some(path) => changed_fixed(&self.fixed, &fixed_sections(path)),
                    None => Vec::new(),
                };
                tracing::info!(
                    trigger,
                    generation = status.generation,
                    took_ms = started.elapsed().as_millis() as u64,
                    "reloaded the tenants and their plugins"
                );
                if !restart_needed.is_empty() {
                    tracing::warn!(
                        ?restart_needed,
                        "these configuration sections changed; they take effect at a restart"
                    );
                }
                (Ok(started.elapsed()), restart_needed)
            }
            Err(error) => {
                tracing::error!(trigger, %error, "reload refused; the previous plugins keep serving");
                status.last = Some(Attempt {
                    at: SystemTime::now(),
                    trigger: trigger.to_owned(),
                    outcome: Err(error.to_string()),
                    restart_needed: Vec::new(),
                });
                return Err(error);
            }
        };
        status.last = Some(Attempt {
            at: SystemTime::now(),
            trigger: trigger.to_owned(),
            outcome,
            restart_needed,
        });
        Ok(())
    }

    async fn build(&self) -> Result<(Tenants, Config), ReloadError> {
        let path = self.source.clone().ok_or(ReloadError::NoSource)?;
        let config = Config::load(&path, std::env::vars())?;
        let runtime = self.runtime.clone();
        let tenants = tokio::task::spawn_blocking(move || {
            Tenants::from_config(&config, &runtime).map(|t| (t, config))
        })
        .await
        .map_err(|e| ReloadError::Join(e.to_string()))??;
        Ok(tenants)
    }

    /// The reloads so far.
    pub fn status(&self) -> Status {
        self.status.lock().expect("status lock").clone()
    }
}

/// The configuration file and every `.wasm` and default-avatar file it names.
fn watched_files(config: &Config) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = config.source.iter().cloned().collect();
    for tenant in &config.tenants {
        for (_, plugin) in tenant.plugins() {
            if plugin.plugin.ends_with(".wasm") {
                files.push(PathBuf::from(&plugin.plugin));
            }
        }
        if let DefaultAvatar::File(path) = &tenant.default_avatar {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    files
}

/// The sections of the file at `path` that a reload cannot change.
fn fixed_sections(path: &std::path::Path) -> Value {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Value::Null;
    };
    let Ok(Value::Object(all)) = serde_json::from_str::<Value>(&text) else {
        return Value::Null;
    };
    Value::Object(
        all.into_iter()
            .filter(|(k, _)| FIXED_KEYS.contains(&k.as_str()))
            .collect(),
    )
}

fn changed_fixed(before: &Value, after: &Value) -> Vec<String> {
    FIXED_KEYS
        .iter()
        .filter(|k| before.get(**k) != after.get(**k))
        .map(|k| (*k).to_owned())
        .collect()
}

/// Reloads when a watched file changes (told by [`FileWatcher`]: file events, and a poll
/// every `interval` as the fallback) and on `SIGHUP`, until the process ends. A zero
/// `interval` turns file watching off.
pub fn spawn_watchers(live: Arc<LiveTenants>, interval: Duration) {
    if live.source.is_none() {
        return;
    }
    if !interval.is_zero() {
        let live = live.clone();
        tokio::spawn(async move {
            let mut files = FileWatcher::new(live.watched(), interval);
            tracing::info!(
                events = files.uses_events(),
                poll_ms = interval.as_millis() as u64,
                "watching the configuration and the files it names"
            );
            loop {
                let changed: Vec<String> = files
                    .changed()
                    .await
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                // A failed reload is not retried until the files change again.
                let _ = live
                    .reload(&format!("changed: {}", changed.join(", ")))
                    .await;
                // The watcher keeps what it saw before the reload read the files, so a change
                // made while it ran triggers another; files the new configuration names are new.
                files.set_files(live.watched());
            }
        });
    }
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; reload by changing the files instead");
            return;
        };
        while hup.recv().await.is_some() {
            let _ = live.reload("SIGHUP").await;
        }
    });
}
