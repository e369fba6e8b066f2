//! What a size or a format nobody stored costs: the time from request to last byte of the
//! first `GET /avatar/{hash}?s=N` for sizes rendered from the stored 128 px variant (a cache
//! miss, rendered by the transform plugin in Wasm), of the same requests again (cache hits),
//! and of the first AVIF and WebP encodes; and the bytes of each format at 80, 256 and 512 px.
//!
//! `cargo run --release -p avatar-tests --example render_latency` runs the release `avatar`
//! binary on loopback on the embedded backends, with one client, so each figure is one request
//! alone on the machine (a 2-core machine here, shared with nothing else heavy).

use std::time::{Duration, Instant};

use avatar_tests::images;
use avatar_tests::server::TestServer;
use image::ImageFormat;

const HASH: &str = "7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d";

fn timed(server: &TestServer, path: &str, accept: Option<&str>) -> (Duration, Vec<u8>, String) {
    let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
    let started = Instant::now();
    let reply = server.get_with(path, &headers);
    let took = started.elapsed();
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    let format = reply.header("content-type").unwrap_or_default().to_owned();
    (took, reply.body, format)
}

fn percentiles(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: {} requests; p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[times.len() * 9 / 10]),
        ms(times[(times.len() * 99 / 100).min(times.len() - 1)]),
        ms(times[times.len() - 1]),
    );
}

fn main() {
    let server = TestServer::builder().embedded().start();
    let photo = images::encode(
        &image::DynamicImage::ImageRgb8(images::photo(1000)),
        ImageFormat::Jpeg,
    );
    assert_eq!(server.upload(HASH, &photo, "image/jpeg").status, 201);
    // Warm the stored 128 px variant into the image cache, as a busy server would have it.
    timed(&server, &format!("/avatar/{HASH}?s=128"), None);

    // Sizes from 41 to 127: each rendered from the 128 px variant, each once.
    let sides: Vec<u32> = (41..128).collect();
    let first: Vec<Duration> = sides
        .iter()
        .map(|s| timed(&server, &format!("/avatar/{HASH}?s={s}"), None).0)
        .collect();
    percentiles("first request, 41..127 px JPEG from 128 (render)", first);
    let again: Vec<Duration> = sides
        .iter()
        .map(|s| timed(&server, &format!("/avatar/{HASH}?s={s}"), None).0)
        .collect();
    percentiles("same requests again (cache hits)", again);

    for (ext, name) in [("webp", "WebP"), ("avif", "AVIF")] {
        let firsts: Vec<Duration> = (60..100)
            .map(|s| timed(&server, &format!("/avatar/{HASH}.{ext}?s={s}"), None).0)
            .collect();
        percentiles(&format!("first {name} encode, 60..99 px"), firsts);
        for side in [256, 512] {
            let (took, body, _) = timed(&server, &format!("/avatar/{HASH}.{ext}?s={side}"), None);
            println!(
                "first {name} encode at {side} px: {:.1} ms, {} bytes",
                took.as_secs_f64() * 1000.0,
                body.len()
            );
        }
    }
    let negotiated: Vec<Duration> = (100..120)
        .map(|s| {
            let accept = "image/avif,image/webp,*/*";
            timed(&server, &format!("/avatar/{HASH}?s={s}"), Some(accept)).0
        })
        .collect();
    percentiles(
        "first negotiated request (renders AVIF and WebP to compare), 100..119 px",
        negotiated,
    );

    println!("bytes per format of a 1000x1000 photo's avatar:");
    for side in [80, 256, 512] {
        let sizes: Vec<String> = ["jpg", "png", "webp", "avif"]
            .iter()
            .map(|ext| {
                let (_, body, _) = timed(&server, &format!("/avatar/{HASH}.{ext}?s={side}"), None);
                format!("{ext} {}", body.len())
            })
            .collect();
        let (_, body, format) = timed(
            &server,
            &format!("/avatar/{HASH}?s={side}"),
            Some("image/avif,image/webp,*/*"),
        );
        println!(
            "  {side} px: {}; negotiated: {format}, {} bytes",
            sizes.join(", "),
            body.len()
        );
    }
}
