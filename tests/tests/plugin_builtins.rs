//! The first-party filter, generator and API-key components, called through the host's plugin
//! runtime as the binary embeds them: `filter-grayscale`, `filter-circle`, `generate-identicon`
//! and `auth-apikey`, alone and in a pipeline with `transform-image`.
//!
//! Settings go through the host's own conversion (`PluginRef::settings`), so numbers and arrays
//! reach the plugins as the compact JSON text a real configuration gives them.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use avatar_host::avatar::ImageFormat;
use avatar_host::config::PluginRef;
use avatar_host::plugin::{
    AuthPlugin, AuthRejection, AuthRequest, CallLimits, FilterPlugin, GenerateRequest,
    GeneratorPlugin, Image, ImageRejection, PluginError, Runtime, RuntimeOptions, Settings,
    TransformPlugin, TransformSpec, builtin,
};
use avatar_tests::images::{encode, quadrants, translucent};
use image::DynamicImage;
use serde_json::{Value, json};

const MD5: &str = "0bc83cb571cd1c50ba6f3e8a78ef1346";
const SHA1: &str = "0123456789abcdef0123456789abcdef01234567";
const SHA256: &str = "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c";

/// Tenant A's key, listed in A's settings as a digest.
const KEY_A: &str = "svc-a-2f7c9b1e4d6a8053e1c7f9b2a4d6e8f0";
/// `printf %s "$KEY_A" | sha256sum`
const KEY_A_SHA256: &str = "caef827a3c0c36ed37cb49d3de2f2b8e8dad02f0f1cfda98cc3225ce2cd9f94a";
/// Tenant B's key, listed in B's settings as it is.
const KEY_B: &str = "svc-b-9a8b7c6d5e4f30211f2e3d4c5b6a7988";

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(&RuntimeOptions::default()).expect("runtime"))
}

fn wasm(name: &str) -> &'static [u8] {
    builtin(name).unwrap_or_else(|| panic!("{name} is not embedded"))
}

fn grayscale() -> &'static FilterPlugin {
    static PLUGIN: OnceLock<FilterPlugin> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let name = "filter-grayscale";
        runtime().load_filter(name, wasm(name)).expect("loads")
    })
}

fn circle() -> &'static FilterPlugin {
    static PLUGIN: OnceLock<FilterPlugin> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let name = "filter-circle";
        runtime().load_filter(name, wasm(name)).expect("loads")
    })
}

fn transform() -> &'static TransformPlugin {
    static PLUGIN: OnceLock<TransformPlugin> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let name = "transform-image";
        runtime().load_transform(name, wasm(name)).expect("loads")
    })
}

fn identicon() -> &'static GeneratorPlugin {
    static PLUGIN: OnceLock<GeneratorPlugin> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let name = "generate-identicon";
        runtime().load_generator(name, wasm(name)).expect("loads")
    })
}

fn apikey() -> &'static AuthPlugin {
    static PLUGIN: OnceLock<AuthPlugin> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let name = "auth-apikey";
        runtime().load_auth(name, wasm(name)).expect("loads")
    })
}

/// A plugin's settings as the host derives them from a tenant's `config` object.
fn settings(config: Value) -> Arc<Settings> {
    let plugin: PluginRef =
        serde_json::from_value(json!({ "plugin": "under-test", "config": config }))
            .expect("a plugin reference");
    Arc::new(plugin.settings())
}

fn none() -> Arc<Settings> {
    settings(json!({}))
}

fn limits() -> CallLimits {
    CallLimits {
        deadline: Duration::from_secs(20),
        ..CallLimits::default()
    }
}

fn rgba8(image: &image::RgbaImage) -> Image {
    Image {
        format: ImageFormat::Rgba8,
        width: image.width(),
        height: image.height(),
        data: image.as_raw().clone(),
    }
}

fn solid(side: u32, pixel: [u8; 4]) -> Image {
    rgba8(&image::RgbaImage::from_pixel(
        side,
        side,
        image::Rgba(pixel),
    ))
}

fn pixel(image: &Image, x: u32, y: u32) -> [u8; 4] {
    assert_eq!(image.format, ImageFormat::Rgba8);
    let start = (y as usize * image.width as usize + x as usize) * 4;
    image.data[start..start + 4].try_into().expect("4 bytes")
}

fn filter(
    plugin: &FilterPlugin,
    settings: &Arc<Settings>,
    images: Vec<Image>,
) -> Result<Vec<Image>, ImageRejection> {
    plugin
        .apply(settings, &limits(), images)
        .map_err(transform_rejection)
}

fn request(hash: &str, side: u32) -> GenerateRequest {
    GenerateRequest {
        hash: hash.to_owned(),
        side,
        initials: None,
        name: None,
    }
}

fn generate(settings: &Arc<Settings>, hash: &str, side: u32) -> Result<Image, ImageRejection> {
    identicon()
        .generate(settings, &limits(), &request(hash, side))
        .map_err(transform_rejection)
}

fn transform_rejection(error: PluginError) -> ImageRejection {
    error
        .as_image_rejection()
        .cloned()
        .unwrap_or_else(|| panic!("the plugin failed instead of deciding: {error:?}"))
}

fn is_invalid_input<T: std::fmt::Debug>(result: Result<T, ImageRejection>) -> bool {
    matches!(result, Err(ImageRejection::InvalidInput(_)))
}

fn is_misconfigured<T: std::fmt::Debug>(result: Result<T, ImageRejection>) -> bool {
    matches!(result, Err(ImageRejection::Misconfigured(_)))
}

// ---------------------------------------------------------------------------------------------
// filter-grayscale

#[test]
fn grayscale_output_is_gray_and_keeps_alpha() {
    let input = rgba8(&translucent(64, 64));
    let output = filter(grayscale(), &none(), vec![input.clone()]).expect("filters");
    assert_eq!(output.len(), 1);
    let output = &output[0];
    assert_eq!(
        (output.format, output.width, output.height),
        (ImageFormat::Rgba8, 64, 64)
    );
    let mut colourful = 0;
    for (before, after) in input.data.chunks_exact(4).zip(output.data.chunks_exact(4)) {
        assert!(after[0] == after[1] && after[1] == after[2], "{after:?}");
        assert_eq!(after[3], before[3], "alpha is kept");
        colourful += usize::from(before[0] != before[1]);
    }
    assert!(colourful > 1000, "the input was not gray already");
}

#[test]
fn grayscale_amount_blends_and_several_images_keep_their_order() {
    let red = || solid(4, [255, 0, 0, 255]);
    let half = settings(json!({ "amount": 0.5 }));
    let output = filter(grayscale(), &half, vec![red(), solid(2, [0, 0, 255, 9])]).expect("ok");
    assert_eq!((output[0].width, output[1].width), (4, 2));
    // Rec. 709: red is 54, blue 18; half way from the original.
    assert_eq!(pixel(&output[0], 0, 0), [155, 27, 27, 255]);
    assert_eq!(pixel(&output[1], 1, 1), [9, 9, 137, 9]);
    let off = settings(json!({ "amount": "0" }));
    assert_eq!(filter(grayscale(), &off, vec![red()]).expect("ok"), [red()]);
}

#[test]
fn grayscale_refuses_what_is_not_rgba8_pixels_and_bad_settings() {
    let png = Image {
        format: ImageFormat::Png,
        ..solid(2, [0; 4])
    };
    let short = Image {
        data: vec![0; 15],
        ..solid(2, [0; 4])
    };
    for image in [png, short] {
        assert!(
            is_invalid_input(filter(grayscale(), &none(), vec![solid(1, [0; 4]), image])),
            "refused"
        );
    }
    for amount in [json!(1.5), json!(-0.1), json!("grey"), json!([1])] {
        assert!(
            is_misconfigured(filter(
                grayscale(),
                &settings(json!({ "amount": amount })),
                vec![solid(1, [0; 4])]
            )),
            "{amount}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// filter-circle

#[test]
fn circle_corners_are_transparent_centre_opaque_edge_partial() {
    let colour = [30, 140, 200, 255];
    let output = filter(circle(), &none(), vec![solid(128, colour)]).expect("filters");
    let image = &output[0];
    assert_eq!(
        (image.format, image.width, image.height),
        (ImageFormat::Rgba8, 128, 128)
    );
    for (x, y) in [(0, 0), (127, 0), (0, 127), (127, 127), (10, 10), (117, 117)] {
        assert_eq!(pixel(image, x, y)[3], 0, "corner region {x},{y}");
    }
    assert_eq!(pixel(image, 64, 64), colour, "centre untouched");
    assert_eq!(pixel(image, 64, 3)[3], 255, "inside, near the top edge");
    // On the diagonal the edge crosses pixels: some are partly covered, keeping their colour.
    let partial: Vec<[u8; 4]> = (0..64)
        .map(|i| pixel(image, i, i))
        .filter(|p| p[3] > 0 && p[3] < 255)
        .collect();
    assert!(!partial.is_empty(), "no anti-aliased pixel on the diagonal");
    assert!(partial.iter().all(|p| p[..3] == colour[..3]), "{partial:?}");
    // Alpha only grows towards the centre.
    let alphas: Vec<u8> = (0..64).map(|i| pixel(image, i, i)[3]).collect();
    assert!(alphas.windows(2).all(|w| w[0] <= w[1]), "{alphas:?}");
}

#[test]
fn circle_background_and_border_from_settings() {
    let settings = settings(json!({
        "background": "#ffffff",
        "border_width": 3,
        "border_color": "#000000"
    }));
    let output = filter(circle(), &settings, vec![solid(64, [255, 0, 0, 255])]).expect("ok");
    let image = &output[0];
    assert_eq!(
        pixel(image, 0, 0),
        [255, 255, 255, 255],
        "background outside"
    );
    assert_eq!(pixel(image, 1, 32), [0, 0, 0, 255], "border in the ring");
    assert_eq!(pixel(image, 32, 32), [255, 0, 0, 255], "picture inside");
    assert!(
        image.data.chunks_exact(4).all(|p| p[3] == 255),
        "an opaque background leaves no transparency"
    );
}

#[test]
fn circle_refuses_what_is_not_rgba8_pixels_and_bad_settings() {
    let jpeg = Image {
        format: ImageFormat::Jpeg,
        ..solid(2, [0; 4])
    };
    let long = Image {
        data: vec![0; 17],
        ..solid(2, [0; 4])
    };
    for image in [jpeg, long] {
        assert!(is_invalid_input(filter(circle(), &none(), vec![image])));
    }
    for config in [
        json!({ "background": "white" }),
        json!({ "background": "#fff" }),
        json!({ "border_width": -2 }),
        json!({ "border_color": "#12345g" }),
    ] {
        assert!(
            is_misconfigured(filter(
                circle(),
                &settings(config.clone()),
                vec![solid(4, [0; 4])]
            )),
            "{config}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The pipeline: transform to rgba8, filters, transform's encode

#[test]
fn transform_then_grayscale_then_circle_then_png() {
    let upload = encode(
        &DynamicImage::ImageRgb8(quadrants(300, 300)),
        image::ImageFormat::Png,
    );
    let spec = TransformSpec {
        sides: vec![128, 48],
        format: Some(ImageFormat::Rgba8),
        quality: 85,
        max_pixels: 50_000_000,
        crop: None,
    };
    let limits = limits();
    let raw = transform()
        .transform(&none(), &limits, &upload, &spec)
        .expect("transform");
    assert!(raw.iter().all(|i| i.format == ImageFormat::Rgba8));
    let gray = filter(grayscale(), &none(), raw).expect("grayscale");
    let round = filter(circle(), &none(), gray).expect("circle");
    let encoded = transform()
        .encode(&none(), &limits, round, ImageFormat::Png, 85)
        .expect("encode");

    let sides: Vec<u32> = encoded.iter().map(|i| i.width).collect();
    assert_eq!(sides, [128, 48]);
    for image in &encoded {
        assert_eq!(image.format, ImageFormat::Png);
        let decoded = image::load_from_memory_with_format(&image.data, image::ImageFormat::Png)
            .expect("decodes")
            .to_rgba8();
        let side = image.width;
        assert_eq!(decoded.dimensions(), (side, side));
        assert_eq!(decoded.get_pixel(0, 0).0[3], 0, "{side}: corner");
        assert_eq!(
            decoded.get_pixel(side - 1, side - 1).0[3],
            0,
            "{side}: corner"
        );
        for pixel in decoded.pixels() {
            let [r, g, b, _] = pixel.0;
            assert!(r == g && g == b, "{side}: {:?} is not gray", pixel.0);
        }
        // Top left was red (luma 54), bottom right white; both inside the circle.
        let quarter = side / 4;
        let top_left = decoded.get_pixel(quarter, quarter).0;
        let bottom_right = decoded.get_pixel(side - quarter, side - quarter).0;
        assert_eq!(top_left[3], 255);
        assert!(top_left[0].abs_diff(54) <= 8, "{side}: {top_left:?}");
        assert!(bottom_right[0] >= 245, "{side}: {bottom_right:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// generate-identicon

#[test]
fn identicon_has_every_size_asked_for() {
    for side in [1, 7, 64, 512] {
        for hash in [MD5, SHA1, SHA256] {
            // The host checks format, dimensions and byte count; look again anyway.
            let image = generate(&none(), hash, side).expect("draws");
            assert_eq!(
                (image.format, image.width, image.height, image.data.len()),
                (ImageFormat::Rgba8, side, side, (side * side * 4) as usize),
                "{hash} at {side}"
            );
        }
    }
}

#[test]
fn identicon_is_deterministic_and_differs_by_hash() {
    let first = generate(&none(), MD5, 64).expect("draws");
    assert_eq!(generate(&none(), MD5, 64).expect("draws"), first);
    let others = [
        generate(&none(), SHA1, 64).expect("draws"),
        generate(&none(), SHA256, 64).expect("draws"),
        generate(&none(), "ffc83cb571cd1c50ba6f3e8a78ef1346", 64).expect("draws"),
    ];
    for other in &others {
        assert_ne!(other.data, first.data);
    }
    // Mirrored: column x matches column 63 - x (64 px over 5 cells with an 8 % margin).
    for y in 0..64 {
        for x in 0..32 {
            assert_eq!(pixel(&first, x, y), pixel(&first, 63 - x, y), "{x},{y}");
        }
    }
    // Default background in the margin, and exactly one other colour.
    assert_eq!(pixel(&first, 0, 0), [0xf0, 0xf0, 0xf0, 0xff]);
    let mut colours: Vec<[u8; 4]> = first
        .data
        .chunks_exact(4)
        .map(|p| p.try_into().expect("4 bytes"))
        .collect();
    colours.sort_unstable();
    colours.dedup();
    assert_eq!(colours.len(), 2, "{colours:?}");
}

#[test]
fn identicon_settings_change_the_picture() {
    let plain = generate(&none(), SHA1, 90).expect("draws");
    let custom = settings(json!({ "background": "#00000000", "grid": 9, "margin": 0 }));
    let image = generate(&custom, SHA1, 90).expect("draws");
    assert_ne!(image.data, plain.data);
    // No margin: the 9x9 grid's 10 px cells reach the edges; the background is transparent.
    assert!(image.data.chunks_exact(4).any(|p| p == [0, 0, 0, 0]));
    for (x, y) in [(0, 0), (9, 9), (80, 0)] {
        let cell = pixel(&image, x - x % 10, y - y % 10);
        assert_eq!(pixel(&image, x, y), cell, "{x},{y} inside one cell");
    }
}

#[test]
fn identicon_goes_round_through_the_circle_filter() {
    let image = generate(&none(), SHA256, 100).expect("draws");
    let round = filter(circle(), &none(), vec![image]).expect("filters");
    assert_eq!(pixel(&round[0], 0, 0)[3], 0);
    assert_eq!(pixel(&round[0], 50, 50)[3], 255);
}

#[test]
fn identicon_refuses_bad_hashes_sizes_and_settings() {
    for hash in ["", "xyz", "0bc83cb571cd1c50ba6f3e8a78ef134z", &MD5[..31]] {
        assert!(is_invalid_input(generate(&none(), hash, 64)), "{hash:?}");
    }
    assert!(is_invalid_input(generate(&none(), MD5, 0)));
    for config in [
        json!({ "grid": 4 }),
        json!({ "grid": 10 }),
        json!({ "margin": 0.5 }),
        json!({ "background": "grey" }),
    ] {
        let result = identicon().generate(&settings(config.clone()), &limits(), &request(MD5, 64));
        let error = result.expect_err("refused");
        assert!(error.is_server_fault(), "{config}: the operator's fault");
        assert!(
            matches!(
                error.as_image_rejection(),
                Some(ImageRejection::Misconfigured(_))
            ),
            "{config}: {error:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// auth-apikey

/// Tenant A lists its key by digest; tenant B lists another key as it is, for uploads only.
fn tenant_a() -> Arc<Settings> {
    settings(json!({ "keys": [{ "id": "svc-a", "sha256": KEY_A_SHA256 }] }))
}

fn tenant_b() -> Arc<Settings> {
    settings(json!({ "keys": [{ "id": "svc-b", "key": KEY_B, "methods": ["PUT", "POST"] }] }))
}

fn auth_request(tenant: &str, method: &str, token: &str) -> AuthRequest {
    AuthRequest {
        method: method.into(),
        tenant: tenant.into(),
        hash: MD5.into(),
        token: token.into(),
        now: 1_800_000_000,
    }
}

fn authenticate(
    settings: &Arc<Settings>,
    tenant: &str,
    method: &str,
    token: &str,
) -> Result<avatar_host::plugin::Grant, AuthRejection> {
    apikey()
        .authenticate(
            settings,
            &CallLimits::default(),
            &auth_request(tenant, method, token),
        )
        .map_err(|e| {
            e.as_auth_rejection()
                .cloned()
                .unwrap_or_else(|| panic!("the plugin failed instead of deciding: {e:?}"))
        })
}

#[test]
fn apikey_accepts_a_hashed_key_and_a_plain_key() {
    for method in ["POST", "PUT", "DELETE"] {
        let grant = authenticate(&tenant_a(), "a", method, KEY_A).expect("granted");
        assert_eq!(grant.subject, "svc-a");
        assert_eq!(grant.expires_at, None);
        let claims: Value = serde_json::from_str(&grant.claims).expect("JSON claims");
        assert_eq!(claims, json!({ "key": "svc-a" }));
    }
    for method in ["POST", "PUT"] {
        let grant = authenticate(&tenant_b(), "b", method, KEY_B).expect("granted");
        assert_eq!(grant.subject, "svc-b");
    }
}

#[test]
fn apikey_refuses_wrong_missing_oversized_and_other_tenants_keys() {
    let cases = [
        ("wrong key", "not-the-key", AuthRejection::BadSignature),
        ("key's digest", KEY_A_SHA256, AuthRejection::BadSignature),
        (
            "padded key",
            &format!(" {KEY_A}"),
            AuthRejection::BadSignature,
        ),
        ("empty token", "", AuthRejection::Missing),
        ("too long", &"k".repeat(4097), AuthRejection::TooLarge),
        // B's key against A's settings.
        ("another tenant's key", KEY_B, AuthRejection::BadSignature),
    ];
    for (name, token, expected) in cases {
        assert_eq!(
            authenticate(&tenant_a(), "a", "PUT", token),
            Err(expected),
            "{name}"
        );
    }
    // A's key against B's settings, whatever tenant name the request carries.
    for tenant in ["a", "b"] {
        assert_eq!(
            authenticate(&tenant_b(), tenant, "PUT", KEY_A),
            Err(AuthRejection::BadSignature)
        );
    }
}

#[test]
fn apikey_refuses_a_method_the_key_is_not_for() {
    assert_eq!(
        authenticate(&tenant_b(), "b", "DELETE", KEY_B),
        Err(AuthRejection::Forbidden("method".into()))
    );
}

#[test]
fn apikey_bad_settings_are_misconfigured() {
    let configs = [
        json!({}),
        json!({ "keys": [] }),
        json!({ "keys": "svc-a" }),
        json!({ "keys": [{ "sha256": KEY_A_SHA256 }] }),
        json!({ "keys": [{ "id": "x", "sha256": "abc" }] }),
        json!({ "keys": [{ "id": "x", "key": KEY_A, "sha256": KEY_A_SHA256 }] }),
        json!({ "keys": [{ "id": "x", "key": KEY_A, "methods": ["GET"] }] }),
        json!({ "keys": [{ "id": "x", "key": "a" }, { "id": "x", "key": "b" }] }),
    ];
    for config in configs {
        let error = apikey()
            .authenticate(
                &settings(config.clone()),
                &CallLimits::default(),
                &auth_request("a", "PUT", KEY_A),
            )
            .expect_err("refused");
        assert!(error.is_server_fault(), "{config}: the operator's fault");
        match error.as_auth_rejection() {
            Some(AuthRejection::Misconfigured(message)) => {
                assert!(
                    !message.contains(KEY_A),
                    "{config}: leaks the key: {message}"
                );
            }
            other => panic!("{config}: expected misconfigured, got {other:?}"),
        }
    }
}
