//! The configuration: a JSON file, then `AVATAR__SECTION__KEY` environment variables on top.
//! Every field documents its default. Secrets (plugin settings) are never logged.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Default `127.0.0.1:8080`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Base URL clients reach this service at, used for absolute URLs (`Location`, `url`).
    /// Default: `http://<listen>`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Where image bytes are stored. Default: `{"type": "filesystem", "path": "data/images"}`.
    #[serde(default)]
    pub storage: StorageConfig,
    /// Where avatar metadata is kept. Default: `{"type": "sqlite", "path": "data/avatar.db"}`.
    #[serde(default)]
    pub catalog: CatalogConfig,
    /// How `GET` answers: `proxy` (the bytes) or `redirect` (a 302 to the variant's
    /// immutable URL). Default `proxy`.
    #[serde(default)]
    pub delivery: Delivery,
    /// Size and time limits. Defaults below.
    #[serde(default)]
    pub limits: Limits,
    /// The plugin runtime. Defaults below.
    #[serde(default)]
    pub plugins: PluginsConfig,
    /// The in-memory cache of catalog rows and hot images. Defaults below.
    #[serde(default)]
    pub cache: CacheConfig,
    /// The tenants; at least one. The first is the default tenant unless one says
    /// `"default": true`.
    pub tenants: Vec<TenantConfig>,
    /// The file this configuration was loaded from (set by [`Config::load`]), which a running
    /// server watches and reloads.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// A blob store backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum StorageConfig {
    /// A local directory.
    Filesystem {
        /// The directory; relative paths are relative to the config file. Created if missing.
        path: PathBuf,
    },
    /// An S3-compatible bucket (AWS S3, Garage, MinIO, R2).
    S3(Box<S3Config>),
}

/// An S3 bucket and how to reach it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The bucket. Required.
    pub bucket: String,
    /// The region. Default `us-east-1` (Garage's default region is `garage`).
    #[serde(default = "default_region")]
    pub region: String,
    /// The endpoint URL, for stores other than AWS. Default: AWS's.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Path-style addressing, which Garage and MinIO need. Default `false`.
    #[serde(default)]
    pub path_style: bool,
    /// Prepended to every object key, e.g. `avatars/`. Default empty.
    #[serde(default)]
    pub prefix: String,
    /// Access key id; with `secret_access_key`. Default: the SDK's chain (environment,
    /// profile).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret access key. Never logged.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// A file whose first line is the access key id. Default: none.
    #[serde(default)]
    pub access_key_id_file: Option<PathBuf>,
    /// A file whose first line is the secret access key. Default: none.
    #[serde(default)]
    pub secret_access_key_file: Option<PathBuf>,
    /// Base URL of plain public object URLs (a public bucket or a CDN) for `redirect`
    /// delivery. Default: none, so redirects use presigned URLs.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Lifetime of presigned URLs, seconds. Default 3600.
    #[serde(default = "default_presign_seconds")]
    pub presign_seconds: u64,
    /// Deadline of one request attempt, milliseconds. Default 5000.
    #[serde(default = "default_s3_timeout_ms")]
    pub timeout_ms: u64,
    /// Attempts per call (with backoff on throttling and 5xx), the first included. Default 3.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_presign_seconds() -> u64 {
    3600
}

fn default_s3_timeout_ms() -> u64 {
    5000
}

fn default_attempts() -> u32 {
    3
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self::Filesystem {
            path: PathBuf::from("data/images"),
        }
    }
}

/// A catalog backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum CatalogConfig {
    /// An embedded SQLite database file.
    Sqlite {
        /// The database file; relative to the config file. Created if missing.
        path: PathBuf,
    },
    /// PostgreSQL, through a connection pool.
    Postgres {
        /// `postgres://user@host:port/database` (a password here works, but prefer
        /// `password_file` or `AVATAR__CATALOG__PASSWORD`). Required.
        url: String,
        /// The password, overriding any in `url`. Default: none.
        #[serde(default)]
        password: Option<String>,
        /// A file whose first line is the password (e.g. a mounted secret). Default: none.
        #[serde(default)]
        password_file: Option<PathBuf>,
        /// Connections in the pool. Default 16.
        #[serde(default = "default_pool_size")]
        pool_size: usize,
        /// Apply pending migrations when `serve` starts (otherwise run `avatar migrate`).
        /// Default `true`.
        #[serde(default = "default_true")]
        migrate_on_start: bool,
    },
}

fn default_pool_size() -> usize {
    16
}

fn default_true() -> bool {
    true
}

impl CatalogConfig {
    /// Whether `serve` migrates at start-up.
    pub fn migrate_on_start(&self) -> bool {
        match self {
            Self::Sqlite { .. } => true,
            Self::Postgres {
                migrate_on_start, ..
            } => *migrate_on_start,
        }
    }
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self::Sqlite {
            path: PathBuf::from("data/avatar.db"),
        }
    }
}

/// How images are delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// Answer with the image bytes.
    #[default]
    Proxy,
    /// Answer `302` with the variant's immutable, versioned URL.
    Redirect,
}

/// Limits that protect the service.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest upload body, in bytes; larger ones get `413` while being read. Default 10 MiB.
    pub max_upload_bytes: u64,
    /// Most source pixels (`width * height`) an upload may declare. Default 50 000 000.
    pub max_source_pixels: u64,
    /// Wall-clock deadline of one plugin call, in milliseconds. Default 10 000.
    pub plugin_deadline_ms: u64,
    /// Linear-memory cap of one plugin call, in MiB. Default 256.
    pub plugin_memory_mib: u64,
    /// Most bytes of images one plugin call may return, in MiB. Default 64.
    pub plugin_output_mib: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_upload_bytes: 10 << 20,
            max_source_pixels: 50_000_000,
            plugin_deadline_ms: 10_000,
            plugin_memory_mib: 256,
            plugin_output_mib: 64,
        }
    }
}

/// The plugin runtime.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    /// Where compiled plugins are cached between runs; relative to the config file. Keep it
    /// private to the service: its files are loaded as trusted machine code. Default
    /// `data/plugin-cache`; `null` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Plugin instances that may run at once. Default 64.
    pub max_instances: u32,
    /// How often a running server looks for changes to its configuration file and to the
    /// `.wasm` and image files it names, in milliseconds; a change reloads the tenants and
    /// their plugins without a restart (so does `SIGHUP`). Default 500; 0 turns watching off.
    pub watch_interval_ms: u64,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            cache_dir: Some(PathBuf::from("data/plugin-cache")),
            max_instances: 64,
            watch_interval_ms: 500,
        }
    }
}

/// The in-memory cache in front of the catalog and the store.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Most catalog records kept. Default 100 000; 0 disables.
    pub max_records: usize,
    /// Most bytes of image data kept, in MiB. Default 64; 0 disables.
    pub max_image_mib: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_records: 100_000,
            max_image_mib: 64,
        }
    }
}

/// One tenant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// The tenant's id: letters, digits, `-` and `_`. Required.
    pub id: String,
    /// The auth plugin and its settings. Required (the JWT secret of `auth-jwt` lives at
    /// `auth.config.secret`).
    pub auth: PluginRef,
    /// The transform plugin and its settings. Default: `{"plugin": "transform-image"}`.
    #[serde(default = "PluginRef::transform_image")]
    pub transform: PluginRef,
    /// Named sizes in pixels. Default `small` 128, `medium` 256, `large` 512, `original`
    /// 1024. These are also the sizes stored for every upload.
    #[serde(default = "default_sizes")]
    pub sizes: BTreeMap<String, u32>,
    /// The size served when a request names none. Default `medium`.
    #[serde(default = "default_size")]
    pub default_size: String,
    /// What to serve when neither hash has an avatar. Default `"404"`.
    #[serde(default)]
    pub default_avatar: DefaultAvatar,
    /// `Cache-Control: max-age` of avatar responses, in seconds. Default 300.
    #[serde(default = "default_max_age")]
    pub cache_max_age: u64,
    /// Output format and quality of stored images. Default: keep JPEG, else PNG (with
    /// filters: PNG when a filter made pixels transparent); quality 85.
    #[serde(default)]
    pub output: OutputConfig,
    /// Drop-in filters run after the transform, in order, each with its own settings
    /// (`[{"plugin": "filter-grayscale"}, {"plugin": "filter-circle"}]`). Default none.
    #[serde(default)]
    pub filters: Vec<PluginRef>,
    /// Whether requests to the root paths (without `/t/{tenant}/`) go to this tenant. At most
    /// one tenant may say so; default: the first tenant.
    #[serde(default)]
    pub default: bool,
    /// Host names (`Host` header, without the port) that select this tenant on the root paths.
    /// Default none.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Where this tenant's images live inside the store, as a key prefix. Default: the id.
    #[serde(default)]
    pub storage_prefix: Option<String>,
    /// Origins allowed to read this tenant's avatars from a browser (`Origin` header), or
    /// `["*"]` for any. Default `["*"]`.
    #[serde(default = "any_origin")]
    pub cors_origins: Vec<String>,
    /// This tenant's own limits; each unset field falls back to the top-level `limits`.
    #[serde(default)]
    pub limits: TenantLimits,
}

fn any_origin() -> Vec<String> {
    vec!["*".into()]
}

/// A tenant's limits. Every field defaults to the top-level `limits` value of the same name;
/// `max_concurrent_jobs` defaults as described in the README's "Tenants" section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantLimits {
    pub max_upload_bytes: Option<u64>,
    pub max_source_pixels: Option<u64>,
    pub plugin_deadline_ms: Option<u64>,
    pub plugin_memory_mib: Option<u64>,
    /// Plugin jobs of this tenant (transforms of uploads, generated defaults) that may run at
    /// once; more wait in line, up to `plugin_deadline_ms`, then get `503`.
    pub max_concurrent_jobs: Option<u32>,
}

impl TenantConfig {
    /// The key prefix of this tenant's images, without a trailing `/`.
    pub fn storage_prefix(&self) -> String {
        self.storage_prefix
            .as_deref()
            .unwrap_or(&self.id)
            .trim_matches('/')
            .to_owned()
    }

    /// Every plugin this tenant runs, with the role it plays.
    pub fn plugins(&self) -> Vec<(&'static str, &PluginRef)> {
        let mut all = vec![("auth", &self.auth), ("transform", &self.transform)];
        all.extend(self.filters.iter().map(|f| ("filter", f)));
        if let DefaultAvatar::Generate(plugin) = &self.default_avatar {
            all.push(("generator", plugin));
        }
        all
    }
}

/// A plugin and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginRef {
    /// A built-in plugin's name (`auth-jwt`, `transform-image`) or the path of a `.wasm`
    /// component, relative to the config file.
    pub plugin: String,
    /// The plugin's settings, a JSON object the plugin reads through `config.get(key)`.
    /// Default `{}`.
    #[serde(default)]
    pub config: serde_json::Map<String, Value>,
}

impl PluginRef {
    fn transform_image() -> Self {
        Self {
            plugin: "transform-image".into(),
            config: serde_json::Map::new(),
        }
    }

    /// The settings as the plugin sees them: strings as they are, anything else as JSON.
    pub fn settings(&self) -> BTreeMap<String, String> {
        self.config
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), value)
            })
            .collect()
    }
}

/// The size presets a tenant gets when its config names none.
pub(crate) fn default_sizes() -> BTreeMap<String, u32> {
    [
        ("small", 128),
        ("medium", 256),
        ("large", 512),
        ("original", 1024),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn default_size() -> String {
    "medium".into()
}

fn default_max_age() -> u64 {
    300
}

/// What a tenant serves when an avatar is missing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DefaultAvatar {
    /// `"404"`: answer 404 with a JSON error.
    #[default]
    NotFound,
    /// `{"hash": "…"}`: serve that hash's avatar.
    Hash(String),
    /// `{"file": "…"}`: an image file (relative to the config file), transformed at start-up.
    File(PathBuf),
    /// `{"generate": "generate-identicon"}` or `{"generate": {"plugin": …, "config": {…}}}`:
    /// a generator plugin draws a picture of each missing hash's own.
    Generate(PluginRef),
}

impl<'de> Deserialize<'de> for DefaultAvatar {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Hash { hash: String },
            File { file: PathBuf },
            Generate { generate: GenerateRaw },
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum GenerateRaw {
            Name(String),
            Plugin(PluginRef),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Text(s) if s == "404" => Ok(Self::NotFound),
            Raw::Text(s) => Err(serde::de::Error::custom(format!(
                "expected \"404\", {{\"hash\": …}}, {{\"file\": …}} or {{\"generate\": …}}, found {s:?}"
            ))),
            Raw::Hash { hash } => Ok(Self::Hash(hash)),
            Raw::File { file } => Ok(Self::File(file)),
            Raw::Generate {
                generate: GenerateRaw::Name(plugin),
            } => Ok(Self::Generate(PluginRef {
                plugin,
                config: serde_json::Map::new(),
            })),
            Raw::Generate {
                generate: GenerateRaw::Plugin(plugin),
            } => Ok(Self::Generate(plugin)),
        }
    }
}

/// The stored images' format.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    /// `jpeg`, `png`, `webp`, or `null` to keep JPEG as JPEG and store the rest as PNG.
    /// Default `null`.
    pub format: Option<OutputFormat>,
    /// JPEG quality, 1 to 100. Default 85.
    pub quality: u8,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            format: None,
            quality: 85,
        }
    }
}

/// A stored image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Jpeg,
    Png,
    Webp,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{file}: at `{key}`: {message}")]
    Invalid {
        file: PathBuf,
        key: String,
        message: String,
    },
}

impl Config {
    /// Loads `path`, applies `AVATAR__…` variables from `env`, validates, and resolves
    /// relative paths against the file's directory.
    pub fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut value: Value = serde_json::from_str(&text).map_err(|source| ConfigError::Json {
            path: path.to_owned(),
            source,
        })?;
        apply_env(&mut value, env);
        let mut config: Config =
            serde_path_to_error::deserialize(value).map_err(|e| ConfigError::Invalid {
                file: path.to_owned(),
                key: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        config
            .validate()
            .map_err(|(key, message)| ConfigError::Invalid {
                file: path.to_owned(),
                key,
                message,
            })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        config.source = Some(path.to_owned());
        Ok(config)
    }

    /// The base URL for absolute links.
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let bad = |key: String, message: &str| Err((key, message.to_owned()));
        if self.tenants.is_empty() {
            return bad("tenants".into(), "at least one tenant is required");
        }
        if self.limits.plugin_memory_mib > 4096 {
            return bad("limits.plugin_memory_mib".into(), "must be at most 4096");
        }
        if self.limits.max_upload_bytes == 0 {
            return bad("limits.max_upload_bytes".into(), "must be positive");
        }
        if self.limits.plugin_deadline_ms == 0 || self.limits.plugin_memory_mib == 0 {
            return bad(
                "limits".into(),
                "plugin deadline and memory must be positive",
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut hosts = std::collections::BTreeSet::new();
        let mut prefixes = std::collections::BTreeSet::new();
        if self.tenants.iter().filter(|t| t.default).count() > 1 {
            return bad("tenants".into(), "at most one tenant may be the default");
        }
        for (i, tenant) in self.tenants.iter().enumerate() {
            let at = |field: &str| format!("tenants[{i}].{field}");
            let id_ok = !tenant.id.is_empty()
                && tenant.id.len() <= 64
                && tenant
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !id_ok {
                return bad(at("id"), "letters, digits, '-' and '_', 1 to 64 characters");
            }
            if !seen.insert(&tenant.id) {
                return bad(at("id"), "duplicate tenant id");
            }
            for host in &tenant.hosts {
                if !hosts.insert(host.to_ascii_lowercase()) {
                    return bad(at("hosts"), "a host name may select one tenant only");
                }
            }
            let prefix = tenant.storage_prefix();
            let prefix_ok = !prefix.is_empty()
                && crate::storage::validate_key(&prefix).is_ok()
                && !prefix.starts_with('_');
            if !prefix_ok {
                return bad(
                    at("storage_prefix"),
                    "letters, digits, '-', '_', '.' and '/' segments, not starting with '_'",
                );
            }
            if !prefixes.insert(prefix.clone()) {
                return bad(
                    at("storage_prefix"),
                    "two tenants cannot share a storage prefix",
                );
            }
            if tenant.cors_origins.is_empty() {
                return bad(at("cors_origins"), "list \"*\" or at least one origin");
            }
            let l = &tenant.limits;
            if l.plugin_deadline_ms == Some(0)
                || l.plugin_memory_mib == Some(0)
                || l.max_upload_bytes == Some(0)
                || l.max_concurrent_jobs == Some(0)
            {
                return bad(at("limits"), "limits must be positive");
            }
            if l.plugin_memory_mib.is_some_and(|m| m > 4096) {
                return bad(at("limits.plugin_memory_mib"), "must be at most 4096");
            }
            if tenant.sizes.is_empty() {
                return bad(at("sizes"), "at least one size is required");
            }
            for (name, px) in &tenant.sizes {
                if !(1..=crate::avatar::MAX_REQUESTED_SIDE).contains(px) {
                    return bad(at(&format!("sizes.{name}")), "must be 1 to 4096 pixels");
                }
                if name.is_empty() || name.bytes().all(|b| b.is_ascii_digit()) {
                    return bad(
                        at(&format!("sizes.{name}")),
                        "a size name cannot be a number",
                    );
                }
            }
            if !tenant.sizes.contains_key(&tenant.default_size) {
                return bad(at("default_size"), "must name one of the tenant's sizes");
            }
            if !(1..=100).contains(&tenant.output.quality) {
                return bad(at("output.quality"), "must be 1 to 100");
            }
            if let DefaultAvatar::Hash(h) = &tenant.default_avatar
                && !crate::avatar::AvatarHash::looks_like(h)
            {
                return bad(at("default_avatar.hash"), "must be a 32, 40 or 64 hex hash");
            }
        }
        Ok(())
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        match &mut self.storage {
            StorageConfig::Filesystem { path } => resolve(path),
            StorageConfig::S3(s3) => {
                for file in [&mut s3.access_key_id_file, &mut s3.secret_access_key_file]
                    .into_iter()
                    .flatten()
                {
                    resolve(file);
                }
            }
        }
        match &mut self.catalog {
            CatalogConfig::Sqlite { path } => resolve(path),
            CatalogConfig::Postgres { password_file, .. } => {
                if let Some(file) = password_file {
                    resolve(file);
                }
            }
        }
        if let Some(dir) = &mut self.plugins.cache_dir {
            resolve(dir);
        }
        for tenant in &mut self.tenants {
            if let DefaultAvatar::File(file) = &mut tenant.default_avatar {
                resolve(file);
            }
            let generator = match &mut tenant.default_avatar {
                DefaultAvatar::Generate(plugin) => Some(plugin),
                _ => None,
            };
            let plugins = [&mut tenant.auth, &mut tenant.transform]
                .into_iter()
                .chain(tenant.filters.iter_mut())
                .chain(generator);
            for plugin in plugins {
                if plugin.plugin.ends_with(".wasm") {
                    let mut p = PathBuf::from(&plugin.plugin);
                    resolve(&mut p);
                    plugin.plugin = p.to_string_lossy().into_owned();
                }
            }
        }
    }
}

/// Applies `AVATAR__A__B__C=value` as `a.b.c = value`: segments are lower-cased, a number
/// indexes an array. A value replacing a string stays a string; otherwise it is read as JSON
/// when it parses (numbers, booleans, objects) and as a string when not.
fn apply_env(root: &mut Value, env: impl IntoIterator<Item = (String, String)>) {
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("AVATAR__"))
        .collect();
    vars.sort();
    for (key, raw) in vars {
        let path: Vec<String> = key["AVATAR__".len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        if path.iter().any(String::is_empty) {
            continue;
        }
        set_path(root, &path, raw);
    }
}

/// Sets `path` under `node` to `raw`, creating objects on the way; an array index that does
/// not exist leaves the value unchanged.
fn set_path(node: &mut Value, path: &[String], raw: String) {
    let Some((segment, rest)) = path.split_first() else {
        *node = match node {
            Value::String(_) => Value::String(raw),
            _ => serde_json::from_str(&raw).unwrap_or(Value::String(raw)),
        };
        return;
    };
    let child = match node {
        Value::Array(items) => match segment.parse::<usize>() {
            Ok(i) if i < items.len() => &mut items[i],
            _ => return,
        },
        _ => {
            if !node.is_object() {
                *node = Value::Object(serde_json::Map::new());
            }
            node.as_object_mut()
                .expect("just made an object")
                .entry(segment.clone())
                .or_insert(Value::Null)
        }
    };
    set_path(child, rest, raw);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(json: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, json).unwrap();
        Config::load(
            &path,
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    const MINIMAL: &str = r#"{"tenants": [{"id": "default", "auth": {"plugin": "auth-jwt", "config": {"secret": "s"}}}]}"#;

    #[test]
    fn defaults() {
        let c = load(MINIMAL, &[]).unwrap();
        assert_eq!(c.listen, default_listen());
        assert_eq!(c.delivery, Delivery::Proxy);
        assert_eq!(c.limits.max_upload_bytes, 10 << 20);
        assert_eq!(c.limits.max_source_pixels, 50_000_000);
        let t = &c.tenants[0];
        assert_eq!(t.sizes["medium"], 256);
        assert_eq!(t.default_size, "medium");
        assert_eq!(t.default_avatar, DefaultAvatar::NotFound);
        assert_eq!(t.cache_max_age, 300);
        assert_eq!(t.transform.plugin, "transform-image");
        assert!(
            matches!(&c.storage, StorageConfig::Filesystem { path } if path.ends_with("data/images") && path.is_absolute())
        );
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (r#"{"tenants": [], "listen": "nope"}"#, "listen"),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}, "extra": 1}]}"#,
                "tenants[0]",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}, "default_avatar": "500"}]}"#,
                "tenants[0].default_avatar",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}, "default_size": "huge"}]}"#,
                "tenants[0].default_size",
            ),
            (
                r#"{"tenants": [{"id": "d e", "auth": {"plugin": "x"}}]}"#,
                "tenants[0].id",
            ),
            (
                r#"{"tenants": [], "storage": {"type": "floppy"}}"#,
                "storage",
            ),
            (r#"{"tenants": []}"#, "tenants"),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}, "sizes": {"big": 5000}}]}"#,
                "tenants[0].sizes.big",
            ),
        ];
        for (json, key) in cases {
            match load(json, &[]) {
                Err(ConfigError::Invalid { key: k, .. }) => {
                    assert!(k.starts_with(key), "{json}: {k}")
                }
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn environment_overrides_the_file() {
        let c = load(
            MINIMAL,
            &[
                ("AVATAR__LISTEN", "127.0.0.1:9999"),
                ("AVATAR__LIMITS__MAX_UPLOAD_BYTES", "1234"),
                ("AVATAR__TENANTS__0__AUTH__CONFIG__SECRET", "12345"),
                ("AVATAR__DELIVERY", "redirect"),
                ("OTHER", "ignored"),
            ],
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.limits.max_upload_bytes, 1234);
        assert_eq!(c.delivery, Delivery::Redirect);
        // A secret that looks like a number stays a string.
        assert_eq!(c.tenants[0].auth.settings()["secret"], "12345");
    }

    #[test]
    fn settings_are_strings() {
        let c = load(
            r#"{"tenants": [{"id": "d", "auth": {"plugin": "auth-jwt", "config": {"secret": "s", "leeway": 5, "strict": true}}}]}"#,
            &[],
        )
        .unwrap();
        let s = c.tenants[0].auth.settings();
        assert_eq!(s["leeway"], "5");
        assert_eq!(s["strict"], "true");
    }
}
