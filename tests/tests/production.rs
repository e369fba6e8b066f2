//! The production backends end to end: several hosts sharing PostgreSQL and S3 (Garage), and
//! what happens when those services fail or the host is killed mid-upload. Needs the services
//! of `scripts/services.sh`; under `CI=true` their absence fails the tests.
//!
//! Tests here stop and start the shared services, so they run one at a time.

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use avatar_tests::server::{TestServer, png, solid_png};
use image::GenericImageView;
use serde_json::{Value, json};
use sha2::Digest;

static SERIAL: Mutex<()> = Mutex::new(());

fn env(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} is not set: under CI the production tests must run")
        }
        _ => {
            eprintln!("skipping: {var} is not set (eval \"$(scripts/services.sh up)\")");
            None
        }
    }
}

/// Storage in the test bucket under a prefix unique to `name`, and the test database.
fn backends(name: &str) -> Option<(Value, Value)> {
    let pg = env("AVATAR_TEST_POSTGRES_URL")?;
    let endpoint = env("AVATAR_TEST_S3_ENDPOINT")?;
    let unique = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let storage = json!({
        "type": "s3",
        "bucket": std::env::var("AVATAR_TEST_S3_BUCKET").unwrap(),
        "region": std::env::var("AVATAR_TEST_S3_REGION").unwrap(),
        "endpoint": endpoint,
        "path_style": true,
        "prefix": format!("e2e-{name}-{unique}/"),
        "access_key_id": std::env::var("AVATAR_TEST_S3_ACCESS_KEY_ID").unwrap(),
        "secret_access_key": std::env::var("AVATAR_TEST_S3_SECRET_ACCESS_KEY").unwrap(),
        "timeout_ms": 1000,
        "max_attempts": 2,
    });
    let catalog = json!({"type": "postgres", "url": pg, "pool_size": 4});
    Some((storage, catalog))
}

fn hash(seed: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:040x}", nanos ^ u128::from(seed) << 100)
}

/// Polls `check` every 20 ms until it holds or `limit` passes; returns the time it took.
fn within(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn a_write_on_one_host_is_seen_by_the_other_within_a_second() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((storage, catalog)) = backends("two-hosts") else {
        return;
    };
    let a = TestServer::builder()
        .backends(storage.clone(), catalog.clone())
        .start();
    let b = TestServer::builder().backends(storage, catalog).start();
    let h = hash(1);

    // B caches "no avatar" first, then A uploads.
    assert_eq!(b.get(&format!("/{h}")).status, 404);
    assert_eq!(
        a.upload(&h, &solid_png(64, [200, 0, 0]), "image/png")
            .status,
        201
    );
    let seen = within(Duration::from_secs(1), || {
        b.get(&format!("/{h}")).status == 200
    });
    assert!(seen.is_some(), "host B still misses the upload after 1 s");

    // A replacement changes the ETag B serves.
    let before = b.get(&format!("/{h}")).header("etag").map(str::to_owned);
    assert_eq!(
        a.upload(&h, &solid_png(64, [0, 0, 200]), "image/png")
            .status,
        201
    );
    let seen = within(Duration::from_secs(1), || {
        b.get(&format!("/{h}")).header("etag").map(str::to_owned) != before
    });
    assert!(
        seen.is_some(),
        "host B still serves the replaced avatar after 1 s"
    );

    // A delete.
    assert_eq!(a.delete(&h, Some(&a.token(&h))).status, 204);
    let seen = within(Duration::from_secs(1), || {
        b.get(&format!("/{h}")).status == 404
    });
    assert!(
        seen.is_some(),
        "host B still serves a deleted avatar after 1 s"
    );
}

fn garage_pid_file() -> Option<std::path::PathBuf> {
    let conf = env("AVATAR_TEST_GARAGE_CONFIG")?;
    Some(std::path::Path::new(&conf).with_file_name("pid"))
}

fn stop_garage() {
    let pid_file = garage_pid_file().expect("garage config");
    let pid = std::fs::read_to_string(&pid_file)
        .expect("garage pid")
        .trim()
        .to_owned();
    Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .expect("kill");
    within(Duration::from_secs(10), || {
        !Command::new("kill")
            .args(["-0", &pid])
            .status()
            .unwrap()
            .success()
    })
    .expect("garage stopped");
}

#[expect(
    clippy::zombie_processes,
    reason = "Garage is a shared service that outlives this test; scripts/services.sh stops it by its pid file"
)]
fn start_garage() {
    let conf = env("AVATAR_TEST_GARAGE_CONFIG").expect("garage config");
    let log = std::fs::File::create(std::path::Path::new(&conf).with_file_name("server.log"))
        .expect("garage log");
    let child = Command::new("garage")
        .args(["-c", &conf, "server"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("starting garage");
    std::fs::write(garage_pid_file().unwrap(), child.id().to_string()).expect("pid file");
}

#[test]
fn an_s3_outage_costs_writes_not_the_avatar_and_heals_by_itself() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((storage, catalog)) = backends("s3-outage") else {
        return;
    };
    let server = TestServer::builder()
        .backends(storage, catalog)
        .cache(0, 0)
        .start();
    let h = hash(2);
    let old = solid_png(64, [10, 200, 10]);
    assert_eq!(server.upload(&h, &old, "image/png").status, 201);
    let served = server.get(&format!("/{h}")).body;

    stop_garage();
    let reply = server.upload(&h, &solid_png(64, [200, 10, 10]), "image/png");
    let ready = server.get("/readyz").status;
    start_garage();
    reply.assert_error(503, "storage-unavailable");
    assert_eq!(ready, 503, "not ready while S3 is down");

    // Back by itself: the old avatar whole, and writes work again.
    let healed = within(Duration::from_secs(30), || {
        server.get("/readyz").status == 200
    });
    assert!(healed.is_some(), "{}", server.stderr_tail());
    assert_eq!(
        server.get(&format!("/{h}")).body,
        served,
        "the old avatar, whole"
    );
    assert_eq!(server.upload(&h, &png(80, 80), "image/png").status, 201);
}

fn pg_ctl(action: &str) {
    let bin = env("AVATAR_TEST_PGBIN").expect("PGBIN");
    let data = env("AVATAR_TEST_PGDATA").expect("PGDATA");
    let pg_ctl = format!("{bin}/pg_ctl");
    let options = env("AVATAR_TEST_PGOPTS").expect("PGOPTS");
    let log = env("AVATAR_TEST_PGLOG").expect("PGLOG");
    let mut args = vec![pg_ctl.as_str(), "-D", data.as_str(), "-w", "-t", "60"];
    if action == "start" {
        // The same port, socket directory and settings as scripts/services.sh chose.
        args.extend(["-l", log.as_str(), "-o", options.as_str()]);
    } else {
        args.extend(["-m", "fast"]);
    }
    args.push(action);
    let status = if nix_is_root() {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .args(&args)
            .status()
    } else {
        Command::new(args[0]).args(&args[1..]).status()
    }
    .expect("pg_ctl");
    assert!(status.success(), "pg_ctl {action}");
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn a_postgres_outage_answers_503_and_the_pool_reconnects() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((storage, catalog)) = backends("pg-outage") else {
        return;
    };
    let server = TestServer::builder().backends(storage, catalog).start();
    let h = hash(3);
    assert_eq!(server.upload(&h, &png(64, 64), "image/png").status, 201);

    pg_ctl("stop");
    let ready = server.get("/readyz").status;
    let write = server.upload(&h, &png(70, 70), "image/png");
    let miss = server.get(&format!("/{}", hash(4)));
    pg_ctl("start");
    assert_eq!(ready, 503);
    write.assert_error(503, "catalog-unavailable");
    miss.assert_error(503, "catalog-unavailable");

    let healed = within(Duration::from_secs(30), || {
        server.get("/readyz").status == 200
    });
    assert!(healed.is_some(), "{}", server.stderr_tail());
    assert_eq!(server.upload(&h, &png(72, 72), "image/png").status, 201);
    assert_eq!(server.get(&format!("/{h}")).status, 200);
}

/// An upload whose outcome does not matter (the host may die under it).
fn try_upload(server: &TestServer, hash: &str, body: &[u8]) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let _ = agent
        .put(&server.url(&format!("/{hash}")))
        .header("authorization", &format!("Bearer {}", server.token(hash)))
        .header("content-type", "image/png")
        .send(body);
}

#[test]
fn a_host_killed_mid_upload_leaves_every_avatar_whole_and_gc_finds_the_orphans() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((storage, catalog)) = backends("sigkill") else {
        return;
    };
    let mut server = TestServer::builder().backends(storage, catalog).start();
    let hashes: Vec<String> = (10..18).map(hash).collect();
    for h in &hashes {
        assert_eq!(server.upload(h, &png(300, 300), "image/png").status, 201);
    }
    // Replace them all concurrently and kill the host in the middle.
    std::thread::scope(|scope| {
        for h in &hashes {
            let server = &server;
            scope.spawn(move || {
                for side in [310, 320, 330] {
                    try_upload(server, h, &png(side, side));
                }
            });
        }
        std::thread::sleep(Duration::from_millis(150));
        let pid = server.pid();
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("kill -9");
    });
    server.kill();
    server.start_again();

    // Every avatar is one whole version: every size decodes.
    for h in &hashes {
        for size in ["small", "medium", "large"] {
            let reply = server.get(&format!("/{h}/{size}"));
            assert_eq!(reply.status, 200, "{h}/{size}: {}", reply.text());
            let _ = reply.image();
        }
    }
    // gc: a dry run reports and deletes nothing; --delete removes only orphans.
    let gc = |args: &[&str]| {
        let out = Command::new(avatar_tests::server::avatar_binary())
            .arg("gc")
            .arg("--config")
            .arg(server.config_path())
            .args(args)
            .output()
            .expect("avatar gc");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dry = gc(&["--min-age", "0"]);
    assert!(dry.contains("dry run"), "{dry}");
    let wet = gc(&["--min-age", "0", "--delete"]);
    assert!(wet.contains("0 too young"), "{wet}");
    let after = gc(&["--min-age", "0"]);
    assert!(after.contains(" 0 orphaned"), "{after}");
    for h in &hashes {
        for size in ["small", "medium", "large"] {
            assert_eq!(server.get(&format!("/{h}/{size}")).status, 200, "after gc");
        }
    }
}

#[test]
fn rendered_sizes_and_linked_hashes_follow_writes_on_every_host() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some((storage, catalog)) = backends("renditions") else {
        return;
    };
    let a = TestServer::builder()
        .backends(storage.clone(), catalog.clone())
        .start();
    let b = TestServer::builder().backends(storage, catalog).start();
    let h = hash(2);
    let colour = |reply: &avatar_tests::server::Reply| reply.image().to_rgb8().get_pixel(4, 4).0;

    // B renders (and caches) a size that is not stored, in two formats.
    assert_eq!(
        a.upload(&h, &solid_png(256, [200, 0, 0]), "image/png")
            .status,
        201
    );
    let rendered = format!("/avatar/{h}?s=77");
    let webp = [("accept", "image/webp")];
    let first = b.get(&rendered);
    assert_eq!(first.status, 200);
    assert_eq!(first.image().dimensions(), (77, 77));
    assert_eq!(
        b.get_with(&rendered, &webp).header("content-type"),
        Some("image/webp")
    );

    // A replaces the avatar: B's rendered sizes follow, in every format.
    assert_eq!(
        a.upload(&h, &solid_png(256, [0, 0, 200]), "image/png")
            .status,
        201
    );
    let seen = within(Duration::from_secs(1), || {
        let reply = b.get(&rendered);
        reply.status == 200 && colour(&reply)[2] > 150
    });
    assert!(
        seen.is_some(),
        "host B still serves the old rendered size after 1 s"
    );
    let negotiated = b.get_with(&rendered, &webp);
    assert!(
        colour(&negotiated)[2] > 150,
        "the negotiated rendition is new too"
    );

    // A deletes it: B's rendered sizes go too.
    assert_eq!(a.delete(&h, Some(&a.token(&h))).status, 204);
    let gone = within(Duration::from_secs(1), || {
        b.get(&format!("{rendered}&d=404")).status == 404
    });
    assert!(
        gone.is_some(),
        "host B still renders a deleted avatar after 1 s"
    );

    // B has cached "no avatar" under an email's MD5; A uploads by its SHA-1, vouched for
    // by the address: B finds it by the MD5 within a second.
    let email = format!("someone-{h}@example.com");
    let md5 = hex::encode(md5::Md5::digest(email.as_bytes()));
    let sha1 = hex::encode(sha1::Sha1::digest(email.as_bytes()));
    let by_md5 = format!("/avatar/{md5}?s=40&d=404");
    assert_eq!(b.get(&by_md5).status, 404);
    let now = avatar_tests::server::unix_now();
    let token = a.sign(&json!({"email": email, "tenant": "default", "exp": now + 600}));
    let put = a.request(
        "PUT",
        &format!("/{sha1}"),
        &[
            ("authorization", &format!("Bearer {token}")),
            ("content-type", "image/png"),
        ],
        Some(&solid_png(64, [0, 200, 0])),
    );
    assert_eq!(put.status, 201, "{}", put.text());
    let found = within(Duration::from_secs(1), || b.get(&by_md5).status == 200);
    assert!(
        found.is_some(),
        "host B still misses the linked upload after 1 s"
    );
}
