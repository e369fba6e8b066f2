//! The `avatar` command line around the API: help, start-up refusing a bad configuration
//! with the bad key's path, and `AVATAR__…` environment variables layered over the file.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use avatar_tests::server::{Delivery, TestServer, avatar_binary, png, solid_png};
use serde_json::{Value, json};

fn help(args: &[&str]) -> String {
    let output = Command::new(avatar_binary())
        .args(args)
        .output()
        .expect("running avatar");
    assert!(output.status.success(), "avatar {args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn help_describes_the_commands_and_their_options() {
    let top = help(&["--help"]);
    for word in ["serve", "token", "migrate", "Usage"] {
        assert!(top.contains(word), "avatar --help lacks {word:?}:\n{top}");
    }
    let serve = help(&["serve", "--help"]);
    for word in ["--config", "--listen", "127.0.0.1:0"] {
        assert!(
            serve.contains(word),
            "avatar serve --help lacks {word:?}:\n{serve}"
        );
    }
    let token = help(&["token", "--help"]);
    for word in ["--hash", "--tenant", "--ttl"] {
        assert!(
            token.contains(word),
            "avatar token --help lacks {word:?}:\n{token}"
        );
    }
    let version = help(&["--version"]);
    assert!(version.starts_with("avatar "), "{version}");

    let none = Command::new(avatar_binary())
        .output()
        .expect("running avatar");
    assert!(!none.status.success(), "no command is a usage error");
}

/// Runs `avatar serve` on `config` (text) with `env`, expecting it to exit on its own;
/// returns whether it succeeded and its stderr. The configurations name no backends on
/// purpose, whatever `AVATAR_E2E_BACKEND` says: each is refused while it is read, before any
/// backend is opened, so the backends play no part.
fn serve_once(config: &str, env: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("config.json");
    std::fs::write(&path, config).expect("writing config.json");
    let stderr_path = dir.path().join("stderr.txt");
    let stderr = std::fs::File::create(&stderr_path).expect("a stderr file");
    let mut command = Command::new(avatar_binary());
    for (key, _) in std::env::vars() {
        if key.starts_with("AVATAR__") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("AVATAR_CONFIG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawning avatar serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for avatar") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            panic!("avatar serve kept running with this configuration:\n{config}\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(&stderr_path).expect("reading stderr");
    (status.success(), stderr)
}

fn tenant() -> Value {
    json!({"id": "default", "auth": {"plugin": "auth-jwt", "config": {"secret": "s"}}})
}

fn with_tenant(key: &str, value: Value) -> Value {
    let mut tenant = tenant();
    tenant[key] = value;
    json!({"tenants": [tenant]})
}

/// Environment variables for one run.
type Env = &'static [(&'static str, &'static str)];

#[test]
fn a_bad_configuration_stops_serve_with_the_keys_path() {
    let mut top_level = json!({"tenants": [tenant()]});
    top_level["colour"] = json!("blue");
    let cases: Vec<(Value, Env, &str)> = vec![
        (
            json!({"listen": "nope", "tenants": [tenant()]}),
            &[],
            "listen",
        ),
        (top_level, &[], "colour"),
        (with_tenant("colour", json!("blue")), &[], "tenants[0]"),
        (
            with_tenant("default_avatar", json!("500")),
            &[],
            "tenants[0].default_avatar",
        ),
        (
            with_tenant("default_size", json!("huge")),
            &[],
            "tenants[0].default_size",
        ),
        (
            with_tenant("sizes", json!({"big": 5000})),
            &[],
            "tenants[0].sizes.big",
        ),
        (
            json!({"limits": {"max_upload_bytes": "lots"}, "tenants": [tenant()]}),
            &[],
            "limits.max_upload_bytes",
        ),
        (
            json!({"storage": {"type": "floppy"}, "tenants": [tenant()]}),
            &[],
            "storage",
        ),
        (json!({"tenants": []}), &[], "tenants"),
        // A bad value from the environment is named by its key in the file's terms.
        (
            json!({"tenants": [tenant()]}),
            &[("AVATAR__LIMITS__MAX_UPLOAD_BYTES", "lots")],
            "limits.max_upload_bytes",
        ),
    ];
    for (config, env, key) in cases {
        let text = config.to_string();
        let (ok, stderr) = serve_once(&text, env);
        assert!(!ok, "avatar serve accepted {text} {env:?}");
        assert!(
            stderr.contains(&format!("`{key}")),
            "{text} {env:?}: stderr does not name `{key}`:\n{stderr}"
        );
    }

    let (ok, stderr) = serve_once("{\"tenants\": [", &[]);
    assert!(!ok);
    assert!(stderr.contains("config.json"), "names the file:\n{stderr}");
}

#[test]
fn environment_variables_override_the_file() {
    let server = TestServer::builder()
        .cache_max_age(300)
        .max_upload_bytes(10 << 20)
        .env("AVATAR__TENANTS__0__CACHE_MAX_AGE", "42")
        .env("AVATAR__LIMITS__MAX_UPLOAD_BYTES", "5000")
        .start();
    const HASH: &str = "0123456789abcdef0123456789abcdef01234567";
    let small = solid_png(64, [255, 0, 0]);
    assert!(small.len() < 5000);
    server.upload_png(HASH, &small);
    let reply = server.get(&format!("/{HASH}"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("public, max-age=42"));

    let large = png(1024, 1024);
    assert!(large.len() > 5000);
    let auth = format!("Bearer {}", server.token(HASH));
    let length = large.len().to_string();
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "image/png"),
        ("content-length", length.as_str()),
    ];
    server
        .raw("PUT", &format!("/{HASH}"), &headers, large, true)
        .assert_error(413, "payload-too-large");

    let redirect = TestServer::builder()
        .delivery(Delivery::Proxy)
        .env("AVATAR__DELIVERY", "redirect")
        .start();
    redirect.upload_png(HASH, &small);
    let reply = redirect.get(&format!("/{HASH}"));
    assert_eq!(reply.status, 302, "{}", reply.text());
}

/// `avatar plugin check` runs a component under exactly the limits `serve` gives the same
/// configuration's plugins (it used to check under a smaller output limit than `serve` used).
#[test]
fn plugin_check_and_serve_apply_the_same_limits() {
    let server = TestServer::builder()
        .configure(|config| {
            config["limits"]["plugin_deadline_ms"] = json!(7000);
            config["limits"]["plugin_memory_mib"] = json!(200);
        })
        .start();
    let status = server.status();
    let served = &status["tenants"][0]["limits"];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("filter-grayscale.wasm");
    std::fs::write(
        &file,
        avatar_host::plugin::builtin("filter-grayscale").unwrap(),
    )
    .unwrap();
    for (config, expected) in [
        (
            Some(server.config_path()),
            json!({"deadline_ms": 7000, "memory_mib": 200, "output_mib": 64}),
        ),
        (
            None,
            json!({"deadline_ms": 10000, "memory_mib": 256, "output_mib": 64}),
        ),
    ] {
        let mut command = Command::new(avatar_binary());
        command.args(["plugin", "check"]).arg(&file).arg("--config");
        match config {
            Some(path) => command.arg(path),
            None => command.arg(dir.path().join("no-such-config.json")),
        };
        let output = command.output().expect("running avatar plugin check");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{text}");
        let number = |label: &str, unit: &str| -> u64 {
            let after = text
                .split(label)
                .nth(1)
                .unwrap_or_else(|| panic!("{label} in {text}"));
            let value = after.trim_start().split(' ').next().unwrap();
            assert!(
                after.trim_start()[value.len()..]
                    .trim_start()
                    .starts_with(unit),
                "{text}"
            );
            value.parse().unwrap()
        };
        let checked = json!({
            "deadline_ms": number("deadline", "ms"),
            "memory_mib": number("memory", "MiB"),
            "output_mib": number("output", "MiB"),
        });
        assert_eq!(checked, expected, "{text}");
        if config.is_some() {
            assert_eq!(
                &checked, served,
                "serve reports the same limits on /_status"
            );
        }
    }
}
