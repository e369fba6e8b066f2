//! The admin surface through the real server: `/_status` and `/metrics` on the admin
//! listener, `404` on the public one without the admin token, and a Prometheus scrape after
//! real traffic whose counters moved by what was done, checked by `promtool`.

use std::collections::BTreeMap;
use std::process::Command;

use avatar_tests::server::{ADMIN_TOKEN, TestServer, solid_png};
use serde_json::json;

const A: &str = "0123456789abcdef0123456789abcdef01234567";
const MISSING: &str = "ffffffffffffffffffffffffffffffffffffffff";

/// One sample of a scrape: its name, its labels, its value.
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').expect("a label");
                    (key.to_owned(), value.trim_matches('"').to_owned())
                })
                .collect();
            Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().expect("a number"),
            }
        })
        .collect()
}

/// The sum of `name`'s samples whose labels include every one of `labels`.
fn total(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

#[test]
fn the_admin_routes_are_not_public_without_the_admin_token() {
    let server = TestServer::start();
    for path in ["/_status", "/metrics", "/t/default/_status"] {
        let reply = server.get(path);
        assert_eq!(reply.status, 404, "{path} on the public listener");
        assert_eq!(reply.json()["error"]["code"], "not-found", "{path}");
        let wrong = server.get_with(path, &[("authorization", "Bearer not-the-token")]);
        assert_eq!(wrong.status, 404, "{path} with a wrong token");
        let bearer = format!("Bearer {ADMIN_TOKEN}");
        let opened = server.get_with(path, &[("authorization", &bearer)]);
        assert_eq!(opened.status, 200, "{path} with the admin token");
    }
    let index = server.get("/").json();
    assert!(
        !index.to_string().contains("_status"),
        "the public index does not point at the admin surface: {index}"
    );
    // The admin listener answers both without a token.
    assert_eq!(server.admin_get("/_status").status, 200);
    assert_eq!(server.admin_get("/metrics").status, 200);
    assert_eq!(server.admin_get(&format!("/{A}")).status, 404);
}

#[test]
fn without_an_admin_listener_or_metrics_there_is_none() {
    let server = TestServer::builder()
        .configure(|c| c["admin"] = json!({"listen": null, "metrics": false}))
        .start();
    assert!(server.admin_url.is_none(), "no admin line on stdout");
    assert_eq!(server.get("/metrics").status, 404);
    assert_eq!(server.get(&format!("/{MISSING}")).status, 404);
}

#[test]
fn a_scrape_after_traffic_counts_what_was_done_and_promtool_finds_it_clean() {
    let server = TestServer::start();
    server.upload_png(A, &solid_png(512, [10, 200, 30]));
    for _ in 0..3 {
        assert_eq!(server.get(&format!("/{A}/small")).status, 200);
    }
    assert_eq!(server.get(&format!("/{MISSING}")).status, 404);
    assert_eq!(server.get(&format!("/avatar/{A}?s=80")).status, 200);
    assert_eq!(server.get("/no/such/route/at/all").status, 404);
    let refused = server.delete(A, Some("not-a-token"));
    assert_eq!(refused.status, 401);
    let token = server.token(A);
    assert_eq!(server.delete(A, Some(&token)).status, 204);

    let reply = server.admin_get("/metrics");
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "the Prometheus text format"
    );
    let text = reply.text();
    let samples = parse(&text);
    let requests = |route, method, status| {
        total(
            &samples,
            "avatar_http_requests_total",
            &[
                ("route", route),
                ("method", method),
                ("status", status),
                ("tenant", "default"),
            ],
        )
    };
    assert_eq!(requests("/{hash}", "PUT", "2xx"), 1.0, "{text}");
    assert_eq!(requests("/{hash}/{second}", "GET", "2xx"), 3.0, "{text}");
    assert_eq!(requests("/{hash}", "GET", "4xx"), 1.0, "{text}");
    assert_eq!(requests("/avatar/{file}", "GET", "2xx"), 1.0, "{text}");
    assert_eq!(requests("unmatched", "GET", "4xx"), 1.0, "{text}");
    assert_eq!(requests("/{hash}", "DELETE", "4xx"), 1.0, "{text}");
    assert_eq!(requests("/{hash}", "DELETE", "2xx"), 1.0, "{text}");
    assert!(
        text.lines().all(|l| !l.contains(A) && !l.contains(MISSING)),
        "no hash is ever a label"
    );
    assert!(
        total(
            &samples,
            "avatar_http_request_duration_seconds_count",
            &[("route", "/{hash}/{second}")]
        ) >= 3.0
    );
    let plugin = |role, outcome| {
        total(
            &samples,
            "avatar_plugin_calls_total",
            &[("tenant", "default"), ("role", role), ("outcome", outcome)],
        )
    };
    assert_eq!(
        plugin("auth", "ok"),
        2.0,
        "the upload and the delete: {text}"
    );
    assert_eq!(plugin("auth", "rejected"), 1.0, "the bad token: {text}");
    assert!(
        plugin("transform", "ok") >= 2.0,
        "the upload and the render"
    );
    assert_eq!(
        total(&samples, "avatar_uploads_total", &[("tenant", "default")]),
        1.0
    );
    assert_eq!(
        total(&samples, "avatar_deletes_total", &[("tenant", "default")]),
        1.0
    );
    assert_eq!(
        total(&samples, "avatar_renders_total", &[("tenant", "default")]),
        1.0
    );
    assert!(
        total(
            &samples,
            "avatar_cache_lookups_total",
            &[("cache", "images"), ("result", "hit")]
        ) >= 2.0,
        "the repeated reads came from the image cache"
    );
    assert!(
        total(
            &samples,
            "avatar_storage_operations_total",
            &[("operation", "put"), ("outcome", "ok")]
        ) >= 3.0
    );
    assert!(
        total(
            &samples,
            "avatar_catalog_operations_total",
            &[("operation", "upsert"), ("outcome", "ok")]
        ) >= 1.0
    );
    assert_eq!(
        total(
            &samples,
            "avatar_plugin_jobs_running",
            &[("tenant", "default")]
        ),
        0.0,
        "no job is left counted as running"
    );
    assert_eq!(
        total(&samples, "avatar_build_info", &[]),
        1.0,
        "the build info: {text}"
    );

    promtool_check(&text);
}

/// `promtool check metrics` on the scrape: no lint problem at all.
fn promtool_check(text: &str) {
    let found = Command::new("promtool").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "promtool is missing; scripts/test.sh installs it (Debian's prometheus package)"
        );
        eprintln!("promtool is not installed: the scrape was not linted");
        return;
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running promtool");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("writing the scrape");
    let output = child.wait_with_output().expect("promtool's answer");
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
