//! A filter component, built from its source and run by avatar's own plugin runtime the way the
//! server runs it: named in a tenant's configuration, loaded as a `filter-plugin`, called under
//! the server's default limits, and run in the tenant's pipeline (transform, filter, encode).
//!
//! Here it tests the template of `docs/plugins.md`, `components/filter-template`. A plugin
//! author copies this file into their own crate as `tests/host.rs` (step 10 of the guide) and
//! changes two places only: the constants just below, and the section "What this filter does"
//! at the end. Everything between holds for any filter.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use avatar_host::avatar::ImageFormat;
use avatar_host::config::{Config, PluginRef};
use avatar_host::plugin::{
    FilterPlugin, Image, ImageRejection, PluginError, Runtime, RuntimeOptions, Settings,
    TransformSpec, World,
};
use avatar_host::tenant::{Pipeline, Stage, Tenant, Tenants};
use serde_json::{Value, json};

/// The filter's package. In a filter's own crate: `env!("CARGO_PKG_NAME")`.
const PACKAGE: &str = "filter-template";
/// The cargo profile its component is built with: avatar's workspace builds its guests with
/// `guest`; a crate of your own, with the `release` profile of the guide's `Cargo.toml`.
const PROFILE: &str = "guest";

// ---- What holds for any filter: keep as it is. ----

/// Builds the component the way the guide does and returns its path. Cargo has released its
/// build lock while tests run, so this cannot deadlock. The outer build's rustflags are dropped:
/// an inherited (even empty) `CARGO_ENCODED_RUSTFLAGS` would override the
/// `[target.wasm32-wasip2] rustflags` of `.cargo/config.toml`.
fn build_component() -> PathBuf {
    let output = Command::new(env!("CARGO"))
        .current_dir(avatar_tests::workspace_root().join("tests"))
        .args(["build", "--target", "wasm32-wasip2", "--profile", PROFILE])
        .args(["--message-format", "json-render-diagnostics", "-p", PACKAGE])
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("running cargo");
    assert!(
        output.status.success(),
        "building {PACKAGE} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Cargo names the library target after the package, `-` becoming `_`, and reports the
    // `.wasm` it wrote wherever the target directory is.
    let target = PACKAGE.replace('-', "_");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == *target
        })
        .flat_map(|message| {
            let files = message["filenames"].as_array().cloned().unwrap_or_default();
            files
                .into_iter()
                .filter_map(|f| f.as_str().map(PathBuf::from))
        })
        .find(|file| file.extension().is_some_and(|e| e == "wasm"))
        .unwrap_or_else(|| panic!("cargo built {PACKAGE} but reported no .wasm file"))
}

/// What every test uses: the runtime, the component's bytes, and a tenant whose configuration
/// names the component as its one filter. Built once per test process.
struct Setup {
    runtime: Runtime,
    wasm: Vec<u8>,
    tenant: Arc<Tenant>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let component = build_component();
        let wasm = std::fs::read(&component).expect("reading the built component");
        // A configuration file like an operator's, loaded as the server loads it: every
        // section and limit at its default.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{PACKAGE}-host"));
        std::fs::create_dir_all(&dir).expect("a directory for the configuration");
        let config = json!({
            "tenants": [{
                "id": "default",
                "auth": { "plugin": "auth-jwt", "config": { "secret": "a-secret-for-tests-only-0123456789" } },
                "filters": [{ "plugin": component, "config": {} }],
            }],
        });
        let path = dir.join("config.json");
        std::fs::write(&path, config.to_string()).expect("writing the configuration");
        let config = Config::load(&path, Vec::new()).expect("a valid configuration");
        let runtime = Runtime::new(&RuntimeOptions::default()).expect("a plugin runtime");
        let tenants = Tenants::from_config(&config, &runtime).expect("the tenant loads");
        Setup {
            runtime,
            wasm,
            tenant: tenants.default_tenant().clone(),
        }
    })
}

/// The tenant's pipeline: its transform, this filter, and the sizes it stores.
fn pipeline() -> &'static Pipeline {
    &setup().tenant.pipeline
}

/// The filter as the tenant runs it, with the limits of its calls (the defaults).
fn filter() -> &'static Stage<FilterPlugin> {
    &pipeline().filters[0]
}

/// The settings as the host derives them from a tenant's `"config": {…}`: strings as they are,
/// anything else as its JSON text (`0.5` reads back as `"0.5"`).
fn settings(config: Value) -> Arc<Settings> {
    let plugin: PluginRef = serde_json::from_value(json!({ "plugin": PACKAGE, "config": config }))
        .expect("a plugin reference");
    Arc::new(plugin.settings())
}

/// Calls the filter with `config` as its settings, under the tenant's (the default) limits.
fn apply(config: Value, images: Vec<Image>) -> Result<Vec<Image>, PluginError> {
    let stage = filter();
    stage.plugin.apply(&settings(config), &stage.limits, images)
}

fn rgba8(width: u32, height: u32, pixels: &[[u8; 4]]) -> Image {
    let image = Image {
        format: ImageFormat::Rgba8,
        width,
        height,
        data: pixels.concat(),
    };
    assert_eq!(image.data.len() as u64, u64::from(width * height) * 4);
    image
}

/// An image of varied colours and alphas, so that no filter leaves all of it alone by chance.
fn varied(width: u32, height: u32) -> Image {
    let bytes = (width * height * 4) as usize;
    Image {
        format: ImageFormat::Rgba8,
        width,
        height,
        data: (0..bytes).map(|i| (i * 37 % 256) as u8).collect(),
    }
}

/// The pixels of an image, four bytes each.
fn pixels(image: &Image) -> Vec<[u8; 4]> {
    assert_eq!(image.format, ImageFormat::Rgba8);
    image
        .data
        .chunks_exact(4)
        .map(|p| p.try_into().expect("4 bytes"))
        .collect()
}

#[test]
fn is_a_filter_plugin_that_instantiates_under_the_default_limits() {
    let Setup { runtime, wasm, .. } = setup();
    assert_eq!(
        runtime.detect_world(wasm).expect("a component"),
        World::Filter
    );
    assert_eq!(
        runtime.check(wasm, &filter().limits).expect("instantiates"),
        World::Filter
    );
}

#[test]
fn keeps_count_order_dimensions_and_rgba8_at_every_stored_size() {
    // The largest image a tenant with the default sizes hands a filter is 1024 x 1024.
    let mut shapes: Vec<(u32, u32)> = pipeline().stored_sides.iter().map(|&s| (s, s)).collect();
    shapes.extend([(1, 1), (3, 2)]);
    let images: Vec<Image> = shapes.iter().map(|&(w, h)| varied(w, h)).collect();
    let out = apply(json!({}), images).expect("filters with the default settings");
    let got: Vec<_> = out
        .iter()
        .map(|i| (i.format, i.width, i.height, i.data.len() as u64))
        .collect();
    let wanted: Vec<_> = shapes
        .iter()
        .map(|&(w, h)| (ImageFormat::Rgba8, w, h, u64::from(w * h) * 4))
        .collect();
    assert_eq!(got, wanted);
    assert!(
        apply(json!({}), Vec::new())
            .expect("nothing to do")
            .is_empty()
    );
}

#[test]
fn works_in_a_tenants_pipeline() {
    let pipeline = pipeline();
    let transform = &pipeline.transform;
    let (upload_pixel, filtered) = PIPELINE;
    let side = pipeline.stored_sides[0];
    let upload = transform
        .plugin
        .encode(
            &transform.settings,
            &transform.limits,
            vec![rgba8(
                side,
                side,
                &vec![upload_pixel; (side * side) as usize],
            )],
            ImageFormat::Png,
            pipeline.output.quality,
        )
        .expect("the transform encodes a PNG")
        .remove(0);
    // What an upload becomes: the transform, this filter, then the transform's `encode`.
    let stored = pipeline
        .process(&upload.data, None)
        .expect("the pipeline runs");
    let sides: Vec<u32> = stored.iter().map(|i| i.width).collect();
    assert_eq!(sides, pipeline.stored_sides);
    for image in &stored {
        assert_eq!(
            (image.format, image.height),
            (ImageFormat::Png, image.width)
        );
        // Decoded again by the transform (PNG is lossless): the filter's pixels, as stored.
        let spec = TransformSpec {
            sides: vec![image.width],
            format: Some(ImageFormat::Rgba8),
            quality: pipeline.output.quality,
            max_pixels: pipeline.max_source_pixels,
            crop: None,
        };
        let decoded = transform
            .plugin
            .transform(&transform.settings, &transform.limits, &image.data, &spec)
            .expect("the stored PNG decodes");
        let mut colours = pixels(&decoded[0]);
        colours.dedup();
        assert_eq!(colours, [filtered], "{} px", image.width);
    }
}

#[test]
fn a_bad_image_is_the_uploaders_fault() {
    let png = Image {
        format: ImageFormat::Png,
        ..varied(1, 1)
    };
    let short = Image {
        data: vec![0; 15],
        ..varied(2, 2)
    };
    let cases = [
        (png, "image 1 is png, not rgba8"),
        (short, "image 1 is 2x2 but has 15 bytes of pixels, not 16"),
    ];
    for (image, message) in cases {
        let error = apply(json!({}), vec![varied(1, 1), image]).expect_err("refused");
        assert_eq!(
            error.as_image_rejection(),
            Some(&ImageRejection::InvalidInput(message.to_owned())),
            "{error:?}"
        );
        assert!(!error.is_server_fault(), "the host answers 422: {error}");
    }
}

#[test]
fn a_bad_setting_is_the_operators_fault() {
    for (config, message) in bad_settings() {
        let error = apply(config.clone(), vec![varied(1, 1)]).expect_err("refused");
        assert_eq!(
            error.as_image_rejection(),
            Some(&ImageRejection::Misconfigured(message.to_owned())),
            "{config}: {error:?}"
        );
        assert!(error.is_server_fault(), "the host answers 500: {error}");
    }
}

#[test]
fn settings_give_the_expected_pixels() {
    for (config, before, after) in pixel_cases() {
        let width = u32::try_from(before.len()).expect("a short row");
        let out = apply(config.clone(), vec![rgba8(width, 1, &before)]).expect("filters");
        assert_eq!(pixels(&out[0]), after, "{config}");
    }
}

// ---- What this filter does: replace with your filter's. ----

/// An upload of one opaque colour, and the one colour every stored size of it has afterwards.
const PIPELINE: ([u8; 4], [u8; 4]) = ([255, 255, 255, 255], [255, 192, 128, 255]);

/// A row of RGBA pixels.
type Row = Vec<[u8; 4]>;

/// Settings (as in a tenant's configuration), a row of pixels, and what the filter makes of it.
fn pixel_cases() -> Vec<(Value, Row, Row)> {
    vec![
        // The defaults, as docs/plugins.md quotes them: halfway to orange, alpha kept.
        (
            json!({}),
            vec![[255, 255, 255, 255], [0, 0, 0, 255], [0, 0, 0, 7]],
            vec![[255, 192, 128, 255], [128, 64, 0, 255], [128, 64, 0, 7]],
        ),
        (
            json!({"color": "#0000ff", "strength": 1}),
            vec![[10, 200, 30, 99]],
            vec![[0, 0, 255, 99]],
        ),
        (
            json!({"color": "#0000FF", "strength": "0.25"}),
            vec![[10, 200, 30, 99]],
            vec![[8, 150, 86, 99]],
        ),
        (
            json!({"strength": 0}),
            vec![[10, 200, 30, 99]],
            vec![[10, 200, 30, 99]],
        ),
    ]
}

/// Settings the filter must refuse, and the message the operator then reads in the log. (A
/// filter without settings has none: return an empty list.)
fn bad_settings() -> Vec<(Value, &'static str)> {
    vec![
        (
            json!({"color": "orange"}),
            "`color` must be `#rrggbb` or `#rrggbbaa`",
        ),
        (
            json!({"strength": 2}),
            "`strength` must be a number from 0 to 1",
        ),
    ]
}
