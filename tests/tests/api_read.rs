//! Reading avatars through the real server: every `GET` and `HEAD` path with its headers,
//! the choice of a stored size at each boundary, conditional requests, backup and default
//! fallbacks, redirect delivery, CORS, and the service endpoints.

use avatar_tests::server::{Delivery, Reply, TestServer, png, solid_png};
use image::GenericImageView;
use serde_json::json;

/// SHA-1-shaped hashes.
const A: &str = "0123456789abcdef0123456789abcdef01234567";
const B: &str = "89abcdef0123456789abcdef0123456789abcdef";
const MISSING: &str = "ffffffffffffffffffffffffffffffffffffffff";
const ALSO_MISSING: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";

/// Asserts a `200` whose body decodes to a `side` x `side` image.
fn assert_image(reply: &Reply, side: u32, what: &str) {
    assert_eq!(reply.status, 200, "{what}: {}", reply.text());
    let image = reply.image();
    assert_eq!(image.dimensions(), (side, side), "{what}");
}

/// The colour near the top-left corner of an answer's image.
fn top_left(reply: &Reply) -> [u8; 3] {
    let image = reply.image().to_rgb8();
    image.get_pixel(2, 2).0
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 16)
}

#[test]
fn get_serves_the_default_size_with_every_header() {
    let server = TestServer::start();
    server.upload_png(A, &png(1024, 1024));

    let reply = server.get(&format!("/{A}"));
    assert_image(&reply, 256, "GET /{hash} is the default size, medium");
    assert!(
        close(top_left(&reply), [255, 0, 0]),
        "the quadrants survive"
    );
    assert_eq!(reply.header("content-type"), Some("image/png"));
    assert_eq!(
        reply.header("content-length"),
        Some(reply.body.len().to_string().as_str())
    );
    let etag = reply.header("etag").expect("an ETag");
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "a quoted, strong ETag: {etag}"
    );
    let modified = reply.header("last-modified").expect("a Last-Modified");
    let parsed = httpdate::parse_http_date(modified).expect("an HTTP date");
    assert_eq!(
        httpdate::fmt_http_date(parsed),
        modified,
        "Last-Modified is an IMF-fixdate"
    );
    let age = std::time::SystemTime::now()
        .duration_since(parsed)
        .unwrap_or_default();
    assert!(
        age.as_secs() < 120,
        "Last-Modified is the upload time: {modified}"
    );
    assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));

    let medium = server.get(&format!("/{A}/medium"));
    assert_eq!(
        medium.body, reply.body,
        "/{{hash}}/medium is the same image"
    );
    assert_eq!(medium.header("etag"), Some(etag));
}

#[test]
fn hashes_of_every_length_are_case_insensitive_and_stored_lower_case() {
    let server = TestServer::start();
    let hashes = [
        "0123456789ABCDEF0123456789ABCDEF",         // MD5
        "ABCDEF0123456789ABCDEF0123456789ABCDEF01", // SHA-1
        "AbCdEf0123456789aBcDeF0123456789AbCdEf0123456789aBcDeF0123456789", // SHA-256
    ];
    for hash in hashes {
        let lower = hash.to_ascii_lowercase();
        let record = server.upload_png(hash, &png(300, 300));
        assert_eq!(
            record["hash"],
            lower.as_str(),
            "the stored hash is lower case"
        );
        let by_upper = server.get(&format!("/{hash}"));
        let by_lower = server.get(&format!("/{lower}"));
        assert_image(&by_upper, 256, hash);
        assert_eq!(
            by_upper.body, by_lower.body,
            "{hash}: same avatar either case"
        );
        assert_eq!(server.head(&format!("/{lower}")).status, 204);
        assert_eq!(server.head(&format!("/{hash}")).status, 204);
    }
    let files = server.image_files();
    assert!(!files.is_empty());
    for file in files {
        let relative = file
            .strip_prefix(server.images_dir())
            .expect("under the root");
        let text = relative.to_string_lossy();
        assert_eq!(
            text,
            text.to_ascii_lowercase(),
            "stored under the lower-case hash"
        );
    }
}

#[test]
fn named_sizes_are_presets_and_pixel_sizes_exact() {
    let server = TestServer::start();
    let record = server.upload_png(A, &png(1024, 1024));
    let mut names: Vec<&String> = record["sizes"].as_object().expect("sizes").keys().collect();
    names.sort();
    assert_eq!(names, ["large", "medium", "original", "small"]);

    // Named sizes are their presets; sizes in pixels are exact, rendered from the smallest
    // stored variant at least as large (or the largest, upscaled) when nobody stored them.
    let cases = [
        ("small", 128),
        ("medium", 256),
        ("large", 512),
        ("original", 1024),
        ("1", 1),
        ("127", 127),
        ("128", 128), // exactly a preset
        ("129", 129), // one pixel above
        ("256", 256),
        ("257", 257),
        ("512", 512),
        ("513", 513),
        ("1024", 1024),
        ("1025", 1025), // above the largest: the largest, upscaled
        ("4096", 4096),
    ];
    for (size, side) in cases {
        let reply = server.get(&format!("/{A}/{size}"));
        assert_image(&reply, side, &format!("/{{hash}}/{size}"));
    }
}

/// An upload, the presets it must be stored at, and the sides requests must get.
struct SourceCase {
    hash: &'static str,
    source: (u32, u32),
    stored: &'static [&'static str],
    requests: &'static [(&'static str, u32)],
}

#[test]
fn a_small_source_stores_only_the_sizes_it_fills_and_the_smallest() {
    let server = TestServer::start();
    let cases = [
        SourceCase {
            hash: "1111111111111111111111111111111111111111",
            source: (300, 300),
            stored: &["medium", "small"],
            requests: &[
                ("small", 128),
                ("1", 1),
                ("200", 200),
                ("medium", 256),
                ("257", 257),
                ("large", 256), // a named size is never upscaled: the largest stored
                ("original", 256),
                ("4096", 4096),
            ],
        },
        SourceCase {
            hash: "2222222222222222222222222222222222222222",
            source: (600, 300), // the centred square is 300 pixels
            stored: &["medium", "small"],
            requests: &[("small", 128), ("large", 256), ("300", 300)],
        },
        SourceCase {
            hash: "3333333333333333333333333333333333333333",
            source: (100, 100), // smaller than every preset: the smallest alone, upscaled
            stored: &["small"],
            requests: &[("1", 1), ("small", 128), ("medium", 128), ("original", 128)],
        },
        SourceCase {
            hash: "4444444444444444444444444444444444444444",
            source: (512, 512), // exactly a preset
            stored: &["large", "medium", "small"],
            requests: &[
                ("512", 512),
                ("large", 512),
                ("513", 513),
                ("original", 512),
            ],
        },
    ];
    for case in cases {
        let (width, height) = case.source;
        let record = server.upload_png(case.hash, &png(width, height));
        let sizes = record["sizes"].as_object().expect("sizes");
        let mut names: Vec<&str> = sizes.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, case.stored, "{width}x{height}: stored sizes");
        for (size, side) in case.requests {
            let reply = server.get(&format!("/{}/{size}", case.hash));
            assert_image(
                &reply,
                *side,
                &format!("{width}x{height} source, size {size}"),
            );
        }
    }
}

#[test]
fn a_tenants_own_presets_replace_the_defaults() {
    let server = TestServer::builder()
        .sizes(json!({"tiny": 32, "big": 300}), "tiny")
        .start();
    let record = server.upload_png(A, &png(400, 400));
    let mut names: Vec<&String> = record["sizes"].as_object().expect("sizes").keys().collect();
    names.sort();
    assert_eq!(names, ["big", "tiny"]);
    for (size, side) in [
        ("", 32),
        ("/tiny", 32),
        ("/32", 32),
        ("/33", 33), // in pixels: exactly
        ("/big", 300),
        ("/301", 301),
    ] {
        assert_image(&server.get(&format!("/{A}{size}")), side, size);
    }
    server
        .get(&format!("/{A}/medium"))
        .assert_error(400, "invalid-size");
    let index = server.get("/").json();
    assert_eq!(index["sizes"], json!({"tiny": 32, "big": 300}));
    assert_eq!(index["default_size"], "tiny");
}

#[test]
fn conditional_requests_answer_304() {
    let server = TestServer::start();
    server.upload_png(A, &png(400, 400));
    let path = format!("/{A}");
    let first = server.get(&path);
    assert_eq!(first.status, 200);
    let etag = first.header("etag").expect("an ETag").to_owned();
    let modified = first
        .header("last-modified")
        .expect("a Last-Modified")
        .to_owned();
    let parsed = httpdate::parse_http_date(&modified).expect("an HTTP date");
    let earlier = httpdate::fmt_http_date(parsed - std::time::Duration::from_secs(3600));
    let later = httpdate::fmt_http_date(parsed + std::time::Duration::from_secs(3600));
    let weak = format!("W/{etag}");
    let listed = format!("\"something-else\", {etag}");

    let not_modified: [&[(&str, &str)]; 6] = [
        &[("if-none-match", &etag)],
        &[("if-none-match", &weak)],
        &[("if-none-match", &listed)],
        &[("if-none-match", "*")],
        &[("if-modified-since", &modified)],
        &[("if-modified-since", &later)],
    ];
    for headers in not_modified {
        let reply = server.get_with(&path, headers);
        assert_eq!(reply.status, 304, "{headers:?}");
        assert!(reply.body.is_empty(), "a 304 has no body");
        assert_eq!(reply.header("etag"), Some(etag.as_str()), "{headers:?}");
        assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
    }
    let modified_cases: [&[(&str, &str)]; 3] = [
        &[("if-none-match", "\"something-else\"")],
        &[("if-modified-since", &earlier)],
        // If-None-Match decides when both are sent (RFC 9110, 13.2.2).
        &[
            ("if-none-match", "\"something-else\""),
            ("if-modified-since", &modified),
        ],
    ];
    for headers in modified_cases {
        let reply = server.get_with(&path, headers);
        assert_eq!(reply.status, 200, "{headers:?}");
        assert_eq!(reply.body, first.body, "{headers:?}");
    }

    // Another size is another representation.
    let small = server.get_with(&format!("/{A}/small"), &[("if-none-match", &etag)]);
    assert_eq!(
        small.status, 200,
        "the medium ETag does not match the small image"
    );

    // After a replace, the old validator no longer matches.
    server.upload_png(A, &solid_png(400, [0, 0, 255]));
    let replaced = server.get_with(&path, &[("if-none-match", &etag)]);
    assert_eq!(replaced.status, 200);
    assert_ne!(replaced.header("etag"), Some(etag.as_str()));
}

#[test]
fn head_is_204_or_404_on_the_hash_and_like_get_elsewhere() {
    let server = TestServer::start();
    let missing = server.head(&format!("/{A}"));
    assert_eq!(missing.status, 404);
    assert!(missing.body.is_empty());

    server.upload_png(A, &png(600, 600));
    let exists = server.head(&format!("/{A}"));
    assert_eq!(exists.status, 204);
    assert!(exists.body.is_empty());

    for path in [
        format!("/{A}/small"),
        format!("/{A}/700"),
        format!("/{MISSING}/{A}"),
        format!("/{MISSING}/{A}/large"),
    ] {
        let get = server.get(&path);
        let head = server.head(&path);
        assert_eq!(get.status, 200, "GET {path}");
        assert_eq!(head.status, 200, "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path} has no body");
        for name in [
            "content-type",
            "content-length",
            "etag",
            "last-modified",
            "cache-control",
        ] {
            assert_eq!(head.header(name), get.header(name), "HEAD {path}: {name}");
        }
    }
    assert_eq!(server.head(&format!("/{MISSING}/small")).status, 404);
    assert_eq!(
        server.head(&format!("/{MISSING}/{ALSO_MISSING}")).status,
        404
    );
}

#[test]
fn a_backup_hash_answers_when_the_first_has_no_avatar() {
    let server = TestServer::start();
    server.upload_png(B, &solid_png(600, [0, 0, 255]));

    let own = server.get(&format!("/{B}"));
    let via_backup = server.get(&format!("/{A}/{B}"));
    assert_image(&via_backup, 256, "backup at the default size");
    assert_eq!(via_backup.body, own.body);
    let small = server.get(&format!("/{A}/{B}/small"));
    assert_image(&small, 128, "backup at a named size");
    assert_eq!(small.body, server.get(&format!("/{B}/small")).body);
    assert_image(
        &server.get(&format!("/{A}/{B}/300")),
        300,
        "backup in pixels, exactly",
    );

    // Once the first hash has an avatar, it wins.
    server.upload_png(A, &solid_png(600, [255, 0, 0]));
    let first = server.get(&format!("/{A}/{B}"));
    assert!(
        close(top_left(&first), [255, 0, 0]),
        "the first hash's own avatar"
    );
    assert_eq!(first.body, server.get(&format!("/{A}")).body);

    // Neither: the default policy, here 404.
    let neither = server.get(&format!("/{MISSING}/{ALSO_MISSING}"));
    neither.assert_error(404, "not-found");
    server
        .get(&format!("/{MISSING}/{ALSO_MISSING}/small"))
        .assert_error(404, "not-found");
}

#[test]
fn default_avatar_404_answers_a_json_error() {
    let server = TestServer::builder().default_avatar(json!("404")).start();
    for path in [
        format!("/{MISSING}"),
        format!("/{MISSING}/small"),
        format!("/{MISSING}/64"),
        format!("/{MISSING}/{ALSO_MISSING}"),
    ] {
        server.get(&path).assert_error(404, "not-found");
    }
    assert_eq!(server.head(&format!("/{MISSING}")).status, 404);
}

#[test]
fn default_avatar_hash_serves_that_hashs_avatar() {
    let server = TestServer::builder()
        .default_avatar(json!({"hash": B}))
        .start();
    // The default hash has no avatar yet either.
    server
        .get(&format!("/{MISSING}"))
        .assert_error(404, "not-found");

    server.upload_png(B, &solid_png(512, [0, 255, 0]));
    let default = server.get(&format!("/{MISSING}"));
    assert_image(&default, 256, "the default hash's avatar");
    assert_eq!(default.body, server.get(&format!("/{B}")).body);
    assert_eq!(
        server.get(&format!("/{MISSING}/small")).body,
        server.get(&format!("/{B}/small")).body
    );
    assert_eq!(
        server.get(&format!("/{MISSING}/{ALSO_MISSING}/large")).body,
        server.get(&format!("/{B}/large")).body
    );
    // HEAD /{hash} tells whether this hash has an avatar: it has not.
    assert_eq!(server.head(&format!("/{MISSING}")).status, 404);
}

#[test]
fn default_avatar_file_is_served_at_the_requested_size() {
    let server = TestServer::builder()
        .default_avatar(json!({"file": "default-avatar.png"}))
        .start();
    // assets/default-avatar.png is 512 x 512: `original` is not stored, `large` is the largest;
    // sizes in pixels are exact.
    let cases = [
        (format!("/{MISSING}"), 256),
        (format!("/{MISSING}/small"), 128),
        (format!("/{MISSING}/1"), 1),
        (format!("/{MISSING}/129"), 129),
        (format!("/{MISSING}/large"), 512),
        (format!("/{MISSING}/original"), 512),
        (format!("/{MISSING}/1000"), 1000),
        (format!("/{MISSING}/{ALSO_MISSING}/small"), 128),
    ];
    for (path, side) in &cases {
        let reply = server.get(path);
        assert_image(&reply, *side, path);
        assert_eq!(reply.header("content-type"), Some("image/png"), "{path}");
        assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
        assert!(reply.header("last-modified").is_some(), "{path}");
    }
    let path = format!("/{MISSING}");
    let first = server.get(&path);
    let etag = first.header("etag").expect("an ETag");
    let again = server.get_with(&path, &[("if-none-match", etag)]);
    assert_eq!(again.status, 304);
    assert_eq!(
        server.head(&path).status,
        404,
        "HEAD /{{hash}} ignores the default"
    );

    // A stored avatar still wins over the default.
    server.upload_png(A, &solid_png(300, [0, 0, 255]));
    assert!(close(top_left(&server.get(&format!("/{A}"))), [0, 0, 255]));
}

/// Where a redirect points, without a presigned URL's query: the signature changes with the
/// time of signing, the object it names does not.
fn target(location: &str) -> &str {
    location.split('?').next().unwrap_or(location)
}

/// Whether `location` is a URL the store serves: this host's `/_media/` for a filesystem store,
/// the store's own (presigned) URL for S3.
fn is_media_url(server: &TestServer, location: &str) -> bool {
    match server.storage_kind() {
        "s3" => location.starts_with("http") && !location.starts_with(&server.base_url),
        _ => location.starts_with(&server.url("/_media/")),
    }
}

#[test]
fn redirect_delivery_points_at_immutable_versioned_urls() {
    let server = TestServer::builder().delivery(Delivery::Redirect).start();
    let record = server.upload_png(A, &png(1024, 1024));

    let reply = server.get(&format!("/{A}"));
    assert_eq!(reply.status, 302, "{}", reply.text());
    let location = reply.header("location").expect("a Location").to_owned();
    assert!(
        is_media_url(&server, &location),
        "an absolute URL of the store's: {location}"
    );
    // The redirect itself is not cached: a replacement points it elsewhere and removes the
    // old target after a short grace period. The target is what caches, for a year.
    assert_eq!(reply.header("cache-control"), Some("no-cache"));

    let media = server.get_url(&location, &[]);
    assert_image(&media, 256, "the redirect target");
    assert_eq!(media.header("content-type"), Some("image/png"));
    assert_eq!(
        media.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        media.header("content-length"),
        Some(media.body.len().to_string().as_str())
    );
    let etag = media.header("etag").expect("an ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(media.header("last-modified").is_some());
    assert_eq!(
        server.get_url(&location, &[("if-none-match", etag)]).status,
        304
    );

    // Each size has its own URL; the upload's `url`s are the same URLs.
    let sizes = &record["sizes"];
    let uploaded = sizes["medium"]["url"].as_str().expect("a url");
    assert_eq!(target(uploaded), target(&location));
    let mut targets = vec![target(&location).to_owned()];
    for (size, side) in [
        ("small", 128),
        ("large", 512),
        ("original", 1024),
        ("129", 129),
        ("256", 256),
    ] {
        let reply = server.get(&format!("/{A}/{size}"));
        assert_eq!(reply.status, 302, "{size}");
        let location = reply.header("location").expect("a Location");
        assert!(is_media_url(&server, location), "{location}");
        let media = server.get_url(location, &[]);
        assert_image(&media, side, size);
        targets.push(target(location).to_owned());
    }
    targets.sort();
    targets.dedup();
    assert_eq!(
        targets.len(),
        5,
        "129 pixels is a rendition of its own, 256 the medium file: {targets:?}"
    );
    // HEAD answers like GET.
    let head = server.head(&format!("/{A}/small"));
    assert_eq!(head.status, 302);
    assert_eq!(
        head.header("location").map(target),
        server
            .get(&format!("/{A}/small"))
            .header("location")
            .map(target)
    );
    // A backup redirects to the backup's file.
    let via_backup = server.get(&format!("/{MISSING}/{A}"));
    assert_eq!(
        via_backup.header("location").map(target),
        Some(target(&location))
    );

    // A replace gets a new versioned URL.
    server.upload_png(A, &solid_png(300, [0, 0, 255]));
    let replaced = server.get(&format!("/{A}"));
    assert_eq!(replaced.status, 302);
    assert_ne!(
        replaced.header("location").map(target),
        Some(target(&location))
    );

    server
        .get(&format!("/{MISSING}"))
        .assert_error(404, "not-found");
    server
        .get("/_media/default/no/such/file.png")
        .assert_error(404, "not-found");
}

#[test]
fn index_health_and_readiness() {
    let server = TestServer::start();
    let index = server.get("/");
    assert_eq!(index.status, 200);
    assert!(
        index
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    let index = index.json();
    assert_eq!(index["service"], "avatar");
    assert_eq!(
        index["sizes"],
        json!({"small": 128, "medium": 256, "large": 512, "original": 1024})
    );
    assert_eq!(index["default_size"], "medium");
    assert_eq!(index["delivery"], "proxy");
    assert!(
        index["endpoints"].as_array().is_some_and(|e| !e.is_empty()),
        "the endpoints are listed"
    );

    let health = server.get("/healthz");
    assert_eq!(health.status, 200);
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(ready.json()["status"], "ready");
}

/// Embedded backends whatever `AVATAR_E2E_BACKEND` says: removing the image directory is how
/// a filesystem store goes away. S3 going away (Garage stopped) is `production.rs`'s outage
/// test; the bucket here is shared by every server, so it cannot be taken away from one.
#[test]
fn readiness_fails_while_the_store_is_gone() {
    let server = TestServer::builder().embedded().start();
    assert_eq!(server.get("/readyz").status, 200);
    let images = server.images_dir();
    std::fs::remove_dir_all(&images).expect("removing the image directory");
    let reply = server.get("/readyz");
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.error_code(), "not-ready");
    assert_eq!(
        server.get("/healthz").status,
        200,
        "the process is still up"
    );
    std::fs::create_dir_all(&images).expect("restoring the image directory");
    assert_eq!(server.get("/readyz").status, 200);
}

#[test]
fn cors_lets_any_origin_read_and_answers_preflights() {
    let server = TestServer::start();
    server.upload_png(A, &png(200, 200));
    let origin = [("origin", "https://example.test")];
    for method in ["GET", "HEAD"] {
        for path in [
            format!("/{A}"),
            format!("/{A}/small"),
            format!("/{MISSING}"),
        ] {
            let reply = server.request(method, &path, &origin, None);
            assert_eq!(
                reply.header("access-control-allow-origin"),
                Some("*"),
                "{method} {path} ({})",
                reply.status
            );
        }
    }
    let preflight = server.request(
        "OPTIONS",
        &format!("/{A}"),
        &[
            ("origin", "https://example.test"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "if-none-match"),
        ],
        None,
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    let methods = preflight
        .header("access-control-allow-methods")
        .expect("allowed methods");
    for method in ["GET", "HEAD"] {
        assert!(methods.contains(method), "{methods}");
    }
    assert!(
        preflight
            .header("access-control-allow-headers")
            .is_some_and(|h| h.contains("if-none-match")),
        "conditional headers may be sent cross-origin"
    );
}

#[test]
fn every_answer_carries_a_request_id_kept_from_the_client_or_made_here() {
    let server = TestServer::start();
    let first = server.get(&format!("/{MISSING}"));
    let second = server.get("/no/such/endpoint/here");
    let ids: Vec<&str> = [&first, &second]
        .iter()
        .map(|reply| reply.header("x-request-id").expect("an x-request-id"))
        .collect();
    assert!(ids.iter().all(|id| !id.is_empty()), "{ids:?}");
    assert_ne!(ids[0], ids[1], "each request gets its own id");
    let unknown_tenant = server.get(&format!("/t/nobody/{A}"));
    assert_eq!(unknown_tenant.status, 404);
    assert!(
        unknown_tenant.header("x-request-id").is_some(),
        "answers refused before routing have one too"
    );

    let kept = server.get_with(&format!("/{A}"), &[("x-request-id", "client-trace-42")]);
    assert_eq!(kept.header("x-request-id"), Some("client-trace-42"));
    let long = "x".repeat(200);
    let replaced = server.get_with(&format!("/{A}"), &[("x-request-id", &long)]);
    let id = replaced.header("x-request-id").expect("an x-request-id");
    assert_ne!(id, long, "an overlong client id is replaced");
}
