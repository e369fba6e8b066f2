//! Hostile plugins cost one call, never the host: each misbehaviour of the hostile fixture
//! component is stopped with the right `PluginError`, and the runtime then serves the next
//! call normally.

use std::sync::Arc;
use std::time::{Duration, Instant};

use avatar_host::plugin::{
    CallLimits, PluginError, Runtime, RuntimeOptions, Settings, TransformPlugin, TransformSpec,
    World, builtin,
};
use avatar_tests::hostile_component;

fn runtime() -> Runtime {
    Runtime::new(&RuntimeOptions::default()).expect("runtime")
}

fn hostile(runtime: &Runtime) -> TransformPlugin {
    runtime
        .load_transform("hostile", hostile_component())
        .expect("the hostile fixture loads")
}

fn mode(mode: &str) -> Arc<Settings> {
    Arc::new(Settings::from([("mode".to_owned(), mode.to_owned())]))
}

fn spec() -> TransformSpec {
    TransformSpec {
        sides: vec![64, 32],
        format: None,
        quality: 85,
        max_pixels: 1_000_000,
        crop: None,
    }
}

fn limits() -> CallLimits {
    CallLimits {
        deadline: Duration::from_millis(300),
        memory_bytes: 64 << 20,
        max_output_bytes: 16 << 20,
    }
}

/// After any failure, the same plugin (and the runtime) must serve a polite call.
fn assert_still_serves(plugin: &TransformPlugin) {
    let images = plugin
        .transform(&mode("polite"), &limits(), b"anything", &spec())
        .expect("a polite call after a hostile one");
    assert_eq!(images.len(), 2);
}

#[test]
fn endless_loop_is_stopped_by_the_deadline() {
    let runtime = runtime();
    let plugin = hostile(&runtime);
    let started = Instant::now();
    let error = plugin
        .transform(&mode("loop"), &limits(), b"x", &spec())
        .expect_err("an endless loop cannot succeed");
    let elapsed = started.elapsed();
    assert!(
        matches!(error, PluginError::Timeout(d) if d == limits().deadline),
        "{error:?}"
    );
    assert!(error.is_server_fault());
    // Stopped close to the deadline: not before it, and well before "never".
    assert!(elapsed >= limits().deadline, "stopped early: {elapsed:?}");
    assert!(elapsed < limits().deadline * 5, "stopped late: {elapsed:?}");
    assert_still_serves(&plugin);
}

#[test]
fn memory_hog_hits_the_cap() {
    let runtime = runtime();
    let plugin = hostile(&runtime);
    let error = plugin
        .transform(&mode("hog"), &limits(), b"x", &spec())
        .expect_err("a memory hog cannot succeed");
    assert!(matches!(error, PluginError::ResourceLimit(_)), "{error:?}");
    assert_still_serves(&plugin);
}

#[test]
fn panic_traps() {
    let runtime = runtime();
    let plugin = hostile(&runtime);
    let error = plugin
        .transform(&mode("panic"), &limits(), b"x", &spec())
        .expect_err("a panic cannot succeed");
    assert!(matches!(error, PluginError::Trap(_)), "{error:?}");
    assert_still_serves(&plugin);
}

#[test]
fn oversized_output_is_refused() {
    let runtime = runtime();
    let plugin = hostile(&runtime);
    let settings = Arc::new(Settings::from([
        ("mode".to_owned(), "oversize".to_owned()),
        ("size".to_owned(), (20u32 << 20).to_string()),
    ]));
    let generous = CallLimits {
        deadline: Duration::from_secs(10),
        ..limits()
    };
    let error = plugin
        .transform(&settings, &generous, b"x", &spec())
        .expect_err("20 MiB of output is over the 16 MiB limit");
    assert!(
        matches!(&error, PluginError::ResourceLimit(m) if m.contains("bytes of images")),
        "{error:?}"
    );
    assert_still_serves(&plugin);
}

#[test]
fn concurrent_hostile_calls_do_not_disturb_polite_ones() {
    let runtime = runtime();
    let plugin = hostile(&runtime);
    std::thread::scope(|scope| {
        for hostile_mode in ["loop", "hog", "panic", "oversize"] {
            let plugin = plugin.clone();
            scope.spawn(move || {
                for _ in 0..2 {
                    assert!(
                        plugin
                            .transform(&mode(hostile_mode), &limits(), b"x", &spec())
                            .is_err()
                    );
                }
            });
        }
        for _ in 0..20 {
            assert_still_serves(&plugin);
        }
    });
}

#[test]
fn a_component_of_another_world_is_invalid() {
    let runtime = runtime();
    let auth = builtin("auth-jwt").expect("auth-jwt is embedded");
    let error = runtime
        .load_transform("auth-as-transform", auth)
        .err()
        .expect("auth-jwt does not implement the transform world");
    assert!(matches!(error, PluginError::Invalid(_)), "{error:?}");
    assert_eq!(runtime.detect_world(auth).expect("detect"), World::Auth);
    assert_eq!(
        runtime.detect_world(hostile_component()).expect("detect"),
        World::Transform
    );
}

#[test]
fn garbage_is_not_a_component() {
    let runtime = runtime();
    for bytes in [&b""[..], b"\0asm\x01\0\0\0", b"definitely not wasm"] {
        let error = runtime.load_auth("garbage", bytes).err().expect("garbage");
        assert!(matches!(error, PluginError::Invalid(_)), "{error:?}");
    }
}

#[test]
fn precompiled_artifacts_are_cached_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = RuntimeOptions {
        cache_dir: Some(dir.path().to_path_buf()),
        ..RuntimeOptions::default()
    };
    let wasm = builtin("auth-jwt").expect("embedded");
    let first = Runtime::new(&options).expect("runtime");
    let plugin = first.load_auth("auth-jwt", wasm).expect("load");
    let artifacts: Vec<_> = std::fs::read_dir(dir.path())
        .expect("cache dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    assert!(artifacts[0].starts_with(plugin.digest()), "{artifacts:?}");
    assert!(artifacts[0].ends_with(".cwasm"));
    drop(first);

    // A second runtime loads the artifact instead of compiling, and it works.
    {
        let second = Runtime::new(&options).expect("runtime");
        let plugin = second.load_auth("auth-jwt", wasm).expect("load from cache");
        assert_eq!(plugin.digest().len(), 64);
    }

    // A corrupted artifact is discarded and rebuilt, never trusted. (Nothing may still map
    // the file: the host only ever replaces cache files by renaming, never in place.)
    let path = dir.path().join(&artifacts[0]);
    std::fs::write(&path, b"corrupt").expect("corrupt the artifact");
    let third = Runtime::new(&options).expect("runtime");
    third
        .load_auth("auth-jwt", wasm)
        .expect("load after corruption");
    assert!(std::fs::metadata(&path).expect("rewritten").len() > 1000);
}
