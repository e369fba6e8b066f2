//! What a polite client cannot send: requests written by hand on a raw socket (lying
//! `Content-Length`s, bodies that never end), read back by a minimal HTTP/1.1 response
//! reader, and the chunked and `multipart/form-data` encoders those bodies are made with.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use ureq::http::{HeaderMap, HeaderName, HeaderValue};

use crate::client::{REQUEST_TIMEOUT, Reply};
use crate::server::TestServer;

/// How long a raw exchange waits for the response: the server answers these in
/// milliseconds, or (when it waits for a body that never comes) not at all.
const RAW_TIMEOUT: Duration = Duration::from_secs(10);

impl TestServer {
    /// Sends `method path` over a raw socket with `headers` (plus `Host`), then `body` from
    /// another thread. With `finish` false the connection stays open after the body, like a
    /// client that has more to send. Fails the test when no response comes in time.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        finish: bool,
    ) -> Reply {
        self.try_raw(method, path, headers, body, finish)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.stderr_tail()))
    }

    /// [`TestServer::raw`], saying why no response came instead of failing.
    pub fn try_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        finish: bool,
    ) -> Result<Reply, String> {
        let address = self.address();
        let mut stream = TcpStream::connect(address).expect("connecting to the server");
        stream
            .set_read_timeout(Some(RAW_TIMEOUT))
            .expect("a read timeout");
        stream
            .set_write_timeout(Some(REQUEST_TIMEOUT))
            .expect("a write timeout");
        let mut head = format!("{method} {path} HTTP/1.1\r\n");
        // The caller's own `host` replaces the server's address.
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            head.push_str(&format!("host: {address}\r\n"));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .expect("writing the request head");
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let mut writer = stream.try_clone().expect("a second handle on the socket");
        std::thread::spawn(move || {
            // The server may refuse midway and close: a failed write is expected then.
            if writer.write_all(&body).is_ok() && !finish {
                let _ = done_rx.recv();
            }
        });
        // Linux keeps what arrived before a reset readable, so an answer sent before the
        // server closed on unread bytes is still read here.
        let reply = read_response(&mut stream).map_err(|e| {
            let e = match e.kind() {
                ErrorKind::WouldBlock | ErrorKind::TimedOut => {
                    format!("none within {RAW_TIMEOUT:?}")
                }
                _ => e.to_string(),
            };
            format!("{method} {path}: no response: {e}")
        });
        drop(done_tx);
        let _ = stream.shutdown(Shutdown::Both);
        reply
    }
}

/// Reads one HTTP/1.1 response whose body has a `Content-Length` (or none).
fn read_response(stream: &mut TcpStream) -> std::io::Result<Reply> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("closed after {:?}", String::from_utf8_lossy(&buf)),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value.trim()),
            )
        {
            headers.append(name, value);
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// `data` in HTTP/1.1 chunked encoding, with the final empty chunk when `last`.
pub fn chunked(data: &[u8], last: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 1000 + 16);
    for piece in data.chunks(16 << 10) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    if last {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    out
}

/// A `multipart/form-data` body, built part by part.
pub struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Default for Multipart {
    fn default() -> Self {
        Self::new()
    }
}

impl Multipart {
    /// An empty form.
    pub fn new() -> Self {
        Self {
            boundary: "e2e-boundary-7d1f0c2a9b".to_owned(),
            body: Vec::new(),
        }
    }

    /// A file part.
    pub fn file(mut self, name: &str, filename: &str, content_type: &str, data: &[u8]) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\ncontent-type: {content_type}\r\n\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self.body.extend_from_slice(data);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// A text part.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self
    }

    /// The `Content-Type` header value.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The body so far, without the closing delimiter (for a body that never ends).
    pub fn unfinished(&self) -> Vec<u8> {
        self.body.clone()
    }

    /// The content type and the complete body.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (self.content_type(), self.body)
    }
}
