//! Bench cases for the small, frequent jobs of `transform-image`: rendering an 80 px variant
//! from a stored 128 px file, and encoding photos to AVIF and lossy WebP, in Wasm and natively;
//! plus a table of the bytes each output format takes.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use avatar_host::avatar::ImageFormat;
use avatar_host::plugin::{CallLimits, Image, Settings, TransformPlugin, TransformSpec};
use criterion::{Criterion, SamplingMode};
use transform_image::pipeline;

use super::{encode_jpeg, encode_png, photo_like};

/// The service's default output quality (`output.quality`).
const QUALITY: u8 = 85;
/// Timed pairs for the printed percentiles.
const PAIRS: usize = 31;

fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(15)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group
}

/// Times `wasm` and `native` in `PAIRS` back-to-back pairs; prints both medians and 90th
/// percentiles and the median ratio (see `interleaved_ratio` in the parent for why pairs).
fn print_pairs(name: &str, mut wasm: impl FnMut(), mut native: impl FnMut()) {
    let mut times: Vec<(f64, f64)> = (0..PAIRS)
        .map(|_| {
            let started = Instant::now();
            wasm();
            let w = started.elapsed().as_secs_f64() * 1e3;
            let started = Instant::now();
            native();
            (w, started.elapsed().as_secs_f64() * 1e3)
        })
        .collect();
    let mut ratios: Vec<f64> = times.iter().map(|(w, n)| w / n).collect();
    ratios.sort_by(f64::total_cmp);
    let pick = |values: &mut Vec<f64>, q: usize| {
        values.sort_by(f64::total_cmp);
        values[(PAIRS - 1) * q / 100]
    };
    let mut wasm_ms: Vec<f64> = times.iter().map(|t| t.0).collect();
    let mut native_ms: Vec<f64> = times.drain(..).map(|t| t.1).collect();
    println!(
        "{name}: {PAIRS} pairs: wasm p50 {:.2} ms p90 {:.2} ms; native p50 {:.2} ms p90 {:.2} ms; \
         wasm/native p50 {:.2}",
        pick(&mut wasm_ms, 50),
        pick(&mut wasm_ms, 90),
        pick(&mut native_ms, 50),
        pick(&mut native_ms, 90),
        ratios[PAIRS / 2],
    );
}

/// Whether this is a real run (`cargo bench`), not `cargo test --benches` running each once.
fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// An 80 px variant rendered from a stored 128 px JPEG and PNG, as the service does when a
/// size is asked for that was not stored.
pub fn render(c: &mut Criterion, plugin: &TransformPlugin) {
    let settings = Arc::new(Settings::new());
    let limits = CallLimits::default();
    let options = pipeline::Options::default();
    let picture = photo_like(128);
    let spec = TransformSpec {
        sides: vec![80],
        format: None,
        quality: QUALITY,
        max_pixels: 1 << 20,
        crop: None,
    };
    let native_spec = pipeline::Spec {
        sizes: vec![80],
        format: None,
        quality: QUALITY,
        max_pixels: 1 << 20,
        crop: None,
    };
    for (name, upload) in [
        ("render/80-from-128-jpeg", encode_jpeg(&picture, QUALITY)),
        ("render/80-from-128-png", encode_png(&picture)),
    ] {
        let wasm = plugin
            .transform(&settings, &limits, &upload, &spec)
            .expect("the plugin renders");
        let native = pipeline::transform(&upload, &native_spec, &options).expect("renders");
        assert_eq!((wasm.len(), wasm[0].width), (1, 80), "{name}");
        println!(
            "{name}: upload {} bytes, output {} bytes as {:?}; wasm identical to native: {}",
            upload.len(),
            wasm[0].data.len(),
            wasm[0].format,
            wasm[0].data == native[0].data
        );
        let mut group = group(c, name);
        group.bench_function("wasm", |b| {
            b.iter(|| plugin.transform(&settings, &limits, black_box(&upload), &spec))
        });
        group.bench_function("native", |b| {
            b.iter(|| pipeline::transform(black_box(&upload), &native_spec, &options))
        });
        group.finish();
        if measuring() {
            print_pairs(
                name,
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
        }
    }
}

fn raw(side: u32) -> Image {
    let rgba = image::DynamicImage::ImageRgb8(photo_like(side)).into_rgba8();
    Image {
        format: ImageFormat::Rgba8,
        width: side,
        height: side,
        data: rgba.into_raw(),
    }
}

fn native_raw(image: &Image) -> pipeline::Image {
    pipeline::Image {
        format: pipeline::ImageFormat::Rgba8,
        width: image.width,
        height: image.height,
        data: image.data.clone(),
    }
}

/// `encode` of one raw photo to AVIF and to lossy WebP at the default quality, through a fresh
/// instance (as every call of the service) and natively.
pub fn encode(c: &mut Criterion, plugin: &TransformPlugin) {
    let settings = Arc::new(Settings::new());
    let limits = CallLimits::default();
    let options = pipeline::Options::default();
    let formats = [
        ("avif", ImageFormat::Avif, pipeline::ImageFormat::Avif),
        ("webp", ImageFormat::Webp, pipeline::ImageFormat::Webp),
    ];
    for (label, format, native_format) in formats {
        for side in [80, 256, 512] {
            let name = format!("encode/{label}-{side}");
            let image = raw(side);
            let native_image = [native_raw(&image)];
            let wasm = plugin
                .encode(&settings, &limits, vec![image.clone()], format, QUALITY)
                .expect("the plugin encodes");
            let native =
                pipeline::encode(&native_image, native_format, QUALITY, &options).expect("encodes");
            println!(
                "{name}: {} bytes; wasm identical to native: {}",
                wasm[0].data.len(),
                wasm[0].data == native[0].data
            );
            // The clone of the pixels (at most 1 MiB) is part of both sides.
            let mut group = group(c, &name);
            group.bench_function("wasm", |b| {
                b.iter(|| plugin.encode(&settings, &limits, vec![image.clone()], format, QUALITY))
            });
            group.bench_function("native", |b| {
                b.iter(|| {
                    let images = [native_raw(&image)];
                    pipeline::encode(black_box(&images), native_format, QUALITY, &options)
                })
            });
            group.finish();
            if measuring() {
                print_pairs(
                    &name,
                    || {
                        let call =
                            plugin.encode(&settings, &limits, vec![image.clone()], format, QUALITY);
                        drop(black_box(call));
                    },
                    || {
                        let images = [native_raw(&image)];
                        drop(black_box(pipeline::encode(
                            &images,
                            native_format,
                            QUALITY,
                            &options,
                        )));
                    },
                );
            }
        }
    }
}

/// Prints how many bytes the photo takes in each output format at 80, 256 and 512 px.
pub fn print_sizes() {
    let options = pipeline::Options::default();
    let formats = [
        ("JPEG q85", pipeline::ImageFormat::Jpeg, 85),
        ("PNG", pipeline::ImageFormat::Png, 85),
        ("WebP q85 (lossy)", pipeline::ImageFormat::Webp, 85),
        ("WebP q100 (lossless)", pipeline::ImageFormat::Webp, 100),
        ("AVIF q85", pipeline::ImageFormat::Avif, 85),
    ];
    println!("| format | 80 px | 256 px | 512 px |\n|---|---|---|---|");
    for (label, format, quality) in formats {
        let bytes: Vec<String> = [80, 256, 512]
            .iter()
            .map(|&side| {
                let images = [native_raw(&raw(side))];
                let out = pipeline::encode(&images, format, quality, &options).expect("encodes");
                out[0].data.len().to_string()
            })
            .collect();
        println!("| {label} | {} |", bytes.join(" | "));
    }
}
