//! Connection limits through the real server: clients that never finish their request head
//! are closed at the header deadline while everyone else is still answered, an idle
//! keep-alive connection is closed at the same deadline, an oversized head is `431`, and an
//! upload whose body stalls is `408` at the body deadline.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use avatar_tests::server::TestServer;
use serde_json::json;

const HEADER_TIMEOUT_MS: u64 = 1500;
const BODY_TIMEOUT_MS: u64 = 2000;
const SLOW_CLIENTS: usize = 2000;

fn server() -> TestServer {
    TestServer::builder()
        .configure(|c| {
            c["connections"] = json!({
                "max": 4 * SLOW_CLIENTS,
                "header_read_timeout_ms": HEADER_TIMEOUT_MS,
                "body_read_timeout_ms": BODY_TIMEOUT_MS,
            })
        })
        .start()
}

/// Whether the server closed `stream` (end of stream, a reset, or an answer then the end),
/// waiting at most `within`.
fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).expect("a timeout");
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn half_sent_requests_are_closed_at_the_deadline_and_the_rest_are_answered() {
    let server = server();
    let address = server.address();
    let mut slow: Vec<TcpStream> = (0..SLOW_CLIENTS)
        .map(|_| {
            let mut stream = TcpStream::connect(address).expect("connecting");
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Unfinished: ")
                .expect("half a head");
            stream
        })
        .collect();
    let opened = Instant::now();

    // Everyone else is answered meanwhile, promptly.
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(server.get("/healthz").status, 200);
        assert!(
            started.elapsed() < Duration::from_millis(1000),
            "a normal request waited {:?}",
            started.elapsed()
        );
    }
    assert!(
        opened.elapsed() < Duration::from_millis(HEADER_TIMEOUT_MS),
        "the normal requests ran while the slow clients were still open"
    );

    // Past the deadline (with room for the 2-core machine), every slow client is closed.
    let deadline = opened + Duration::from_millis(HEADER_TIMEOUT_MS + 5000);
    let mut still_open = 0;
    for stream in &mut slow {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        if !closed_by_server(stream, left) {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "slow clients still open after the deadline");
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_at_the_deadline() {
    let server = server();
    let mut stream = TcpStream::connect(server.address()).expect("connecting");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: idle\r\n\r\n")
        .expect("a request");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a timeout");
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).expect("the answer");
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "answered, and kept alive"
    );
    let answered = Instant::now();
    assert!(
        closed_by_server(&mut stream, Duration::from_millis(HEADER_TIMEOUT_MS + 5000)),
        "closed while idle"
    );
    assert!(
        answered.elapsed() >= Duration::from_millis(HEADER_TIMEOUT_MS - 200),
        "not before the deadline ({:?})",
        answered.elapsed()
    );
}

#[test]
fn an_oversized_request_head_is_refused() {
    let server = server();
    let big = "x".repeat(200_000);
    let reply = server.try_raw("GET", "/healthz", &[("x-big", &big)], Vec::new(), true);
    match reply {
        Ok(reply) => assert_eq!(reply.status, 431, "{}", reply.text()),
        // hyper may close before the client finished writing 200 kB.
        Err(e) => assert!(
            e.contains("reset") || e.contains("closed") || e.contains("Broken pipe"),
            "{e}"
        ),
    }
    let fits = "x".repeat(8_000);
    assert_eq!(
        server.get_with("/healthz", &[("x-fits", &fits)]).status,
        200,
        "a head under the limit is served"
    );
}

#[test]
fn an_upload_whose_body_stalls_is_refused_at_the_body_deadline() {
    let server = server();
    let hash = format!("{:040x}", 0x5_10e);
    let auth = format!("Bearer {}", server.token(&hash));
    for (content_type, body) in [
        ("image/png", b"\x89PNG\r\n".to_vec()),
        (
            "multipart/form-data; boundary=b",
            b"--b\r\ncontent-disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\n\r\n\x89PNG"
                .to_vec(),
        ),
    ] {
        let started = Instant::now();
        // A hundred kilobytes announced, a few bytes sent, then nothing more.
        let reply = server.raw(
            "PUT",
            &format!("/{hash}"),
            &[
                ("authorization", &auth),
                ("content-type", content_type),
                ("content-length", "100000"),
            ],
            body,
            false,
        );
        let waited = started.elapsed();
        reply.assert_error(408, "body-timeout");
        assert!(
            waited >= Duration::from_millis(BODY_TIMEOUT_MS - 100),
            "{content_type}: answered after {waited:?}, before the deadline"
        );
        assert!(
            waited < Duration::from_millis(BODY_TIMEOUT_MS + 5000),
            "{content_type}: answered after {waited:?}"
        );
    }
    // Nothing was stored, and a prompt upload still is.
    assert_eq!(server.get(&format!("/{hash}")).status, 404);
    let png = avatar_tests::server::solid_png(32, [9, 9, 9]);
    server.upload_png(&hash, &png);
}
