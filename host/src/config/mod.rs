//! The configuration: a JSON file, then `AVATAR__SECTION__KEY` environment variables on top
//! (`env.rs`), checked (`validate.rs`). The service-wide sections are in `service.rs`, a
//! tenant's in `tenant.rs`, each backend's in its own module (`storage::config`,
//! `catalog::config`); defaults in `defaults.rs`. Secrets (plugin settings, passwords) are
//! never logged.

pub mod defaults;
mod env;
pub mod secret;
mod service;
mod tenant;
mod validate;

pub(crate) use validate::is_http_url;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

pub use service::{
    AdminConfig, CacheConfig, ConnectionsConfig, Delivery, Limits, LogConfig, LogFormat,
    PluginsConfig, Rate, RateLimitsConfig, RenderRates, TracesConfig, TrustedProxy, WriteRates,
};
pub use tenant::{
    DefaultAvatar, OutputConfig, OutputFormat, PluginRef, TenantConfig, TenantLimits, origin_of,
};

use crate::catalog::CatalogConfig;
use crate::storage::StorageConfig;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Default `127.0.0.1:8080`.
    #[serde(default = "defaults::listen")]
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
    /// Size and time limits. Defaults in `service.rs`.
    #[serde(default)]
    pub limits: Limits,
    /// The plugin runtime. Defaults in `service.rs`.
    #[serde(default)]
    pub plugins: PluginsConfig,
    /// The in-memory cache of catalog rows and hot images. Defaults in `service.rs`.
    #[serde(default)]
    pub cache: CacheConfig,
    /// After `SIGTERM` or `SIGINT`, how long requests in flight may take to finish before
    /// their connections are closed, in milliseconds. Default 10 000.
    #[serde(default = "defaults::shutdown_grace_ms")]
    pub shutdown_grace_ms: u64,
    /// Limits on the listeners' connections. Defaults in `service.rs`.
    #[serde(default)]
    pub connections: ConnectionsConfig,
    /// The admin surface (`/_status`, `/metrics`). Defaults in `service.rs`.
    #[serde(default)]
    pub admin: AdminConfig,
    /// Rate limits on writes and renders. Defaults in `defaults.rs`.
    #[serde(default)]
    pub rate_limits: RateLimitsConfig,
    /// Log lines: `{"format": "text"}` (the default) or `"json"`.
    #[serde(default)]
    pub log: LogConfig,
    /// Trace export over OTLP/HTTP; off by default. Defaults in `service.rs`.
    #[serde(default)]
    pub traces: TracesConfig,
    /// The tenants; at least one. The first is the default tenant unless one says
    /// `"default": true`.
    pub tenants: Vec<TenantConfig>,
    /// The file this configuration was loaded from (set by [`Config::load`]), which a running
    /// server watches and reloads.
    #[serde(skip)]
    pub source: Option<PathBuf>,
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
        env::apply_env(&mut value, env);
        let mut config: Config =
            serde_path_to_error::deserialize(value).map_err(|e| ConfigError::Invalid {
                file: path.to_owned(),
                key: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        validate::validate(&config).map_err(|(key, message)| ConfigError::Invalid {
            file: path.to_owned(),
            key,
            message,
        })?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        config.source = Some(path.to_owned());
        Ok(config)
    }

    /// The base URL for absolute links, without a trailing `/`.
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    fn resolve_paths(&mut self, base: &Path) {
        self.storage.resolve_paths(base);
        self.catalog.resolve_paths(base);
        for path in [&mut self.plugins.cache_dir, &mut self.admin.token_file]
            .into_iter()
            .flatten()
        {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
        for tenant in &mut self.tenants {
            tenant.resolve_paths(base);
        }
    }
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
        assert_eq!(c.listen, defaults::listen());
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
        assert_eq!(c.log.format, LogFormat::Text);
        assert_eq!(c.traces.otlp_endpoint, None);
        assert_eq!(c.traces.sample_ratio, 1.0);
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
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}}], "connections": {"max_header_bytes": 4096}}"#,
                "connections.max_header_bytes",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}}], "connections": {"max": 0}}"#,
                "connections.max",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}}], "admin": {"listen": "nowhere"}}"#,
                "admin",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}}], "connections": {"body_read_timeout_ms": 0}}"#,
                "connections.body_read_timeout_ms",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}}], "rate_limits": {"writes": {"per_client": {"per_second": 0, "burst": 5}}}}"#,
                "rate_limits.writes.per_client.per_second",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}}], "rate_limits": {"renders": {"per_tenant": {"per_second": 5, "burst": 0}}}}"#,
                "rate_limits.renders.per_tenant.burst",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}}], "rate_limits": {"trusted_proxies": ["10.0.0.0/33"]}}"#,
                "rate_limits",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}}], "log": {"format": "xml"}}"#,
                "log.format",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}}], "traces": {"sample_ratio": 1.5}}"#,
                "traces.sample_ratio",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}}], "traces": {"otlp_endpoint": "collector:4318"}}"#,
                "traces.otlp_endpoint",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}}], "traces": {"endpoint": "http://c:4318"}}"#,
                "traces",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}, "cors_origins": ["https://a.test", "https://b.test/path"]}]}"#,
                "tenants[0].cors_origins[1]",
            ),
            (
                r#"{"tenants": [{"id": "d", "auth": {"plugin": "x"}, "cors_origins": ["app.test"]}]}"#,
                "tenants[0].cors_origins[0]",
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

    /// A JSON value of any shape, a few levels deep.
    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any value at any of the configuration's keys is loaded or refused with the key
        /// named, never a panic.
        #[test]
        fn any_value_at_any_key_is_loaded_or_named(
            key in proptest::sample::select(vec![
                "listen", "public_url", "delivery", "limits", "limits.max_upload_bytes",
                "limits.plugin_memory_mib", "cache", "cache.max_image_mib", "connections",
                "connections.max", "connections.body_read_timeout_ms", "admin", "admin.listen",
                "rate_limits", "rate_limits.trusted_proxies", "rate_limits.writes.per_client",
                "rate_limits.renders.per_tenant.per_second", "shutdown_grace_ms", "storage",
                "catalog", "tenants", "tenants.0", "tenants.0.id", "tenants.0.sizes",
                "tenants.0.default_avatar", "tenants.0.limits", "tenants.0.hosts",
            ]),
            value in any_json(),
        ) {
            let mut config: Value = serde_json::from_str(MINIMAL).unwrap();
            let mut at = &mut config;
            let parts: Vec<&str> = key.split('.').collect();
            for part in &parts {
                at = match part.parse::<usize>() {
                    // Only `tenants.0`, which MINIMAL has.
                    Ok(i) => &mut at[i],
                    Err(_) => {
                        if at[*part].is_null() {
                            at[*part] = serde_json::json!({});
                        }
                        &mut at[*part]
                    }
                };
            }
            *at = value;
            match load(&config.to_string(), &[]) {
                Ok(_) => {}
                // The key named is the one changed, or within it.
                Err(ConfigError::Invalid { key: named, .. }) => proptest::prop_assert!(
                    named.starts_with(parts[0]),
                    "changing {key} was refused at {named:?}"
                ),
                Err(other) => proptest::prop_assert!(false, "{other}"),
            }
        }
    }
}
