//! The service's metrics: every name, label set and histogram bucket in one place, the
//! functions the rest of the host calls to record them, and the Prometheus recorder whose
//! text `/metrics` serves on the admin surface.
//!
//! Labels are bounded: route templates (never a raw path or hash), methods, status classes,
//! the configured tenants and plugins, and fixed outcome words. Recording before
//! [`install`] (or with `admin.metrics` off) goes nowhere and costs a few nanoseconds.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Histogram, counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, by route template, method, status class and tenant.
pub const HTTP_REQUESTS: &str = "avatar_http_requests_total";
/// Time from a request's arrival to its answer's head, by route, method and tenant.
pub const HTTP_DURATION: &str = "avatar_http_request_duration_seconds";
/// Plugin calls, by tenant, role, plugin and outcome.
pub const PLUGIN_CALLS: &str = "avatar_plugin_calls_total";
/// Plugin call durations, by tenant, role and plugin.
pub const PLUGIN_DURATION: &str = "avatar_plugin_call_duration_seconds";
/// Plugin jobs running, per tenant.
pub const JOBS_RUNNING: &str = "avatar_plugin_jobs_running";
/// Plugin jobs waiting for a slot, per tenant.
pub const JOBS_WAITING: &str = "avatar_plugin_jobs_waiting";
/// Times a tenant's breaker opened (its plugin jobs refused for a while).
pub const SUSPENSIONS: &str = "avatar_tenant_suspensions_total";
/// Look-ups in the in-memory caches, by cache (`records`, `images`) and result.
pub const CACHE_LOOKUPS: &str = "avatar_cache_lookups_total";
/// Blob store operations, by operation, backend and outcome.
pub const STORAGE_OPS: &str = "avatar_storage_operations_total";
/// Blob store operation durations, by operation and backend.
pub const STORAGE_DURATION: &str = "avatar_storage_operation_duration_seconds";
/// Catalog operations, by operation, backend and outcome.
pub const CATALOG_OPS: &str = "avatar_catalog_operations_total";
/// Catalog operation durations, by operation and backend.
pub const CATALOG_DURATION: &str = "avatar_catalog_operation_duration_seconds";
/// Avatars stored (uploads and replaces), per tenant.
pub const UPLOADS: &str = "avatar_uploads_total";
/// Avatars deleted, per tenant.
pub const DELETES: &str = "avatar_deletes_total";
/// Sizes or formats rendered on demand, per tenant and format.
pub const RENDERS: &str = "avatar_renders_total";
/// Requests refused by a rate limit, by tenant, action (`write`, `render`) and bucket
/// (`client`, `tenant`).
pub const RATE_LIMITED: &str = "avatar_rate_limited_total";
/// Configuration reloads, by outcome.
pub const RELOADS: &str = "avatar_reloads_total";
/// Always 1, labelled with the version.
pub const BUILD_INFO: &str = "avatar_build_info";

/// Buckets of the duration histograms, in seconds: from a cached read to a plugin's deadline.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into their buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle) and sets
/// the build info.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .expect("the buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Histogram samples wait in buffers until upkeep folds them into the buckets; a
            // server that is never scraped must not keep every sample.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                })
                .expect("starting the metrics upkeep thread");
            // Another recorder already installed (a test harness's) keeps recording; the
            // handle then renders nothing, which the metrics test would notice.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            handle
        })
        .clone()
}

/// The `HELP` lines.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered");
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request time to the answer's head"
    );
    describe_counter!(PLUGIN_CALLS, "Plugin calls, by outcome");
    describe_histogram!(PLUGIN_DURATION, Unit::Seconds, "Plugin call durations");
    describe_gauge!(JOBS_RUNNING, "Plugin jobs running");
    describe_gauge!(JOBS_WAITING, "Plugin jobs waiting for a slot");
    describe_counter!(SUSPENSIONS, "Times a tenant's plugin jobs were suspended");
    describe_counter!(CACHE_LOOKUPS, "In-memory cache look-ups, by result");
    describe_counter!(STORAGE_OPS, "Blob store operations, by outcome");
    describe_histogram!(
        STORAGE_DURATION,
        Unit::Seconds,
        "Blob store operation durations"
    );
    describe_counter!(CATALOG_OPS, "Catalog operations, by outcome");
    describe_histogram!(
        CATALOG_DURATION,
        Unit::Seconds,
        "Catalog operation durations"
    );
    describe_counter!(UPLOADS, "Avatars stored");
    describe_counter!(DELETES, "Avatars deleted");
    describe_counter!(RENDERS, "Sizes or formats rendered on demand");
    describe_counter!(RELOADS, "Configuration reloads, by outcome");
    describe_gauge!(BUILD_INFO, "Always 1, labelled with the version");
}

/// `/metrics`: the Prometheus text of everything recorded so far, or `None` when metrics
/// are off.
pub fn render() -> Option<String> {
    HANDLE.get().map(PrometheusHandle::render)
}

/// `2xx`, `4xx`, ...
fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// A request answered. This runs for every request, so the counter and histogram handles of
/// each label set are kept per thread: looking them up in the recorder builds and hashes a
/// key, which cost more than the rest of a cached read's metrics together.
pub fn request(
    route: &'static str,
    method: &'static str,
    status: u16,
    tenant: &str,
    took: Duration,
) {
    type Handles =
        HashMap<(&'static str, &'static str, &'static str), HashMap<String, (Counter, Histogram)>>;
    thread_local! {
        static HANDLES: RefCell<Handles> = RefCell::new(HashMap::new());
    }
    let class = status_class(status);
    HANDLES.with(|handles| {
        let mut handles = handles.borrow_mut();
        let by_tenant = handles.entry((route, method, class)).or_default();
        if !by_tenant.contains_key(tenant) {
            let counter = counter!(HTTP_REQUESTS, "route" => route, "method" => method, "status" => class, "tenant" => tenant.to_owned());
            let histogram = histogram!(HTTP_DURATION, "route" => route, "method" => method, "tenant" => tenant.to_owned());
            by_tenant.insert(tenant.to_owned(), (counter, histogram));
        }
        let (counter, histogram) = &by_tenant[tenant];
        counter.increment(1);
        histogram.record(took.as_secs_f64());
    });
}

/// A plugin call's outcome word.
pub fn plugin_call(
    tenant: &str,
    role: &'static str,
    plugin: &str,
    outcome: &'static str,
    took: Duration,
) {
    let (tenant, plugin) = (tenant.to_owned(), plugin.to_owned());
    counter!(PLUGIN_CALLS, "tenant" => tenant.clone(), "role" => role, "plugin" => plugin.clone(), "outcome" => outcome)
        .increment(1);
    histogram!(PLUGIN_DURATION, "tenant" => tenant, "role" => role, "plugin" => plugin)
        .record(took.as_secs_f64());
}

/// A change of `tenant`'s running (`waiting == false`) or waiting jobs by `delta`.
pub fn jobs(tenant: &str, waiting: bool, delta: f64) {
    let name = if waiting { JOBS_WAITING } else { JOBS_RUNNING };
    gauge!(name, "tenant" => tenant.to_owned()).increment(delta);
}

/// `tenant`'s breaker opened.
pub fn suspended(tenant: &str) {
    counter!(SUSPENSIONS, "tenant" => tenant.to_owned()).increment(1);
}

/// A look-up in `cache` (`records` or `images`). Every read makes one or two, so the four
/// counters are made once.
pub fn cache_lookup(cache: &'static str, hit: bool) {
    static HANDLES: OnceLock<[Counter; 4]> = OnceLock::new();
    let handles = HANDLES.get_or_init(|| {
        [
            ("records", "hit"),
            ("records", "miss"),
            ("images", "hit"),
            ("images", "miss"),
        ]
        .map(|(cache, result)| counter!(CACHE_LOOKUPS, "cache" => cache, "result" => result))
    });
    let index = usize::from(cache == "images") * 2 + usize::from(!hit);
    handles[index].increment(1);
}

/// A blob store operation.
pub fn storage_op(operation: &'static str, backend: &'static str, ok: bool, took: Duration) {
    backend_op(
        [STORAGE_OPS, STORAGE_DURATION],
        operation,
        backend,
        ok,
        took,
    );
}

/// A catalog operation.
pub fn catalog_op(operation: &'static str, backend: &'static str, ok: bool, took: Duration) {
    backend_op(
        [CATALOG_OPS, CATALOG_DURATION],
        operation,
        backend,
        ok,
        took,
    );
}

/// A backend operation, counted under `names[0]` and timed under `names[1]`. With the caches
/// off every read makes two, so the handles are kept per thread, as for requests.
fn backend_op(
    names: [&'static str; 2],
    operation: &'static str,
    backend: &'static str,
    ok: bool,
    took: Duration,
) {
    type Handles = HashMap<(&'static str, &'static str, &'static str, bool), (Counter, Histogram)>;
    thread_local! {
        static HANDLES: RefCell<Handles> = RefCell::new(HashMap::new());
    }
    let [total, duration] = names;
    HANDLES.with(|handles| {
        let mut handles = handles.borrow_mut();
        let (counter, histogram) = handles
            .entry((total, operation, backend, ok))
            .or_insert_with(|| {
                (
                    counter!(total, "operation" => operation, "backend" => backend, "outcome" => outcome(ok)),
                    histogram!(duration, "operation" => operation, "backend" => backend),
                )
            });
        counter.increment(1);
        histogram.record(took.as_secs_f64());
    });
}

fn outcome(ok: bool) -> &'static str {
    if ok { "ok" } else { "error" }
}

/// An avatar stored for `tenant`.
pub fn uploaded(tenant: &str) {
    counter!(UPLOADS, "tenant" => tenant.to_owned()).increment(1);
}

/// An avatar deleted for `tenant`.
pub fn deleted(tenant: &str) {
    counter!(DELETES, "tenant" => tenant.to_owned()).increment(1);
}

/// A size or format rendered on demand for `tenant`.
pub fn rendered(tenant: &str, format: &'static str) {
    counter!(RENDERS, "tenant" => tenant.to_owned(), "format" => format).increment(1);
}

/// A request of `tenant` refused by its `action`'s `bucket`.
pub fn rate_limited(tenant: &str, action: &'static str, bucket: &'static str) {
    counter!(RATE_LIMITED, "tenant" => tenant.to_owned(), "action" => action, "bucket" => bucket)
        .increment(1);
}

/// A configuration reload, applied or refused.
pub fn reloaded(ok: bool) {
    counter!(RELOADS, "outcome" => if ok { "applied" } else { "refused" }).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(304), "3xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(101), "1xx");
    }
}
