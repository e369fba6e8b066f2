//! Every default of the configuration's service-wide and tenant sections, in one place. (Each
//! backend's own section keeps its defaults beside it: `storage/config.rs`,
//! `catalog/config.rs`.) The README's configuration table quotes these.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::service::Rate;

/// `listen`.
pub fn listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// `shutdown_grace_ms`: how long in-flight requests may take to finish after `SIGTERM`.
pub fn shutdown_grace_ms() -> u64 {
    10_000
}

/// `connections.max`.
pub const MAX_CONNECTIONS: usize = 1000;
/// `connections.header_read_timeout_ms`.
pub const HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// `connections.max_header_bytes`.
pub const MAX_HEADER_BYTES: usize = 16 << 10;
/// `connections.body_read_timeout_ms`.
pub const BODY_READ_TIMEOUT_MS: u64 = 60_000;
/// The least `connections.max_header_bytes` may be (hyper's smallest read buffer).
pub const MIN_HEADER_BYTES: usize = 8 << 10;

/// `rate_limits.writes.per_client`: a person sets an avatar now and then; a script that
/// uploads for many users from one address should have its own key or be a trusted proxy.
pub const WRITES_PER_CLIENT: Rate = Rate {
    per_second: 1.0,
    burst: 30,
};
/// `rate_limits.writes.per_tenant`.
pub const WRITES_PER_TENANT: Rate = Rate {
    per_second: 100.0,
    burst: 200,
};
/// `rate_limits.renders.per_client`: a page of avatars at a size nobody stored renders each
/// once; the burst covers such a page.
pub const RENDERS_PER_CLIENT: Rate = Rate {
    per_second: 20.0,
    burst: 100,
};
/// `rate_limits.renders.per_tenant`.
pub const RENDERS_PER_TENANT: Rate = Rate {
    per_second: 500.0,
    burst: 1000,
};

/// `admin.listen`: loopback, beside the public listener's default port.
pub fn admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9090))
}

/// `limits.max_upload_bytes`: 10 MiB.
pub const MAX_UPLOAD_BYTES: u64 = 10 << 20;
/// `limits.max_source_pixels`.
pub const MAX_SOURCE_PIXELS: u64 = 50_000_000;
/// Bytes of plugin memory one source pixel may take while it is decoded and converted, at
/// most: 16-bit RGBA (8) and its 8-bit copy (4), with room for the decoders' own buffers
/// (a GIF's canvas and frame take about 10, measured). With the default memory cap of 256 MiB,
/// sources of up to 16.7 million pixels.
pub const DECODE_BYTES_PER_PIXEL: u64 = 16;
/// `limits.plugin_deadline_ms`.
pub const PLUGIN_DEADLINE_MS: u64 = 10_000;
/// `limits.plugin_memory_mib`.
pub const PLUGIN_MEMORY_MIB: u64 = 256;
/// `limits.plugin_output_mib`.
pub const PLUGIN_OUTPUT_MIB: u64 = 64;
/// The most `limits.plugin_memory_mib` may be, here or per tenant.
pub const MAX_PLUGIN_MEMORY_MIB: u64 = 4096;

/// `plugins.cache_dir`, relative to the config file.
pub fn plugin_cache_dir() -> PathBuf {
    PathBuf::from("data/plugin-cache")
}
/// `plugins.max_instances`.
pub const MAX_INSTANCES: u32 = 64;
/// `plugins.watch_interval_ms`.
pub const WATCH_INTERVAL_MS: u64 = 500;

/// `cache.max_records`.
pub const CACHE_MAX_RECORDS: usize = 100_000;
/// `cache.max_image_mib`.
pub const CACHE_MAX_IMAGE_MIB: u64 = 64;

/// `tenants[].sizes`: the presets, which are also the sides stored for every upload.
pub fn sizes() -> BTreeMap<String, u32> {
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
/// `tenants[].default_size`.
pub fn default_size() -> String {
    "medium".into()
}
/// `tenants[].cache_max_age`, seconds.
pub const CACHE_MAX_AGE: u64 = 300;
/// `tenants[].output.quality`.
pub const QUALITY: u8 = 85;
/// `tenants[].transform.plugin`.
pub const TRANSFORM_PLUGIN: &str = "transform-image";
/// `tenants[].cors_origins`: any origin.
pub fn cors_origins() -> Vec<String> {
    vec!["*".into()]
}

/// `traces.service_name`, when neither the file nor `OTEL_SERVICE_NAME` names one.
pub const TRACE_SERVICE_NAME: &str = "avatar";
/// `traces.sample_ratio`: every trace.
pub const TRACE_SAMPLE_RATIO: f64 = 1.0;
