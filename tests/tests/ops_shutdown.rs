//! Stopping through the real server: `SIGTERM` while replacements are in flight lets each
//! finish with its `201`, removes the files of the versions they replaced before the process
//! exits 0, and a client that stalls mid-upload holds the process no longer than
//! `shutdown_grace_ms`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use avatar_tests::server::{TestServer, solid_png};
use serde_json::json;

const HASHES: [&str; 6] = [
    "1111111111111111111111111111111111111111",
    "2222222222222222222222222222222222222222",
    "3333333333333333333333333333333333333333",
    "4444444444444444444444444444444444444444",
    "5555555555555555555555555555555555555555",
    "6666666666666666666666666666666666666666",
];
const GRACE_MS: u64 = 3000;

/// An upload whose head and first half of the body are sent; [`Pending::finish`] sends the
/// rest and reads the answer.
struct Pending {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl Pending {
    fn start(server: &TestServer, hash: &str, body: &[u8]) -> Self {
        let address = server.address();
        let mut stream = TcpStream::connect(address).expect("connecting");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("a timeout");
        let head = format!(
            "PUT /{hash} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            server.token(hash),
            body.len()
        );
        let half = body.len() / 2;
        stream.write_all(head.as_bytes()).expect("the head");
        stream.write_all(&body[..half]).expect("half the body");
        Self {
            stream,
            rest: body[half..].to_vec(),
        }
    }

    /// Sends the rest and returns the status line's code.
    fn finish(mut self) -> u16 {
        self.stream.write_all(&self.rest).expect("the rest");
        let mut answer = Vec::new();
        let _ = self.stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        text.split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"))
    }
}

#[test]
fn sigterm_finishes_uploads_in_flight_and_the_removals_they_deferred() {
    let mut server = TestServer::builder()
        .configure(|c| c["shutdown_grace_ms"] = json!(GRACE_MS))
        .start();
    for hash in HASHES {
        server.upload_png(hash, &solid_png(300, [200, 0, 0]));
    }
    let files_per_version = server.image_files().len();

    let replacement = solid_png(300, [0, 0, 200]);
    let pending: Vec<Pending> = HASHES
        .iter()
        .map(|hash| Pending::start(&server, hash, &replacement))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let signalled = Instant::now();
    let pid = server.pid().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(300));
    for (hash, upload) in HASHES.iter().zip(pending) {
        assert_eq!(
            upload.finish(),
            201,
            "{hash}: an upload in flight at SIGTERM is stored"
        );
    }
    let status = server.stop();
    assert!(
        status.success(),
        "exit status {status:?}\n{}",
        server.stderr_tail()
    );
    assert!(
        signalled.elapsed() < Duration::from_millis(GRACE_MS),
        "nothing held the process to the end of the grace"
    );
    assert!(
        server.stderr().contains("stopped"),
        "it got to the end of the shutdown:\n{}",
        server.stderr_tail()
    );

    // The replaced versions' files went before the exit: only the new ones are left.
    assert_eq!(
        server.image_files().len(),
        files_per_version,
        "no file of a replaced version lingers: {:?}",
        server.image_files()
    );
    server.start_again();
    for hash in HASHES {
        let image = server.get(&format!("/{hash}/small")).image().to_rgb8();
        assert_eq!(image.get_pixel(5, 5).0[2], 200, "{hash} is the replacement");
    }
}

#[test]
fn a_client_that_stalls_mid_upload_holds_the_process_only_for_the_grace() {
    let mut server = TestServer::builder()
        .configure(|c| c["shutdown_grace_ms"] = json!(GRACE_MS))
        .start();
    let stalled = Pending::start(&server, HASHES[0], &solid_png(300, [9, 9, 9]));
    std::thread::sleep(Duration::from_millis(200));
    let signalled = Instant::now();
    let status = server.stop();
    let took = signalled.elapsed();
    assert!(
        status.success(),
        "exit status {status:?}\n{}",
        server.stderr_tail()
    );
    assert!(
        took >= Duration::from_millis(GRACE_MS - 200),
        "the stalled request was given its grace ({took:?})"
    );
    assert!(
        took < Duration::from_millis(GRACE_MS + 3000),
        "and no more ({took:?})"
    );
    assert!(
        server
            .stderr()
            .contains("requests still in flight after the shutdown grace"),
        "{}",
        server.stderr_tail()
    );
    drop(stalled);
}
