//! Tenants: each with its plugins (auth, a transform pipeline of transform + filters, an
//! optional generator) and their settings, sizes, default-avatar policy, limits, CORS origins
//! and a bound on concurrent plugin jobs; built from the configuration at start-up and again
//! on every reload.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::avatar::AvatarHash;
use crate::config::{Config, DefaultAvatar, OutputFormat, PluginRef, TenantConfig};
use crate::plugin::{
    AuthPlugin, CallLimits, FilterPlugin, GeneratorPlugin, Image, ImageFormat, PluginError,
    Runtime, Settings, TransformPlugin, TransformSpec, builtin,
};

/// A loaded plugin and the settings it sees for this tenant.
#[derive(Clone)]
pub struct Stage<P> {
    pub plugin: P,
    pub settings: Arc<Settings>,
}

/// One tenant, ready to serve.
pub struct Tenant {
    pub id: String,
    /// Key prefix of the tenant's images in the store, without a trailing `/`.
    pub storage_prefix: String,
    pub auth: AuthPlugin,
    pub auth_settings: Arc<Settings>,
    pub transform: TransformPlugin,
    pub transform_settings: Arc<Settings>,
    /// Filters run after the transform, in order.
    pub filters: Vec<Stage<FilterPlugin>>,
    /// Named sizes in pixels.
    pub sizes: BTreeMap<String, u32>,
    /// The sides stored for every upload, largest first.
    pub stored_sides: Vec<u32>,
    /// Pixels served when a request names no size.
    pub default_side: u32,
    pub default_avatar: DefaultPolicy,
    pub cache_max_age: u64,
    pub output_format: Option<ImageFormat>,
    pub quality: u8,
    pub limits: CallLimits,
    pub max_upload_bytes: u64,
    pub max_source_pixels: u64,
    pub cors: Cors,
    /// Plugin jobs (upload pipelines, generated defaults) that may run at once.
    pub jobs: Arc<Semaphore>,
    pub max_jobs: u32,
    /// Host names that select this tenant on the root paths, lower case.
    pub hosts: Vec<String>,
    /// Refuses plugin jobs for a while after repeated server-side plugin failures.
    pub breaker: crate::breaker::Breaker,
}

/// Which browser origins may read a tenant's avatars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    Any,
    Origins(Vec<String>),
}

impl Cors {
    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if allowed.
    pub fn allow(&self, origin: Option<&str>) -> Option<String> {
        match self {
            Self::Any => Some("*".into()),
            Self::Origins(list) => {
                let origin = origin?;
                list.iter()
                    .any(|o| o.eq_ignore_ascii_case(origin))
                    .then(|| origin.to_owned())
            }
        }
    }
}

/// What a tenant serves when an avatar is missing.
pub enum DefaultPolicy {
    NotFound,
    Hash(AvatarHash),
    Images(Vec<DefaultImage>),
    /// A generator draws each missing hash's picture.
    Generate(Stage<GeneratorPlugin>),
}

/// A default avatar, made from a file at start-up, or drawn by a generator.
#[derive(Clone)]
pub struct DefaultImage {
    pub side: u32,
    pub format: ImageFormat,
    pub bytes: Bytes,
    pub etag: String,
}

impl Tenant {
    /// The transform spec for an upload to this tenant.
    pub fn spec(&self) -> TransformSpec {
        TransformSpec {
            sizes: self.stored_sides.clone(),
            format: if self.filters.is_empty() {
                self.output_format
            } else {
                Some(ImageFormat::Rgba8)
            },
            quality: self.quality,
            max_pixels: self.max_source_pixels,
            crop: None,
        }
    }

    /// The name of the preset of `side` pixels.
    pub fn size_name(&self, side: u32) -> Option<&str> {
        self.sizes
            .iter()
            .find(|(_, px)| **px == side)
            .map(|(name, _)| name.as_str())
    }

    /// Runs the whole pipeline on an upload: the transform, then every filter, then the
    /// transform's `encode` (when there are filters). Blocking: call it off the async workers.
    pub fn process(&self, upload: &[u8]) -> Result<Vec<Image>, PluginError> {
        let images = self.blame(
            "transform",
            self.transform.name(),
            self.transform
                .transform(&self.transform_settings, &self.limits, upload, &self.spec()),
        )?;
        if self.filters.is_empty() {
            return Ok(images);
        }
        let jpeg_source = upload.starts_with(&[0xFF, 0xD8, 0xFF]);
        self.filter_and_encode(images, jpeg_source)
    }

    /// Draws `hash`'s picture at `side` pixels with the tenant's generator, filters and
    /// encodes it. Blocking: call it off the async workers.
    pub fn generate(
        &self,
        generator: &Stage<GeneratorPlugin>,
        hash: &AvatarHash,
        side: u32,
    ) -> Result<Image, PluginError> {
        let image = self.blame(
            "generator",
            generator.plugin.name(),
            generator
                .plugin
                .generate(&generator.settings, &self.limits, hash.as_str(), side),
        )?;
        let mut images = self.filter_and_encode(vec![image], false)?;
        Ok(images.remove(0))
    }

    /// The format a generated picture is stored in, as far as it is known before drawing.
    pub fn generated_format(&self) -> ImageFormat {
        self.output_format.unwrap_or(ImageFormat::Png)
    }

    fn filter_and_encode(
        &self,
        mut images: Vec<Image>,
        jpeg_source: bool,
    ) -> Result<Vec<Image>, PluginError> {
        for filter in &self.filters {
            let shapes: Vec<(u32, u32)> = images.iter().map(|i| (i.width, i.height)).collect();
            images = self.blame(
                "filter",
                filter.plugin.name(),
                filter.plugin.apply(&filter.settings, &self.limits, images),
            )?;
            let same = images.len() == shapes.len()
                && images.iter().zip(&shapes).all(|(i, (w, h))| {
                    i.format == ImageFormat::Rgba8
                        && i.width == *w
                        && i.height == *h
                        && i.data.len() as u64 == u64::from(*w) * u64::from(*h) * 4
                });
            if !same {
                return Err(PluginError::Invalid(format!(
                    "filter {} must return rgba8 images of the sizes it was given",
                    filter.plugin.name()
                )));
            }
        }
        // Transparency survives only in PNG or WebP; an opaque photo stays JPEG.
        let format = self.output_format.unwrap_or_else(|| {
            let opaque = images
                .iter()
                .all(|i| i.data.chunks_exact(4).all(|px| px[3] == 255));
            if opaque && jpeg_source {
                ImageFormat::Jpeg
            } else {
                ImageFormat::Png
            }
        });
        if format == ImageFormat::Rgba8 {
            return Ok(images);
        }
        let encoded = self.transform.encode(
            &self.transform_settings,
            &self.limits,
            images,
            format,
            self.quality,
        );
        self.blame("encode", self.transform.name(), encoded)
    }

    /// Logs a server-side failure of a pipeline stage with the tenant and the plugin, so an
    /// operator with several filters knows which one failed; the client's answer does not
    /// name them.
    fn blame<R>(
        &self,
        role: &str,
        plugin: &str,
        result: Result<R, PluginError>,
    ) -> Result<R, PluginError> {
        if let Err(error) = &result
            && error.is_server_fault()
        {
            tracing::warn!(tenant = %self.id, role, plugin, %error, "pipeline stage failed");
        }
        result
    }

    /// Every plugin of this tenant: (role, name, SHA-256 of the component).
    pub fn plugins(&self) -> Vec<(&'static str, &str, &str)> {
        let mut all = vec![
            ("auth", self.auth.name(), self.auth.digest()),
            ("transform", self.transform.name(), self.transform.digest()),
        ];
        for filter in &self.filters {
            all.push(("filter", filter.plugin.name(), filter.plugin.digest()));
        }
        if let DefaultPolicy::Generate(g) = &self.default_avatar {
            all.push(("generator", g.plugin.name(), g.plugin.digest()));
        }
        all
    }
}

/// Why a tenant cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error(
        "tenant {tenant}: plugin {plugin:?} is neither built in ({builtins}) nor a readable .wasm file: {reason}"
    )]
    PluginNotFound {
        tenant: String,
        plugin: String,
        builtins: String,
        reason: String,
    },
    #[error("tenant {tenant}: plugin {plugin:?}: {source}")]
    Plugin {
        tenant: String,
        plugin: String,
        #[source]
        source: PluginError,
    },
    #[error("tenant {tenant}: default avatar {path}: {message}")]
    DefaultAvatar {
        tenant: String,
        path: String,
        message: String,
    },
}

/// Every tenant, by id and by host name.
pub struct Tenants {
    by_id: HashMap<String, Arc<Tenant>>,
    by_host: HashMap<String, Arc<Tenant>>,
    default: Arc<Tenant>,
    /// Configuration order, for listings.
    order: Vec<String>,
}

impl Tenants {
    /// Loads every tenant's plugins and default avatar. Blocking (compiles components).
    pub fn from_config(config: &Config, runtime: &Runtime) -> Result<Self, TenantError> {
        let mut by_id = HashMap::new();
        let mut by_host = HashMap::new();
        let mut default = None;
        let mut order = Vec::new();
        let multi = config.tenants.len() > 1;
        for tenant in &config.tenants {
            let built = Arc::new(build(config, tenant, runtime, multi)?);
            if tenant.default || (default.is_none() && !config.tenants.iter().any(|t| t.default)) {
                default = Some(built.clone());
            }
            for host in &built.hosts {
                by_host.insert(host.clone(), built.clone());
            }
            order.push(tenant.id.clone());
            by_id.insert(tenant.id.clone(), built);
        }
        Ok(Self {
            by_id,
            by_host,
            default: default.expect("the configuration has at least one tenant"),
            order,
        })
    }

    /// The tenant for root paths: the one whose host names include `host`, else the default.
    pub fn for_host(&self, host: Option<&str>) -> &Arc<Tenant> {
        host.map(|h| {
            h.rsplit_once(':').map_or(h, |(name, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    name
                } else {
                    h
                }
            })
        })
        .and_then(|h| self.by_host.get(&h.to_ascii_lowercase()))
        .unwrap_or(&self.default)
    }

    pub fn default_tenant(&self) -> &Arc<Tenant> {
        &self.default
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Tenant>> {
        self.by_id.get(id)
    }

    /// Every tenant in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Tenant>> {
        self.order.iter().map(|id| &self.by_id[id])
    }
}

/// The default bound on a tenant's concurrent plugin jobs: every core for a lone tenant, half
/// of them (at least one) when tenants share the host, so one cannot starve the others.
pub fn default_max_jobs(tenants: usize) -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let jobs = if tenants > 1 {
        cores.div_ceil(2)
    } else {
        cores
    };
    u32::try_from(jobs.max(1)).unwrap_or(1)
}

fn build(
    config: &Config,
    t: &TenantConfig,
    runtime: &Runtime,
    multi_tenant: bool,
) -> Result<Tenant, TenantError> {
    let l = &t.limits;
    let memory_mib = l
        .plugin_memory_mib
        .unwrap_or(config.limits.plugin_memory_mib);
    let limits = CallLimits {
        deadline: Duration::from_millis(
            l.plugin_deadline_ms
                .unwrap_or(config.limits.plugin_deadline_ms),
        ),
        memory_bytes: usize::try_from(memory_mib << 20).unwrap_or(usize::MAX),
        max_output_bytes: usize::try_from(config.limits.plugin_output_mib << 20)
            .unwrap_or(usize::MAX),
    };
    let plugin_error = |plugin: &PluginRef| {
        let tenant = t.id.clone();
        let plugin = plugin.plugin.clone();
        move |source| TenantError::Plugin {
            tenant,
            plugin,
            source,
        }
    };
    let auth_wasm = component_bytes(&t.id, &t.auth)?;
    let auth = runtime
        .load_auth(&t.auth.plugin, &auth_wasm)
        .map_err(plugin_error(&t.auth))?;
    let mut auth_settings = t.auth.settings();
    // With several tenants, a JWT must say which tenant it was minted for, so that a token of
    // one tenant never works at another even when both share a secret.
    if multi_tenant && t.auth.plugin == "auth-jwt" {
        auth_settings
            .entry("require_tenant".into())
            .or_insert_with(|| "true".into());
    }
    let transform_wasm = component_bytes(&t.id, &t.transform)?;
    let transform = runtime
        .load_transform(&t.transform.plugin, &transform_wasm)
        .map_err(plugin_error(&t.transform))?;
    let mut filters = Vec::with_capacity(t.filters.len());
    for filter in &t.filters {
        let wasm = component_bytes(&t.id, filter)?;
        filters.push(Stage {
            plugin: runtime
                .load_filter(&filter.plugin, &wasm)
                .map_err(plugin_error(filter))?,
            settings: Arc::new(filter.settings()),
        });
    }

    let mut stored_sides: Vec<u32> = t.sizes.values().copied().collect();
    stored_sides.sort_unstable_by(|a, b| b.cmp(a));
    stored_sides.dedup();
    let max_jobs = l
        .max_concurrent_jobs
        .unwrap_or_else(|| default_max_jobs(config.tenants.len()));
    let mut tenant = Tenant {
        id: t.id.clone(),
        storage_prefix: t.storage_prefix(),
        auth,
        auth_settings: Arc::new(auth_settings),
        transform,
        transform_settings: Arc::new(t.transform.settings()),
        filters,
        default_side: t.sizes[&t.default_size],
        sizes: t.sizes.clone(),
        stored_sides,
        default_avatar: DefaultPolicy::NotFound,
        cache_max_age: t.cache_max_age,
        output_format: t.output.format.map(|f| match f {
            OutputFormat::Jpeg => ImageFormat::Jpeg,
            OutputFormat::Png => ImageFormat::Png,
            OutputFormat::Webp => ImageFormat::Webp,
        }),
        quality: t.output.quality,
        limits,
        max_upload_bytes: l.max_upload_bytes.unwrap_or(config.limits.max_upload_bytes),
        max_source_pixels: l
            .max_source_pixels
            .unwrap_or(config.limits.max_source_pixels),
        cors: if t.cors_origins.iter().any(|o| o == "*") {
            Cors::Any
        } else {
            Cors::Origins(t.cors_origins.clone())
        },
        jobs: Arc::new(Semaphore::new(max_jobs as usize)),
        max_jobs,
        hosts: t.hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
        breaker: crate::breaker::Breaker::default(),
    };
    tenant.default_avatar = match &t.default_avatar {
        DefaultAvatar::NotFound => DefaultPolicy::NotFound,
        DefaultAvatar::Hash(h) => {
            DefaultPolicy::Hash(AvatarHash::parse(h).expect("validated with the configuration"))
        }
        DefaultAvatar::Generate(plugin) => {
            let wasm = component_bytes(&t.id, plugin)?;
            DefaultPolicy::Generate(Stage {
                plugin: runtime
                    .load_generator(&plugin.plugin, &wasm)
                    .map_err(plugin_error(plugin))?,
                settings: Arc::new(plugin.settings()),
            })
        }
        DefaultAvatar::File(path) => {
            let failed = |message: String| TenantError::DefaultAvatar {
                tenant: t.id.clone(),
                path: path.display().to_string(),
                message,
            };
            let bytes = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
            let images = tenant.process(&bytes).map_err(|e| failed(e.to_string()))?;
            DefaultPolicy::Images(
                images
                    .into_iter()
                    .map(|image| DefaultImage {
                        side: image.width,
                        format: image.format,
                        etag: etag_of(&image.data),
                        bytes: Bytes::from(image.data),
                    })
                    .collect(),
            )
        }
    };
    Ok(tenant)
}

/// The component bytes for a configured plugin: built in, or a `.wasm` file.
fn component_bytes(tenant: &str, plugin: &PluginRef) -> Result<Vec<u8>, TenantError> {
    if let Some(bytes) = builtin(&plugin.plugin) {
        return Ok(bytes.to_vec());
    }
    std::fs::read(&plugin.plugin).map_err(|e| TenantError::PluginNotFound {
        tenant: tenant.to_owned(),
        plugin: plugin.plugin.clone(),
        builtins: crate::plugin::BUILTIN_PLUGINS.join(", "),
        reason: e.to_string(),
    })
}

/// A strong validator for image bytes: the first 32 hex characters of their SHA-256.
pub fn etag_of(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..16])
}
