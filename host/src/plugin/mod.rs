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
mod state;
mod types;

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Component;
use wasmtime::{Store, Trap};

pub use builtin::{BUILTIN_PLUGINS, builtin};
pub use engine::{RuntimeOptions, TICK};
pub use error::{PluginError, Rejection};
pub use state::Settings;
pub use types::{
    AuthRejection, AuthRequest, Grant, Image, ImageFormat, TransformRejection, TransformSpec,
};

use bindings::auth::{AuthPlugin as AuthWorld, AuthPluginPre};
use bindings::filter::{FilterPlugin as FilterWorld, FilterPluginPre};
use bindings::generator::{GeneratorPlugin as GeneratorWorld, GeneratorPluginPre};
use bindings::transform::{TransformPlugin as TransformWorld, TransformPluginPre};
use engine::EngineHandle;
use state::HostState;

/// The limits of one plugin call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Wall-clock time the call may take, instantiation included.
    pub deadline: Duration,
    /// The largest linear memory the instance may grow to.
    pub memory_bytes: usize,
    /// The most bytes of image data the call may return.
    pub max_output_bytes: usize,
}

impl Default for CallLimits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(10),
            memory_bytes: 256 << 20,
            max_output_bytes: 32 << 20,
        }
    }
}

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
struct PluginInfo {
    name: String,
    digest: String,
    engine: Arc<EngineHandle>,
}

impl PluginInfo {
    /// Runs `call` in a fresh store under `limits`, classifying any failure.
    fn run<R>(
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

    fn check_output(&self, images: &[Image], limits: &CallLimits) -> Result<(), PluginError> {
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

macro_rules! plugin_accessors {
    ($ty:ident) => {
        impl $ty {
            /// The name the plugin was loaded under.
            pub fn name(&self) -> &str {
                &self.info.name
            }

            /// Hex SHA-256 of the component's bytes.
            pub fn digest(&self) -> &str {
                &self.info.digest
            }
        }
    };
}

/// A loaded auth plugin (world `auth-plugin`).
#[derive(Clone)]
pub struct AuthPlugin {
    pre: AuthPluginPre<HostState>,
    info: PluginInfo,
}
plugin_accessors!(AuthPlugin);

impl AuthPlugin {
    /// Asks the plugin whether `request` is authorised.
    pub fn authenticate(
        &self,
        settings: &Arc<Settings>,
        limits: &CallLimits,
        request: &AuthRequest,
    ) -> Result<Grant, PluginError> {
        let request = request.into();
        let verdict = self.info.run(settings, limits, |store| {
            let instance: AuthWorld = self.pre.instantiate(&mut *store)?;
            instance
                .avatar_plugins_authenticator()
                .call_authenticate(&mut *store, &request)
        })?;
        verdict
            .map(Grant::from)
            .map_err(|e| PluginError::Rejected(Rejection::Auth(e.into())))
    }
}

/// A loaded transform plugin (world `transform-plugin`).
#[derive(Clone)]
pub struct TransformPlugin {
    pre: TransformPluginPre<HostState>,
    info: PluginInfo,
}
plugin_accessors!(TransformPlugin);

impl TransformPlugin {
    /// Turns `upload` into the images `spec` asks for.
    pub fn transform(
        &self,
        settings: &Arc<Settings>,
        limits: &CallLimits,
        upload: &[u8],
        spec: &TransformSpec,
    ) -> Result<Vec<Image>, PluginError> {
        let spec = spec.into();
        let result = self.info.run(settings, limits, |store| {
            let instance: TransformWorld = self.pre.instantiate(&mut *store)?;
            instance
                .avatar_plugins_transformer()
                .call_transform(&mut *store, upload, &spec)
        })?;
        self.finish(result, limits)
    }

    /// Encodes raw `rgba8` images into `format`.
    pub fn encode(
        &self,
        settings: &Arc<Settings>,
        limits: &CallLimits,
        images: Vec<Image>,
        format: ImageFormat,
        quality: u8,
    ) -> Result<Vec<Image>, PluginError> {
        let images: Vec<_> = images.into_iter().map(Into::into).collect();
        let result = self.info.run(settings, limits, |store| {
            let instance: TransformWorld = self.pre.instantiate(&mut *store)?;
            instance.avatar_plugins_transformer().call_encode(
                &mut *store,
                &images,
                format.into(),
                quality,
            )
        })?;
        self.finish(result, limits)
    }

    fn finish(
        &self,
        result: Result<Vec<bindings::types::Image>, bindings::types::TransformError>,
        limits: &CallLimits,
    ) -> Result<Vec<Image>, PluginError> {
        let images: Vec<Image> = result
            .map_err(|e| PluginError::Rejected(Rejection::Transform(e.into())))?
            .into_iter()
            .map(Into::into)
            .collect();
        self.info.check_output(&images, limits)?;
        Ok(images)
    }
}

/// A loaded filter plugin (world `filter-plugin`).
#[derive(Clone)]
pub struct FilterPlugin {
    pre: FilterPluginPre<HostState>,
    info: PluginInfo,
}
plugin_accessors!(FilterPlugin);

impl FilterPlugin {
    /// Filters `rgba8` images.
    pub fn apply(
        &self,
        settings: &Arc<Settings>,
        limits: &CallLimits,
        images: Vec<Image>,
    ) -> Result<Vec<Image>, PluginError> {
        let images: Vec<_> = images.into_iter().map(Into::into).collect();
        let result = self.info.run(settings, limits, |store| {
            let instance: FilterWorld = self.pre.instantiate(&mut *store)?;
            instance
                .avatar_plugins_filter()
                .call_apply(&mut *store, &images)
        })?;
        let images: Vec<Image> = result
            .map_err(|e| PluginError::Rejected(Rejection::Transform(e.into())))?
            .into_iter()
            .map(Into::into)
            .collect();
        self.info.check_output(&images, limits)?;
        Ok(images)
    }
}

/// A loaded generator plugin (world `generator-plugin`).
#[derive(Clone)]
pub struct GeneratorPlugin {
    pre: GeneratorPluginPre<HostState>,
    info: PluginInfo,
}
plugin_accessors!(GeneratorPlugin);

impl GeneratorPlugin {
    /// Draws the `rgba8` picture of `side` pixels for `hash`.
    pub fn generate(
        &self,
        settings: &Arc<Settings>,
        limits: &CallLimits,
        hash: &str,
        side: u32,
    ) -> Result<Image, PluginError> {
        let result = self.info.run(settings, limits, |store| {
            let instance: GeneratorWorld = self.pre.instantiate(&mut *store)?;
            instance.avatar_plugins_generator().call_generate(
                &mut *store,
                &bindings::generator::exports::avatar::plugins::generator::GenerateRequest {
                    hash: hash.to_owned(),
                    size: side,
                    initials: None,
                    name: None,
                },
            )
        })?;
        let image: Image = result
            .map_err(|e| PluginError::Rejected(Rejection::Transform(e.into())))?
            .into();
        self.info
            .check_output(std::slice::from_ref(&image), limits)?;
        let expected = u64::from(side) * u64::from(side) * 4;
        if image.format != ImageFormat::Rgba8
            || image.width != side
            || image.height != side
            || image.data.len() as u64 != expected
        {
            return Err(PluginError::Invalid(format!(
                "generator {} returned a {}x{} {:?} image of {} bytes, not {side}x{side} rgba8",
                self.info.name,
                image.width,
                image.height,
                image.format,
                image.data.len()
            )));
        }
        Ok(image)
    }
}
