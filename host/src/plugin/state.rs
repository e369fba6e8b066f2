//! What a plugin instance's `Store` holds: an empty WASI context (no files, network,
//! environment or streams), the plugin's settings, and the memory limiter.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::config;

/// One plugin's settings for one tenant: the top-level keys of its JSON config object.
pub type Settings = BTreeMap<String, String>;

/// The data of one call's `Store`.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    settings: Arc<Settings>,
    pub(crate) limiter: MemoryLimiter,
}

impl HostState {
    pub(crate) fn new(settings: Arc<Settings>, memory_cap: usize) -> Self {
        Self {
            // Grants nothing: no preopened directories, no environment, no arguments, no
            // network, no stdio.
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            settings,
            limiter: MemoryLimiter {
                cap: memory_cap,
                hit: false,
            },
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl config::Host for HostState {
    fn get(&mut self, key: String) -> Option<String> {
        self.settings.get(&key).cloned()
    }
}

/// Caps a call's linear memory. Remembers that the cap was hit, so that the trap the guest
/// raises when its allocation fails is reported as a resource limit rather than a bug.
pub(crate) struct MemoryLimiter {
    cap: usize,
    pub(crate) hit: bool,
}

/// Table elements a plugin may have; generous for Rust guests, small enough to be harmless.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }
}
