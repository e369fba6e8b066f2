//! The one wasmtime `Engine` and `Linker` of the process, the epoch ticker that enforces
//! deadlines, and compilation through the on-disk artifact cache.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::bindings;
use super::calls::Calls;
use super::state::HostState;
use super::{CallLimits, PluginError};
use crate::config::{self, defaults};

/// Set to `1`, the variable that makes the engine name its compiled plugin code for `perf`.
const PERFMAP_ENV: &str = "AVATAR_PERFMAP";

/// How often the epoch advances; the granularity of plugin deadlines.
pub const TICK: Duration = Duration::from_millis(5);

/// Settings of the plugin runtime, fixed for the life of the process.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Where compiled components are cached; `None` compiles on every start.
    pub cache_dir: Option<PathBuf>,
    /// Plugin instances that may run at once (slots in the pooling allocator).
    pub max_instances: u32,
    /// The largest linear memory any plugin may have; per-call caps are at most this.
    pub max_memory_bytes: usize,
}

impl RuntimeOptions {
    /// The runtime `config` asks for: its cache and instance count, and memory for the most
    /// any tenant's plugins may use.
    pub fn from_config(config: &config::Config) -> Self {
        let most_mib = config
            .tenants
            .iter()
            .filter_map(|t| t.limits.plugin_memory_mib)
            .fold(config.limits.plugin_memory_mib, u64::max);
        Self {
            cache_dir: config.plugins.cache_dir.clone(),
            max_instances: config.plugins.max_instances,
            max_memory_bytes: usize::try_from(most_mib << 20).unwrap_or(usize::MAX),
        }
    }

    /// A runtime without an artifact cache for calls under `limits` alone (`plugin check`).
    pub fn for_limits(limits: &CallLimits) -> Self {
        Self {
            cache_dir: None,
            max_instances: defaults::MAX_INSTANCES,
            max_memory_bytes: limits.memory_bytes,
        }
    }
}

impl Default for RuntimeOptions {
    /// The runtime for the default limits, without an artifact cache.
    fn default() -> Self {
        Self::for_limits(&CallLimits::default())
    }
}

/// The engine, the linker and the ticker; shared by every plugin.
pub(crate) struct EngineHandle {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
    pub(crate) pooling: bool,
    cache_dir: Option<PathBuf>,
    compat: String,
    ticker: Ticker,
    /// Plugin calls running now, across every plugin and tenant.
    pub(crate) calls: Calls,
    /// Components compiled by this process, by the SHA-256 of their bytes: every tenant that
    /// names the same plugin, and every reload, shares one compiled copy.
    compiled: Mutex<HashMap<String, Component>>,
}

impl EngineHandle {
    pub(crate) fn new(options: &RuntimeOptions) -> Result<Self, PluginError> {
        let (engine, pooling) = match Engine::new(&engine_config(options, true)) {
            Ok(engine) => (engine, true),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "the pooling allocator could not reserve its memory; \
                     falling back to on-demand allocation"
                );
                let engine = Engine::new(&engine_config(options, false))
                    .map_err(|e| PluginError::Invalid(format!("creating the engine: {e}")))?;
                (engine, false)
            }
        };
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| PluginError::Invalid(format!("linking WASI: {e}")))?;
        bindings::config::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
            &mut linker,
            |state| state,
        )
        .map_err(|e| PluginError::Invalid(format!("linking the config interface: {e}")))?;

        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compat = format!("{:016x}", hasher.finish());
        let ticker = Ticker::start(engine.clone());
        Ok(Self {
            engine,
            linker,
            pooling,
            cache_dir: options.cache_dir.clone(),
            compat,
            ticker,
            calls: Calls::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
            compiled: Mutex::new(HashMap::new()),
        })
    }

    /// Compiles `wasm` (a component), or loads its compiled form from the cache.
    pub(crate) fn compile(&self, wasm: &[u8]) -> Result<(Component, String), PluginError> {
        let digest = match super::builtin::embedded_digest(wasm) {
            Some(known) => known.to_owned(),
            None => hex::encode(Sha256::digest(wasm)),
        };
        if let Some(component) = self.compiled.lock().expect("compiled lock").get(&digest) {
            return Ok((component.clone(), digest));
        }
        let component = self.compile_afresh(wasm, &digest)?;
        self.compiled
            .lock()
            .expect("compiled lock")
            .insert(digest.clone(), component.clone());
        Ok((component, digest))
    }

    /// Compiles `wasm`, or loads its compiled form from the on-disk cache.
    fn compile_afresh(&self, wasm: &[u8], digest: &str) -> Result<Component, PluginError> {
        let Some(dir) = &self.cache_dir else {
            let component = Component::new(&self.engine, wasm).map_err(invalid)?;
            return Ok(component);
        };
        let path = dir.join(format!("{digest}-{}.cwasm", self.compat));
        if path.exists() {
            // SAFETY: the file is named after the SHA-256 of the component and this engine's
            // compatibility hash, and only this function writes into the cache directory,
            // which the operator must keep private to the host (see the README).
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "discarding a bad cached artifact");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let started = Instant::now();
        let artifact = self.engine.precompile_component(wasm).map_err(invalid)?;
        tracing::debug!(elapsed = ?started.elapsed(), digest, "compiled a component");
        if let Err(e) = write_atomically(dir, &path, &artifact) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot write to the plugin cache");
        }
        // SAFETY: `artifact` was produced just now by this engine.
        let component =
            unsafe { Component::deserialize(&self.engine, &artifact) }.map_err(invalid)?;
        Ok(component)
    }
}

/// A compile error as one line: wasmtime's messages may spread a byte dump over many.
fn invalid(error: wasmtime::Error) -> PluginError {
    let text = format!("{error:#}");
    PluginError::Invalid(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// How long a call runs at full speed before it may have to yield to younger calls.
pub const LONG_CALL: Duration = Duration::from_millis(50);

impl Drop for EngineHandle {
    fn drop(&mut self) {
        self.ticker.stop();
    }
}

fn engine_config(options: &RuntimeOptions, pooling: bool) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // A profiling aid: `perf` reads the names of the plugins' compiled functions from
    // `/tmp/perf-<pid>.map` (see `host/benches/README.md`).
    if std::env::var_os(PERFMAP_ENV).is_some_and(|v| v == "1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if pooling {
        let instances = options.max_instances.max(1);
        let mut pool = PoolingAllocationConfig::default();
        // A Rust component holds a few core instances (the program and the shims the
        // component linker adds), one memory and a few tables.
        pool.total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(8))
            .total_memories(instances.saturating_mul(2))
            .total_tables(instances.saturating_mul(8))
            .total_stacks(instances)
            .max_memory_size(options.max_memory_bytes)
            .max_core_instances_per_component(16)
            .max_memories_per_component(2)
            .max_tables_per_component(16)
            // Keeps the first pages of each slot mapped between calls: a fresh instance's
            // first touches of memory otherwise cost milliseconds on image work.
            .linear_memory_keep_resident(4 << 20)
            .table_keep_resident(64 << 10)
            // Where the kernel has PAGEMAP_SCAN (Linux 6.7+), resets only the pages a call
            // wrote rather than memsetting the whole kept-resident prefix after every call.
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("artifact"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Advances the engine's epoch every `TICK`, so stores with an epoch deadline trap once it
/// passes.
struct Ticker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch ticker thread");
        Self {
            stop,
            handle: Some(handle),
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
