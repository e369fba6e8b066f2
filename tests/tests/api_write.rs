//! Changing avatars through the real server: uploads in every accepted shape (raw body or
//! multipart; token in the header, the query or the form), the `201` record, formats,
//! replacement, deletion down to the last file, and persistence across a restart.

use std::process::Command;

use avatar_tests::images;
use avatar_tests::server::{Delivery, Multipart, Reply, TestServer, avatar_binary, png, solid_png};
use image::{DynamicImage, GenericImageView, ImageFormat};
use serde_json::Value;

const A: &str = "0123456789abcdef0123456789abcdef01234567";
const B: &str = "89abcdef0123456789abcdef0123456789abcdef";
const NEVER: &str = "ffffffffffffffffffffffffffffffffffffffff";

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = DynamicImage::ImageRgb8(images::quadrants(width, height));
    images::encode(&image, ImageFormat::Jpeg)
}

fn top_left(reply: &Reply) -> [u8; 3] {
    reply.image().to_rgb8().get_pixel(2, 2).0
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 16)
}

/// An RFC 3339 UTC timestamp with milliseconds, as the API writes them.
fn assert_timestamp(value: &Value, what: &str) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value}"));
    let bytes = text.as_bytes();
    let shape_ok = text.len() == 24
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && bytes[19] == b'.'
        && text.ends_with('Z');
    assert!(shape_ok, "{what} is not RFC 3339: {text}");
}

fn files_of(server: &TestServer, hash: &str) -> usize {
    server
        .image_files()
        .iter()
        .filter(|p| p.to_string_lossy().contains(hash))
        .count()
}

#[test]
fn put_with_a_bearer_token_answers_201_with_the_record() {
    let server = TestServer::start();
    let reply = server.upload(A, &png(1024, 1024), "image/png");
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    let record = reply.json();
    assert_eq!(record["hash"], A);
    assert_eq!(record["format"], "png");
    assert_timestamp(&record["created_at"], "created_at");
    assert_timestamp(&record["updated_at"], "updated_at");
    assert_eq!(record["created_at"], record["updated_at"], "a first upload");

    let sizes = record["sizes"].as_object().expect("sizes");
    assert_eq!(sizes.len(), 4, "{sizes:?}");
    for (name, side) in [
        ("small", 128),
        ("medium", 256),
        ("large", 512),
        ("original", 1024),
    ] {
        let size = &sizes[name];
        assert_eq!(
            (size["width"].as_u64(), size["height"].as_u64()),
            (Some(side), Some(side))
        );
        let href = format!("/{A}/{name}");
        assert_eq!(size["href"], href.as_str(), "{name}");
        assert_eq!(size["url"], server.url(&href).as_str(), "{name}");
        let served = server.get(&href);
        assert_eq!(served.status, 200, "{href}");
        assert_eq!(
            Some(served.body.len() as u64),
            size["bytes"].as_u64(),
            "{name}: bytes"
        );
        assert_eq!(served.image().dimensions(), (side as u32, side as u32));
    }
}

#[test]
fn post_multipart_with_the_token_in_a_form_field() {
    let server = TestServer::start();
    // Token before the image, and after it, with an unrelated field in between.
    let before = Multipart::new()
        .text("token", &server.token(A))
        .file(
            "avatar",
            "me.png",
            "image/png",
            &solid_png(300, [255, 0, 0]),
        )
        .finish();
    let after = Multipart::new()
        .file(
            "avatar",
            "me.png",
            "image/png",
            &solid_png(300, [0, 0, 255]),
        )
        .text("note", "ignored")
        .text("token", &server.token(B))
        .finish();
    for ((content_type, body), hash, colour) in [(before, A, [255, 0, 0]), (after, B, [0, 0, 255])]
    {
        let reply = server.request(
            "POST",
            &format!("/{hash}"),
            &[("content-type", &content_type)],
            Some(&body),
        );
        assert_eq!(reply.status, 201, "{}", reply.text());
        assert_eq!(reply.json()["hash"], hash);
        let served = server.get(&format!("/{hash}"));
        assert_eq!(served.status, 200);
        assert!(close(top_left(&served), colour));
    }
}

#[test]
fn post_and_put_accept_multipart_and_raw_bodies_with_a_bearer_token() {
    let server = TestServer::start();
    for method in ["POST", "PUT"] {
        let auth = format!("Bearer {}", server.token(A));
        let (content_type, body) = Multipart::new()
            .file("avatar", "a.png", "image/png", &png(256, 256))
            .finish();
        let multipart = server.request(
            method,
            &format!("/{A}"),
            &[("authorization", &auth), ("content-type", &content_type)],
            Some(&body),
        );
        assert_eq!(
            multipart.status,
            201,
            "{method} multipart: {}",
            multipart.text()
        );
        let raw = server.request(
            method,
            &format!("/{A}"),
            &[("authorization", &auth), ("content-type", "image/png")],
            Some(&png(256, 256)),
        );
        assert_eq!(raw.status, 201, "{method} raw: {}", raw.text());
    }
}

#[test]
fn the_token_may_be_a_query_parameter() {
    let server = TestServer::start();
    let put = server.request(
        "PUT",
        &format!("/{A}?token={}", server.token(A)),
        &[("content-type", "image/png")],
        Some(&png(200, 200)),
    );
    assert_eq!(put.status, 201, "{}", put.text());
    assert_eq!(server.get(&format!("/{A}")).status, 200);
    let delete = server.request(
        "DELETE",
        &format!("/{A}?token={}", server.token(A)),
        &[],
        None,
    );
    assert_eq!(delete.status, 204, "{}", delete.text());
    assert_eq!(server.head(&format!("/{A}")).status, 404);
}

#[test]
fn jpeg_stays_jpeg_and_other_formats_are_stored_as_png() {
    let server = TestServer::start();
    let quadrants = DynamicImage::ImageRgb8(images::quadrants(300, 300));
    let cases = [
        // The format comes from the bytes, not from the declared content type.
        (
            "1111111111111111111111111111111111111111",
            jpeg(300, 300),
            "image/png",
            "jpeg",
            "image/jpeg",
        ),
        (
            "2222222222222222222222222222222222222222",
            png(300, 300),
            "image/jpeg",
            "png",
            "image/png",
        ),
        (
            "3333333333333333333333333333333333333333",
            images::encode(&quadrants, ImageFormat::Gif),
            "image/gif",
            "png",
            "image/png",
        ),
        (
            "4444444444444444444444444444444444444444",
            images::encode(&quadrants, ImageFormat::WebP),
            "image/webp",
            "png",
            "image/png",
        ),
    ];
    for (hash, bytes, declared, format, media_type) in cases {
        let reply = server.upload(hash, &bytes, declared);
        assert_eq!(
            reply.status,
            201,
            "{format} via {declared}: {}",
            reply.text()
        );
        assert_eq!(reply.json()["format"], format, "{hash}");
        for path in [format!("/{hash}"), format!("/{hash}/small")] {
            let served = server.get(&path);
            assert_eq!(served.header("content-type"), Some(media_type), "{path}");
            let guessed = image::guess_format(&served.body).expect("a known format");
            assert_eq!(
                guessed.to_mime_type(),
                media_type,
                "{path}: the bytes match the header"
            );
            assert!(close(top_left(&served), [255, 0, 0]), "{path}");
        }
    }
}

#[test]
fn a_replace_keeps_created_at_and_serves_the_new_image() {
    let server = TestServer::start();
    let first = server.upload_png(A, &solid_png(400, [255, 0, 0]));
    let old = server.get(&format!("/{A}"));
    assert!(close(top_left(&old), [255, 0, 0]));

    let second = server.upload_png(A, &solid_png(400, [0, 0, 255]));
    assert_eq!(
        second["created_at"], first["created_at"],
        "created_at is kept"
    );
    assert!(
        second["updated_at"].as_str() >= first["updated_at"].as_str(),
        "{} then {}",
        first["updated_at"],
        second["updated_at"]
    );
    let new = server.get(&format!("/{A}"));
    assert!(
        close(top_left(&new), [0, 0, 255]),
        "the new image is served at once"
    );
    assert_ne!(new.header("etag"), old.header("etag"));
    for size in ["small", "large"] {
        let served = server.get(&format!("/{A}/{size}"));
        assert!(
            close(top_left(&served), [0, 0, 255]),
            "{size}: the new image"
        );
    }
}

#[test]
fn delete_removes_the_record_and_every_file() {
    let server = TestServer::start();
    server.upload_png(A, &png(1024, 1024));
    // A replace leaves the first version's files for a grace period: DELETE removes them too.
    server.upload_png(A, &solid_png(600, [0, 0, 255]));
    server.upload_png(B, &png(300, 300));
    assert!(files_of(&server, A) >= 4, "{:?}", server.image_files());
    let b_files = files_of(&server, B);
    assert!(b_files > 0);

    let deleted = server.delete(A, Some(&server.token(A)));
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    assert!(deleted.body.is_empty());
    assert_eq!(
        files_of(&server, A),
        0,
        "left behind: {:?}",
        server.image_files()
    );
    assert_eq!(files_of(&server, B), b_files, "another avatar's files stay");

    for path in [
        format!("/{A}"),
        format!("/{A}/small"),
        format!("/{A}/original"),
    ] {
        server.get(&path).assert_error(404, "not-found");
    }
    assert_eq!(server.head(&format!("/{A}")).status, 404);
    server
        .delete(A, Some(&server.token(A)))
        .assert_error(404, "not-found");
    server
        .delete(NEVER, Some(&server.token(NEVER)))
        .assert_error(404, "not-found");

    let deleted = server.delete(B, Some(&server.token(B)));
    assert_eq!(deleted.status, 204);
    assert_eq!(server.image_files(), Vec::<std::path::PathBuf>::new());

    // The hash can be used again.
    server.upload_png(A, &solid_png(200, [0, 255, 0]));
    assert!(close(top_left(&server.get(&format!("/{A}"))), [0, 255, 0]));
}

#[test]
fn avatars_survive_a_restart() {
    let mut server = TestServer::start();
    server.upload_png(A, &png(1024, 1024));
    server.upload(B, &jpeg(600, 600), "image/jpeg");
    let paths = [
        format!("/{A}"),
        format!("/{A}/small"),
        format!("/{A}/original"),
        format!("/{B}"),
        format!("/{B}/large"),
    ];
    let before: Vec<Reply> = paths.iter().map(|p| server.get(p)).collect();

    let status = server.restart();
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly: {status:?}"
    );
    for (path, old) in paths.iter().zip(&before) {
        let new = server.get(path);
        assert_eq!(new.status, 200, "{path} after a restart: {}", new.text());
        assert_eq!(new.body, old.body, "{path}: same bytes");
        for name in ["content-type", "etag", "last-modified"] {
            assert_eq!(new.header(name), old.header(name), "{path}: {name}");
        }
    }
    assert_eq!(server.head(&format!("/{A}")).status, 204);

    // Writes after a restart persist too.
    assert_eq!(server.delete(A, Some(&server.token(A))).status, 204);
    server.restart();
    server.get(&format!("/{A}")).assert_error(404, "not-found");
    assert_eq!(server.get(&format!("/{B}")).body, before[3].body);

    // Another configuration on the same data: redirect delivery serves the same files.
    let dir = server.into_dir();
    let redirect = TestServer::builder()
        .delivery(Delivery::Redirect)
        .dir(dir)
        .start();
    let reply = redirect.get(&format!("/{B}/large"));
    assert_eq!(reply.status, 302, "{}", reply.text());
    let location = reply.header("location").expect("a Location");
    let media = redirect.get_url(location, &[]);
    assert_eq!(media.status, 200, "{location}: {}", media.text());
    assert_eq!(media.body, before[4].body);
}

#[test]
fn the_cli_token_authorises_uploads_of_its_hash_only() {
    let server = TestServer::start();
    let output = Command::new(avatar_binary())
        .arg("token")
        .arg("--config")
        .arg(server.config_path())
        .args(["--hash", A, "--tenant", "default", "--ttl", "600"])
        .output()
        .expect("running avatar token");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).expect("UTF-8");
    let token = token.trim();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");

    let auth = format!("Bearer {token}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "image/png"),
    ];
    let ok = server.request("PUT", &format!("/{A}"), &headers, Some(&png(200, 200)));
    assert_eq!(ok.status, 201, "{}", ok.text());
    server
        .request("PUT", &format!("/{B}"), &headers, Some(&png(200, 200)))
        .assert_error(403, "wrong-hash");
}
