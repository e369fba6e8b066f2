//! Runs untrusted plugins: WebAssembly components behind the worlds in `wit/`.
//!
//! One [`Runtime`] per process owns the wasmtime engine (epoch deadlines, pooling allocator
//! with on-demand fallback), the linker and the compiled-artifact cache. Loading a plugin
//! compiles it once and checks it against its world ([`AuthPlugin`], [`TransformPlugin`],
//! [`FilterPlugin`], [`GeneratorPlugin`]). Every call gets a fresh `Store` and instance with a wall-clock deadline
//! and a linear-memory cap, and nothing else: no files, network, environment or clock beyond
//! what the host passes in. Failures come back as [`PluginError`]; no wasmtime type leaves
//! this module.
//!
//! Calls are synchronous and CPU-bound: async callers run transforms on a blocking thread.

mod bindings;
mod builtin;
mod calls;
mod convert;
mod engine;
mod error;
mod handles;
mod limits;
mod state;
mod types;

use std::sync::Arc;

use wasmtime::component::Component;
use wasmtime::{Store, Trap};

pub use builtin::{builtin, builtin_names};
pub use engine::{RuntimeOptions, TICK};
pub use error::{PluginError, Rejection};
pub use handles::{AuthPlugin, FilterPlugin, GeneratorPlugin, TransformPlugin};
pub use limits::CallLimits;
pub use state::Settings;
pub use types::{
    AuthRejection, AuthRequest, Crop, GenerateRequest, Grant, Image, ImageRejection, TransformSpec,
};

use bindings::auth::AuthPluginPre;
use bindings::filter::FilterPluginPre;
use bindings::generator::GeneratorPluginPre;
use bindings::transform::TransformPluginPre;
use engine::EngineHandle;
use state::HostState;

/// Which world a component implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    Auth,
    Transform,
    Filter,
    Generator,
}

impl std::fmt::Display for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Auth => "auth-plugin",
            Self::Transform => "transform-plugin",
            Self::Filter => "filter-plugin",
            Self::Generator => "generator-plugin",
        })
    }
}

/// The plugin runtime: cheap to clone, shared by every plugin it loads.
#[derive(Clone)]
pub struct Runtime {
    engine: Arc<EngineHandle>,
}

impl Runtime {
    pub fn new(options: &RuntimeOptions) -> Result<Self, PluginError> {
        Ok(Self {
            engine: Arc::new(EngineHandle::new(options)?),
        })
    }

    /// Whether the pooling allocator is in use (false after falling back to on-demand).
    pub fn is_pooling(&self) -> bool {
        self.engine.pooling
    }

    pub fn load_auth(&self, name: &str, wasm: &[u8]) -> Result<AuthPlugin, PluginError> {
        let (component, digest) = self.engine.compile(wasm)?;
        let pre = AuthPluginPre::new(self.instantiate_pre(&component)?)
            .map_err(|e| not_the_world(World::Auth, e))?;
        Ok(AuthPlugin {
            pre,
            info: self.info(name, digest),
        })
    }

    pub fn load_transform(&self, name: &str, wasm: &[u8]) -> Result<TransformPlugin, PluginError> {
        let (component, digest) = self.engine.compile(wasm)?;
        let pre = TransformPluginPre::new(self.instantiate_pre(&component)?)
            .map_err(|e| not_the_world(World::Transform, e))?;
        Ok(TransformPlugin {
            pre,
            info: self.info(name, digest),
        })
    }

    pub fn load_filter(&self, name: &str, wasm: &[u8]) -> Result<FilterPlugin, PluginError> {
        let (component, digest) = self.engine.compile(wasm)?;
        let pre = FilterPluginPre::new(self.instantiate_pre(&component)?)
            .map_err(|e| not_the_world(World::Filter, e))?;
        Ok(FilterPlugin {
            pre,
            info: self.info(name, digest),
        })
    }

    pub fn load_generator(&self, name: &str, wasm: &[u8]) -> Result<GeneratorPlugin, PluginError> {
        let (component, digest) = self.engine.compile(wasm)?;
        let pre = GeneratorPluginPre::new(self.instantiate_pre(&component)?)
            .map_err(|e| not_the_world(World::Generator, e))?;
        Ok(GeneratorPlugin {
            pre,
            info: self.info(name, digest),
        })
    }

    /// Which of the plugin worlds `wasm` implements, checking it loads on this runtime.
    pub fn detect_world(&self, wasm: &[u8]) -> Result<World, PluginError> {
        let (component, _) = self.engine.compile(wasm)?;
        let pre = self.instantiate_pre(&component)?;
        if AuthPluginPre::new(pre.clone()).is_ok() {
            Ok(World::Auth)
        } else if TransformPluginPre::new(pre.clone()).is_ok() {
            Ok(World::Transform)
        } else if FilterPluginPre::new(pre.clone()).is_ok() {
            Ok(World::Filter)
        } else if GeneratorPluginPre::new(pre).is_ok() {
            Ok(World::Generator)
        } else {
            Err(PluginError::Invalid(
                "the component exports none of the plugin worlds".into(),
            ))
        }
    }

    /// Which world `wasm` implements, after instantiating it once under `limits` (so a
    /// component whose start-up memory exceeds the cap, or that traps while starting, fails).
    pub fn check(&self, wasm: &[u8], limits: &CallLimits) -> Result<World, PluginError> {
        let world = self.detect_world(wasm)?;
        let (component, digest) = self.engine.compile(wasm)?;
        let pre = self.instantiate_pre(&component)?;
        self.info("check", digest)
            .run(&Arc::new(Settings::new()), limits, |store| {
                pre.instantiate(&mut *store).map(drop)
            })?;
        Ok(world)
    }

    fn instantiate_pre(
        &self,
        component: &Component,
    ) -> Result<wasmtime::component::InstancePre<HostState>, PluginError> {
        self.engine
            .linker
            .instantiate_pre(component)
            .map_err(|e| PluginError::Invalid(format!("the component's imports: {e:#}")))
    }

    fn info(&self, name: &str, digest: String) -> PluginInfo {
        PluginInfo {
            name: name.to_owned(),
            digest,
            engine: self.engine.clone(),
        }
    }
}

fn not_the_world(world: World, e: wasmtime::Error) -> PluginError {
    PluginError::Invalid(format!("the component does not implement {world}: {e:#}"))
}

/// What every loaded plugin carries: its name, the SHA-256 of its component, the engine.
#[derive(Clone)]
pub(crate) struct PluginInfo {
    name: String,
    digest: String,
    engine: Arc<EngineHandle>,
}

impl PluginInfo {
    /// Runs `call` in a fresh store under `limits`, classifying any failure.
    pub(crate) fn run<R>(
        &self,
        settings: &Arc<Settings>,
        limits: &CallLimits,
        call: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let mut store = Store::new(
            &self.engine.engine,
            HostState::new(settings.clone(), limits.memory_bytes),
        );
        store.limiter(|state| &mut state.limiter);
        // Checked at every epoch tick: past the deadline the call traps. A call that has run
        // longer than `LONG_CALL` while calls outnumber cores, and that is among the oldest
        // of them (as many younger calls as there are cores), pauses for two ticks at each
        // tick: the youngest calls (another tenant's upload that just started) get the cores
        // at full speed, and a plugin that loops until its deadline burns a third of a core
        // instead of a whole one.
        let started = std::time::Instant::now();
        let deadline = limits.deadline;
        let engine = self.engine.clone();
        let running = self.engine.calls.enter();
        let order = running.order();
        store.epoch_deadline_callback(move |_| {
            let ran = started.elapsed();
            if ran >= deadline {
                return Err(Trap::Interrupt.into());
            }
            if ran >= engine::LONG_CALL && engine.calls.should_yield(order) {
                std::thread::sleep(TICK * 2);
            }
            Ok(wasmtime::UpdateDeadline::Continue(1))
        });
        store.set_epoch_deadline(1);
        call(&mut store).map_err(|e| {
            let error = classify(e, store.data().limiter.hit, limits);
            tracing::warn!(plugin = %self.name, error = %error, "plugin call failed");
            error
        })
    }

    /// Refuses more image bytes than `limits` allow one call to return.
    pub(crate) fn check_output(
        &self,
        images: &[Image],
        limits: &CallLimits,
    ) -> Result<(), PluginError> {
        let total: usize = images.iter().map(|i| i.data.len()).sum();
        if total > limits.max_output_bytes {
            let error = PluginError::ResourceLimit(format!(
                "returned {total} bytes of images, more than the limit of {}",
                limits.max_output_bytes
            ));
            tracing::warn!(plugin = %self.name, error = %error, "plugin call failed");
            return Err(error);
        }
        Ok(())
    }
}

fn classify(error: wasmtime::Error, memory_cap_hit: bool, limits: &CallLimits) -> PluginError {
    if memory_cap_hit {
        return PluginError::ResourceLimit(format!(
            "linear memory would exceed the cap of {} bytes",
            limits.memory_bytes
        ));
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => PluginError::Timeout(limits.deadline),
        Some(trap) => PluginError::Trap(trap.to_string()),
        None => PluginError::Trap(format!("{error:#}")),
    }
}
