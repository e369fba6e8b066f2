//! Per-request cost of each plugin stage, through the runtime as the service runs it (a fresh
//! pooled instance per call), for the stages a tenant can put in its pipeline:
//!
//! - `stage/auth-jwt`, `stage/auth-apikey`: one credential check.
//! - `stage/filter-grayscale`, `stage/filter-circle`: one call filtering the 512, 256 and 128
//!   pixel `rgba8` squares an upload with the default sizes produces.
//! - `stage/encode-png`: the extra `encode` call a pipeline with filters makes at the end.
//! - `stage/generate-identicon-256`: drawing one 256 pixel identicon (before filters and
//!   encoding).
//! - `upload/*`: a whole upload pipeline on a 1024x1024 JPEG: the transform alone, and the
//!   transform to `rgba8` + grayscale + circle + PNG encode.
//!
//! Run with `cargo bench -p avatar-host --bench stages`; the README's performance section
//! holds the figures and how they were taken.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use avatar_host::avatar::ImageFormat;
use avatar_host::plugin::{
    AuthRequest, CallLimits, GenerateRequest, Image, Runtime, RuntimeOptions, Settings,
    TransformSpec, builtin,
};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sha2::Digest;

const SECRET: &str = "benchmark secret, at least thirty-two bytes long";
const HASH: &str = "5d41402abc4b2a76b9719d911017c592aabbccdd";
const API_KEY: &str = "benchmark-api-key-0123456789abcdef";
const SIDES: [u32; 3] = [512, 256, 128];

fn settings(pairs: &[(&str, &str)]) -> Arc<Settings> {
    Arc::new(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn runtime() -> Runtime {
    Runtime::new(&RuntimeOptions::default()).expect("creating the runtime")
}

fn wasm(name: &str) -> &'static [u8] {
    builtin(name).unwrap_or_else(|| panic!("{name} is built in"))
}

/// A colourful, opaque `rgba8` square.
fn rgba(side: u32) -> Image {
    let mut data = Vec::with_capacity((side * side * 4) as usize);
    for y in 0..side {
        for x in 0..side {
            data.extend_from_slice(&[(x * 255 / side) as u8, (y * 255 / side) as u8, 128, 255]);
        }
    }
    Image {
        format: ImageFormat::Rgba8,
        width: side,
        height: side,
        data,
    }
}

fn photo_jpeg(side: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(side, side, |x, y| {
        let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 27;
        image::Rgb([
            (x * 255 / side) as u8,
            (y * 255 / side) as u8,
            (n * 8) as u8,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encoding the test JPEG");
    out.into_inner()
}

fn stages(c: &mut Criterion) {
    let runtime = runtime();
    let limits = CallLimits::default();
    let mut group = c.benchmark_group("stage");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let jwt = runtime.load_auth("auth-jwt", wasm("auth-jwt")).unwrap();
    let jwt_settings = settings(&[("secret", SECRET)]);
    let claims =
        serde_json::json!({"sub": "a", "hash": HASH, "tenant": "t", "exp": 4_000_000_000_u64});
    let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
    let request = |token: &str| AuthRequest {
        method: "PUT".into(),
        tenant: "t".into(),
        hash: HASH.into(),
        token: token.into(),
        now: 1_800_000_000,
    };
    let jwt_request = request(&token);
    jwt.authenticate(&jwt_settings, &limits, &jwt_request)
        .expect("a valid token");
    group.bench_function("auth-jwt", |b| {
        b.iter(|| jwt.authenticate(&jwt_settings, &limits, black_box(&jwt_request)))
    });

    let apikey = runtime
        .load_auth("auth-apikey", wasm("auth-apikey"))
        .unwrap();
    let digest = hex::encode(sha2::Sha256::digest(API_KEY.as_bytes()));
    let keys = serde_json::json!([
        {"id": "other-1", "sha256": hex::encode(sha2::Sha256::digest(b"other-1"))},
        {"id": "other-2", "sha256": hex::encode(sha2::Sha256::digest(b"other-2"))},
        {"id": "svc", "sha256": digest},
    ])
    .to_string();
    let apikey_settings = settings(&[("keys", &keys)]);
    let apikey_request = request(API_KEY);
    apikey
        .authenticate(&apikey_settings, &limits, &apikey_request)
        .expect("a configured key");
    group.bench_function("auth-apikey", |b| {
        b.iter(|| apikey.authenticate(&apikey_settings, &limits, black_box(&apikey_request)))
    });

    let images: Vec<Image> = SIDES.iter().map(|s| rgba(*s)).collect();
    for name in ["filter-grayscale", "filter-circle"] {
        let filter = runtime.load_filter(name, wasm(name)).unwrap();
        let none = settings(&[]);
        filter.apply(&none, &limits, images.clone()).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| filter.apply(&none, &limits, black_box(images.clone())))
        });
    }

    let transform = runtime
        .load_transform("transform-image", wasm("transform-image"))
        .unwrap();
    let none = settings(&[]);
    group.bench_function("encode-png", |b| {
        b.iter(|| {
            transform.encode(
                &none,
                &limits,
                black_box(images.clone()),
                ImageFormat::Png,
                85,
            )
        })
    });

    let identicon = runtime
        .load_generator("generate-identicon", wasm("generate-identicon"))
        .unwrap();
    let request = GenerateRequest {
        hash: HASH.to_owned(),
        side: 256,
        initials: None,
        name: None,
    };
    identicon.generate(&none, &limits, &request).unwrap();
    group.bench_function("generate-identicon-256", |b| {
        b.iter(|| identicon.generate(&none, &limits, black_box(&request)))
    });
    group.finish();

    let mut group = c.benchmark_group("upload");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    let upload = photo_jpeg(1024);
    let spec = |format| TransformSpec {
        sides: SIDES.to_vec(),
        format,
        quality: 85,
        max_pixels: 50_000_000,
        crop: None,
    };
    group.bench_function("transform-only", |b| {
        b.iter(|| transform.transform(&none, &limits, black_box(&upload), &spec(None)))
    });
    let gray = runtime
        .load_filter("filter-grayscale", wasm("filter-grayscale"))
        .unwrap();
    let circle = runtime
        .load_filter("filter-circle", wasm("filter-circle"))
        .unwrap();
    group.bench_function("transform-grayscale-circle-png", |b| {
        b.iter(|| {
            let raw = transform
                .transform(
                    &none,
                    &limits,
                    black_box(&upload),
                    &spec(Some(ImageFormat::Rgba8)),
                )
                .unwrap();
            let raw = gray.apply(&none, &limits, raw).unwrap();
            let raw = circle.apply(&none, &limits, raw).unwrap();
            transform.encode(&none, &limits, raw, ImageFormat::Png, 85)
        })
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
