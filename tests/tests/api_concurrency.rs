//! Replacing an avatar while readers hammer it: every read is a `200` with a whole image, old
//! or new, never an error or a torn file; with the cache on, off, and with redirect delivery.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use avatar_tests::server::{Delivery, Reply, TestServer, solid_png};
use image::GenericImageView;

const HASH: &str = "0123456789abcdef0123456789abcdef01234567";
const READERS: usize = 4;
const REPLACEMENTS: usize = 10;
/// Reads between two replacements, so every version is read.
const READS_PER_VERSION: usize = 20;
/// The whole exercise, readers included, must end within this.
const BUDGET: Duration = Duration::from_secs(20);

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];

/// Checks one answer: a `200` whose body decodes to a `side`-pixel square of red or blue.
fn check(reply: &Reply, side: u32, what: &str) -> Result<(), String> {
    if reply.status != 200 {
        return Err(format!("{what}: {} {}", reply.status, reply.text()));
    }
    let image = image::load_from_memory(&reply.body)
        .map_err(|e| format!("{what}: {} bytes do not decode: {e}", reply.body.len()))?;
    if image.dimensions() != (side, side) {
        return Err(format!(
            "{what}: {:?}, not {side} pixels",
            image.dimensions()
        ));
    }
    let pixel = image.to_rgb8().get_pixel(side / 2, side / 2).0;
    let near = |c: [u8; 3]| pixel.iter().zip(c).all(|(x, y)| x.abs_diff(y) <= 16);
    if near(RED) || near(BLUE) {
        Ok(())
    } else {
        Err(format!("{what}: a pixel of neither image: {pixel:?}"))
    }
}

/// `GET path`, following a redirect to where the store serves the file: this host's
/// `/_media/`, or the store's own URL (S3).
fn fetch(server: &TestServer, path: &str) -> Result<Reply, String> {
    let reply = server.get(path);
    if reply.status != 302 {
        return Ok(reply);
    }
    match reply.header("location") {
        Some(location) if location.starts_with("http") => Ok(server.get_url(location, &[])),
        other => Err(format!("{path}: redirected to {other:?}")),
    }
}

/// One read of `path`.
fn read(server: &TestServer, path: &str, side: u32) -> Result<(), String> {
    check(&fetch(server, path)?, side, path)
}

/// Waits, at most until `deadline`, for `done`; false when it never came.
fn poll(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn replace_under_readers(server: TestServer) {
    let started = Instant::now();
    let deadline = started + BUDGET;
    let red = solid_png(512, RED);
    let blue = solid_png(512, BLUE);
    server.upload_png(HASH, &red);
    // A 512-pixel source is stored as 512, 256 and 128.
    let files_per_version = server.image_files().len();
    assert_eq!(files_per_version, 3, "{:?}", server.image_files());

    let server = Arc::new(server);
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|i| {
            let server = server.clone();
            let stop = stop.clone();
            let reads = reads.clone();
            std::thread::spawn(move || {
                let (path, side) = if i % 2 == 0 {
                    (format!("/{HASH}"), 256)
                } else {
                    (format!("/{HASH}/small"), 128)
                };
                let mut failures = Vec::new();
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    if let Err(failure) = read(&server, &path, side) {
                        failures.push(failure);
                    }
                    reads.fetch_add(1, Ordering::Relaxed);
                }
                failures
            })
        })
        .collect();

    let mut colour = RED;
    for i in 0..REPLACEMENTS {
        // Let the readers see each version before the next replaces it.
        let seen = reads.load(Ordering::Relaxed);
        let paced = poll(deadline, || {
            reads.load(Ordering::Relaxed) >= seen + READS_PER_VERSION
        });
        assert!(paced, "the readers stalled before replacement {i}");
        let (image, image_colour) = if i % 2 == 0 {
            (&blue, BLUE)
        } else {
            (&red, RED)
        };
        let reply = server.upload(HASH, image, "image/png");
        assert_eq!(reply.status, 201, "replacement {i}: {}", reply.text());
        colour = image_colour;
    }
    // Keep reading while the replaced versions' files are removed after their grace period.
    let cleaned = poll(deadline, || server.image_files().len() == files_per_version);
    stop.store(true, Ordering::Relaxed);

    let mut failures = Vec::new();
    for reader in readers {
        failures.extend(reader.join().expect("a reader thread"));
    }
    let reads = reads.load(Ordering::Relaxed);
    assert!(
        failures.is_empty(),
        "{} of {reads} reads failed; first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(
        cleaned,
        "the replaced versions' files were not removed within the budget: {:?}",
        server.image_files()
    );
    assert!(reads >= REPLACEMENTS * READS_PER_VERSION, "{reads} reads");

    // The last replacement won.
    let reply = fetch(&server, &format!("/{HASH}")).expect("the final read");
    let pixel = reply.image().to_rgb8().get_pixel(128, 128).0;
    assert!(
        pixel.iter().zip(colour).all(|(x, y)| x.abs_diff(y) <= 16),
        "{pixel:?}"
    );
}

#[test]
fn replace_is_atomic_under_concurrent_readers() {
    replace_under_readers(TestServer::start());
}

#[test]
fn replace_is_atomic_under_concurrent_readers_without_the_cache() {
    replace_under_readers(TestServer::builder().cache(0, 0).start());
}

#[test]
fn replace_is_atomic_for_readers_following_redirects() {
    replace_under_readers(
        TestServer::builder()
            .delivery(Delivery::Redirect)
            .cache(0, 0)
            .start(),
    );
}

#[test]
fn concurrent_uploads_of_different_hashes_all_land() {
    let server = Arc::new(TestServer::start());
    let colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]];
    let uploads: Vec<_> = colours
        .iter()
        .enumerate()
        .map(|(i, colour)| {
            let server = server.clone();
            let colour = *colour;
            std::thread::spawn(move || {
                let hash = format!("{i}").repeat(40);
                let reply = server.upload(&hash, &solid_png(300, colour), "image/png");
                assert_eq!(reply.status, 201, "{hash}: {}", reply.text());
                hash
            })
        })
        .collect();
    for (upload, colour) in uploads.into_iter().zip(colours) {
        let hash = upload.join().expect("an upload thread");
        let reply = server.get(&format!("/{hash}"));
        assert_eq!(reply.status, 200);
        let pixel = reply.image().to_rgb8().get_pixel(128, 128).0;
        assert!(
            pixel.iter().zip(colour).all(|(x, y)| x.abs_diff(y) <= 16),
            "{hash}: {pixel:?}"
        );
    }
}

#[test]
fn concurrent_replacements_of_one_hash_leave_one_whole_version() {
    let server = Arc::new(TestServer::start());
    server.upload_png(HASH, &solid_png(512, RED));
    let colours = [RED, BLUE, [0, 255, 0], [255, 255, 0]];
    let uploads: Vec<_> = colours
        .iter()
        .map(|colour| {
            let server = server.clone();
            let image = solid_png(512, *colour);
            std::thread::spawn(move || {
                let reply = server.upload(HASH, &image, "image/png");
                assert_eq!(reply.status, 201, "{}", reply.text());
            })
        })
        .collect();
    for upload in uploads {
        upload.join().expect("an upload thread");
    }
    let reply = server.get(&format!("/{HASH}"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let pixel = reply.image().to_rgb8().get_pixel(128, 128).0;
    assert!(
        colours
            .iter()
            .any(|c| pixel.iter().zip(c).all(|(x, y)| x.abs_diff(*y) <= 16)),
        "{pixel:?}"
    );
    // The losers' files and the first version's go once their grace period is over.
    let deadline = Instant::now() + Duration::from_secs(15);
    let one_version = poll(deadline, || server.image_files().len() == 3);
    assert!(one_version, "left behind: {:?}", server.image_files());
}

/// A `DELETE` racing an upload of the same hash may win or lose, but what is left must be
/// whole: an avatar that answers `200`, or nothing at all, never a record without its files.
/// The delays only spread the `DELETE` over the upload's lifetime, so that some rounds land
/// between the upload's files being written and its record being committed; the assertion
/// holds for every interleaving.
#[test]
fn a_delete_racing_an_upload_leaves_the_avatar_whole_or_gone() {
    const ROUNDS: u32 = 30;
    let server = Arc::new(TestServer::start());
    let image = avatar_tests::server::png(1024, 1024);
    // How long an upload takes here, to spread the deletes over it.
    let started = Instant::now();
    server.upload_png(HASH, &image);
    let upload_time = started.elapsed();

    let mut broken = Vec::new();
    for round in 0..ROUNDS {
        let hash = format!("{:040x}", u64::from(round) + 1);
        server.upload_png(&hash, &image);
        let uploader = {
            let (server, hash, image) = (server.clone(), hash.clone(), image.clone());
            std::thread::spawn(move || server.upload(&hash, &image, "image/png").status)
        };
        std::thread::sleep(upload_time * (3 + 9 * round / ROUNDS) / 10);
        let deleted = server.delete(&hash, Some(&server.token(&hash))).status;
        let uploaded = uploader.join().expect("the upload thread");
        assert_eq!(uploaded, 201, "round {round}");
        assert!(
            matches!(deleted, 204 | 404),
            "round {round}: DELETE {deleted}"
        );

        let get = server.get(&format!("/{hash}"));
        let head = server.head(&format!("/{hash}")).status;
        let whole = get.status == 200 && head == 204 && image::load_from_memory(&get.body).is_ok();
        let gone = get.status == 404 && head == 404;
        if !whole && !gone {
            broken.push(format!(
                "round {round}: PUT 201, DELETE {deleted}, then GET {} ({}), HEAD {head}",
                get.status,
                get.error_code()
            ));
        }
    }
    assert!(
        broken.is_empty(),
        "{} of {ROUNDS} rounds left a broken avatar:\n{}\n{}",
        broken.len(),
        broken.join("\n"),
        server.stderr_tail()
    );
}
