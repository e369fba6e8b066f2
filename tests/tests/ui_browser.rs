//! The self-service page and the `<avatar-picker>` element in a real browser: Debian's
//! `chromium`, headless, driven by `tests/browser/ui.mjs` (Playwright's `playwright-core`
//! from npm) against the real binary. The script opens the page with a minted token,
//! chooses a JPEG, moves and zooms the crop with the mouse and the keyboard, saves, removes,
//! provokes the error messages, runs axe-core, and saves the picker from an app on another
//! origin; this side checks that the served 128 px image is the chosen region, pixel by
//! pixel, and that the token never reached the server's log.
//!
//! Chromium and the npm packages come from `scripts/browser.sh` (run by `scripts/test.sh`).
//! Under `CI=true` a missing one fails the test; elsewhere it is skipped with a message.

use std::io::{Read, Write};
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
/// The longest the script may take: about twenty page loads and three uploads, each step
/// bounded by the script's own 15 s.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(240);

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
        .start();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let picture = fixture();
    let jpeg = images::encode(&DynamicImage::ImageRgb8(picture), ImageFormat::Jpeg);
    let paths = |name: &str| dir.path().join(name).to_str().expect("UTF-8").to_owned();
    std::fs::write(paths("photo.jpg"), &jpeg).unwrap();
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
        "big": paths("huge.jpg"),
        "text": paths("notes.txt"),
        "axe": browser_dir().join("node_modules/axe-core/axe.min.js"),
        "screenshots": screenshots,
    });
    let result = run_script(&plan);
    eprintln!("screenshots of each state: {screenshots}");

    // The served 128 px avatar is the region the keys chose, not the centre it started at.
    let sent: Vec<u32> = result["sentCrop"]
        .as_str()
        .expect("the crop the page sent")
        .split(',')
        .map(|n| n.parse().expect("a number"))
        .collect();
    let [x, y, w, h] = sent[..] else {
        panic!("not a rectangle: {sent:?}")
    };
    assert_eq!(w, h, "the page sent a square");
    let decoded = image::load_from_memory(&jpeg)
        .expect("the fixture")
        .to_rgb8();
    let expected = |x, y, side| {
        let region = imageops::crop_imm(&decoded, x, y, side, side).to_image();
        imageops::resize(&region, 128, 128, FilterType::Lanczos3)
    };
    let served = base64::engine::general_purpose::STANDARD
        .decode(result["served128"].as_str().expect("the served image"))
        .expect("base64");
    let served = image::load_from_memory(&served)
        .expect("an image")
        .to_rgb8();
    let near = difference(&served, &expected(x, y, w));
    let centre = difference(&served, &expected(150, 0, 900));
    eprintln!(
        "served 128 px vs the chosen region: {near:.2} per channel; vs the centre: {centre:.2}"
    );
    // The fixture and the stored variant are both JPEG, and the checkerboard's hard edges
    // are where JPEG errs most: about 8 per channel measured; the starting centre is ~48.
    assert!(
        near < 12.0,
        "the served avatar is {near:.2} per channel away from the chosen region"
    );
    assert!(
        centre > 15.0,
        "the served avatar is as close to the uncropped centre ({centre:.2})"
    );

    let event = &result["pickerEvent"];
    assert_eq!(event["hash"], HASH);
    assert!(
        event["urls"].as_object().is_some_and(|u| !u.is_empty()),
        "{event}"
    );

    // The token was never written to the server's logs.
    let logs = server.stderr();
    assert!(!logs.contains(&token), "the token is in the server's log");

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
        "time to interactive (ms, 5 fresh loads): {}",
        result["readyMs"]
    );
}
