//! The service's caches through their public API only (so the same file measures any version
//! of `avatar_host::cache`): hit rates under a skewed read mix where every miss inserts, as
//! the service does, and the throughput of cached reads from one and two threads.
//!
//! `cargo bench -p avatar-host --bench cache` (the full run takes about a minute);
//! `-- --quick` runs a tenth of the work, for a smoke test.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use avatar_host::cache::Cache;
use bytes::Bytes;

const TENANT: &str = "default";
/// Zipf exponents of the read mixes: 0.99 is YCSB's default; 0.8 is a flatter, harder mix.
const EXPONENTS: [f64; 2] = [0.99, 0.8];
/// Rounds of each throughput measurement; the median is reported.
const ROUNDS: usize = 7;

/// Draws ranks 0..n with probability proportional to 1 / (rank + 1)^s, by inverse transform
/// over the exact cumulative distribution.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|k| {
                total += 1.0 / (k as f64).powf(s);
                total
            })
            .collect::<Vec<_>>();
        let cumulative = cumulative.into_iter().map(|c| c / total).collect();
        Self { cumulative }
    }

    fn sample(&self, rng: &mut fastrand::Rng) -> usize {
        let u = rng.f64();
        self.cumulative
            .partition_point(|&c| c < u)
            .min(self.cumulative.len() - 1)
    }
}

/// A hash-like name for key number `i`: rank and name are unrelated, as with real hashes.
fn hash(i: usize) -> String {
    format!("{:040x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Fraction of look-ups answered by the record cache (capacity `capacity` records) over
/// `keys` distinct avatars; a miss stores the look-up, as `Service::find` does.
fn record_hit_rate(capacity: usize, keys: usize, s: f64, warm: usize, measured: usize) -> f64 {
    let cache = Cache::new(capacity, 0);
    let names: Vec<String> = (0..keys).map(hash).collect();
    let zipf = Zipf::new(keys, s);
    let mut rng = fastrand::Rng::with_seed(1);
    let mut hits = 0usize;
    for i in 0..warm + measured {
        let name = &names[zipf.sample(&mut rng)];
        if cache.record(TENANT, name).is_some() {
            hits += usize::from(i >= warm);
        } else {
            let generation = cache.generation();
            cache.put_record(generation, TENANT, name, None);
        }
    }
    hits as f64 / measured as f64
}

/// Hit rate on a hot set of `hot` records read half the time, the other half being keys
/// never seen before (a crawler, or a mailing list's worth of new addresses): the workload
/// where first-in-first-out eviction drops hot avatars as soon as enough new ones arrive.
fn record_hit_rate_with_scan(capacity: usize, hot: usize, warm: usize, measured: usize) -> f64 {
    let cache = Cache::new(capacity, 0);
    let names: Vec<String> = (0..hot).map(hash).collect();
    let mut rng = fastrand::Rng::with_seed(3);
    let (mut hits, mut hot_reads) = (0usize, 0usize);
    for i in 0..warm + measured {
        let counted = i >= warm;
        if rng.bool() {
            let name = &names[rng.usize(..hot)];
            hot_reads += usize::from(counted);
            if cache.record(TENANT, name).is_some() {
                hits += usize::from(counted);
                continue;
            }
            cache.put_record(cache.generation(), TENANT, name, None);
        } else {
            let name = hash(hot + i);
            if cache.record(TENANT, &name).is_none() {
                cache.put_record(cache.generation(), TENANT, &name, None);
            }
        }
    }
    hits as f64 / hot_reads as f64
}

/// Image sizes from 2 to 64 KiB, spread log-uniformly and fixed per key, like resized
/// avatars of different sizes and formats.
fn image_len(i: usize) -> usize {
    let mut rng = fastrand::Rng::with_seed(i as u64);
    (2048.0 * 32f64.powf(rng.f64())) as usize
}

/// Byte hit rate of the image cache (`capacity` bytes) over `keys` images: the share of
/// requested bytes served from the cache. A miss stores the image when `admits_image` says
/// it would be kept, as `Service::read` does.
fn image_hit_rate(capacity: usize, keys: usize, s: f64, warm: usize, measured: usize) -> f64 {
    let cache = Cache::new(0, capacity);
    let names: Vec<String> = (0..keys).map(|i| format!("{}/{}", hash(i), 256)).collect();
    let lens: Vec<usize> = (0..keys).map(image_len).collect();
    let pool = Bytes::from(vec![0x5a; 64 << 10]);
    let zipf = Zipf::new(keys, s);
    let mut rng = fastrand::Rng::with_seed(2);
    let (mut hit_bytes, mut all_bytes) = (0usize, 0usize);
    for i in 0..warm + measured {
        let k = zipf.sample(&mut rng);
        let counted = i >= warm;
        all_bytes += if counted { lens[k] } else { 0 };
        if cache.image(&names[k]).is_some() {
            hit_bytes += if counted { lens[k] } else { 0 };
        } else if cache.admits_image(lens[k] as u64) {
            cache.put_image(&names[k], pool.slice(..lens[k]));
        }
    }
    hit_bytes as f64 / all_bytes as f64
}

/// Cached look-ups per second from `threads` threads, each doing `per_thread` look-ups of
/// uniformly drawn keys that are all resident; `read` is one look-up.
fn throughput(
    threads: usize,
    per_thread: usize,
    keys: usize,
    cache: &Arc<Cache>,
    names: &Arc<Vec<String>>,
    read: fn(&Cache, &str) -> bool,
) -> f64 {
    let start = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (cache, names, start) = (cache.clone(), names.clone(), start.clone());
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(100 + t as u64);
                let order: Vec<usize> = (0..4096).map(|_| rng.usize(..keys)).collect();
                start.wait();
                let began = Instant::now();
                let mut found = 0usize;
                for i in 0..per_thread {
                    found += usize::from(read(&cache, &names[order[i % order.len()]]));
                }
                assert_eq!(found, per_thread, "every key is resident");
                began.elapsed()
            })
        })
        .collect();
    start.wait();
    // The slowest thread bounds the wall time of the whole batch.
    let slowest = workers
        .into_iter()
        .map(|w| w.join().expect("worker"))
        .max()
        .unwrap_or(Duration::ZERO);
    (threads * per_thread) as f64 / slowest.as_secs_f64()
}

fn median(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

fn main() {
    // `cargo bench` passes `--bench`; ignore everything but our own flag.
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };

    // (a) Hit rates: key sets ten times the cache.
    let (records_cap, record_keys) = (10_000, 100_000);
    let (image_cap, image_keys) = (16 << 20, 5_000);
    let mean_image: f64 = (0..image_keys).map(image_len).sum::<usize>() as f64 / image_keys as f64;
    println!(
        "hit rates: records cache {records_cap} over {record_keys} keys; images cache {} MiB \
         over {image_keys} images of 2-64 KiB ({:.0} MiB in all)",
        image_cap >> 20,
        mean_image * image_keys as f64 / f64::from(1 << 20),
    );
    for s in EXPONENTS {
        let records = record_hit_rate(
            records_cap,
            record_keys,
            s,
            1_000_000 / scale,
            2_000_000 / scale,
        );
        let images = image_hit_rate(image_cap, image_keys, s, 200_000 / scale, 1_000_000 / scale);
        println!(
            "  zipf s={s}: records hit rate {:.2} %, images byte hit rate {:.2} %",
            records * 100.0,
            images * 100.0
        );
    }

    let scan = record_hit_rate_with_scan(
        records_cap,
        records_cap / 2,
        200_000 / scale,
        1_000_000 / scale,
    );
    println!(
        "  {} hot records read half the time, new keys the other half: hot hit rate {:.2} %",
        records_cap / 2,
        scan * 100.0
    );

    // (b) Throughput of cached reads: 1,000 images of 8 KiB (all resident in 64 MiB), and
    // 10,000 records.
    let keys = 1_000;
    let images = Arc::new(Cache::new(0, 64 << 20));
    let image_names = Arc::new(
        (0..keys)
            .map(|i| format!("{}/256", hash(i)))
            .collect::<Vec<_>>(),
    );
    let bytes = Bytes::from(vec![1; 8 << 10]);
    for name in image_names.iter() {
        images.put_image(name, bytes.clone());
    }
    let record_keys = 10_000;
    let records = Arc::new(Cache::new(100_000, 0));
    let record_names = Arc::new((0..record_keys).map(hash).collect::<Vec<_>>());
    for name in record_names.iter() {
        records.put_record(records.generation(), TENANT, name, None);
    }
    let per_thread = 2_000_000 / scale;
    println!(
        "cached reads, {per_thread} per thread, median of {ROUNDS} rounds (min-max), millions/s:"
    );
    for threads in [1, 2] {
        let image_rates = (0..ROUNDS)
            .map(|_| {
                throughput(threads, per_thread, keys, &images, &image_names, |c, k| {
                    c.image(k).is_some()
                })
            })
            .collect();
        let record_rates = (0..ROUNDS)
            .map(|_| {
                throughput(
                    threads,
                    per_thread,
                    record_keys,
                    &records,
                    &record_names,
                    |c, k| c.record(TENANT, k).is_some(),
                )
            })
            .collect();
        let (im, imin, imax) = median(image_rates);
        let (rm, rmin, rmax) = median(record_rates);
        println!(
            "  {threads} thread(s): image {:.2} ({:.2}-{:.2}); record {:.2} ({:.2}-{:.2})",
            im / 1e6,
            imin / 1e6,
            imax / 1e6,
            rm / 1e6,
            rmin / 1e6,
            rmax / 1e6,
        );
    }
}
