//! Building a tenant from its section of the configuration: loading and checking its
//! plugins, its sizes and limits, and making its default avatar.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use bytes::Bytes;

use super::pipeline::{Output, Pipeline, Stage};
use super::{Cors, DefaultImage, DefaultPolicy, Gravatar, Jobs, Sizes, Tenant, default_max_jobs};
use crate::avatar::{AvatarHash, Style, etag_of};
use crate::config::{Config, DefaultAvatar, PluginRef, TenantConfig};
use crate::plugin::{CallLimits, PluginError, Runtime, Settings, builtin, builtin_names};

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

/// What every stage of one tenant shares while it is being built.
struct Loader<'a> {
    tenant: &'a TenantConfig,
    runtime: &'a Runtime,
    limits: CallLimits,
}

impl Loader<'_> {
    /// Loads `plugin` with `load` (which checks its world) into a stage with `settings`.
    fn stage<P>(
        &self,
        plugin: &PluginRef,
        settings: Settings,
        load: impl FnOnce(&Runtime, &str, &[u8]) -> Result<P, PluginError>,
    ) -> Result<Stage<P>, TenantError> {
        let wasm = self.component_bytes(plugin)?;
        let loaded =
            load(self.runtime, &plugin.plugin, &wasm).map_err(|source| TenantError::Plugin {
                tenant: self.tenant.id.clone(),
                plugin: plugin.plugin.clone(),
                source,
            })?;
        Ok(Stage {
            plugin: loaded,
            settings: Arc::new(settings),
            limits: self.limits,
        })
    }

    /// The component bytes of a configured plugin: built in (borrowed, so the engine knows
    /// its digest without reading it), or a `.wasm` file.
    fn component_bytes(&self, plugin: &PluginRef) -> Result<Cow<'static, [u8]>, TenantError> {
        if let Some(bytes) = builtin(&plugin.plugin) {
            return Ok(Cow::Borrowed(bytes));
        }
        std::fs::read(&plugin.plugin)
            .map(Cow::Owned)
            .map_err(|e| TenantError::PluginNotFound {
                tenant: self.tenant.id.clone(),
                plugin: plugin.plugin.clone(),
                builtins: builtin_names().collect::<Vec<_>>().join(", "),
                reason: e.to_string(),
            })
    }
}

/// Builds tenant `t` of `config`. Blocking: compiles components and transforms a default
/// avatar file.
pub(super) fn build(
    config: &Config,
    t: &TenantConfig,
    runtime: &Runtime,
) -> Result<Tenant, TenantError> {
    let limits = config.limits.for_tenant(&t.limits);
    let loader = Loader {
        tenant: t,
        runtime,
        limits: CallLimits::from(&limits),
    };
    let mut auth_settings = t.auth.settings();
    // With several tenants, a JWT must say which tenant it was minted for, so that a token of
    // one tenant never works at another even when both share a secret.
    if config.tenants.len() > 1 && t.auth.plugin == "auth-jwt" {
        auth_settings
            .entry("require_tenant".into())
            .or_insert_with(|| "true".into());
    }
    let auth = loader.stage(&t.auth, auth_settings, Runtime::load_auth)?;
    let transform = loader.stage(
        &t.transform,
        t.transform.settings(),
        Runtime::load_transform,
    )?;
    let filters = t
        .filters
        .iter()
        .map(|f| loader.stage(f, f.settings(), Runtime::load_filter))
        .collect::<Result<Vec<_>, _>>()?;

    let sizes = sizes(t);
    let pipeline = Pipeline {
        rendition_recipe: Pipeline::rendition_recipe_of(&transform, t.output.quality),
        transform,
        filters,
        output: Output {
            format: t.output.format.map(|f| f.format()),
            quality: t.output.quality,
            negotiate: t.output.negotiate,
        },
        stored_sides: sizes.stored.clone(),
        max_source_pixels: limits.decodable_pixels(),
        tenant: t.id.clone(),
    };
    let default_avatar = default_policy(&loader, &pipeline)?;
    let max_jobs = t
        .limits
        .max_concurrent_jobs
        .unwrap_or_else(|| default_max_jobs(config.tenants.len()));
    Ok(Tenant {
        id: t.id.clone(),
        hosts: t.hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
        storage_prefix: t.storage_prefix(),
        auth,
        pipeline,
        sizes,
        default_avatar,
        cache_control: HeaderValue::try_from(format!("public, max-age={}", t.cache_max_age))
            .expect("digits and ASCII make a header value"),
        cors: if t.cors_origins.iter().any(|o| o == "*") {
            Cors::Any
        } else {
            Cors::Origins(t.cors_origins.clone())
        },
        jobs: Jobs::new(max_jobs, Duration::from_millis(limits.plugin_deadline_ms)),
        gravatar: gravatar(&loader)?,
        limits,
    })
}

/// A generator for every default style (the tenant's, else the built-in), and the hosts a
/// `d=<URL>` may name.
fn gravatar(loader: &Loader<'_>) -> Result<Gravatar, TenantError> {
    let t = loader.tenant;
    let mut styles = BTreeMap::new();
    for style in Style::ALL {
        let plugin = t
            .styles
            .get(style.name())
            .cloned()
            .unwrap_or_else(|| PluginRef {
                plugin: style.builtin_plugin().to_owned(),
                config: serde_json::Map::new(),
            });
        let stage = loader.stage(&plugin, plugin.settings(), Runtime::load_generator)?;
        styles.insert(style, stage);
    }
    Ok(Gravatar {
        styles,
        default_url_hosts: t
            .default_url_hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
    })
}

fn sizes(t: &TenantConfig) -> Sizes {
    let mut stored: Vec<u32> = t.sizes.values().copied().collect();
    stored.sort_unstable_by(|a, b| b.cmp(a));
    stored.dedup();
    Sizes {
        default_side: t.sizes[&t.default_size],
        presets: t.sizes.clone(),
        stored,
    }
}

/// The tenant's default avatar: a generator loaded, or a file made into stored sizes by the
/// tenant's own pipeline (so a bad filter setting shows at reload, not at the first miss).
fn default_policy(loader: &Loader<'_>, pipeline: &Pipeline) -> Result<DefaultPolicy, TenantError> {
    let t = loader.tenant;
    Ok(match &t.default_avatar {
        DefaultAvatar::NotFound => DefaultPolicy::NotFound,
        DefaultAvatar::Hash(h) => {
            DefaultPolicy::Hash(AvatarHash::parse(h).expect("validated with the configuration"))
        }
        DefaultAvatar::Generate(plugin) => DefaultPolicy::Generate(loader.stage(
            plugin,
            plugin.settings(),
            Runtime::load_generator,
        )?),
        DefaultAvatar::File(path) => {
            let failed = |message: String| TenantError::DefaultAvatar {
                tenant: t.id.clone(),
                path: path.display().to_string(),
                message,
            };
            let bytes = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
            let images = pipeline
                .process(&bytes, None)
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
    })
}
