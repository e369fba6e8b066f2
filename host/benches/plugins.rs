//! Benchmarks of the plugin runtime: what running a plugin as a WebAssembly component costs
//! next to the same Rust code run natively, per call and at start-up.
//!
//! - `auth`: one JWT check through a fresh pooled instance of `auth-jwt`, and natively.
//! - `transform/*`: a photo-like 1024x1024 upload turned into 1024, 512, 256 and 128 pixel
//!   squares through `transform-image`, and natively through `transform_image::pipeline`.
//! - `startup/load-transform`: a new `Runtime` with both built-in plugins loaded, compiling
//!   them (empty cache directory) or loading their cached artifacts.
//! - `render/*` and `encode/*` (in `plugins/codecs.rs`): an 80 px variant from a 128 px file,
//!   and AVIF and lossy WebP encodes of 80, 256 and 512 px photos; plus a table of bytes per
//!   output format.
//!
//! Run with `cargo bench -p avatar-host --bench plugins`; `host/benches/README.md` holds the
//! figures and how they were taken.

use std::hint::black_box;
use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use avatar_host::plugin::{
    CallLimits, Runtime, RuntimeOptions, Settings, TransformPlugin, TransformSpec, builtin,
};
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use transform_image::pipeline;

#[path = "plugins/auth_call.rs"]
mod auth_call;
#[path = "plugins/codecs.rs"]
mod codecs;

/// Side of the uploaded test image.
const SIDE: u32 = 1024;
const SIZES: [u32; 4] = [1024, 512, 256, 128];
const QUALITY: u8 = 90;
const MAX_PIXELS: u64 = 64 << 20;

/// A photo-like picture: smooth colour gradients and soft blobs under per-pixel noise, so the
/// decoders and encoders do the work a real photo asks of them (a flat or purely smooth image
/// compresses far better and makes PNG look cheap). Deterministic: the same bytes every run.
fn photo_like(side: u32) -> RgbImage {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let scale = f64::from(side);
    RgbImage::from_fn(side, side, |x, y| {
        let (u, v) = (f64::from(x) / scale, f64::from(y) / scale);
        // Low-frequency structure: a diagonal gradient and a few overlapping waves.
        let blob = (u * 7.0).sin() * (v * 5.0).cos() + (u * 3.0 + v * 11.0).sin() * 0.5;
        let base = [
            60.0 + 140.0 * u + 30.0 * blob,
            80.0 + 100.0 * v - 25.0 * blob,
            120.0 + 60.0 * (1.0 - u) * v + 40.0 * blob,
        ];
        let mut pixel = [0u8; 3];
        for (channel, value) in pixel.iter_mut().zip(base) {
            // xorshift64*: cheap, good enough for sensor-like noise of +-12 levels.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let random = (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as f64 / 255.0;
            let noise = (random - 0.5) * 24.0;
            *channel = (value + noise).round().clamp(0.0, 255.0) as u8;
        }
        image::Rgb(pixel)
    })
}

fn encode_jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgb8,
        )
        .expect("encoding the test JPEG");
    out.into_inner()
}

fn encode_png(image: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    PngEncoder::new(&mut out)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgb8,
        )
        .expect("encoding the test PNG");
    out.into_inner()
}

fn runtime(cache_dir: Option<std::path::PathBuf>) -> Runtime {
    Runtime::new(&RuntimeOptions {
        cache_dir,
        ..RuntimeOptions::default()
    })
    .expect("creating the runtime")
}

fn load_transform(runtime: &Runtime) -> TransformPlugin {
    let wasm = builtin("transform-image").expect("transform-image is built in");
    runtime
        .load_transform("transform-image", wasm)
        .expect("loading transform-image")
}

fn auth(c: &mut Criterion) {
    let runtime = runtime(None);
    println!("pooling allocator in use: {}", runtime.is_pooling());
    let plugin = auth_call::load(&runtime);
    let settings = auth_call::settings();
    let limits = CallLimits::default();
    let request = auth_call::request();
    let grant = plugin
        .authenticate(&settings, &limits, &request)
        .expect("the plugin accepts the token");
    assert_eq!(grant.subject, "alice");

    let native_request = auth_jwt::verify::Request {
        method: request.method.clone(),
        tenant: request.tenant.clone(),
        hash: request.hash.clone(),
        token: request.token.clone(),
        now: request.now,
    };

    let mut group = c.benchmark_group("auth");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    // A fresh store and instance per call, as the service does.
    group.bench_function("authenticate", |b| {
        b.iter(|| plugin.authenticate(&settings, &limits, black_box(&request)))
    });
    // The same work the component does per call: read the settings, then verify.
    group.bench_function("native", |b| {
        b.iter(|| {
            let parsed = auth_jwt::verify::Settings::from_lookup(|key| settings.get(key).cloned())
                .expect("valid settings");
            auth_jwt::verify::authenticate(&parsed, black_box(&native_request))
        })
    });
    group.finish();
}

fn transform(c: &mut Criterion) {
    let runtime = runtime(None);
    let plugin = load_transform(&runtime);
    let settings = Arc::new(Settings::new());
    let limits = CallLimits::default();
    let options = pipeline::Options::default();

    let picture = photo_like(SIDE);
    let inputs = [
        (
            "transform/1024-jpeg-to-4-sizes",
            encode_jpeg(&picture, QUALITY),
        ),
        ("transform/1024-png-to-4-sizes", encode_png(&picture)),
    ];
    // `None` keeps JPEG as JPEG and makes a PNG upload PNG.
    let spec = TransformSpec {
        sides: SIZES.to_vec(),
        format: None,
        quality: QUALITY,
        max_pixels: MAX_PIXELS,
        crop: None,
    };
    let native_spec = pipeline::Spec {
        sizes: SIZES.to_vec(),
        format: None,
        quality: QUALITY,
        max_pixels: MAX_PIXELS,
        crop: None,
    };

    for (name, upload) in inputs {
        let wasm = plugin
            .transform(&settings, &limits, &upload, &spec)
            .expect("the plugin transforms the upload");
        let native = pipeline::transform(&upload, &native_spec, &options)
            .expect("the pipeline transforms the upload");
        let shapes: Vec<_> = wasm.iter().map(|i| (i.width, i.format)).collect();
        assert_eq!(wasm.len(), SIZES.len(), "{name}: {shapes:?}");
        let identical =
            wasm.len() == native.len() && wasm.iter().zip(&native).all(|(w, n)| w.data == n.data);
        println!(
            "{name}: upload {} bytes; output {} bytes as {:?}; wasm output identical to native: \
             {identical}",
            upload.len(),
            wasm.iter().map(|i| i.data.len()).sum::<usize>(),
            wasm[0].format,
        );

        let mut group = c.benchmark_group(name);
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        group.bench_function("wasm", |b| {
            b.iter(|| plugin.transform(&settings, &limits, black_box(&upload), &spec))
        });
        group.bench_function("native", |b| {
            b.iter(|| pipeline::transform(black_box(&upload), &native_spec, &options))
        });
        group.finish();

        // Not in `cargo test --benches`, which runs each benchmark once to check it works.
        if std::env::args().any(|arg| arg == "--bench") {
            let (q1, median, q3) = interleaved_ratio(
                || {
                    drop(black_box(
                        plugin.transform(&settings, &limits, &upload, &spec),
                    ))
                },
                || {
                    drop(black_box(pipeline::transform(
                        &upload,
                        &native_spec,
                        &options,
                    )))
                },
            );
            println!(
                "{name}: wasm/native, {RATIO_PAIRS} interleaved pairs: median {median:.2} \
                 (quartiles {q1:.2} to {q3:.2})"
            );
        }
    }
}

/// How many wasm/native pairs [`interleaved_ratio`] times.
const RATIO_PAIRS: usize = 15;

/// The quartiles of the ratio of `wasm`'s time to `native`'s, over pairs of calls timed back
/// to back. Criterion measures one benchmark after the other, so a drift in the machine's
/// speed (other work on its two cores, or on the host under this VM) moves the two medians
/// apart; within a pair both sides run under the same conditions.
fn interleaved_ratio(mut wasm: impl FnMut(), mut native: impl FnMut()) -> (f64, f64, f64) {
    let mut ratios: Vec<f64> = (0..RATIO_PAIRS)
        .map(|_| {
            let started = Instant::now();
            wasm();
            let wasm_time = started.elapsed();
            let started = Instant::now();
            native();
            wasm_time.as_secs_f64() / started.elapsed().as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let quartile = |q: usize| ratios[(RATIO_PAIRS - 1) * q / 4];
    (quartile(1), quartile(2), quartile(3))
}

/// A new runtime with both built-in plugins loaded, caching in `dir`; the time it took.
/// The runtime is dropped after the clock stops: stopping its epoch ticker is not start-up.
fn timed_startup(dir: &std::path::Path) -> Duration {
    let started = Instant::now();
    let runtime = runtime(Some(dir.to_path_buf()));
    let transform = load_transform(&runtime);
    let auth = auth_call::load(&runtime);
    let elapsed = started.elapsed();
    drop(black_box((transform, auth, runtime)));
    elapsed
}

fn startup(c: &mut Criterion) {
    let mut group = c.benchmark_group("startup/load-transform");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1));

    // Every iteration gets a new, empty cache directory: both components are compiled and
    // their artifacts written. Creating and removing the directory is not timed.
    group.measurement_time(Duration::from_secs(18));
    group.bench_function("cold-cache", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let dir = tempfile::tempdir().expect("a temporary directory");
                    timed_startup(dir.path())
                })
                .sum()
        })
    });

    // One directory, filled once: every iteration loads the cached artifacts.
    let warm = tempfile::tempdir().expect("a temporary directory");
    timed_startup(warm.path());
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("warm-cache", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| timed_startup(warm.path())).sum())
    });

    group.finish();
}

fn small_jobs(c: &mut Criterion) {
    codecs::print_sizes();
    let runtime = runtime(None);
    let plugin = load_transform(&runtime);
    codecs::render(c, &plugin);
    codecs::encode(c, &plugin);
}

criterion_group!(benches, auth, transform, small_jobs, startup);
criterion_main!(benches);
