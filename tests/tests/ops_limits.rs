//! Rate limits through the real server: writes and renders get a bucket per client address
//! and one per tenant; beyond them a `429` with `Retry-After` and a JSON error, before the
//! body is read or the auth plugin runs; reads of what is stored or cached are never
//! limited; `X-Forwarded-For` names the client only when the peer is a trusted proxy.

use std::time::{Duration, Instant};

use avatar_tests::server::{TestServer, solid_png};
use serde_json::{Value, json};

fn hash(n: u32) -> String {
    format!("{n:040x}")
}

/// A server whose `rate_limits` are `limits` (the harness turns them off otherwise).
fn server(limits: Value) -> TestServer {
    TestServer::builder()
        .configure(move |c| c["rate_limits"] = limits)
        .start()
}

/// Burst 3 and one token per 20 s: nothing refills during a test.
fn slow() -> Value {
    json!({"per_second": 0.05, "burst": 3})
}

fn upload_from(server: &TestServer, n: u32, forwarded_for: Option<&str>) -> u16 {
    let h = hash(n);
    let auth = format!("Bearer {}", server.token(&h));
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "image/png"),
    ];
    if let Some(client) = forwarded_for {
        headers.push(("x-forwarded-for", client));
    }
    let png = solid_png(32, [10, 20, 30]);
    server
        .request("PUT", &format!("/{h}"), &headers, Some(&png))
        .status
}

#[test]
fn a_client_over_its_write_burst_gets_429_with_retry_after() {
    let server = server(json!({"writes": {"per_client": slow(), "per_tenant": null}}));
    let png = solid_png(32, [200, 0, 0]);
    for n in 0..2 {
        server.upload_png(&hash(n), &png);
    }
    // A delete is a write too: the third token.
    assert_eq!(
        server
            .delete(&hash(0), Some(&server.token(&hash(0))))
            .status,
        204
    );

    let refused = server.upload(&hash(9), &png, "image/png");
    refused.assert_error(429, "rate-limited");
    let retry: u64 = refused
        .header("retry-after")
        .expect("a Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=20).contains(&retry), "Retry-After {retry}");
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("retry in")
    );
    // Refused before the auth plugin: a bad token meets the limit, not a 401.
    let bad = server.request(
        "PUT",
        &format!("/{}", hash(9)),
        &[
            ("authorization", "Bearer nonsense"),
            ("content-type", "image/png"),
        ],
        Some(&png),
    );
    bad.assert_error(429, "rate-limited");
    let delete = server.delete(&hash(1), Some(&server.token(&hash(1))));
    delete.assert_error(429, "rate-limited");
    // Nothing was lost: what was stored is still served.
    assert_eq!(server.get(&format!("/{}/32", hash(1))).status, 200);
}

#[test]
fn a_refused_upload_is_answered_before_its_body_arrives() {
    let server = server(json!({"writes": {"per_client": {"per_second": 0.05, "burst": 1}}}));
    server.upload_png(&hash(1), &solid_png(32, [0, 0, 200]));
    let h = hash(2);
    let auth = format!("Bearer {}", server.token(&h));
    // Ten megabytes announced, a few bytes sent, the connection held open: the answer
    // cannot wait for the rest.
    let started = Instant::now();
    let reply = server.raw(
        "PUT",
        &format!("/{h}"),
        &[
            ("authorization", &auth),
            ("content-type", "image/png"),
            ("content-length", "10000000"),
        ],
        b"\x89PNG".to_vec(),
        false,
    );
    reply.assert_error(429, "rate-limited");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn the_tenant_bucket_is_shared_by_every_client() {
    let server = server(json!({
        "trusted_proxies": ["127.0.0.1"],
        "writes": {"per_client": null, "per_tenant": slow()},
    }));
    for n in 0..3 {
        let client = format!("192.0.2.{n}");
        assert_eq!(upload_from(&server, n, Some(&client)), 201);
    }
    assert_eq!(upload_from(&server, 3, Some("192.0.2.99")), 429);
}

#[test]
fn forwarded_addresses_count_only_from_trusted_proxies() {
    let writes = json!({"per_client": slow(), "per_tenant": null});
    // The test's loopback peer is a trusted proxy: each forwarded address has its bucket.
    let behind_proxy = server(json!({"trusted_proxies": ["127.0.0.0/8"], "writes": writes}));
    for n in 0..3 {
        assert_eq!(upload_from(&behind_proxy, n, Some("192.0.2.1")), 201);
    }
    assert_eq!(upload_from(&behind_proxy, 3, Some("192.0.2.1")), 429);
    assert_eq!(upload_from(&behind_proxy, 4, Some("192.0.2.2")), 201);
    // A client cannot pick its address by prepending entries: the proxy's own is the last.
    assert_eq!(
        upload_from(&behind_proxy, 5, Some("198.51.100.1, 192.0.2.1")),
        429
    );

    // Nobody trusted: the header is the client's say, and the peer is the client.
    let direct = server(json!({"writes": writes}));
    for n in 0..3 {
        let client = format!("192.0.2.{n}");
        assert_eq!(upload_from(&direct, n, Some(&client)), 201);
    }
    assert_eq!(upload_from(&direct, 3, Some("192.0.2.200")), 429);
}

#[test]
fn renders_are_limited_and_stored_or_cached_reads_are_not() {
    let server = server(json!({
        "writes": {"per_client": null, "per_tenant": null},
        "renders": {"per_client": {"per_second": 0.05, "burst": 2}, "per_tenant": null},
    }));
    let h = hash(7);
    server.upload_png(&h, &solid_png(300, [0, 120, 0]));
    // Two sides nobody stored: each a render.
    for side in [37, 38] {
        let reply = server.get(&format!("/{h}/{side}"));
        assert_eq!(reply.status, 200, "{side} px: {}", reply.text());
    }
    server
        .get(&format!("/{h}/39"))
        .assert_error(429, "rate-limited");
    // Already rendered (cached), or stored: as many as wanted.
    for _ in 0..20 {
        assert_eq!(server.get(&format!("/{h}/37")).status, 200);
        assert_eq!(server.get(&format!("/{h}")).status, 200);
    }
    let metrics = server.admin_get("/metrics").text();
    let refused = metrics
        .lines()
        .find(|l| {
            l.starts_with("avatar_rate_limited_total{")
                && l.contains("action=\"render\"")
                && l.contains("bucket=\"client\"")
        })
        .unwrap_or_else(|| panic!("no render refusal counted:\n{metrics}"));
    assert!(refused.ends_with(" 1"), "{refused}");
}

#[test]
fn the_default_limits_let_a_person_through_and_stop_a_flood() {
    // The configuration's defaults, unchanged: a burst of 30 writes per address.
    let server = TestServer::builder()
        .configure(|c| {
            c.as_object_mut().unwrap().remove("rate_limits");
        })
        .start();
    let png = solid_png(16, [1, 2, 3]);
    let mut statuses = Vec::new();
    for n in 0..40 {
        statuses.push(server.upload(&hash(n), &png, "image/png").status);
    }
    let accepted = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    // 30 at once, and perhaps one or two more refilled meanwhile at 1 per second.
    assert!((30..=35).contains(&accepted), "{statuses:?}");
    assert_eq!(accepted + refused, 40, "{statuses:?}");
}
