//! HTTP to a test server as a well-behaved client speaks it (a blocking `ureq` agent), and
//! [`Reply`], the whole answer, with the assertions tests make on it.

use std::time::Duration;

use image::DynamicImage;
use serde_json::Value;
use ureq::http::{HeaderMap, Method, Request};

use crate::server::TestServer;

/// How long one HTTP exchange may take before the test fails instead of hanging.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The agent of a test server: statuses are answers, not errors; redirects are answers too
/// (tests check the `Location`); no exchange outlives [`REQUEST_TIMEOUT`].
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build(),
    )
}

impl TestServer {
    /// Sends one request; `body` `None` sends none. A body goes with `Expect: 100-continue`,
    /// as careful clients send it: a server that answers before reading the body (a bad
    /// hash, a bad token, a wrong method) then never has unread bytes in its socket, which
    /// would make the kernel reset the connection under the answer.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let mut builder = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("a method"))
            .uri(self.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        if body.is_some_and(|b| !b.is_empty()) {
            builder = builder.header("expect", "100-continue");
        }
        self.exchange(method, path, builder, body)
    }

    /// `GET` of an absolute URL, such as a redirect's `Location`: this server's `/_media/…`,
    /// or the store's own (a presigned S3 URL).
    pub fn get_url(&self, url: &str, headers: &[(&str, &str)]) -> Reply {
        let mut builder = Request::builder().method(Method::GET).uri(url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        self.exchange("GET", url, builder, None)
    }

    /// Sends a built request and reads the whole answer; `method` and `path` name it in
    /// failures.
    pub(crate) fn exchange(
        &self,
        method: &str,
        path: &str,
        builder: ureq::http::request::Builder,
        body: Option<&[u8]>,
    ) -> Reply {
        let result = match body {
            Some(body) => self.agent.run(builder.body(body).expect("a request")),
            None => self.agent.run(builder.body(()).expect("a request")),
        };
        let mut response = result
            .unwrap_or_else(|e| panic!("{method} {path} failed: {e}\n{}", self.stderr_tail()));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .unwrap_or_else(|e| panic!("{method} {path}: reading the body: {e}"));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], None)
    }

    /// `GET path` with extra headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.request("GET", path, headers, None)
    }

    /// `HEAD path`.
    pub fn head(&self, path: &str) -> Reply {
        self.request("HEAD", path, &[], None)
    }

    /// `PUT /{hash}` with `bytes` as the body, `content_type`, and a valid bearer token.
    pub fn upload(&self, hash: &str, bytes: &[u8], content_type: &str) -> Reply {
        let auth = format!("Bearer {}", self.token(hash));
        self.request(
            "PUT",
            &format!("/{hash}"),
            &[("authorization", &auth), ("content-type", content_type)],
            Some(bytes),
        )
    }

    /// Uploads a PNG, asserts `201`, and returns the JSON answer.
    pub fn upload_png(&self, hash: &str, png: &[u8]) -> Value {
        let reply = self.upload(hash, png, "image/png");
        assert_eq!(reply.status, 201, "upload of {hash}: {}", reply.text());
        reply.json()
    }

    /// `DELETE /{hash}` with `token` as the bearer token, if any.
    pub fn delete(&self, hash: &str, token: Option<&str>) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        self.request("DELETE", &format!("/{hash}"), &headers, None)
    }
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The value of header `name`, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text, for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// The body as an image.
    pub fn image(&self) -> DynamicImage {
        image::load_from_memory(&self.body).unwrap_or_else(|e| {
            panic!(
                "body of {} bytes ({:?}) is not an image: {e}",
                self.body.len(),
                self.header("content-type")
            )
        })
    }

    /// Asserts an error answer: `status`, a JSON `{"error": {"code", "message"}}` body with
    /// `code` and a non-empty message.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.error_code().as_str()),
            (status, code),
            "expected {status} {code}; got body {}",
            self.text()
        );
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "error content type: {:?}",
            self.header("content-type")
        );
        let message = &self.json()["error"]["message"];
        assert!(
            message.as_str().is_some_and(|m| !m.is_empty()),
            "error without a message: {}",
            self.text()
        );
    }

    /// `error.code` of a JSON error body, or `<no code>`.
    pub fn error_code(&self) -> String {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "<no code>".to_owned())
    }
}
