//! The ceiling that `scripts/bench.sh` holds reads against: a bare hyper server that answers
//! every request with one recorded response (status, headers and body, as `curl -D` and `-o`
//! saved them from the real service), on a tokio runtime with as many workers as the service's.
//! No routing, no state, no middleware: what serving the same bytes costs on this machine.
//!
//! `ceiling HEADERS_FILE BODY_FILE` listens on an ephemeral loopback port and prints
//! `ceiling listening on http://ADDR`. Content-Length, Date and the connection headers are
//! hyper's own; every other recorded header is replayed as it was.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Headers hyper writes itself, or that belong to the recorded connection.
const HOP_HEADERS: &[&str] = &[
    "content-length",
    "date",
    "connection",
    "keep-alive",
    "transfer-encoding",
];

fn recorded(headers_text: &str) -> anyhow::Result<(StatusCode, HeaderMap)> {
    let mut lines = headers_text.lines();
    let status_line = lines.next().unwrap_or_default();
    let code = status_line
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("no status in {status_line:?}"))?;
    let status = StatusCode::from_bytes(code.as_bytes())?;
    let mut headers = HeaderMap::new();
    for line in lines.map(str::trim_end).take_while(|line| !line.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            anyhow::bail!("not a header line: {line:?}");
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes())?;
        if !HOP_HEADERS.contains(&name.as_str()) {
            headers.append(name, HeaderValue::from_str(value.trim())?);
        }
    }
    Ok((status, headers))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, headers_file, body_file] = args.as_slice() else {
        anyhow::bail!("usage: ceiling HEADERS_FILE BODY_FILE");
    };
    let (status, headers) = recorded(&std::fs::read_to_string(headers_file)?)?;
    let body = Bytes::from(std::fs::read(body_file)?);

    // The same runtime shape as `avatar serve`: multi-threaded, one worker per core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        println!("ceiling listening on http://{}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let (headers, body) = (headers.clone(), body.clone());
            tokio::spawn(async move {
                let service = service_fn(move |_request: Request<Incoming>| {
                    let mut response = Response::new(Full::new(body.clone()));
                    *response.status_mut() = status;
                    *response.headers_mut() = headers.clone();
                    async move { Ok::<_, Infallible>(response) }
                });
                // A client closing its connection mid-request is not the ceiling's concern.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
