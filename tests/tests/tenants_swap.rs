//! Hot swap through the real binary: a tenant's pipeline changes while uploads and reads run,
//! by editing `config.json`, by replacing a `.wasm` file, and on `SIGHUP`; broken plugins are
//! refused while the old ones keep serving.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use avatar_tests::images;
use avatar_tests::server::{Reply, TestServer};
use image::{DynamicImage, ImageFormat};
use serde_json::{Value, json};

/// How long a reload may take to show on `/_status`: the watcher polls every 100 ms here.
const RELOAD_BUDGET: Duration = Duration::from_secs(20);

fn colourful() -> Vec<u8> {
    images::encode(
        &DynamicImage::ImageRgb8(images::quadrants(400, 400)),
        ImageFormat::Png,
    )
}

fn hash(n: u64) -> String {
    format!("{:040x}", 0xabc0_0000_0000u64 + n)
}

fn generation(server: &TestServer) -> u64 {
    server.status()["generation"]
        .as_u64()
        .expect("a generation")
}

/// Waits until `/_status` reports a reload attempt other than `previous`, and returns it.
fn next_reload(server: &TestServer, previous: &Value) -> Value {
    let deadline = Instant::now() + RELOAD_BUDGET;
    loop {
        let last = server.status()["last_reload"].clone();
        if !last.is_null() && last != *previous {
            return last;
        }
        assert!(
            Instant::now() < deadline,
            "no reload within {RELOAD_BUDGET:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn last_reload(server: &TestServer) -> Value {
    server.status()["last_reload"].clone()
}

fn is_gray(reply: &Reply) -> bool {
    let image = reply.image().to_rgb8();
    image.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2])
}

fn corner_alpha(reply: &Reply) -> u8 {
    reply.image().to_rgba8().get_pixel(0, 0).0[3]
}

#[test]
fn adding_a_filter_under_load_fails_no_request_and_later_uploads_are_gray() {
    let server = Arc::new(
        TestServer::builder()
            .configure(|c: &mut Value| c["plugins"]["watch_interval_ms"] = json!(100))
            .start(),
    );
    let body = Arc::new(colourful());
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..4u64)
        .map(|w| {
            let (server, body, stop, done) =
                (server.clone(), body.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                // Bounded in count and in time.
                for i in 0..400u64 {
                    if stop.load(Ordering::Relaxed) || started.elapsed() > Duration::from_secs(90) {
                        break;
                    }
                    let h = hash(w * 1000 + i % 5);
                    let reply = if i % 2 == 0 {
                        server.upload(&h, &body, "image/png")
                    } else {
                        server.get(&format!("/{h}/small"))
                    };
                    let ok = reply.status == 201 || reply.status == 200 || reply.status == 404;
                    if !ok {
                        failures.push(format!("{} {}", reply.status, reply.text()));
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                failures
            })
        })
        .collect();

    // Let the load run, then swap the pipeline while it does.
    while done.load(Ordering::Relaxed) < 80 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let before = last_reload(&server);
    assert_eq!(generation(&server), 1);
    server.edit_config(|c| {
        c["tenants"][0]["filters"] = json!([{"plugin": "filter-grayscale"}]);
    });
    let reload = next_reload(&server, &before);
    assert_eq!(reload["ok"], true, "{reload}");
    assert_eq!(generation(&server), 2);
    let swapped_at = done.load(Ordering::Relaxed);
    while done.load(Ordering::Relaxed) < swapped_at + 120 {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("a load thread"))
        .collect();
    assert!(failures.is_empty(), "failed requests: {failures:?}");

    let after = hash(99_999);
    assert_eq!(server.upload(&after, &body, "image/png").status, 201);
    assert!(
        is_gray(&server.get(&format!("/{after}/small"))),
        "uploads after the swap are gray"
    );
}

#[test]
fn replacing_a_wasm_file_swaps_the_plugin_and_a_broken_one_is_refused() {
    let server = TestServer::builder()
        .configure(|c: &mut Value| c["plugins"]["watch_interval_ms"] = json!(100))
        .start();
    let filter = server.root().join("filter.wasm");
    std::fs::write(
        &filter,
        avatar_host::plugin::builtin("filter-grayscale").unwrap(),
    )
    .unwrap();
    let before = last_reload(&server);
    server.edit_config(|c| c["tenants"][0]["filters"] = json!([{"plugin": "filter.wasm"}]));
    let reload = next_reload(&server, &before);
    assert_eq!(reload["ok"], true, "{reload}");
    let a = hash(1);
    assert_eq!(server.upload(&a, &colourful(), "image/png").status, 201);
    let gray = server.get(&format!("/{a}/small"));
    assert!(is_gray(&gray));
    assert_eq!(corner_alpha(&gray), 255);

    // Another component under the same path: round avatars from now on.
    replace(
        &filter,
        avatar_host::plugin::builtin("filter-circle").unwrap(),
    );
    let reload = next_reload(&server, &reload);
    assert_eq!(reload["ok"], true, "{reload}");
    assert_eq!(server.upload(&a, &colourful(), "image/png").status, 201);
    assert_eq!(
        corner_alpha(&server.get(&format!("/{a}/small"))),
        0,
        "round now"
    );
    let status = server.status();
    let digest = status["tenants"][0]["plugins"][2]["sha256"].clone();

    // Garbage, then a component of the wrong world: refused; the circle keeps serving.
    for (what, bytes) in [
        (
            "garbage",
            b"\0asm\x0d\0\x01\0 this is not a component".to_vec(),
        ),
        (
            "an auth plugin",
            avatar_host::plugin::builtin("auth-jwt").unwrap().to_vec(),
        ),
    ] {
        let previous = last_reload(&server);
        replace(&filter, &bytes);
        let reload = next_reload(&server, &previous);
        assert_eq!(reload["ok"], false, "{what}: {reload}");
        assert!(
            reload["error"]
                .as_str()
                .is_some_and(|e| e.contains("filter.wasm")),
            "{what}: the error names the plugin: {reload}"
        );
        let status = server.status();
        assert_eq!(
            status["tenants"][0]["plugins"][2]["sha256"], digest,
            "{what}"
        );
        assert_eq!(
            server.upload(&a, &colourful(), "image/png").status,
            201,
            "{what}"
        );
        assert_eq!(
            corner_alpha(&server.get(&format!("/{a}/small"))),
            0,
            "{what}"
        );
        assert!(server.stderr().contains("reload refused"), "{what}: logged");
    }
}

#[test]
fn sighup_reloads_and_a_bad_configuration_keeps_the_old_tenants() {
    let server = TestServer::builder()
        // No watching: only the signal reloads.
        .configure(|c: &mut Value| c["plugins"]["watch_interval_ms"] = json!(0))
        .start();
    server.edit_config(|c| c["tenants"][0]["filters"] = json!([{"plugin": "filter-grayscale"}]));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(generation(&server), 1, "not watching");
    let before = last_reload(&server);
    signal_hup(&server);
    let reload = next_reload(&server, &before);
    assert_eq!(reload["ok"], true, "{reload}");
    assert_eq!(reload["trigger"], "SIGHUP");
    let a = hash(2);
    assert_eq!(server.upload(&a, &colourful(), "image/png").status, 201);
    assert!(is_gray(&server.get(&format!("/{a}/small"))));

    // A configuration that does not load: the old tenants keep serving.
    server.edit_config(|c| c["tenants"][0]["sizes"] = json!({"small": 0}));
    let previous = last_reload(&server);
    signal_hup(&server);
    let reload = next_reload(&server, &previous);
    assert_eq!(reload["ok"], false, "{reload}");
    assert!(
        reload["error"].as_str().unwrap().contains("sizes"),
        "{reload}"
    );
    assert_eq!(generation(&server), 2);
    assert_eq!(server.upload(&a, &colourful(), "image/png").status, 201);
    assert!(is_gray(&server.get(&format!("/{a}/small"))));
    // A change outside `tenants` is reported as needing a restart.
    server.edit_config(|c| {
        c["tenants"][0]["sizes"] = json!({"small": 128, "medium": 256});
        c["cache"] = json!({"max_records": 10, "max_image_mib": 1});
    });
    let previous = last_reload(&server);
    signal_hup(&server);
    let reload = next_reload(&server, &previous);
    assert_eq!(reload["ok"], true, "{reload}");
    assert_eq!(reload["restart_needed_for"], json!(["cache"]), "{reload}");
}

/// Writes `bytes` to `path` by rename, as deployment tools replace files.
fn replace(path: &std::path::Path, bytes: &[u8]) {
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, bytes).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

fn signal_hup(server: &TestServer) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("running kill");
    assert!(status.success());
}
