//! Many tenants on one host, through the real binary: choosing the tenant (path prefix, host
//! name, default), keeping their avatars and tokens apart, their own settings (limits, CORS,
//! storage prefix), pipelines with filters, generated defaults, API-key auth, and the plugin
//! commands of the CLI.

use std::process::Command;

use avatar_tests::images;
use avatar_tests::server::{Reply, TestServer, avatar_binary, png, solid_png, unix_now};
use image::{DynamicImage, GenericImageView, ImageFormat};
use serde_json::{Value, json};

const A: &str = "0123456789abcdef0123456789abcdef01234567";
const B: &str = "89abcdef0123456789abcdef0123456789abcdef";
const MISSING: &str = "ffffffffffffffffffffffffffffffffffffffff";

/// A second tenant `acme`, with the default tenant's auth (the same secret), `extra` merged in.
fn with_acme(extra: Value) -> impl FnOnce(&mut Value) + Send + 'static {
    move |config: &mut Value| {
        let mut acme = json!({
            "id": "acme",
            "auth": config["tenants"][0]["auth"].clone(),
        });
        if let (Some(acme), Some(extra)) = (acme.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                acme.insert(k.clone(), v.clone());
            }
        }
        config["tenants"]
            .as_array_mut()
            .expect("tenants")
            .push(acme);
    }
}

fn put(server: &TestServer, path: &str, token: &str, body: &[u8]) -> Reply {
    let auth = format!("Bearer {token}");
    server.request(
        "PUT",
        path,
        &[("authorization", &auth), ("content-type", "image/png")],
        Some(body),
    )
}

fn centre(reply: &Reply) -> [u8; 4] {
    let image = reply.image();
    let (w, h) = image.dimensions();
    image.to_rgba8().get_pixel(w / 2, h / 2).0
}

#[test]
fn a_path_prefix_or_host_name_selects_the_tenant_and_an_unknown_one_is_404() {
    let server = TestServer::builder()
        .configure(with_acme(json!({"hosts": ["avatars.acme.test"]})))
        .start();
    let red = solid_png(300, [200, 0, 0]);
    let blue = solid_png(300, [0, 0, 200]);
    let ok = put(
        &server,
        &format!("/t/acme/{A}"),
        &server.token_for("acme", A),
        &red,
    );
    assert_eq!(ok.status, 201, "{}", ok.text());
    assert_eq!(ok.json()["tenant"], "acme", "{}", ok.text());

    // The same hash is another avatar at the default tenant: none yet.
    server.get(&format!("/{A}")).assert_error(404, "not-found");
    assert_eq!(server.head(&format!("/t/acme/{A}")).status, 204);
    assert_eq!(server.head(&format!("/{A}")).status, 404);
    let ok = put(&server, &format!("/{A}"), &server.token(A), &blue);
    assert_eq!(ok.status, 201, "{}", ok.text());

    for size in ["", "/small", "/64"] {
        let acme = server.get(&format!("/t/acme/{A}{size}"));
        assert_eq!(acme.status, 200, "{}", acme.text());
        assert!(centre(&acme)[0] > 150, "acme's avatar is red");
        let default = server.get(&format!("/{A}{size}"));
        assert!(centre(&default)[2] > 150, "the default tenant's is blue");
    }
    // Root paths with acme's host name go to acme; with the port too.
    for host in ["avatars.acme.test", "AVATARS.acme.test:8080"] {
        let reply = server.raw(
            "GET",
            &format!("/{A}/small"),
            &[("host", host)],
            Vec::new(),
            true,
        );
        assert_eq!(reply.status, 200, "{host}");
        assert!(centre(&reply)[0] > 150, "{host}: acme's avatar");
    }
    // The index names the tenant.
    assert_eq!(server.get("/t/acme/").json()["tenant"], "acme");
    assert_eq!(server.get("/").json()["tenant"], "default");

    for path in [
        format!("/t/nobody/{A}"),
        "/t/nobody/".to_owned(),
        "/t/nobody".to_owned(),
    ] {
        server.get(&path).assert_error(404, "unknown-tenant");
    }
    put(&server, &format!("/t/nobody/{A}"), &server.token(A), &red)
        .assert_error(404, "unknown-tenant");
    // Deleting at one tenant leaves the other's avatar.
    let auth = format!("Bearer {}", server.token_for("acme", A));
    let gone = server.request(
        "DELETE",
        &format!("/t/acme/{A}"),
        &[("authorization", &auth)],
        None,
    );
    assert_eq!(gone.status, 204, "{}", gone.text());
    assert_eq!(server.head(&format!("/t/acme/{A}")).status, 404);
    assert_eq!(server.head(&format!("/{A}")).status, 204);
}

#[test]
fn a_token_works_only_at_the_tenant_it_was_minted_for() {
    // Both tenants share one secret: only the tenant claim tells their tokens apart.
    let server = TestServer::builder()
        .configure(with_acme(json!({})))
        .start();
    let body = png(200, 200);
    put(
        &server,
        &format!("/{A}"),
        &server.token_for("acme", A),
        &body,
    )
    .assert_error(403, "wrong-tenant");
    put(&server, &format!("/t/acme/{A}"), &server.token(A), &body)
        .assert_error(403, "wrong-tenant");
    // With several tenants a token must name one.
    let now = unix_now();
    let unbound = server.sign(&json!({"hash": A, "exp": now + 600}));
    for path in [format!("/{A}"), format!("/t/acme/{A}")] {
        put(&server, &path, &unbound, &body).assert_error(403, "wrong-tenant");
    }
    assert_eq!(
        put(
            &server,
            &format!("/t/acme/{A}"),
            &server.token_for("acme", A),
            &body
        )
        .status,
        201
    );
    assert_eq!(
        put(&server, &format!("/t/default/{A}"), &server.token(A), &body).status,
        201
    );
    // A delete is bound the same way.
    let auth = format!("Bearer {}", server.token_for("acme", A));
    server
        .request(
            "DELETE",
            &format!("/{A}"),
            &[("authorization", &auth)],
            None,
        )
        .assert_error(403, "wrong-tenant");
}

#[test]
fn each_tenant_has_its_own_limits_cors_origins_and_storage_prefix() {
    let server = TestServer::builder()
        .configure(with_acme(json!({
            "limits": {"max_upload_bytes": 2000},
            "cors_origins": ["https://app.acme.test"],
            "storage_prefix": "customers/acme",
            "sizes": {"tiny": 32, "big": 96},
            "default_size": "tiny",
            "cache_max_age": 42,
        })))
        .start();
    let body = images::encode(
        &DynamicImage::ImageRgb8(images::quadrants(400, 400)),
        ImageFormat::Png,
    );
    assert!(body.len() > 2000);
    put(
        &server,
        &format!("/t/acme/{A}"),
        &server.token_for("acme", A),
        &body,
    )
    .assert_error(413, "payload-too-large");
    assert_eq!(
        put(&server, &format!("/{A}"), &server.token(A), &body).status,
        201
    );
    let small = solid_png(200, [10, 200, 10]);
    assert!(small.len() < 2000);
    let ok = put(
        &server,
        &format!("/t/acme/{B}"),
        &server.token_for("acme", B),
        &small,
    );
    assert_eq!(ok.status, 201, "{}", ok.text());

    // Sizes, default size and cache lifetime are acme's own.
    let reply = server.get(&format!("/t/acme/{B}"));
    assert_eq!(reply.image().dimensions(), (32, 32));
    assert_eq!(reply.header("cache-control"), Some("public, max-age=42"));
    assert_eq!(
        server.get(&format!("/t/acme/{B}/big")).image().dimensions(),
        (96, 96)
    );
    assert_eq!(
        server.get(&format!("/{A}")).image().dimensions(),
        (256, 256)
    );

    // CORS: acme names its one origin; the default tenant allows any.
    let from = |origin: &str, path: &str| server.request("GET", path, &[("origin", origin)], None);
    let allowed = from("https://app.acme.test", &format!("/t/acme/{B}"));
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.acme.test")
    );
    assert!(allowed.header("vary").is_some_and(|v| v.contains("origin")));
    let other = from("https://evil.test", &format!("/t/acme/{B}"));
    assert_eq!(
        other.status, 200,
        "reading is public; the browser is told no"
    );
    assert_eq!(other.header("access-control-allow-origin"), None);
    assert_eq!(
        from("https://evil.test", &format!("/{A}")).header("access-control-allow-origin"),
        Some("*")
    );
    let preflight = server.request(
        "OPTIONS",
        &format!("/t/acme/{B}"),
        &[
            ("origin", "https://evil.test"),
            ("access-control-request-method", "GET"),
        ],
        None,
    );
    assert_eq!(preflight.header("access-control-allow-origin"), None);

    // acme's files live under its prefix, the default tenant's under its id.
    let files = server.image_files();
    let root = server.images_dir();
    let relative: Vec<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        relative
            .iter()
            .any(|f| f.starts_with("customers/acme/") && f.contains(B)),
        "{relative:?}"
    );
    assert!(
        relative
            .iter()
            .any(|f| f.starts_with("default/") && f.contains(A)),
        "{relative:?}"
    );
    assert!(
        !relative.iter().any(|f| f.starts_with("acme/")),
        "{relative:?}"
    );
}

#[test]
fn a_pipeline_with_filters_stores_gray_round_avatars() {
    let server = TestServer::builder()
        .configure(|config: &mut Value| {
            config["tenants"][0]["filters"] =
                json!([{"plugin": "filter-grayscale"}, {"plugin": "filter-circle"}]);
        })
        .start();
    let colourful = images::encode(
        &DynamicImage::ImageRgb8(images::quadrants(600, 600)),
        ImageFormat::Jpeg,
    );
    let record = server.upload(A, &colourful, "image/jpeg");
    assert_eq!(record.status, 201, "{}", record.text());
    assert_eq!(record.json()["format"], "png", "transparency needs PNG");
    for size in ["small", "medium", "large"] {
        let reply = server.get(&format!("/{A}/{size}"));
        assert_eq!(reply.header("content-type"), Some("image/png"));
        let image = reply.image().to_rgba8();
        let (w, h) = image.dimensions();
        assert_eq!(
            image.get_pixel(0, 0).0[3],
            0,
            "{size}: a corner is transparent"
        );
        assert_eq!(image.get_pixel(w - 1, h - 1).0[3], 0, "{size}");
        for (x, y) in [
            (w / 4 + 4, h / 4 + 4),
            (w * 3 / 4 - 4, h / 2),
            (w / 2, h / 2),
        ] {
            let [r, g, b, a] = image.get_pixel(x, y).0;
            assert_eq!(a, 255, "{size}: opaque inside the circle");
            assert!(r == g && g == b, "{size} ({x},{y}): gray, got {r},{g},{b}");
        }
    }
}

#[test]
fn a_generator_draws_every_missing_avatar_its_own_picture() {
    let server = TestServer::builder()
        .default_avatar(json!({"generate": "generate-identicon"}))
        .start();
    let first = server.get(&format!("/{MISSING}/small"));
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("content-type"), Some("image/png"));
    assert_eq!(first.image().dimensions(), (128, 128));
    let again = server.get(&format!("/{MISSING}/small"));
    assert_eq!(again.body, first.body, "the same picture every time");
    assert_eq!(again.header("etag"), first.header("etag"));
    let etag = first.header("etag").expect("an ETag").to_owned();
    assert_eq!(
        server
            .get_with(&format!("/{MISSING}/small"), &[("if-none-match", &etag)])
            .status,
        304
    );
    let other = server.get(&format!("/{B}/small"));
    assert_eq!(other.status, 200);
    assert_ne!(other.body, first.body, "another hash, another picture");
    assert_ne!(other.header("etag"), first.header("etag"));
    assert_eq!(
        server.get(&format!("/{B}/large")).image().dimensions(),
        (512, 512)
    );
    // HEAD says whether an avatar exists; a generated one does not.
    assert_eq!(server.head(&format!("/{B}")).status, 404);
    // An uploaded avatar wins over the generated one, and the backup hash over both.
    server.upload_png(A, &solid_png(300, [0, 0, 250]));
    assert!(centre(&server.get(&format!("/{A}/small")))[2] > 200);
    assert!(centre(&server.get(&format!("/{MISSING}/{A}/small")))[2] > 200);
}

#[test]
fn generated_pictures_go_through_the_tenants_filters() {
    let server = TestServer::builder()
        .default_avatar(json!({"generate": {"plugin": "generate-identicon", "config": {"background": "#ff0000"}}}))
        .configure(|config: &mut Value| {
            config["tenants"][0]["filters"] = json!([{"plugin": "filter-circle"}]);
        })
        .start();
    let reply = server.get(&format!("/{MISSING}/medium"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let image = reply.image().to_rgba8();
    assert_eq!(image.dimensions(), (256, 256));
    assert_eq!(
        image.get_pixel(0, 0).0[3],
        0,
        "round: the corner is transparent"
    );
    let [r, g, b, a] = image.get_pixel(128, 3).0;
    assert!(
        a == 255 && r > 200 && g < 40 && b < 40,
        "the configured background: {r},{g},{b},{a}"
    );
}

#[test]
fn an_api_key_tenant_authorises_with_its_keys_only() {
    let server = TestServer::builder()
        .configure(with_acme(json!({
            "auth": {"plugin": "auth-apikey", "config": {"keys": [
                {"id": "uploader", "key": "acme-key-0123456789abcdef"},
                {"id": "reader-writer", "key": "acme-key-no-delete-0123456", "methods": ["PUT", "POST"]},
            ]}},
        })))
        .start();
    let body = png(200, 200);
    let ok = put(
        &server,
        &format!("/t/acme/{A}"),
        "acme-key-0123456789abcdef",
        &body,
    );
    assert_eq!(ok.status, 201, "{}", ok.text());
    put(&server, &format!("/t/acme/{A}"), "acme-key-wrong", &body)
        .assert_error(401, "bad-signature");
    // acme's key means nothing at the default tenant, and the default tenant's JWTs nothing
    // at acme.
    put(
        &server,
        &format!("/{A}"),
        "acme-key-0123456789abcdef",
        &body,
    )
    .assert_error(401, "invalid-token");
    let jwt = server.token(A);
    assert_eq!(
        put(&server, &format!("/t/acme/{A}"), &jwt, &body).status,
        401
    );
    // A key limited to uploads cannot delete.
    let auth = "Bearer acme-key-no-delete-0123456";
    server
        .request(
            "DELETE",
            &format!("/t/acme/{A}"),
            &[("authorization", auth)],
            None,
        )
        .assert_error(403, "forbidden");
    let auth = "Bearer acme-key-0123456789abcdef";
    let gone = server.request(
        "DELETE",
        &format!("/t/acme/{A}"),
        &[("authorization", auth)],
        None,
    );
    assert_eq!(gone.status, 204, "{}", gone.text());
}

#[test]
fn the_cli_lists_each_tenants_plugins_and_checks_components() {
    let server = TestServer::builder()
        .configure(with_acme(json!({
            "filters": [{"plugin": "filter-grayscale"}],
            "default_avatar": {"generate": "generate-identicon"},
        })))
        .start();
    let output = Command::new(avatar_binary())
        .args(["plugin", "list", "--config"])
        .arg(server.config_path())
        .output()
        .expect("running avatar plugin list");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let acme = text.split("tenant acme").nth(1).expect("acme is listed");
    for (role, plugin) in [
        ("auth", "auth-jwt"),
        ("transform", "transform-image"),
        ("filter", "filter-grayscale"),
        ("generator", "generate-identicon"),
    ] {
        assert!(
            acme.lines()
                .any(|l| l.contains(role) && l.contains(plugin) && l.contains("sha256:")),
            "{role} {plugin} in:\n{text}"
        );
    }
    assert!(text.contains("tenant default (default)"), "{text}");

    // The running server shows the same on /_status.
    let status = server.status();
    let tenants = status["tenants"].as_array().expect("tenants");
    assert_eq!(tenants.len(), 2);
    let plugins = tenants[1]["plugins"].as_array().unwrap();
    assert!(
        plugins
            .iter()
            .any(|p| p["role"] == "filter" && p["plugin"] == "filter-grayscale")
    );
    assert!(
        plugins
            .iter()
            .all(|p| p["sha256"].as_str().is_some_and(|s| s.len() == 64))
    );
    assert!(
        !status.to_string().contains(server.secret()),
        "no settings, no secrets"
    );

    let dir = tempfile::tempdir().unwrap();
    for (name, world) in [
        ("filter-grayscale", "filter-plugin"),
        ("generate-identicon", "generator-plugin"),
        ("auth-apikey", "auth-plugin"),
    ] {
        let file = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&file, avatar_host::plugin::builtin(name).unwrap()).unwrap();
        let output = Command::new(avatar_binary())
            .args(["plugin", "check", "--config"])
            .arg(server.config_path())
            .arg(&file)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(text.contains(world), "{name}: {text}");
    }
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"\0asm not really").unwrap();
    let output = Command::new(avatar_binary())
        .args(["plugin", "check"])
        .arg(&garbage)
        .output()
        .unwrap();
    assert!(!output.status.success());
}
