//! Traces and logs through the real server: spans exported over OTLP/HTTP to a real receiver
//! on loopback (below: a small HTTP server decoding `ExportTraceServiceRequest` with the
//! `opentelemetry-proto` types), joined to the caller's `traceparent` and flushed when the
//! server stops; the standard `OTEL_*` variables turning export on and off; and
//! `log.format: json`, one object a line, with no secret or token in a whole run's logs.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use avatar_tests::server::{Multipart, TestServer, png, unix_now};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;
use serde_json::{Value, json};

const A: &str = "0123456789abcdef0123456789abcdef01234567";
const B: &str = "89abcdef0123456789abcdef0123456789abcdef";
const C: &str = "fedcba9876543210fedcba9876543210fedcba98";
/// The caller's trace and span, as a W3C `traceparent` carries them.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
/// How long spans may take to arrive.
const ARRIVAL: Duration = Duration::from_secs(20);

/// One span as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    name: String,
    attributes: BTreeMap<String, String>,
}

/// What the receiver saw: spans, and the requests it could not take.
#[derive(Default)]
struct Seen {
    spans: Vec<Received>,
    refused: Vec<String>,
}

/// An OTLP/HTTP traces receiver on `127.0.0.1:0`: `POST /v1/traces` with a protobuf body.
/// It stops (and its threads end) when dropped, or after five minutes at most.
struct Receiver {
    address: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Receiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the receiver");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let address = listener.local_addr().expect("the receiver's address");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                let until = Instant::now() + Duration::from_secs(300);
                let mut connections = Vec::new();
                while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                    match listener.accept() {
                        Ok((stream, _)) if connections.len() < 64 => {
                            let seen = seen.clone();
                            connections.push(std::thread::spawn(move || serve(stream, &seen)));
                        }
                        Ok(_) => {}
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
                for connection in connections {
                    let _ = connection.join();
                }
            })
        };
        Self {
            address,
            seen,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn spans(&self) -> Vec<Received> {
        self.seen
            .lock()
            .expect("the receiver's record")
            .spans
            .clone()
    }

    fn refused(&self) -> Vec<String> {
        self.seen
            .lock()
            .expect("the receiver's record")
            .refused
            .clone()
    }

    /// The spans of trace `trace_id` once `done` says they are all there, waiting at most
    /// [`ARRIVAL`].
    fn wait_for(&self, trace_id: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + ARRIVAL;
        loop {
            let spans: Vec<Received> = self
                .spans()
                .into_iter()
                .filter(|s| s.trace_id == trace_id)
                .collect();
            if done(&spans) || Instant::now() > deadline {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Answers the export requests of one keep-alive connection until it closes or idles.
fn serve(mut stream: TcpStream, seen: &Mutex<Seen>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buffer = Vec::new();
    for _ in 0..10_000 {
        let Some((head, body)) = read_request(&mut stream, &mut buffer) else {
            return;
        };
        let request_line = head.lines().next().unwrap_or_default().to_owned();
        let protobuf = head
            .lines()
            .any(|l| l.eq_ignore_ascii_case("content-type: application/x-protobuf"));
        let decoded = (request_line == "POST /v1/traces HTTP/1.1" && protobuf)
            .then(|| ExportTraceServiceRequest::decode(body.as_slice()).ok())
            .flatten();
        let status = match decoded {
            Some(request) => {
                seen.lock()
                    .expect("the receiver's record")
                    .spans
                    .extend(spans_of(request));
                "200 OK"
            }
            None => {
                seen.lock()
                    .expect("the receiver's record")
                    .refused
                    .push(head.clone());
                "400 Bad Request"
            }
        };
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
        );
        if stream.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// One request's head and body from `stream`, `buffer` keeping what came after it.
fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<(String, Vec<u8>)> {
    let mut chunk = [0u8; 16 << 10];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > 64 << 10 {
            return None;
        }
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    if length > 16 << 20 {
        return None;
    }
    let body_start = head_end + 4;
    while buffer.len() < body_start + length {
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = buffer[body_start..body_start + length].to_vec();
    buffer.drain(..body_start + length);
    Some((head, body))
}

fn spans_of(request: ExportTraceServiceRequest) -> Vec<Received> {
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = attributes(
            &resource_spans
                .resource
                .map(|r| r.attributes)
                .unwrap_or_default(),
        );
        let service = resource.get("service.name").cloned().unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                spans.push(Received {
                    service: service.clone(),
                    trace_id: hex::encode(&span.trace_id),
                    span_id: hex::encode(&span.span_id),
                    parent_span_id: hex::encode(&span.parent_span_id),
                    name: span.name,
                    attributes: attributes(&span.attributes),
                });
            }
        }
    }
    spans
}

fn attributes(pairs: &[KeyValue]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
        .collect()
}

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// A `traceparent` of the caller's trace, sampled.
fn traceparent() -> String {
    format!("00-{TRACE_ID}-{CALLER_SPAN}-01")
}

/// Uploads `hash` with the caller's `traceparent`, asserting `201`; returns the answer's
/// `traceparent`.
fn traced_upload(server: &TestServer, hash: &str) -> Option<String> {
    let auth = format!("Bearer {}", server.token(hash));
    let reply = server.request(
        "PUT",
        &format!("/{hash}"),
        &[
            ("authorization", &auth),
            ("content-type", "image/png"),
            ("traceparent", &traceparent()),
        ],
        Some(&png(64, 64)),
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.header("traceparent").map(str::to_owned)
}

/// The request span among `spans`, if it arrived.
fn request_span(spans: &[Received]) -> Option<&Received> {
    spans.iter().find(|s| s.name == "request")
}

#[test]
fn an_uploads_spans_reach_the_receiver_in_the_callers_trace() {
    let receiver = Receiver::start();
    let endpoint = receiver.base_url();
    let mut server = TestServer::builder()
        .configure(move |config| {
            config["traces"] = json!({"otlp_endpoint": endpoint, "service_name": "avatar-e2e"});
        })
        // Batches leave every 100 ms instead of every 5 s.
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .start();
    let answered = traced_upload(&server, A).expect("the answer carries a traceparent");
    let spans = receiver.wait_for(TRACE_ID, |spans| {
        request_span(spans).is_some() && spans.iter().any(|s| s.name == "storage.put")
    });
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    let request = request_span(&spans).unwrap_or_else(|| {
        panic!(
            "no request span in trace {TRACE_ID}: {names:?}; refused: {:?}\n{}",
            receiver.refused(),
            server.stderr_tail()
        )
    });
    // The request span is the caller's span's child, with what the router matched.
    assert_eq!(request.parent_span_id, CALLER_SPAN, "{request:?}");
    assert_eq!(request.service, "avatar-e2e");
    assert_eq!(request.attributes["http.route"], "/{hash}", "{request:?}");
    assert_eq!(request.attributes["http.response.status_code"], "201");
    assert_eq!(request.attributes["method"], "PUT");
    assert_eq!(request.attributes["tenant"], "default");
    assert_eq!(request.attributes["avatar.tenant"], "default");
    // The answer names the span that answered, in the caller's trace.
    assert_eq!(
        answered,
        format!("00-{TRACE_ID}-{}-01", request.span_id),
        "the answer's traceparent"
    );
    // The plugin calls and the store's and the catalog's operations are in the trace, under
    // the request span.
    let by_id: BTreeMap<&str, &Received> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    for name in ["plugin.call", "storage.put", "catalog.upsert"] {
        let span = spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name} span in trace {TRACE_ID}: {names:?}"));
        let mut at = span;
        for _ in 0..16 {
            match by_id.get(at.parent_span_id.as_str()) {
                Some(parent) => at = parent,
                None => break,
            }
        }
        assert_eq!(
            at.span_id, request.span_id,
            "{name} descends from the request"
        );
    }
    // A request without a traceparent starts a trace of its own.
    let reply = server.get(&format!("/{A}"));
    assert_eq!(reply.status, 200);
    let own = reply
        .header("traceparent")
        .expect("a traceparent")
        .to_owned();
    assert!(
        !own.contains(TRACE_ID),
        "a new trace for an untraced request: {own}"
    );
    assert!(server.stop().success(), "{}", server.stderr_tail());
    assert!(receiver.refused().is_empty(), "{:?}", receiver.refused());
}

#[test]
fn the_otel_variables_turn_export_on_and_the_last_spans_leave_at_shutdown() {
    let receiver = Receiver::start();
    // No `traces` section: the standard variables alone, and a batch delay longer than the
    // test, so that only the shutdown's flush can send the spans.
    let mut server = TestServer::builder()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.base_url())
        .env("OTEL_SERVICE_NAME", "avatar-from-env")
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000")
        .start();
    assert!(traced_upload(&server, B).is_some(), "a traceparent");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        receiver.spans().is_empty(),
        "nothing is sent before the batch is due"
    );
    assert!(server.stop().success(), "{}", server.stderr_tail());
    let spans = receiver.wait_for(TRACE_ID, |spans| request_span(spans).is_some());
    let request = request_span(&spans).unwrap_or_else(|| {
        panic!(
            "the request span was not flushed at shutdown: {spans:?}\n{}",
            server.stderr_tail()
        )
    });
    assert_eq!(request.service, "avatar-from-env");
    assert_eq!(request.parent_span_id, CALLER_SPAN);
}

#[test]
fn otel_sdk_disabled_turns_export_off_whatever_the_file_says() {
    let receiver = Receiver::start();
    let endpoint = receiver.base_url();
    let mut server = TestServer::builder()
        .configure(move |config| config["traces"] = json!({"otlp_endpoint": endpoint}))
        .env("OTEL_SDK_DISABLED", "true")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .start();
    assert_eq!(traced_upload(&server, C), None, "no trace context is sent");
    assert!(server.stop().success());
    assert!(receiver.spans().is_empty(), "{:?}", receiver.spans());
    assert!(!server.stderr().contains("exporting traces"));
}

#[test]
fn json_logs_are_one_object_a_line_with_the_request_fields_and_no_secrets() {
    let mut server = TestServer::builder()
        .configure(|config| config["log"] = json!({"format": "json"}))
        .start();
    let mut tokens = Vec::new();
    let sent = std::cell::Cell::new(0);
    let expect = |reply: avatar_tests::Reply, status: u16, what: &str| {
        assert_eq!(reply.status, status, "{what}: {}", reply.text());
        sent.set(sent.get() + 1);
    };

    // Uploads with the token in each place it may be.
    let bearer = server.token(A);
    let auth = format!("Bearer {bearer}");
    expect(
        server.request(
            "PUT",
            &format!("/{A}"),
            &[
                ("authorization", &auth),
                ("content-type", "image/png"),
                ("x-request-id", "e2e-bearer-upload"),
            ],
            Some(&png(64, 64)),
        ),
        201,
        "bearer upload",
    );
    let query = server.token(B);
    expect(
        server.request(
            "PUT",
            &format!("/{B}?token={query}"),
            &[("content-type", "image/png")],
            Some(&png(64, 64)),
        ),
        201,
        "?token= upload",
    );
    let form = server.token(C);
    let (content_type, body) = Multipart::new()
        .text("token", &form)
        .file("avatar", "me.png", "image/png", &png(64, 64))
        .finish();
    expect(
        server.request(
            "POST",
            &format!("/{C}"),
            &[("content-type", &content_type)],
            Some(&body),
        ),
        201,
        "form upload",
    );
    // Reads.
    expect(server.get(&format!("/{A}")), 200, "read");
    expect(server.get(&format!("/{B}/small")), 200, "named size");
    expect(
        server.get(&format!("/avatar/{C}?s=40")),
        200,
        "gravatar read",
    );
    expect(server.get("/t/nobody/x"), 404, "unknown tenant");
    // Bad tokens: foreign, expired, malformed, for another hash.
    let foreign = avatar_tests::sign(
        &json!({"sub": "e2e", "hash": A, "exp": unix_now() + 600}),
        "not-the-servers-secret-0123456789abcdef",
    );
    let expired = server.sign(&json!({"sub": "e2e", "hash": A, "tenant": "default", "exp": 1000}));
    let other_hash = server.token(B);
    for (token, status) in [
        (&foreign, 401),
        (&expired, 401),
        (&"not.a.jwt".to_owned(), 401),
        (&other_hash, 403),
    ] {
        let auth = format!("Bearer {token}");
        expect(
            server.request(
                "PUT",
                &format!("/{A}"),
                &[("authorization", &auth), ("content-type", "image/png")],
                Some(&png(64, 64)),
            ),
            status,
            "bad bearer token",
        );
        expect(
            server.request("DELETE", &format!("/{A}?token={token}"), &[], None),
            status,
            "bad ?token=",
        );
    }
    // Deletes with each good token.
    expect(server.delete(A, Some(&bearer)), 204, "delete");
    let delete_query = server.token(B);
    expect(
        server.request("DELETE", &format!("/{B}?token={delete_query}"), &[], None),
        204,
        "delete with ?token=",
    );
    tokens.extend([
        bearer,
        query,
        form,
        foreign,
        expired,
        other_hash,
        delete_query,
    ]);

    assert!(server.stop().success(), "{}", server.stderr_tail());
    let logs = server.stderr();
    let mut answered = Vec::new();
    for line in logs.lines() {
        let object: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        assert!(object.is_object(), "{line}");
        for key in ["timestamp", "level", "target", "message"] {
            assert!(object.get(key).is_some(), "no {key}: {line}");
        }
        if object["target"] == "avatar::access" {
            for key in ["request_id", "method", "route", "tenant"] {
                assert!(
                    object[key].as_str().is_some_and(|v| !v.is_empty()),
                    "no {key}: {line}"
                );
            }
            assert!(object["status"].is_u64(), "status: {line}");
            assert!(object["duration_ms"].is_number(), "duration: {line}");
            answered.push(object);
        }
    }
    let found = |request_id: Option<&str>, method: &str, route: &str, status: u64| {
        answered.iter().any(|a| {
            request_id.is_none_or(|id| a["request_id"] == id)
                && a["method"] == method
                && a["route"] == route
                && a["status"] == status
        })
    };
    let cases = [
        (Some("e2e-bearer-upload"), "PUT", "/{hash}", 201),
        (None, "POST", "/{hash}", 201),
        (None, "GET", "/{hash}/{second}", 200),
        (None, "GET", "/avatar/{file}", 200),
        (None, "GET", "unmatched", 404),
        (None, "PUT", "/{hash}", 401),
        (None, "DELETE", "/{hash}", 403),
        (None, "DELETE", "/{hash}", 204),
    ];
    for (id, method, route, status) in cases {
        assert!(
            found(id, method, route, status),
            "no access line for {method} {route} {status}: {answered:#?}"
        );
    }
    // One line for every request made here (and for the harness's `/healthz` polls).
    let ours = answered.iter().filter(|a| a["route"] != "/healthz").count();
    assert_eq!(ours, sent.get(), "{answered:#?}");
    assert!(
        answered
            .iter()
            .filter(|a| a["route"] != "unmatched")
            .all(|a| a["tenant"] == "default"),
        "{answered:#?}"
    );

    // No secret and no token, whole or in part (a JWT's signature is its last segment).
    assert!(!logs.contains(server.secret()), "the JWT secret is logged");
    for token in &tokens {
        let signature = token.rsplit('.').next().unwrap_or(token);
        assert!(!logs.contains(token.as_str()), "a token is logged: {token}");
        assert!(
            signature.len() < 16 || !logs.contains(signature),
            "a token's signature is logged: {token}"
        );
    }
    assert!(!logs.contains("token="), "a query with a token is logged");
    assert!(
        !logs.to_ascii_lowercase().contains("bearer "),
        "an authorization header is logged"
    );
}
