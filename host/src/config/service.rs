//! The service-wide sections of the configuration: delivery, limits, the plugin runtime and
//! the in-memory cache. Defaults come from [`super::defaults`].

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::defaults;
use super::secret::{SecretError, read_secret_file};
use super::tenant::TenantLimits;

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

impl Delivery {
    /// The name the configuration uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Proxy => "proxy",
            Self::Redirect => "redirect",
        }
    }
}

/// Limits that protect the service; a tenant's own `limits` override them field by field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest upload body, in bytes; larger ones get `413` while being read. Default 10 MiB.
    pub max_upload_bytes: u64,
    /// Most source pixels (`width * height`) an upload may declare. Default 50 000 000; the
    /// limit applied is at most what the plugin memory cap can decode, see
    /// [`Limits::decodable_pixels`].
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
            max_upload_bytes: defaults::MAX_UPLOAD_BYTES,
            max_source_pixels: defaults::MAX_SOURCE_PIXELS,
            plugin_deadline_ms: defaults::PLUGIN_DEADLINE_MS,
            plugin_memory_mib: defaults::PLUGIN_MEMORY_MIB,
            plugin_output_mib: defaults::PLUGIN_OUTPUT_MIB,
        }
    }
}

impl Limits {
    /// The most source pixels an upload may declare: `max_source_pixels`, or fewer when the
    /// plugin memory cap could not hold them decoded. A picture that fits the pixel limit but
    /// not the memory would fail in the plugin on the server's side, and a client could send
    /// such forged headers (a 35-byte GIF declaring 7000x7000) until the tenant's breaker
    /// suspends it for everyone; refused by the pixel check, it is the client's `422`.
    pub fn decodable_pixels(&self) -> u64 {
        let memory = self.plugin_memory_mib.saturating_mul(1 << 20);
        self.max_source_pixels
            .min(memory / defaults::DECODE_BYTES_PER_PIXEL)
    }

    /// These limits with a tenant's overrides applied.
    pub fn for_tenant(&self, tenant: &TenantLimits) -> Self {
        Self {
            max_upload_bytes: tenant.max_upload_bytes.unwrap_or(self.max_upload_bytes),
            max_source_pixels: tenant.max_source_pixels.unwrap_or(self.max_source_pixels),
            plugin_deadline_ms: tenant.plugin_deadline_ms.unwrap_or(self.plugin_deadline_ms),
            plugin_memory_mib: tenant.plugin_memory_mib.unwrap_or(self.plugin_memory_mib),
            plugin_output_mib: self.plugin_output_mib,
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
    /// How often a running server checks its configuration file and the `.wasm` and image
    /// files it names for changes that file-system events may have missed, in milliseconds;
    /// a change reloads the tenants and their plugins without a restart (so does `SIGHUP`).
    /// Default 500; 0 turns watching off.
    pub watch_interval_ms: u64,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            cache_dir: Some(defaults::plugin_cache_dir()),
            max_instances: defaults::MAX_INSTANCES,
            watch_interval_ms: defaults::WATCH_INTERVAL_MS,
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
            max_records: defaults::CACHE_MAX_RECORDS,
            max_image_mib: defaults::CACHE_MAX_IMAGE_MIB,
        }
    }
}

impl CacheConfig {
    /// The image cache's capacity in bytes.
    pub fn max_image_bytes(&self) -> usize {
        usize::try_from(self.max_image_mib << 20).unwrap_or(usize::MAX)
    }
}

/// The admin surface: `/_status` and `/metrics`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Where the admin listener binds; `null` for none. Keep it off the public network.
    /// Default `127.0.0.1:9090`.
    pub listen: Option<SocketAddr>,
    /// A token that also opens the admin routes on the main listener, sent as
    /// `Authorization: Bearer`. Default none: there they are `404`.
    pub token: Option<String>,
    /// The same, read from a file (its final line break ignored).
    pub token_file: Option<PathBuf>,
    /// Whether metrics are recorded (and `/metrics` answers). Default `true`.
    pub metrics: bool,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: Some(defaults::admin_listen()),
            token: None,
            token_file: None,
            metrics: true,
        }
    }
}

impl AdminConfig {
    /// The admin token, from `token` or `token_file`.
    pub fn token(&self) -> Result<Option<String>, SecretError> {
        match (&self.token, &self.token_file) {
            (Some(token), _) => Ok(Some(token.clone())),
            (None, Some(path)) => read_secret_file(path).map(Some),
            (None, None) => Ok(None),
        }
    }
}

/// Limits on the listeners' connections, against clients that hold them open.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionsConfig {
    /// Connections served at once per listener; more wait in the listen queue. Keep it
    /// below the process's file descriptor limit. Default 1000.
    pub max: usize,
    /// How long a client may take to send a request's head, from the connection's start or
    /// the previous answer, in milliseconds; an idle keep-alive connection is closed then
    /// too. Default 10 000.
    pub header_read_timeout_ms: u64,
    /// The largest request head (request line and headers), in bytes; `431` beyond it.
    /// At least 8192. Default 16384.
    pub max_header_bytes: usize,
    /// How long a client may take to send an upload's whole body once its head is in, in
    /// milliseconds; `408` beyond it, and the connection is closed. Default 60 000.
    pub body_read_timeout_ms: u64,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        Self {
            max: defaults::MAX_CONNECTIONS,
            header_read_timeout_ms: defaults::HEADER_READ_TIMEOUT_MS,
            max_header_bytes: defaults::MAX_HEADER_BYTES,
            body_read_timeout_ms: defaults::BODY_READ_TIMEOUT_MS,
        }
    }
}

/// Rate limits: token buckets on writes (uploads, deletes) and on renders (the plugin jobs a
/// read starts: a size or format nobody stored, a generated default). Reads answered from
/// what is stored or cached are not limited.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitsConfig {
    /// Peers (addresses or CIDR blocks) whose `X-Forwarded-For` names the client: the
    /// client is the last address in it that is not itself a trusted proxy. Default none:
    /// the client is the connection's peer.
    pub trusted_proxies: Vec<TrustedProxy>,
    pub writes: WriteRates,
    pub renders: RenderRates,
}

/// A token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

/// The buckets of uploads and deletes; `null` turns one off.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WriteRates {
    /// Per client address (IPv6 by its /64). Default 1 per second, bursts of 30.
    pub per_client: Option<Rate>,
    /// Per tenant. Default 100 per second, bursts of 200.
    pub per_tenant: Option<Rate>,
}

impl Default for WriteRates {
    fn default() -> Self {
        Self {
            per_client: Some(defaults::WRITES_PER_CLIENT),
            per_tenant: Some(defaults::WRITES_PER_TENANT),
        }
    }
}

/// The buckets of renders; `null` turns one off.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RenderRates {
    /// Per client address (IPv6 by its /64). Default 20 per second, bursts of 100.
    pub per_client: Option<Rate>,
    /// Per tenant. Default 500 per second, bursts of 1000.
    pub per_tenant: Option<Rate>,
}

impl Default for RenderRates {
    fn default() -> Self {
        Self {
            per_client: Some(defaults::RENDERS_PER_CLIENT),
            per_tenant: Some(defaults::RENDERS_PER_TENANT),
        }
    }
}

/// A trusted proxy: an address (`10.0.0.7`) or a block (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy(pub ipnet::IpNet);

impl<'de> Deserialize<'de> for TrustedProxy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let text = text.trim();
        text.parse::<ipnet::IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map(|net| Self(net.trunc()))
            .map_err(|_| {
                serde::de::Error::custom(format!("{text:?} is no IP address or CIDR block"))
            })
    }
}

/// The log lines the server writes to stderr; `RUST_LOG` chooses which (default `info`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text`: a line for people; `json`: one JSON object per line, with the request's
    /// fields at the top level and its span's under `span`. Default `text`.
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Traces: the spans the server makes (a request, and inside it the catalog's and the
/// store's operations), exported over OTLP/HTTP. Off unless an endpoint is named here or in
/// `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TracesConfig {
    /// The OTLP/HTTP receiver, such as `http://127.0.0.1:4318`; `/v1/traces` is added unless
    /// the URL ends with it. Default `null`: the `OTEL_EXPORTER_OTLP_…` variables decide.
    pub otlp_endpoint: Option<String>,
    /// The exported spans' `service.name`. Default `null`: `OTEL_SERVICE_NAME`, else
    /// `avatar`.
    pub service_name: Option<String>,
    /// The share of traces starting here that are exported, 0 to 1; a request whose
    /// `traceparent` says whether its caller samples follows the caller. Default 1.
    pub sample_ratio: f64,
}

impl Default for TracesConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: None,
            sample_ratio: defaults::TRACE_SAMPLE_RATIO,
        }
    }
}
