//! Tenants: each with its auth plugin, image pipeline (`pipeline.rs`), sizes, default-avatar
//! policy, limits, CORS origins and bounded plugin jobs (`jobs.rs`, `breaker.rs`); built from
//! the configuration (`build.rs`) at start-up and again on every reload (`reload.rs`).

pub mod breaker;
mod build;
pub mod jobs;
pub mod pipeline;
pub mod reload;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::http::HeaderValue;
use bytes::Bytes;

pub use build::TenantError;
pub use jobs::{JobError, Jobs, default_max_jobs};
pub use pipeline::{Output, Pipeline, PipelineError, Role, Stage};

use crate::avatar::{AvatarHash, ImageFormat, Style};
use crate::config::{Config, Limits};
use crate::plugin::{AuthPlugin, AuthRequest, GeneratorPlugin, Grant, PluginError, Runtime};

/// One tenant, ready to serve.
pub struct Tenant {
    pub id: String,
    /// Host names that select this tenant on the root paths, lower case.
    pub hosts: Vec<String>,
    /// Key prefix of the tenant's images in the store, without leading or trailing `/`.
    pub storage_prefix: String,
    pub auth: Stage<AuthPlugin>,
    pub pipeline: Pipeline,
    pub sizes: Sizes,
    pub default_avatar: DefaultPolicy,
    /// The `Cache-Control` of avatar responses (`public, max-age=` the tenant's
    /// `cache_max_age`), built once rather than formatted for every read.
    pub cache_control: HeaderValue,
    /// The configuration's limits with the tenant's overrides applied.
    pub limits: Limits,
    pub cors: Cors,
    pub jobs: Jobs,
    /// What Gravatar-style requests may ask for beyond the native API.
    pub gravatar: Gravatar,
}

/// A tenant's answers to Gravatar's `d=`: a generator per default style, and the hosts a
/// `d=<URL>` may redirect to.
pub struct Gravatar {
    pub styles: BTreeMap<Style, Stage<GeneratorPlugin>>,
    /// Lower case.
    pub default_url_hosts: Vec<String>,
}

/// A tenant's sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizes {
    /// Named presets, in pixels.
    pub presets: BTreeMap<String, u32>,
    /// The sides stored for every upload, largest first.
    pub stored: Vec<u32>,
    /// The side served when a request names none.
    pub default_side: u32,
}

impl Sizes {
    /// The name of the preset of `side` pixels.
    pub fn name_of(&self, side: u32) -> Option<&str> {
        self.presets
            .iter()
            .find(|(_, s)| **s == side)
            .map(|(name, _)| name.as_str())
    }
}

/// Which browser origins may read a tenant's avatars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    Any,
    Origins(Vec<String>),
}

impl Cors {
    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if allowed.
    pub fn allow(&self, origin: Option<&str>) -> Option<HeaderValue> {
        match self {
            Self::Any => Some(HeaderValue::from_static("*")),
            Self::Origins(list) => {
                let origin = origin?;
                list.iter()
                    .any(|o| o.eq_ignore_ascii_case(origin))
                    .then(|| HeaderValue::from_str(origin).ok())
                    .flatten()
            }
        }
    }

    /// Whether `origin` may embed the tenant's page or be its return link.
    pub fn admits(&self, origin: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Origins(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        }
    }
}

/// What a tenant serves when an avatar is missing.
pub enum DefaultPolicy {
    NotFound,
    Hash(AvatarHash),
    /// Made from a file at start-up (and at every reload).
    Images(Vec<DefaultImage>),
    /// A generator draws each missing hash's picture.
    Generate(Stage<GeneratorPlugin>),
}

/// A default avatar made from a file.
#[derive(Clone)]
pub struct DefaultImage {
    pub side: u32,
    pub format: ImageFormat,
    pub bytes: Bytes,
    pub etag: String,
}

/// Runs one plugin call of `tenant`'s in a `plugin.call` span, counted and timed in the
/// metrics by role, plugin and outcome: every call the tenant's plugins make goes through here.
fn counted<R>(
    tenant: &str,
    role: &'static str,
    plugin: &str,
    call: impl FnOnce() -> Result<R, PluginError>,
) -> Result<R, PluginError> {
    let span = tracing::debug_span!(
        "plugin.call",
        tenant = tenant,
        role = role,
        plugin = plugin,
        outcome = tracing::field::Empty,
    );
    let started = std::time::Instant::now();
    let result = span.in_scope(call);
    span.record(
        "outcome",
        result.as_ref().map_or_else(PluginError::outcome, |_| "ok"),
    );
    crate::metrics::plugin_call(
        tenant,
        role,
        plugin,
        result.as_ref().map_or_else(PluginError::outcome, |_| "ok"),
        started.elapsed(),
    );
    result
}

impl Tenant {
    /// Asks the auth plugin whether `request` may change its hash. Blocking: call it off the
    /// async workers.
    pub fn authorize(&self, request: &AuthRequest) -> Result<Grant, PluginError> {
        let auth = &self.auth;
        counted(&self.id, "auth", auth.plugin.name(), || {
            auth.plugin
                .authenticate(&auth.settings, &auth.limits, request)
        })
    }

    /// Every plugin of this tenant: (role, name, SHA-256 of the component).
    pub fn plugins(&self) -> Vec<(&'static str, &str, &str)> {
        let mut all = vec![
            ("auth", self.auth.plugin.name(), self.auth.plugin.digest()),
            (
                "transform",
                self.pipeline.transform.plugin.name(),
                self.pipeline.transform.plugin.digest(),
            ),
        ];
        for filter in &self.pipeline.filters {
            all.push(("filter", filter.plugin.name(), filter.plugin.digest()));
        }
        if let DefaultPolicy::Generate(g) = &self.default_avatar {
            all.push(("generator", g.plugin.name(), g.plugin.digest()));
        }
        for g in self.gravatar.styles.values() {
            all.push(("style", g.plugin.name(), g.plugin.digest()));
        }
        all
    }
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
        let any_default = config.tenants.iter().any(|t| t.default);
        for tenant in &config.tenants {
            let built = Arc::new(build::build(config, tenant, runtime)?);
            if tenant.default || (default.is_none() && !any_default) {
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
        .and_then(|h| {
            // Hosts are stored lowercased; most requests name them so, and need no copy.
            if h.bytes().any(|b| b.is_ascii_uppercase()) {
                self.by_host.get(&h.to_ascii_lowercase())
            } else {
                self.by_host.get(h)
            }
        })
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
