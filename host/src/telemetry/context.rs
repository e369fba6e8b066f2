//! W3C trace context at the edge: a request's `traceparent`/`tracestate` make its span a
//! child of the caller's, the answer's `traceparent` names the span that answered, and what
//! the router learnt (the route, the status) becomes the span's OpenTelemetry attributes.
//! Only called while traces are exported ([`super::exporting`]).

use axum::http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::Status;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Makes `span` a child of the trace the caller's `headers` name, if they name one.
pub fn join_callers_trace(span: &tracing::Span, headers: &HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    // Fails only when the span is disabled, and then there is nothing to join.
    let _ = span.set_parent(parent);
}

/// Writes `span`'s `traceparent` (and the caller's `tracestate`) into `headers`.
pub fn send_trace_context(span: &tracing::Span, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(&span.context(), &mut HeaderInjector(headers));
}

/// Notes on `span` what the router matched and how the request was answered, with
/// OpenTelemetry's HTTP attribute names; a 5xx marks the span as failed.
pub fn note_answer(span: &tracing::Span, route: &'static str, tenant: &str, status: u16) {
    span.set_attribute("http.route", route);
    span.set_attribute("http.response.status_code", i64::from(status));
    span.set_attribute("avatar.tenant", tenant.to_owned());
    if status >= 500 {
        span.set_status(Status::error(""));
    }
}
