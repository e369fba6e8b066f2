//! How long a plugin swap takes to serve: the time from the change (a rewritten
//! `config.json`, or `SIGHUP`) to the running server reporting the new generation on
//! `/_status`, when the new pipeline serves. Each round toggles `filter-grayscale` in the
//! default tenant's pipeline and checks that an upload right after comes out as configured.
//!
//! `cargo run --release -p avatar-tests --example swap_latency -- [ROUNDS]` (default 20).
//! The server is the release `avatar` binary on loopback with its default watch interval
//! (500 ms) for file changes, and with watching off for the `SIGHUP` rounds. The file
//! changes are spread evenly over the polling cycle, so their median shows the typical wait.

use std::time::{Duration, Instant};

use avatar_tests::images;
use avatar_tests::server::TestServer;
use image::{DynamicImage, ImageFormat};
use serde_json::{Value, json};

const HASH: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

fn generation(server: &TestServer) -> u64 {
    server.status()["generation"]
        .as_u64()
        .expect("a generation")
}

/// Waits (bounded) for the generation after `before`; returns the time since `since`.
fn wait_for(server: &TestServer, before: u64, since: Instant) -> Duration {
    let limit = Duration::from_secs(30);
    while generation(server) == before {
        assert!(since.elapsed() < limit, "no reload within {limit:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
    since.elapsed()
}

fn toggle(config: &mut Value, gray: bool) {
    config["tenants"][0]["filters"] = if gray {
        json!([{"plugin": "filter-grayscale"}])
    } else {
        json!([])
    };
}

fn check(server: &TestServer, body: &[u8], gray: bool) {
    assert_eq!(server.upload(HASH, body, "image/png").status, 201);
    let image = server.get(&format!("/{HASH}/small")).image().to_rgb8();
    let is_gray = image.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]);
    assert_eq!(
        is_gray, gray,
        "the upload after the swap follows the new pipeline"
    );
}

fn summary(name: &str, mut times: Vec<Duration>, took: &[f64]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut took = took.to_vec();
    took.sort_by(f64::total_cmp);
    println!(
        "{name}: {} rounds; change to serving: median {:.1} ms, p90 {:.1} ms, max {:.1} ms; \
         of which building the new tenants: median {:.1} ms",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[times.len() * 9 / 10]),
        ms(times[times.len() - 1]),
        took[took.len() / 2],
    );
}

fn last_took(server: &TestServer) -> f64 {
    server.status()["last_reload"]["took_ms"]
        .as_f64()
        .unwrap_or(f64::NAN)
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(20, |r| r.parse().expect("ROUNDS is a number"));
    let body = images::encode(
        &DynamicImage::ImageRgb8(images::quadrants(400, 400)),
        ImageFormat::Png,
    );

    let server = TestServer::builder().start();
    let (mut times, mut took) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let gray = round % 2 == 0;
        let before = generation(&server);
        let since = Instant::now();
        server.edit_config(|c| toggle(c, gray));
        times.push(wait_for(&server, before, since));
        took.push(last_took(&server));
        check(&server, &body, gray);
        // Keep the next change out of the same modification-time tick, and spread the
        // changes over the watcher's polling cycle: right after a reload the next poll is
        // a whole interval away, so changes made in lockstep would all wait the longest.
        let phase = (round * 500 / rounds) as u64;
        std::thread::sleep(Duration::from_millis(20 + phase));
    }
    summary(
        "config.json rewritten (watch interval 500 ms)",
        times,
        &took,
    );

    let server = TestServer::builder()
        .configure(|c: &mut Value| c["plugins"]["watch_interval_ms"] = json!(0))
        .start();
    let (mut times, mut took) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let gray = round % 2 == 0;
        server.edit_config(|c| toggle(c, gray));
        let before = generation(&server);
        let since = Instant::now();
        let status = std::process::Command::new("kill")
            .args(["-HUP", &server.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        times.push(wait_for(&server, before, since));
        took.push(last_took(&server));
        check(&server, &body, gray);
    }
    summary("SIGHUP", times, &took);
}
