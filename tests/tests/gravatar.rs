//! The Gravatar and Libravatar endpoint through the real server: every parameter and alias,
//! every clamp, every default style, `f`, `r`, `d=<URL>` allowed and refused, extensions,
//! `HEAD`, conditional requests, exact sizes on both APIs, format negotiation, and uploads
//! linked to an email address's three hashes.

use std::time::{Duration, Instant};

use avatar_tests::images::{encode, photo};
use avatar_tests::server::{Reply, TestServer, png, unix_now};
use image::{DynamicImage, GenericImageView, ImageFormat};
use md5::Md5;
use serde_json::json;
use sha1::Sha1;
use sha2::{Digest, Sha256};

const MD5: &str = "0123456789abcdef0123456789abcdef";
const SHA1: &str = "0123456789abcdef0123456789abcdef01234567";
const SHA256: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const MISSING: &str = "fedcba9876543210fedcba9876543210";
const ALSO_MISSING: &str = "00112233445566778899aabbccddeeff";

/// The hex MD5, SHA-1 and SHA-256 of an address as Gravatar clients hash it.
fn hashes_of(email: &str) -> [String; 3] {
    let email = email.trim().to_lowercase();
    [
        hex::encode(Md5::digest(email.as_bytes())),
        hex::encode(Sha1::digest(email.as_bytes())),
        hex::encode(Sha256::digest(email.as_bytes())),
    ]
}

/// Asserts a `200` whose body is a `side` x `side` image of `content_type`.
fn assert_square(reply: &Reply, side: u32, content_type: &str, what: &str) {
    assert_eq!(reply.status, 200, "{what}: {}", reply.text());
    assert_eq!(reply.header("content-type"), Some(content_type), "{what}");
    assert_eq!(reply.image().dimensions(), (side, side), "{what}");
}

/// A server with one photo-like avatar under each of the three hash lengths.
fn server_with_avatars() -> TestServer {
    let server = TestServer::start();
    let upload = encode(&DynamicImage::ImageRgb8(photo(512)), ImageFormat::Png);
    for hash in [MD5, SHA1, SHA256] {
        server.upload_png(hash, &upload);
    }
    server
}

#[test]
fn every_size_is_exact_and_out_of_range_sizes_are_clamped() {
    let server = server_with_avatars();
    let cases: &[(&str, u32)] = &[
        ("", 80),
        ("?s=1", 1),
        ("?s=80", 80),
        ("?size=81", 81),
        ("?s=200", 200),
        ("?s=512", 512),
        ("?s=0513", 513),
        ("?s=2048", 2048),
        ("?s=2049", 2048),
        ("?s=999999999999", 2048),
        ("?s=0", 80),
        ("?s=-5", 80),
        ("?s=abc", 80),
        ("?s=", 80),
        ("?s=12.5", 80),
        ("?s=40&size=90", 40),
    ];
    for (query, side) in cases {
        for hash in [MD5, SHA1, SHA256] {
            let reply = server.get(&format!("/avatar/{hash}{query}"));
            assert_square(&reply, *side, "image/png", &format!("{hash}{query}"));
        }
    }
    // Any case of the hash; unknown parameters ignored.
    let upper = server.get(&format!("/avatar/{}?s=64&x=1", MD5.to_uppercase()));
    let lower = server.get(&format!("/avatar/{MD5}?s=64"));
    assert_square(&upper, 64, "image/png", "upper case");
    assert_eq!(upper.body, lower.body);
    // Not a hash: a clear JSON error.
    server
        .get("/avatar/not-a-hash")
        .assert_error(400, "invalid-hash");
}

#[test]
fn native_pixel_sizes_are_exact_and_named_sizes_keep_their_presets() {
    let server = server_with_avatars();
    for (path, side) in [("80", 80), ("130", 130), ("1", 1), ("medium", 256)] {
        let reply = server.get(&format!("/{SHA1}/{path}"));
        assert_square(&reply, side, "image/png", path);
    }
    // The second request for a rendered size is the same file.
    let first = server.get(&format!("/{SHA1}/77"));
    let again = server.get(&format!("/{SHA1}/77"));
    assert_eq!(first.body, again.body);
    assert_eq!(first.header("etag"), again.header("etag"));
}

#[test]
fn headers_conditionals_and_head_match_the_native_routes() {
    let server = server_with_avatars();
    let path = format!("/avatar/{MD5}?s=96");
    let reply = server.get(&path);
    assert_square(&reply, 96, "image/png", "GET");
    assert_eq!(
        reply.header("content-length"),
        Some(reply.body.len().to_string().as_str())
    );
    assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
    let etag = reply.header("etag").expect("an ETag").to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    let modified = reply
        .header("last-modified")
        .expect("Last-Modified")
        .to_owned();
    httpdate::parse_http_date(&modified).expect("an HTTP date");

    let fresh = server.get_with(&path, &[("if-none-match", &etag)]);
    assert_eq!(fresh.status, 304);
    assert!(fresh.body.is_empty());
    assert_eq!(fresh.header("etag"), Some(etag.as_str()));
    let fresh = server.get_with(&path, &[("if-modified-since", &modified)]);
    assert_eq!(fresh.status, 304);
    let stale = server.get_with(&path, &[("if-none-match", "\"something-else\"")]);
    assert_eq!(stale.status, 200);

    // Another size is another ETag.
    let other = server.get(&format!("/avatar/{MD5}?s=97"));
    assert_ne!(other.header("etag"), Some(etag.as_str()));

    let head = server.head(&path);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), Some(etag.as_str()));
    assert_eq!(head.header("content-type"), Some("image/png"));
    assert_eq!(
        head.header("content-length"),
        Some(reply.body.len().to_string().as_str())
    );
    // `HEAD …?d=404` asks whether an avatar exists.
    assert_eq!(server.head(&format!("/avatar/{MD5}?d=404")).status, 200);
    assert_eq!(server.head(&format!("/avatar/{MISSING}?d=404")).status, 404);
}

#[test]
fn an_extension_chooses_the_format() {
    let server = server_with_avatars();
    let cases = [
        ("jpg", "image/jpeg", ImageFormat::Jpeg),
        ("jpeg", "image/jpeg", ImageFormat::Jpeg),
        ("JPG", "image/jpeg", ImageFormat::Jpeg),
        ("png", "image/png", ImageFormat::Png),
        ("gif", "image/gif", ImageFormat::Gif),
        ("webp", "image/webp", ImageFormat::WebP),
        ("avif", "image/avif", ImageFormat::Avif),
    ];
    for (extension, content_type, format) in cases {
        // An extension wins over Accept.
        let reply = server.get_with(
            &format!("/avatar/{MD5}.{extension}?s=72"),
            &[("accept", "image/avif,image/webp,*/*")],
        );
        assert_eq!(reply.status, 200, "{extension}: {}", reply.text());
        assert_eq!(
            reply.header("content-type"),
            Some(content_type),
            "{extension}"
        );
        assert_eq!(image::guess_format(&reply.body).ok(), Some(format));
        if format != ImageFormat::Avif {
            // (No AVIF decoder here; its container says the rest.)
            assert_eq!(reply.image().dimensions(), (72, 72), "{extension}");
        }
    }
    server
        .get(&format!("/avatar/{MD5}.bmp"))
        .assert_error(400, "invalid-hash");
}

#[test]
fn the_format_is_negotiated_only_without_an_extension_and_when_the_tenant_allows() {
    let server = server_with_avatars();
    let path = format!("/avatar/{SHA1}?s=120");

    let plain = server.get(&path);
    assert_square(&plain, 120, "image/png", "no Accept");
    assert!(
        plain
            .header("vary")
            .is_some_and(|v| v.to_ascii_lowercase().contains("accept")),
        "Vary: Accept even when the stored format answers: {:?}",
        plain.header("vary")
    );

    let webp = server.get_with(&path, &[("accept", "image/webp,*/*;q=0.8")]);
    assert_square(&webp, 120, "image/webp", "WebP accepted");
    assert!(
        webp.body.len() < plain.body.len(),
        "WebP is chosen as smaller"
    );

    let modern = server.get_with(&path, &[("accept", "image/avif,image/webp,*/*")]);
    assert_eq!(modern.status, 200);
    let chosen = modern.header("content-type").expect("a content type");
    assert!(
        ["image/avif", "image/webp"].contains(&chosen),
        "a modern format for a photo: {chosen}"
    );
    assert!(
        modern.body.len() <= webp.body.len(),
        "the smallest accepted"
    );
    if chosen == "image/avif" {
        assert_eq!(&modern.body[4..12], b"ftypavif");
    }
    // Each negotiated answer has its own ETag, and revalidates.
    let etag = modern.header("etag").expect("an ETag").to_owned();
    assert_ne!(Some(etag.as_str()), plain.header("etag"));
    let fresh = server.get_with(
        &path,
        &[
            ("accept", "image/avif,image/webp,*/*"),
            ("if-none-match", &etag),
        ],
    );
    assert_eq!(fresh.status, 304);

    // `q=0` refuses a format.
    let refused = server.get_with(&path, &[("accept", "image/webp;q=0,*/*")]);
    assert_eq!(refused.header("content-type"), Some("image/png"));

    // A tenant that turns negotiation off answers in the stored format.
    server.edit_config(|config| {
        config["tenants"][0]["output"] = json!({"negotiate": false});
    });
    let off = within(Duration::from_secs(5), || {
        let reply = server.get_with(&path, &[("accept", "image/avif,image/webp,*/*")]);
        (reply.header("content-type") == Some("image/png")).then_some(reply)
    })
    .expect("negotiation still on 5 s after the config turned it off");
    assert_square(&off, 120, "image/png", "negotiation off");
}

/// Polls `check` every 20 ms until it gives something or `limit` passes.
fn within<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(found) = check() {
            return Some(found);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A generated default for `hash` at `query`.
fn style(server: &TestServer, hash: &str, query: &str) -> Reply {
    let reply = server.get(&format!("/avatar/{hash}?{query}"));
    assert_eq!(reply.status, 200, "{hash}?{query}: {}", reply.text());
    reply
}

#[test]
fn every_default_style_is_deterministic_per_hash_and_differs_across_hashes() {
    let server = TestServer::start();
    for name in [
        "identicon",
        "monsterid",
        "wavatar",
        "retro",
        "robohash",
        "color",
    ] {
        let query = format!("d={name}&s=64");
        let a = style(&server, MISSING, &query);
        assert_square(&a, 64, "image/png", name);
        let again = style(&server, MISSING, &query);
        assert_eq!(a.body, again.body, "{name} is deterministic");
        let b = style(&server, ALSO_MISSING, &query);
        assert_ne!(a.body, b.body, "{name} differs across hashes");
        let long = style(&server, MISSING, &format!("default={name}&size=150"));
        assert_square(&long, 150, "image/png", &format!("{name} at 150"));
        // The style is drawn at the size asked, not scaled from another.
        assert_eq!(
            style(&server, MISSING, &format!("d={name}&s=150")).body,
            long.body
        );
    }
    // `mp` and its alias `mm`: one silhouette for every hash.
    let mp = style(&server, MISSING, "d=mp&s=64");
    assert_square(&mp, 64, "image/png", "mp");
    assert_eq!(style(&server, ALSO_MISSING, "d=mp&s=64").body, mp.body);
    assert_eq!(style(&server, MISSING, "d=mm&s=64").body, mp.body);
    assert_ne!(style(&server, MISSING, "d=identicon&s=64").body, mp.body);

    // `color` is one colour.
    let color = style(&server, MISSING, "d=color&s=16").image().to_rgba8();
    let first = *color.get_pixel(0, 0);
    assert!(color.pixels().all(|p| *p == first), "a solid colour");

    // `blank`: a transparent PNG of the size asked.
    let blank = style(&server, MISSING, "d=blank&s=33");
    assert_square(&blank, 33, "image/png", "blank");
    assert!(blank.image().to_rgba8().pixels().all(|p| p.0[3] == 0));

    // `404`, an unknown style and no `d` give the tenant's default (here: 404).
    for query in [
        "d=404",
        "d=no-such-style",
        "",
        "d=https://cdn.example/a.png",
    ] {
        let reply = server.get(&format!("/avatar/{MISSING}?{query}"));
        reply.assert_error(404, "not-found");
    }
    // Generated defaults come with validators too.
    let path = format!("/avatar/{MISSING}?d=retro&s=64");
    let etag = server.get(&path).header("etag").expect("ETag").to_owned();
    assert_eq!(
        server.get_with(&path, &[("if-none-match", &etag)]).status,
        304
    );
}

#[test]
fn initials_come_from_the_request_else_the_stored_name_else_the_hash() {
    let server = TestServer::start();
    let draw = |hash: &str, extra: &str| style(&server, hash, &format!("d=initials&s=64{extra}"));
    let plain = draw(MISSING, "");
    assert_square(&plain, 64, "image/png", "initials from the hash");
    let ada = draw(MISSING, "&name=Ada%20Lovelace");
    let al = draw(MISSING, "&initials=AL");
    let zed = draw(MISSING, "&initials=ZQ");
    assert_ne!(ada.body, plain.body, "a name changes the letters");
    assert_eq!(ada.body, al.body, "Ada Lovelace is AL");
    assert_ne!(al.body, zed.body);

    // An upload's name is used when the request gives none.
    let token = server.token(SHA1);
    let reply = server.request(
        "PUT",
        &format!("/{SHA1}?name=Ada%20Lovelace"),
        &[
            ("authorization", &format!("Bearer {token}")),
            ("content-type", "image/png"),
        ],
        Some(&png(64, 64)),
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.json()["name"], "Ada Lovelace");
    let stored = style(&server, SHA1, "d=initials&s=64&f=y");
    let asked = style(&server, SHA1, "d=initials&s=64&f=y&initials=AL");
    assert_eq!(stored.body, asked.body, "the stored name's initials");
    let other = style(&server, SHA1, "d=initials&s=64&f=y&initials=ZQ");
    assert_ne!(stored.body, other.body);
}

#[test]
fn forcedefault_gives_the_default_even_when_an_avatar_exists() {
    let server = TestServer::start();
    let before = style(&server, MD5, "d=identicon&s=64");
    server.upload_png(MD5, &png(256, 256));
    let avatar = style(&server, MD5, "d=identicon&s=64");
    assert_ne!(avatar.body, before.body, "the avatar, once uploaded");
    for force in ["f=y", "forcedefault=y", "f=Y"] {
        let forced = style(&server, MD5, &format!("d=identicon&s=64&{force}"));
        assert_eq!(forced.body, before.body, "{force}");
    }
    let not_forced = style(&server, MD5, "d=identicon&s=64&f=n");
    assert_eq!(not_forced.body, avatar.body);
    server
        .get(&format!("/avatar/{MD5}?d=404&f=y"))
        .assert_error(404, "not-found");
}

#[test]
fn an_avatar_rated_above_the_rating_asked_gets_the_default() {
    let server = TestServer::start();
    let upload = |hash: &str, rating: &str| {
        let token = server.token(hash);
        server.request(
            "PUT",
            &format!("/{hash}?rating={rating}"),
            &[
                ("authorization", &format!("Bearer {token}")),
                ("content-type", "image/png"),
            ],
            Some(&png(64, 64)),
        )
    };
    let stored = upload(MD5, "pg");
    assert_eq!(stored.status, 201, "{}", stored.text());
    assert_eq!(stored.json()["rating"], "pg");
    for (query, status) in [
        ("", 404),
        ("&r=g", 404),
        ("&r=G", 404),
        ("&r=pg", 200),
        ("&rating=r", 200),
        ("&r=x", 200),
        ("&r=nonsense", 404),
    ] {
        let reply = server.get(&format!("/avatar/{MD5}?d=404{query}"));
        assert_eq!(reply.status, status, "r{query}: {}", reply.text());
    }
    // Rated out, the default style is drawn instead.
    let drawn = server.get(&format!("/avatar/{MD5}?d=retro&r=g"));
    assert_square(&drawn, 80, "image/png", "the default instead");

    // An upload without a rating is `g`; a bad rating is refused and stores nothing.
    assert_eq!(upload(SHA1, "").json()["rating"], "g");
    upload(SHA256, "nc-17").assert_error(400, "invalid-rating");
    assert_eq!(
        server.get(&format!("/avatar/{SHA256}?d=404&r=x")).status,
        404
    );
}

#[test]
fn a_default_url_is_redirected_to_only_on_an_allowed_host() {
    let server = TestServer::builder()
        .configure(|config| {
            config["tenants"][0]["default_url_hosts"] = json!(["cdn.example"]);
        })
        .start();
    let url = "https://cdn.example/avatars/default.png?x=1";
    let encoded: String = form_urlencoded(url);
    let reply = server.get(&format!("/avatar/{MISSING}?d={encoded}"));
    assert_eq!(reply.status, 302, "{}", reply.text());
    assert_eq!(reply.header("location"), Some(url));
    let reply = server.get(&format!(
        "/avatar/{MISSING}?default={}",
        form_urlencoded("http://CDN.example:8080/a")
    ));
    assert_eq!(reply.status, 302);

    // Elsewhere, or disguised, it is the tenant's own default (here: 404), never a redirect.
    for refused in [
        "https://evil.example/a.png",
        "https://cdn.example.evil.example/a.png",
        "https://cdn.example@evil.example/a.png",
        "javascript:alert(1)",
        "//evil.example/a.png",
        "ftp://cdn.example/a.png",
    ] {
        let reply = server.get(&format!("/avatar/{MISSING}?d={}", form_urlencoded(refused)));
        assert_eq!(reply.status, 404, "{refused}");
        assert!(reply.header("location").is_none(), "{refused}");
    }
    // With an avatar there is nothing to redirect for.
    server.upload_png(MD5, &png(64, 64));
    let reply = server.get(&format!("/avatar/{MD5}?d={encoded}"));
    assert_square(&reply, 80, "image/png", "the avatar");
}

/// Percent-encodes a query value.
fn form_urlencoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A token for `hash` that vouches for `email`.
fn email_token(server: &TestServer, email: &str) -> String {
    let now = unix_now();
    server.sign(&json!({
        "sub": "e2e",
        "email": email,
        "tenant": "default",
        "iat": now,
        "exp": now + 600,
    }))
}

#[test]
fn an_upload_vouched_for_by_an_email_is_found_by_all_three_of_its_hashes() {
    let server = TestServer::start();
    let email = "  Ada.Lovelace@Example.COM ";
    let [md5, sha1, sha256] = hashes_of(email);
    let token = email_token(&server, email);
    let put = |hash: &str, token: &str, bytes: &[u8]| {
        server.request(
            "PUT",
            &format!("/{hash}"),
            &[
                ("authorization", &format!("Bearer {token}")),
                ("content-type", "image/png"),
            ],
            Some(bytes),
        )
    };
    let stored = put(&sha1, &token, &png(128, 128));
    assert_eq!(stored.status, 201, "{}", stored.text());
    let body = stored.json();
    assert_eq!(body["hash"], sha1.as_str());
    let mut aliases: Vec<String> = serde_json::from_value(body["aliases"].clone()).unwrap();
    aliases.sort();
    let mut expected = vec![md5.clone(), sha256.clone()];
    expected.sort();
    assert_eq!(aliases, expected);
    assert!(
        !stored.text().to_lowercase().contains("lovelace"),
        "the address is not echoed"
    );

    let by_sha1 = server.get(&format!("/avatar/{sha1}?s=50"));
    assert_square(&by_sha1, 50, "image/png", "by SHA-1");
    for hash in [&md5, &sha256] {
        let reply = server.get(&format!("/avatar/{hash}?s=50&d=404"));
        assert_square(&reply, 50, "image/png", hash);
        assert_eq!(reply.body, by_sha1.body, "{hash}: the same avatar");
        assert_square(
            &server.get(&format!("/{hash}/small")),
            128,
            "image/png",
            hash,
        );
    }
    assert!(
        !server.stderr().to_lowercase().contains("lovelace"),
        "the address is never logged"
    );

    // A hash that is not one of the address's is refused, and stores nothing.
    put(SHA1, &token, &png(64, 64)).assert_error(403, "wrong-hash");
    assert_eq!(server.get(&format!("/avatar/{SHA1}?d=404")).status, 404);

    // Uploading again through another of the hashes replaces the one avatar.
    let replaced = put(&md5, &token, &png(300, 300));
    assert_eq!(replaced.status, 201, "{}", replaced.text());
    let after = server.get(&format!("/avatar/{sha256}?s=50"));
    assert_ne!(after.body, by_sha1.body, "replaced for every hash");
    assert_eq!(server.get(&format!("/avatar/{sha1}?s=50")).body, after.body);

    // A delete through any of them removes it for all.
    let reply = server.delete(&sha256, Some(&token));
    assert_eq!(reply.status, 204, "{}", reply.text());
    for hash in [&md5, &sha1, &sha256] {
        assert_eq!(
            server.get(&format!("/avatar/{hash}?d=404")).status,
            404,
            "{hash}"
        );
    }
    // Without the email claim, an upload is found by its own hash only.
    server.upload_png(&sha1, &png(64, 64));
    assert_eq!(server.get(&format!("/avatar/{sha1}?d=404")).status, 200);
    assert_eq!(server.get(&format!("/avatar/{md5}?d=404")).status, 404);
}

#[test]
fn the_endpoint_works_on_every_tenant_route() {
    let server = server_with_avatars();
    let direct = server.get(&format!("/avatar/{MD5}?s=40"));
    let routed = server.get(&format!("/t/default/avatar/{MD5}?s=40"));
    assert_square(&routed, 40, "image/png", "/t/{tenant}/avatar/");
    assert_eq!(routed.body, direct.body);
    server
        .get(&format!("/t/no-such-tenant/avatar/{MD5}"))
        .assert_error(404, "unknown-tenant");
}
