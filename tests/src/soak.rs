//! The soak: a bounded run of mixed traffic against a running test server with two tenants
//! (reads at named and pixel sizes, conditional reads, uploads, replaces, deletes, unknown
//! hashes, bad tokens and bad images), each answer checked against what the driver knows
//! exists, and the server's resident memory sampled every second. [`run`] returns a
//! [`Report`]; `tests/tests/ops_soak.rs` runs it short in CI, `tests/examples/soak.rs`
//! (through `scripts/soak.sh`) long on both backends.
//!
//! Each client thread owns a range of hashes at both tenants, so its model of which avatars
//! exist (and which ETag each answer had) is exact however the threads interleave.
//!
//! The mix and the model are in `mix`, sending and judging one request in `check`, the
//! report and its summary in `report`.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::{Builder, TestServer};

mod check;
mod mix;
mod report;

pub use mix::Kind;
pub use report::{CacheFill, Report, RssSample, Tally};

use mix::{EXAMPLES_KEPT, Worker};

/// The second tenant of a soak server, at `/t/soak-b/`, with the first one's auth.
pub const SECOND_TENANT: &str = "soak-b";
/// The most requests of one run, whatever its duration.
pub const MAX_REQUESTS: u64 = 2_000_000;
/// How often the server's resident memory is read.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// Catalog rows the soak server keeps in memory: fewer than the avatars the clients keep.
pub const CACHE_RECORDS: u64 = 128;
/// MiB of images the soak server keeps in memory.
pub const CACHE_IMAGE_MIB: u64 = 1;

/// A server for `options`' soak: the defaults plus the tenant [`SECOND_TENANT`], with
///
/// - small in-memory caches ([`CACHE_RECORDS`], [`CACHE_IMAGE_MIB`]), full within the
///   warm-up: the default ones (100,000 rows, 64 MiB) take many minutes of this mix to fill
///   (every replace adds a version's images, every unknown hash a row), and memory growing
///   as they fill to their bounds would hide a leak or pass for one;
/// - each tenant running as many plugin jobs at once as half the client threads. A tenant
///   refuses an upload at once (`503 tenant-busy`) while all its job slots are taken and as
///   many jobs again wait; the soak checks answers, not load shedding, so its clients never
///   fill both (with the default of one job per tenant on a 2-core machine, three would).
pub fn builder(options: &Options) -> Builder {
    let jobs = options.threads.div_ceil(2).max(1);
    TestServer::builder()
        .cache(CACHE_RECORDS, CACHE_IMAGE_MIB)
        .configure(move |config: &mut Value| {
            let auth = config["tenants"][0]["auth"].clone();
            let tenants = config["tenants"].as_array_mut().expect("tenants");
            tenants.push(json!({"id": SECOND_TENANT, "auth": auth}));
            for tenant in tenants {
                tenant["limits"]["max_concurrent_jobs"] = json!(jobs);
            }
        })
}

/// How long and how hard a soak runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub duration: Duration,
    /// Client threads, each with its own hashes.
    pub threads: usize,
    pub max_requests: u64,
}

impl Options {
    /// `duration` with four client threads and [`MAX_REQUESTS`].
    pub fn new(duration: Duration) -> Self {
        Self {
            duration,
            threads: 4,
            max_requests: MAX_REQUESTS,
        }
    }

    /// The first fifth of the run, at least two seconds: caches fill, code pages come in.
    pub fn warmup(&self) -> Duration {
        (self.duration / 5).max(Duration::from_secs(2))
    }
}

/// The length of a run in seconds from environment variable `var`, else `default`.
pub fn seconds_from_env(var: &str, default: u64) -> Duration {
    let seconds = match std::env::var(var) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{var}={text:?} is not a number of seconds")),
        Err(_) => default,
    };
    Duration::from_secs(seconds)
}

/// The server's resident memory in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The fill of the server's caches, from `/_status` on its admin listener.
fn cache_fill(server: &TestServer) -> Option<CacheFill> {
    server.admin_url.as_ref()?;
    let reply = server.admin_get("/_status");
    let status: Value = serde_json::from_slice(&reply.body).ok()?;
    let cache = &status["cache"];
    Some(CacheFill {
        image_bytes: cache["image_bytes"].as_u64()?,
        images: cache["images"].as_u64()?,
        records: cache["records"].as_u64()?,
    })
}

/// Runs the soak against `server` (made with [`builder`]) until `options.duration` has
/// passed or `options.max_requests` were sent.
pub fn run(server: &TestServer, options: &Options) -> Report {
    let pid = server.pid();
    let started = Instant::now();
    let deadline = started + options.duration;
    let sent = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let rss = Mutex::new(Vec::new());
    let sample = || {
        if let Some(kib) = resident_kib(pid) {
            let at = started.elapsed();
            rss.lock().expect("samples").push(RssSample {
                at,
                kib,
                cache: cache_fill(server),
            });
        }
    };
    sample();
    let workers: Vec<Worker> = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut next = started + SAMPLE_EVERY;
            while !done.load(Ordering::Relaxed) {
                if Instant::now() >= next {
                    sample();
                    next += SAMPLE_EVERY;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let handles: Vec<_> = (0..options.threads)
            .map(|thread| {
                let sent = &sent;
                scope.spawn(move || {
                    let mut worker = Worker::new(server, thread);
                    let outcome = catch_unwind(AssertUnwindSafe(|| {
                        while Instant::now() < deadline
                            && sent.fetch_add(1, Ordering::Relaxed) < options.max_requests
                        {
                            worker.step();
                        }
                    }));
                    if let Err(panic) = outcome {
                        let message = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                            .unwrap_or_default();
                        worker.note_panic(&message);
                    }
                    worker
                })
            })
            .collect();
        let workers = handles
            .into_iter()
            .map(|h| h.join().expect("a worker's panics are caught"))
            .collect();
        done.store(true, Ordering::Relaxed);
        workers
    });
    let elapsed = started.elapsed();
    sample();
    let mut kinds: BTreeMap<Kind, Tally> = BTreeMap::new();
    let mut examples = Vec::new();
    for worker in workers {
        for (kind, tally) in worker.tallies {
            kinds.entry(kind).or_default().merge(tally);
        }
        examples.extend(worker.examples);
    }
    examples.truncate(EXAMPLES_KEPT);
    let backend = match server.storage_kind() {
        "s3" => "PostgreSQL + Garage (S3)",
        _ => "the embedded backends (directory + SQLite)",
    };
    Report {
        backend: backend.to_owned(),
        threads: options.threads,
        elapsed,
        warmup: options.warmup(),
        kinds,
        examples,
        rss: rss.into_inner().expect("samples"),
    }
}
