//! The plugin authors' template, `components/filter-template`, built for `wasm32-wasip2` and
//! called through the host's plugin runtime, as `docs/plugins.md` describes it: the defaults
//! tint visibly, the settings change the tint, and bad images and bad settings come back as the
//! errors the guide promises (the uploader's fault and the operator's, respectively).
//!
//! It is not a built-in plugin: the component is built here from source, like an author's own.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use avatar_host::avatar::ImageFormat;
use avatar_host::config::PluginRef;
use avatar_host::plugin::{
    CallLimits, FilterPlugin, Image, ImageRejection, PluginError, Runtime, RuntimeOptions, Settings,
};
use serde_json::{Value, json};

fn plugin() -> &'static FilterPlugin {
    static PLUGIN: OnceLock<FilterPlugin> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let path = avatar_tests::build_guest("filter-template").expect("the template builds");
        let wasm = std::fs::read(&path).expect("reading the built component");
        let runtime = Runtime::new(&RuntimeOptions::default()).expect("runtime");
        runtime
            .load_filter("filter-template", &wasm)
            .expect("the template is a filter-plugin")
    })
}

/// The settings as the host derives them from a tenant's `"config": {…}` (numbers become
/// their JSON text).
fn settings(config: Value) -> Arc<Settings> {
    let plugin: PluginRef =
        serde_json::from_value(json!({ "plugin": "filter_template.wasm", "config": config }))
            .expect("a plugin reference");
    Arc::new(plugin.settings())
}

fn limits() -> CallLimits {
    CallLimits {
        deadline: Duration::from_secs(20),
        ..CallLimits::default()
    }
}

fn rgba8(width: u32, height: u32, pixels: &[[u8; 4]]) -> Image {
    Image {
        format: ImageFormat::Rgba8,
        width,
        height,
        data: pixels.concat(),
    }
}

fn apply(config: Value, images: Vec<Image>) -> Result<Vec<Image>, PluginError> {
    plugin().apply(&settings(config), &limits(), images)
}

/// The first image's pixels after filtering `pixels` as one row.
fn tinted(config: Value, pixels: &[[u8; 4]]) -> Vec<[u8; 4]> {
    let width = u32::try_from(pixels.len()).expect("a short row");
    let out = apply(config, vec![rgba8(width, 1, pixels)]).expect("filters");
    assert_eq!(
        (out[0].format, out[0].width, out[0].height),
        (ImageFormat::Rgba8, width, 1)
    );
    out[0]
        .data
        .chunks_exact(4)
        .map(|p| p.try_into().expect("4 bytes"))
        .collect()
}

#[test]
fn defaults_tint_halfway_to_orange_and_keep_alpha() {
    // The numbers docs/plugins.md quotes.
    let out = tinted(
        json!({}),
        &[[255, 255, 255, 255], [0, 0, 0, 255], [0, 0, 0, 7]],
    );
    assert_eq!(
        out,
        [[255, 192, 128, 255], [128, 64, 0, 255], [128, 64, 0, 7]]
    );
}

#[test]
fn settings_from_the_tenant_config_change_the_tint() {
    let pixel = [[10, 200, 30, 99]];
    let cases = [
        (json!({"color": "#0000ff", "strength": 1}), [0, 0, 255, 99]),
        (
            json!({"color": "#0000FF", "strength": "0.25"}),
            [8, 150, 86, 99],
        ),
        (json!({"strength": 0}), pixel[0]),
    ];
    for (config, expected) in cases {
        assert_eq!(tinted(config.clone(), &pixel), [expected], "{config}");
    }
    // Several images keep their order and sizes.
    let images = vec![
        rgba8(2, 2, &[[255, 255, 255, 255]; 4]),
        rgba8(1, 1, &[[0, 0, 0, 255]]),
    ];
    let out = apply(json!({}), images).expect("filters");
    assert_eq!(out[0], rgba8(2, 2, &[[255, 192, 128, 255]; 4]));
    assert_eq!(out[1], rgba8(1, 1, &[[128, 64, 0, 255]]));
}

#[test]
fn a_bad_image_is_the_uploaders_fault() {
    let png = Image {
        format: ImageFormat::Png,
        ..rgba8(1, 1, &[[0; 4]])
    };
    let short = Image {
        data: vec![0; 15],
        ..rgba8(2, 2, &[[0; 4]; 4])
    };
    let cases = [
        (png, "invalid input: image 1 is png, not rgba8"),
        (
            short,
            "invalid input: image 1 is 2x2 but has 15 bytes of pixels, not 16",
        ),
    ];
    for (image, message) in cases {
        let error =
            apply(json!({}), vec![rgba8(1, 1, &[[1, 2, 3, 4]]), image]).expect_err("refused");
        assert!(
            matches!(
                error.as_image_rejection(),
                Some(ImageRejection::InvalidInput(_))
            ),
            "{error:?}"
        );
        assert!(!error.is_server_fault(), "the host answers 422: {error}");
        assert_eq!(error.to_string(), format!("rejected by plugin: {message}"));
    }
}

#[test]
fn bad_settings_are_the_operators_fault() {
    let cases = [
        (
            json!({"color": "orange"}),
            "`color` must be a colour written #rrggbb, not \"orange\"",
        ),
        (
            json!({"strength": 2}),
            "`strength` must be a number from 0 to 1, not \"2\"",
        ),
    ];
    for (config, message) in cases {
        let error = apply(config.clone(), vec![rgba8(1, 1, &[[1, 2, 3, 4]])]).expect_err("refused");
        match error.as_image_rejection() {
            Some(ImageRejection::Misconfigured(why)) => assert_eq!(why, message, "{config}"),
            _ => panic!("{config}: expected misconfigured, got {error:?}"),
        }
        assert!(error.is_server_fault(), "the host answers 500: {error}");
    }
}
