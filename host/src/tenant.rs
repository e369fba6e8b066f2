//! Tenants: each with its plugins and their settings, sizes, default-avatar policy and
//! limits, built once at start-up from the configuration.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::avatar::AvatarHash;
use crate::config::{Config, DefaultAvatar, OutputFormat, PluginRef, TenantConfig};
use crate::plugin::{
    AuthPlugin, CallLimits, ImageFormat, PluginError, Runtime, Settings, TransformPlugin,
    TransformSpec, builtin,
};

/// One tenant, ready to serve.
pub struct Tenant {
    pub id: String,
    pub auth: AuthPlugin,
    pub auth_settings: Arc<Settings>,
    pub transform: TransformPlugin,
    pub transform_settings: Arc<Settings>,
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
}

/// What a tenant serves when an avatar is missing.
pub enum DefaultPolicy {
    NotFound,
    Hash(AvatarHash),
    Images(Vec<DefaultImage>),
}

/// A default avatar, made from a file at start-up.
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
            format: self.output_format,
            quality: self.quality,
            max_pixels: self.max_source_pixels,
        }
    }

    /// The name of the preset of `side` pixels.
    pub fn size_name(&self, side: u32) -> Option<&str> {
        self.sizes
            .iter()
            .find(|(_, px)| **px == side)
            .map(|(name, _)| name.as_str())
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

/// Every tenant, by id; the first configured is the default.
pub struct Tenants {
    by_id: HashMap<String, Arc<Tenant>>,
    default: Arc<Tenant>,
}

impl Tenants {
    /// Loads every tenant's plugins and default avatar.
    pub fn from_config(config: &Config, runtime: &Runtime) -> Result<Self, TenantError> {
        let mut by_id = HashMap::new();
        let mut first = None;
        for tenant in &config.tenants {
            let built = Arc::new(build(config, tenant, runtime)?);
            first.get_or_insert_with(|| built.clone());
            by_id.insert(tenant.id.clone(), built);
        }
        Ok(Self {
            by_id,
            default: first.expect("the configuration has at least one tenant"),
        })
    }

    pub fn default_tenant(&self) -> &Arc<Tenant> {
        &self.default
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Tenant>> {
        self.by_id.get(id)
    }
}

fn build(config: &Config, t: &TenantConfig, runtime: &Runtime) -> Result<Tenant, TenantError> {
    let limits = CallLimits {
        deadline: Duration::from_millis(config.limits.plugin_deadline_ms),
        memory_bytes: usize::try_from(config.limits.plugin_memory_mib << 20).unwrap_or(usize::MAX),
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
    let transform_wasm = component_bytes(&t.id, &t.transform)?;
    let transform = runtime
        .load_transform(&t.transform.plugin, &transform_wasm)
        .map_err(plugin_error(&t.transform))?;

    let mut stored_sides: Vec<u32> = t.sizes.values().copied().collect();
    stored_sides.sort_unstable_by(|a, b| b.cmp(a));
    stored_sides.dedup();
    let mut tenant = Tenant {
        id: t.id.clone(),
        auth,
        auth_settings: Arc::new(t.auth.settings()),
        transform,
        transform_settings: Arc::new(t.transform.settings()),
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
        max_upload_bytes: config.limits.max_upload_bytes,
        max_source_pixels: config.limits.max_source_pixels,
    };
    tenant.default_avatar = match &t.default_avatar {
        DefaultAvatar::NotFound => DefaultPolicy::NotFound,
        DefaultAvatar::Hash(h) => {
            DefaultPolicy::Hash(AvatarHash::parse(h).expect("validated with the configuration"))
        }
        DefaultAvatar::File(path) => {
            let failed = |message: String| TenantError::DefaultAvatar {
                tenant: t.id.clone(),
                path: path.display().to_string(),
                message,
            };
            let bytes = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
            let images = tenant
                .transform
                .transform(
                    &tenant.transform_settings,
                    &tenant.limits,
                    &bytes,
                    &tenant.spec(),
                )
                .map_err(|e| failed(e.to_string()))?;
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
