//! Every error the API answers, through the real server: status, JSON code, the
//! `WWW-Authenticate` challenge, and that a refused request leaves the stored avatar (its
//! bytes, its validators and its files) exactly as it was.

use std::path::PathBuf;

use avatar_tests::images::{self, png_declaring};
use avatar_tests::server::{Multipart, Reply, TestServer, chunked, png, sign, solid_png, unix_now};
use image::{DynamicImage, ImageFormat};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const A: &str = "0123456789abcdef0123456789abcdef01234567";
const B: &str = "89abcdef0123456789abcdef0123456789abcdef";
const MISSING: &str = "ffffffffffffffffffffffffffffffffffffffff";

/// What `A` looks like from outside before a refused request.
struct Stored {
    medium: Reply,
    small: Reply,
    files: Vec<PathBuf>,
}

/// Uploads `A` and remembers how it is served.
fn store_a(server: &TestServer) -> Stored {
    server.upload_png(A, &solid_png(512, [255, 0, 0]));
    Stored {
        medium: server.get(&format!("/{A}")),
        small: server.get(&format!("/{A}/small")),
        files: server.image_files(),
    }
}

fn assert_untouched(server: &TestServer, before: &Stored, after: &str) {
    for (path, old) in [
        (format!("/{A}"), &before.medium),
        (format!("/{A}/small"), &before.small),
    ] {
        let now = server.get(&path);
        assert_eq!(now.status, 200, "after {after}: GET {path}: {}", now.text());
        assert!(
            now.body == old.body,
            "after {after}: GET {path} serves other bytes"
        );
        assert_eq!(
            now.header("etag"),
            old.header("etag"),
            "after {after}: {path}"
        );
    }
    assert_eq!(
        server.image_files(),
        before.files,
        "after {after}: the stored files"
    );
}

fn upload_as(server: &TestServer, hash: &str, bytes: &[u8], content_type: &str) -> Reply {
    let auth = format!("Bearer {}", server.token(hash));
    server.request(
        "PUT",
        &format!("/{hash}"),
        &[("authorization", &auth), ("content-type", content_type)],
        Some(bytes),
    )
}

#[test]
fn invalid_hashes_are_400_before_storage_is_touched() {
    let server = TestServer::start();
    let bad = [
        "xyz".to_owned(),
        "favicon.ico".to_owned(),
        "a".repeat(31),
        "a".repeat(33),
        "a".repeat(39),
        "a".repeat(41),
        "a".repeat(63),
        "a".repeat(65),
        "g".repeat(40),
        format!("{}z", &A[..39]),
    ];
    let image = png(200, 200);
    for hash in &bad {
        for path in [
            format!("/{hash}"),
            format!("/{hash}/small"),
            format!("/{hash}/huge"),
            format!("/{hash}/{A}"),
            format!("/{hash}/{A}/small"),
            format!("/{A}/{hash}/small"),
        ] {
            server.get(&path).assert_error(400, "invalid-hash");
        }
        let head = server.head(&format!("/{hash}"));
        assert_eq!(head.status, 400, "HEAD /{hash}");
        assert!(head.body.is_empty());
        // Even with a token naming that string, and before any authentication.
        let token = server.sign(&json!({"hash": hash, "exp": unix_now() + 600}));
        let auth = format!("Bearer {token}");
        for method in ["PUT", "POST"] {
            server
                .request(
                    method,
                    &format!("/{hash}"),
                    &[("authorization", &auth), ("content-type", "image/png")],
                    Some(&image),
                )
                .assert_error(400, "invalid-hash");
            server
                .request(
                    method,
                    &format!("/{hash}"),
                    &[("content-type", "image/png")],
                    Some(&image),
                )
                .assert_error(400, "invalid-hash");
        }
        server
            .request(
                "DELETE",
                &format!("/{hash}"),
                &[("authorization", &auth)],
                None,
            )
            .assert_error(400, "invalid-hash");
        server
            .request("DELETE", &format!("/{hash}"), &[], None)
            .assert_error(400, "invalid-hash");
    }
    assert_eq!(
        server.image_files(),
        Vec::<PathBuf>::new(),
        "nothing was stored"
    );
}

#[test]
fn invalid_sizes_are_400() {
    let server = TestServer::start();
    let before = store_a(&server);
    let bad = [
        "0",
        "4097",
        "10000",
        "99999999999999999999",
        "huge",
        "-1",
        "12px",
        "1.5",
        "0x10",
    ];
    for size in bad {
        for hash in [A, MISSING] {
            server
                .get(&format!("/{hash}/{size}"))
                .assert_error(400, "invalid-size");
            server
                .get(&format!("/{hash}/{B}/{size}"))
                .assert_error(400, "invalid-size");
        }
    }
    assert_untouched(&server, &before, "invalid sizes");
}

#[test]
fn an_upload_without_an_image_is_400_missing_image() {
    let server = TestServer::start();
    let before = store_a(&server);
    let auth = format!("Bearer {}", server.token(A));
    let path = format!("/{A}");

    let empty = server.request(
        "PUT",
        &path,
        &[("authorization", &auth), ("content-type", "image/png")],
        Some(&[]),
    );
    empty.assert_error(400, "missing-image");
    assert_untouched(&server, &before, "an empty body");

    let forms = [
        (
            "a token field only",
            Multipart::new().text("token", &server.token(A)),
        ),
        (
            "another file field",
            Multipart::new().file("picture", "a.png", "image/png", &png(100, 100)),
        ),
        (
            "an empty avatar",
            Multipart::new().file("avatar", "a.png", "image/png", &[]),
        ),
        ("no parts", Multipart::new()),
    ];
    for (what, form) in forms {
        let (content_type, body) = form.finish();
        server
            .request(
                "POST",
                &path,
                &[("authorization", &auth), ("content-type", &content_type)],
                Some(&body),
            )
            .assert_error(400, "missing-image");
        assert_untouched(&server, &before, what);
    }
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().expect("an object").remove(key);
    claims
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

#[test]
fn authentication_failures_are_401_or_403_and_change_nothing() {
    let server = TestServer::start();
    let before = store_a(&server);
    let now = unix_now();
    let claims =
        json!({"sub": "e2e", "hash": A, "tenant": "default", "iat": now, "exp": now + 600});
    let hs512 = encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(server.secret().as_bytes()).expect("a key"),
    )
    .expect("signing");
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("no token", String::new(), 401, "missing-token"),
        ("not a JWT", "not-a-token".into(), 401, "invalid-token"),
        (
            "garbage segments",
            "abc.def.ghi".into(),
            401,
            "invalid-token",
        ),
        (
            "no hash claim",
            server.sign(&without(claims.clone(), "hash")),
            401,
            "invalid-token",
        ),
        (
            "no exp claim",
            server.sign(&without(claims.clone(), "exp")),
            401,
            "invalid-token",
        ),
        ("a disallowed algorithm", hs512, 401, "invalid-token"),
        (
            "an expired token",
            server.sign(&with(claims.clone(), "exp", json!(now - 3600))),
            401,
            "token-expired",
        ),
        (
            "another secret",
            sign(&claims, "another-secret-that-is-long-enough-for-hs256"),
            401,
            "bad-signature",
        ),
        (
            "a token for another hash",
            server.token(B),
            403,
            "wrong-hash",
        ),
        (
            "a token for another tenant",
            server.sign(&with(claims.clone(), "tenant", json!("other"))),
            403,
            "wrong-tenant",
        ),
    ];
    let image = solid_png(300, [0, 0, 255]);
    let path = format!("/{A}");
    for (what, token, status, code) in &cases {
        let check = |reply: Reply, how: &str| {
            reply.assert_error(*status, code);
            if *status == 401 {
                let challenge = reply.header("www-authenticate").unwrap_or_default();
                assert!(
                    challenge.starts_with("Bearer"),
                    "{what} {how}: {challenge:?}"
                );
            }
            assert_untouched(&server, &before, &format!("{what} {how}"));
        };
        let auth = format!("Bearer {token}");
        let bearer: Vec<(&str, &str)> = if token.is_empty() {
            vec![]
        } else {
            vec![("authorization", auth.as_str())]
        };
        let query = format!("{path}?token={token}");

        let mut headers = bearer.clone();
        headers.push(("content-type", "image/png"));
        check(
            server.request("PUT", &path, &headers, Some(&image)),
            "PUT with a bearer token",
        );
        check(
            server.request(
                "PUT",
                &query,
                &[("content-type", "image/png")],
                Some(&image),
            ),
            "PUT with ?token=",
        );
        let mut form = Multipart::new().file("avatar", "a.png", "image/png", &image);
        if !token.is_empty() {
            form = form.text("token", token);
        }
        let (content_type, body) = form.finish();
        check(
            server.request(
                "POST",
                &path,
                &[("content-type", &content_type)],
                Some(&body),
            ),
            "POST with a token field",
        );
        check(
            server.request("DELETE", &path, &bearer, None),
            "DELETE with a bearer token",
        );
        check(
            server.request("DELETE", &query, &[], None),
            "DELETE with ?token=",
        );
    }
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405() {
    let server = TestServer::start();
    let before = store_a(&server);
    for path in [
        format!("/{A}/{B}/small/extra"),
        "/a/b/c/d".to_owned(),
        "/_media/".to_owned(),
    ] {
        server.get(&path).assert_error(404, "not-found");
    }
    let auth = format!("Bearer {}", server.token(A));
    let cases = [
        ("PATCH", format!("/{A}")),
        ("POST", "/healthz".to_owned()),
        ("DELETE", "/".to_owned()),
        ("PUT", format!("/{A}/small")),
        ("DELETE", format!("/{A}/small")),
        ("POST", format!("/{A}/{B}/small")),
        ("DELETE", format!("/{A}/{B}")),
    ];
    for (method, path) in cases {
        server
            .request(
                method,
                &path,
                &[("authorization", &auth), ("content-type", "image/png")],
                Some(&png(100, 100)),
            )
            .assert_error(405, "method-not-allowed");
        let allow = server.request(method, &path, &[], None);
        assert!(
            allow.header("allow").is_some_and(|a| a.contains("GET")),
            "{method} {path}: a 405 says what is allowed: {:?}",
            allow.headers
        );
    }
    assert_untouched(&server, &before, "wrong methods");
}

#[test]
fn uploads_larger_than_the_limit_are_refused_while_reading() {
    const LIMIT: usize = 100_000;
    let server = TestServer::builder().max_upload_bytes(LIMIT as u64).start();
    let before = store_a(&server);
    let path = format!("/{A}");
    let auth = format!("Bearer {}", server.token(A));
    // Looks like a PNG for as long as anyone reads it.
    let big = |len: usize| {
        let mut bytes = png(8, 8);
        bytes.resize(len, 0);
        bytes
    };

    // Exactly the limit is accepted (trailing bytes after IEND are ignored)...
    let at_limit = upload_as(&server, B, &big(LIMIT), "image/png");
    assert_eq!(at_limit.status, 201, "{}", at_limit.text());
    let before = Stored {
        files: server.image_files(),
        ..before
    };
    // ...one byte more is not.
    let length = (LIMIT + 1).to_string();
    let over = [
        ("authorization", auth.as_str()),
        ("content-type", "image/png"),
        ("content-length", length.as_str()),
    ];
    server
        .raw("PUT", &path, &over, big(LIMIT + 1), true)
        .assert_error(413, "payload-too-large");
    assert_untouched(&server, &before, "a body one byte over the limit");

    // A body that never ends is refused as soon as it passes the limit.
    let streaming = [
        ("authorization", auth.as_str()),
        ("content-type", "image/png"),
        ("transfer-encoding", "chunked"),
    ];
    server
        .raw(
            "PUT",
            &path,
            &streaming,
            chunked(&big(3 * LIMIT), false),
            false,
        )
        .assert_error(413, "payload-too-large");
    assert_untouched(&server, &before, "an endless raw body");
    // Also when the token would only come after the image.
    server
        .raw(
            "PUT",
            &path,
            &streaming[1..],
            chunked(&big(3 * LIMIT), false),
            false,
        )
        .assert_error(413, "payload-too-large");
    assert_untouched(&server, &before, "an endless raw body without a token");

    let form = Multipart::new().file("avatar", "big.png", "image/png", &big(3 * LIMIT));
    let content_type = form.content_type();
    let multipart = [
        ("authorization", auth.as_str()),
        ("content-type", content_type.as_str()),
        ("transfer-encoding", "chunked"),
    ];
    server
        .raw(
            "POST",
            &path,
            &multipart,
            chunked(&form.unfinished(), false),
            false,
        )
        .assert_error(413, "payload-too-large");
    assert_untouched(&server, &before, "an endless multipart body");

    let (content_type, body) = Multipart::new()
        .file("avatar", "big.png", "image/png", &big(LIMIT + 1))
        .text("token", &server.token(A))
        .finish();
    let length = body.len().to_string();
    let multipart = [
        ("content-type", content_type.as_str()),
        ("content-length", length.as_str()),
    ];
    server
        .raw("POST", &path, &multipart, body, true)
        .assert_error(413, "payload-too-large");
    assert_untouched(&server, &before, "a multipart body over the limit");
}

#[test]
fn a_declared_length_over_the_limit_is_refused_before_the_body_is_read() {
    const LIMIT: usize = 100_000;
    let server = TestServer::builder().max_upload_bytes(LIMIT as u64).start();
    let before = store_a(&server);
    let path = format!("/{A}");
    let auth = format!("Bearer {}", server.token(A));
    let mut start = png(8, 8);
    start.resize(1000, 0);
    // A raw image body is the upload itself: any declared length over the limit is too much.
    for declared in [LIMIT + 1, LIMIT + (64 << 10) + 1, 1_000_000_000] {
        let length = declared.to_string();
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "image/png"),
            ("content-length", length.as_str()),
        ];
        // Only the start of the body is sent: a server that waits for the rest never answers.
        let what = format!("Content-Length {declared} over a limit of {LIMIT}");
        let reply = server
            .try_raw("PUT", &path, &headers, start.clone(), false)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            (reply.status, reply.error_code().as_str()),
            (413, "payload-too-large"),
            "{what}: {}",
            reply.text()
        );
        assert_untouched(
            &server,
            &before,
            &format!("a declared length of {declared}"),
        );
    }
}

#[test]
fn non_images_are_415() {
    let server = TestServer::start();
    let before = store_a(&server);
    let image = png(100, 100);
    for content_type in [
        "text/plain",
        "application/json",
        "application/octet-stream",
        "imagepng",
    ] {
        upload_as(&server, A, &image, content_type).assert_error(415, "unsupported-media-type");
        assert_untouched(&server, &before, content_type);
    }
    let auth = format!("Bearer {}", server.token(A));
    server
        .request(
            "PUT",
            &format!("/{A}"),
            &[("authorization", &auth)],
            Some(&image),
        )
        .assert_error(415, "unsupported-media-type");
    assert_untouched(&server, &before, "no content type");

    let mut bmp = b"BM".to_vec();
    bmp.resize(64, 0);
    let not_images: [(&str, Vec<u8>); 3] = [
        ("text", b"hello, world, this is not an image".to_vec()),
        ("a BMP", bmp),
        ("random bytes", (0..=255u8).cycle().take(4096).collect()),
    ];
    for (what, bytes) in &not_images {
        upload_as(&server, A, bytes, "image/png").assert_error(415, "unsupported-image");
        assert_untouched(&server, &before, what);
        let (content_type, body) = Multipart::new()
            .file("avatar", "a.png", "image/png", bytes)
            .finish();
        server
            .request(
                "POST",
                &format!("/{A}"),
                &[("authorization", &auth), ("content-type", &content_type)],
                Some(&body),
            )
            .assert_error(415, "unsupported-image");
        assert_untouched(&server, &before, what);
    }
}

#[test]
fn broken_and_oversized_images_are_422() {
    let server = TestServer::builder().max_source_pixels(1_000_000).start();
    let before = store_a(&server);
    let png_bytes = png(400, 400);
    let jpeg = images::encode(
        &DynamicImage::ImageRgb8(images::quadrants(400, 400)),
        ImageFormat::Jpeg,
    );
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "a truncated PNG",
            png_bytes[..png_bytes.len() / 2].to_vec(),
            "undecodable-image",
        ),
        (
            "a truncated JPEG",
            jpeg[..jpeg.len() - 100].to_vec(),
            "undecodable-image",
        ),
        (
            "a PNG with broken data",
            png_declaring(64, 64),
            "undecodable-image",
        ),
        (
            "a decompression bomb",
            png_declaring(100_000, 100_000),
            "too-many-pixels",
        ),
        (
            "one pixel row over the limit",
            png(1000, 1001),
            "too-many-pixels",
        ),
    ];
    for (what, bytes, code) in &cases {
        upload_as(&server, A, bytes, "image/png").assert_error(422, code);
        assert_untouched(&server, &before, what);
    }
    // Exactly the limit is fine.
    let ok = upload_as(&server, B, &png(1000, 1000), "image/png");
    assert_eq!(ok.status, 201, "{}", ok.text());
}
