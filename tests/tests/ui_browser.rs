//! The self-service page and the `<avatar-picker>` element in a real browser: Debian's
//! `chromium`, headless, driven by `tests/browser/ui.mjs` (Playwright's `playwright-core`
//! from npm) against the real binary. The script opens the page with a minted token,
//! chooses a JPEG, moves and zooms the crop with the mouse, the keyboard and (on a phone's
//! screen) fingers, saves, removes, provokes the error messages (the real ones, and every
//! other code of the API faked in the browser), runs axe-core in light and dark, and saves
//! and removes through the picker from an app on another origin, at a second tenant by its
//! prefix; this side checks that the served 128 px image is the chosen region, pixel by
//! pixel, and that no token reached the server's log.
//!
//! Chromium and the npm packages come from `scripts/browser.sh` (run by `scripts/test.sh`).
//! Under `CI=true` a missing one fails the test; elsewhere it is skipped with a message.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use avatar_tests::server::TestServer;
use avatar_tests::{images, unix_now, workspace_root};
use base64::Engine as _;
use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use serde_json::{Value, json};

const HASH: &str = "5d41402abc4b2a76b9719d911017c592aabbccdd";
const OTHER: &str = "0123456789abcdef0123456789abcdef01234567";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The longest the script may take: it stops itself after 150 s (about 60 s measured, most
/// of it in the debug build's uploads), each step bounded by 15 s; this is the backstop.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(200);

/// The origin of the test's app page, which the browser fakes (`page.route`).
const APP_ORIGIN: &str = "http://localhost:9";

/// A second tenant, reached by its prefix, that lets only the test's app frame its page and
/// has sizes of its own; the picker is tried there.
fn with_acme(config: &mut Value) {
    let mut acme = config["tenants"][0].clone();
    acme["id"] = json!("acme");
    acme["cors_origins"] = json!([APP_ORIGIN]);
    acme["sizes"] = json!({"tiny": 32, "big": 96});
    acme["default_size"] = json!("big");
    config["tenants"]
        .as_array_mut()
        .expect("the tenants")
        .push(acme);
}

fn browser_dir() -> PathBuf {
    workspace_root().join("tests/browser")
}

/// What the test needs and lacks, if anything.
fn missing() -> Option<String> {
    if !std::path::Path::new(CHROMIUM).exists() {
        return Some(format!("no {CHROMIUM}"));
    }
    for package in ["playwright-core", "axe-core"] {
        let manifest = browser_dir()
            .join("node_modules")
            .join(package)
            .join("package.json");
        if !manifest.is_file() {
            return Some(format!("no {}", manifest.display()));
        }
    }
    None
}

/// A picture whose every region is told apart: red grows to the right, green downwards,
/// and a 60 px checkerboard in blue, 1200 x 900 (not square, so the initial crop is the
/// centred square).
fn fixture() -> RgbImage {
    let (w, h) = (1200, 900);
    RgbImage::from_fn(w, h, |x, y| {
        let checker = ((x / 60) + (y / 60)) % 2;
        Rgb([
            (x * 255 / w) as u8,
            (y * 255 / h) as u8,
            if checker == 0 { 40 } else { 220 },
        ])
    })
}

/// Mean absolute difference per channel of two images of the same size.
fn difference(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let total: u64 = a
        .pixels()
        .zip(b.pixels())
        .flat_map(|(p, q)| p.0.iter().zip(q.0).map(|(x, y)| u64::from(x.abs_diff(y))))
        .sum();
    total as f64 / (f64::from(a.width()) * f64::from(a.height()) * 3.0)
}

/// `x,y,w,h` as the page sent it: a square, so `(x, y, side)`.
fn sent_crop(sent: &Value) -> (u32, u32, u32) {
    let numbers: Vec<u32> = sent
        .as_str()
        .expect("the crop the page sent")
        .split(',')
        .map(|n| n.parse().expect("a number"))
        .collect();
    let [x, y, w, h] = numbers[..] else {
        panic!("not a rectangle: {numbers:?}")
    };
    assert_eq!(w, h, "the page sent a square");
    (x, y, w)
}

/// The square at `x, y` of `image`, resized to 128 px as the server's variant is.
fn region(image: &RgbImage, x: u32, y: u32, side: u32) -> RgbImage {
    let square = imageops::crop_imm(image, x, y, side, side).to_image();
    imageops::resize(&square, 128, 128, FilterType::Lanczos3)
}

/// An image the script fetched, as base64.
fn served_image(base64: &Value) -> RgbImage {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64.as_str().expect("the served image"))
        .expect("base64");
    image::load_from_memory(&bytes).expect("an image").to_rgb8()
}

fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes)
            .expect("reading the script's output");
        bytes
    })
}

/// Runs `tests/browser/ui.mjs` on `plan`; its JSON result, or the test fails with its
/// stderr.
fn run_script(plan: &Value) -> Value {
    let mut child = Command::new("node")
        .arg("ui.mjs")
        .current_dir(browser_dir())
        // A group of its own, so that a kill past the deadline takes chromium with it.
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting node");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(plan.to_string().as_bytes())
        .expect("writing the plan");
    let stdout = read_all(child.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + SCRIPT_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for node") {
            break status;
        }
        if Instant::now() >= deadline {
            Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status()
                .ok();
            child.kill().ok();
            child.wait().ok();
            panic!("the browser script did not finish within {SCRIPT_DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(50));
    };
    let stdout = stdout.join().expect("stdout");
    let stderr = String::from_utf8_lossy(&stderr.join().expect("stderr")).into_owned();
    assert!(
        status.success(),
        "the browser script failed ({status}):\n{stderr}"
    );
    serde_json::from_slice(&stdout).unwrap_or_else(|e| {
        panic!(
            "the script printed no JSON ({e}): {}",
            String::from_utf8_lossy(&stdout)
        )
    })
}

#[test]
fn a_person_sets_crops_and_removes_their_avatar_in_chromium() {
    if let Some(why) = missing() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!ci, "the browser test cannot run under CI=true: {why}");
        eprintln!("skipping the browser test: {why} (install with scripts/browser.sh)");
        return;
    }
    let server = TestServer::builder()
        .default_avatar(json!({"file": "default-avatar.png"}))
        .configure(with_acme)
        .start();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let picture = fixture();
    let jpeg = images::encode(&DynamicImage::ImageRgb8(picture.clone()), ImageFormat::Jpeg);
    let paths = |name: &str| dir.path().join(name).to_str().expect("UTF-8").to_owned();
    std::fs::write(paths("photo.jpg"), &jpeg).unwrap();
    // The same picture stored on its side, with the EXIF orientation (6, "turn 90 degrees
    // clockwise to show") that a phone's camera writes.
    let rotated = images::with_exif_orientation(
        &images::encode(
            &DynamicImage::ImageRgb8(imageops::rotate270(&picture)),
            ImageFormat::Jpeg,
        ),
        6,
    );
    std::fs::write(paths("turned.jpg"), &rotated).unwrap();
    // Larger than the 10 MiB upload limit: refused on the page before it is sent.
    std::fs::write(paths("huge.jpg"), vec![0u8; 20 << 20]).unwrap();
    std::fs::write(paths("notes.txt"), b"not a picture at all\n").unwrap();
    let token = server.token(HASH);
    let now = unix_now();
    let expired = server.sign(&json!({
        "sub": "e2e", "hash": HASH, "tenant": "default", "iat": now - 7200, "exp": now - 3600,
    }));
    let screenshots = std::env::var("AVATAR_UI_SCREENSHOTS").unwrap_or_else(|_| {
        avatar_tests::target_dir()
            .join("ui-screenshots")
            .to_str()
            .expect("UTF-8")
            .to_owned()
    });
    let plan = json!({
        "base": server.url("").trim_end_matches('/'),
        "chromium": CHROMIUM,
        "hash": HASH,
        "otherHash": OTHER,
        "token": token,
        "expiredToken": expired,
        "returnUrl": "https://app.example/settings",
        "sizes": [128, 256, 512, 1024],
        "jpeg": paths("photo.jpg"),
        "rotatedJpeg": paths("turned.jpg"),
        "big": paths("huge.jpg"),
        "text": paths("notes.txt"),
        "axe": browser_dir().join("node_modules/axe-core/axe.min.js"),
        "screenshots": screenshots,
        "deadlineMs": 150_000,
        "appOrigin": APP_ORIGIN,
        "acme": {
            "base": server.url("/t/acme"),
            "token": server.token_for("acme", HASH),
            "sizes": [32, 96],
            "presets": ["big", "tiny"],
        },
    });
    let result = run_script(&plan);
    eprintln!("screenshots of each state: {screenshots}");

    // The served 128 px avatar is the region the mouse and keys chose, not the centre it
    // started at. The fixture and the stored variant are both JPEG, and the checkerboard's
    // hard edges are where JPEG errs most: 8 to 9 per channel measured for the right region,
    // ~50 for the starting centre; the bounds sit between with room on both sides.
    let decoded = image::load_from_memory(&jpeg)
        .expect("the fixture")
        .to_rgb8();
    let (x, y, side) = sent_crop(&result["sentCrop"]);
    let served = served_image(&result["served128"]);
    let near = difference(&served, &region(&decoded, x, y, side));
    let centre = difference(&served, &region(&decoded, 150, 0, 900));
    eprintln!(
        "served 128 px vs the chosen region {x},{y},{side}: {near:.2} per channel; vs the centre: {centre:.2}"
    );
    assert!(
        near < 12.0,
        "the served avatar is {near:.2} per channel away from the chosen region"
    );
    assert!(
        centre > 20.0,
        "the served avatar is as close to the uncropped centre ({centre:.2})"
    );

    // The turned photo: the crop the page sent is in the upright picture's pixels, as the
    // browser shows it and the server counts, not in the stored rows.
    let stored_rows = image::load_from_memory(&rotated)
        .expect("the turned fixture")
        .to_rgb8();
    let upright = imageops::rotate90(&stored_rows);
    let (x, y, side) = sent_crop(&result["rotatedCrop"]);
    let served = served_image(&result["rotated128"]);
    let near = difference(&served, &region(&upright, x, y, side));
    let unturned = difference(&served, &region(&stored_rows, x, y, side));
    eprintln!(
        "turned photo, served 128 px vs the upright region {x},{y},{side}: {near:.2}; vs the same rectangle of the stored rows: {unturned:.2}"
    );
    assert!(near < 12.0, "the turned photo's avatar is {near:.2} away");
    assert!(
        unturned > 20.0,
        "the turned photo was cropped unturned ({unturned:.2})"
    );

    let event = &result["pickerEvent"];
    assert_eq!(event["hash"], HASH);
    assert!(
        event["urls"].as_object().is_some_and(|u| !u.is_empty()),
        "{event}"
    );

    // The token was never written to the server's logs.
    let logs = server.stderr();
    for token in [
        &token,
        plan["acme"]["token"].as_str().expect("acme's token"),
    ] {
        assert!(!logs.contains(token), "a token is in the server's log");
    }
    let refusals = result["refusals"].as_object().expect("the refusals");
    eprintln!("{} refusals said in words, e.g.:", refusals.len());
    for key in ["413 payload-too-large", "429 rate-limited", "0 network"] {
        eprintln!("  {key}: {}", refusals[key]);
    }
    let acme = &result["pickerRemoval"];
    assert_eq!(acme["removed"], true, "{acme}");

    // What the page weighs and how soon it can be used.
    let mut weights = Vec::new();
    for path in [
        "/_ui/edit",
        "/_ui/edit.js",
        "/_ui/edit.css",
        "/_ui/avatar-picker.js",
    ] {
        weights.push(format!("{path} {} B", server.get(path).body.len()));
    }
    eprintln!("page weight: {}", weights.join(", "));
    eprintln!(
        "time to interactive: median {} ms of 5 fresh loads {}",
        result["readyMedianMs"], result["readyMs"]
    );
}
