//! How a soak client sends a request and judges the answer: the status it should get (and
//! for errors the JSON code), an image for a `200`, nothing for a `304`; each answer tallied,
//! and the first unexpected ones kept in full.

use std::time::Instant;

use super::mix::{EXAMPLES_KEPT, Kind, Worker};
use crate::server::Reply;

/// What an answer should be: a status and, for errors, the JSON error code.
#[derive(Clone, Copy)]
pub(super) struct Expect {
    status: u16,
    code: Option<&'static str>,
}

pub(super) const fn ok(status: u16) -> Expect {
    Expect { status, code: None }
}

pub(super) const fn error(status: u16, code: &'static str) -> Expect {
    Expect {
        status,
        code: Some(code),
    }
}

impl Worker<'_> {
    /// Sends a request and records its latency under `kind`.
    pub(super) fn timed(
        &mut self,
        kind: Kind,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let started = Instant::now();
        let reply = self.server.request(method, path, headers, body);
        let tally = self.tallies.entry(kind).or_default();
        tally
            .latencies_ms
            .push(started.elapsed().as_secs_f64() * 1000.0);
        reply
    }

    /// Tallies `reply` under `kind` and checks it against `expect`: the status, a JSON
    /// error body with the code for errors (but `HEAD`, which has no body), an image for a
    /// `200`, nothing for a `304`.
    /// Whether it was as expected.
    pub(super) fn check(
        &mut self,
        kind: Kind,
        method: &str,
        path: &str,
        reply: &Reply,
        expect: Expect,
    ) -> bool {
        let code = reply.error_code();
        let label = if reply.status >= 400 && method != "HEAD" {
            format!("{} {code}", reply.status)
        } else {
            reply.status.to_string()
        };
        *self
            .tallies
            .entry(kind)
            .or_default()
            .statuses
            .entry(label)
            .or_default() += 1;
        let problem = if reply.status != expect.status {
            Some(format!("expected {}", expect.status))
        } else if let Some(expected_code) = expect.code
            && code != expected_code
        {
            Some(format!("expected code {expected_code}"))
        } else if reply.status >= 400
            && method != "HEAD"
            && !reply
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json"))
        {
            Some("an error without a JSON body".to_owned())
        } else if method == "GET"
            && reply.status == 200
            && (reply.body.is_empty()
                || !reply
                    .header("content-type")
                    .is_some_and(|t| t.starts_with("image/")))
        {
            Some("a 200 without an image".to_owned())
        } else if reply.status == 304 && !reply.body.is_empty() {
            Some("a 304 with a body".to_owned())
        } else {
            None
        };
        match problem {
            Some(problem) => {
                self.unexpected(kind, method, path, reply, &problem);
                false
            }
            None => true,
        }
    }

    pub(super) fn unexpected(
        &mut self,
        kind: Kind,
        method: &str,
        path: &str,
        reply: &Reply,
        problem: &str,
    ) {
        self.tallies.entry(kind).or_default().unexpected += 1;
        if self.examples.len() < EXAMPLES_KEPT {
            let body: String = reply.text().chars().take(300).collect();
            self.examples.push(format!(
                "{} {method} {path}: {problem}, got {} {body}",
                kind.name(),
                reply.status
            ));
        }
    }

    /// Records a panic of this thread (a request that failed outright: the server gone or
    /// silent for the client's whole timeout) as an unexpected answer.
    pub(super) fn note_panic(&mut self, message: &str) {
        self.tallies.entry(Kind::ReadNamed).or_default().unexpected += 1;
        self.examples
            .push(format!("thread {} stopped: {message}", self.thread));
    }
}
