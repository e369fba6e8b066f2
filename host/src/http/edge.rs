//! What every request passes through before routing: a request id (kept from the client's
//! `x-request-id` or made here, sent back, and carried in the span and the logs), the tenant,
//! CORS, the request's span (a child of the caller's trace when traces are exported, see
//! `telemetry`), and its access log line.
//!
//! A request names its tenant with the path prefix `/t/{tenant}/`, which is removed before
//! routing, so every route works under it; root paths go to the tenant whose host names match
//! the `Host` header, else to the default tenant. The chosen tenant reaches handlers as an
//! `Arc<Tenant>` extension: a snapshot that stays the same for the whole request, even when a
//! reload swaps the tenants meanwhile.
//!
//! CORS is written here rather than with `tower-http`'s layer because it is the tenant's: the
//! allowed origins depend on the tenant the path or host chose, and only reads (`GET`,
//! `HEAD`, preflights) are shared across origins.

use std::cell::Cell;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{self, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use tower::{Service, ServiceExt};

use super::AppState;
use super::error::{ApiError, REQUEST_ID};
use crate::telemetry;
use crate::tenant::Tenant;

/// The request id header.
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The public API: the routes behind the edge. Tenant selection and CORS run before routing
/// (they rewrite the path the routes match), so the edge is a service around the router
/// rather than one of its layers, and it is written as one rather than with
/// `axum::middleware::from_fn`, which would need an outer router to wrap and clone and box
/// the inner service for every request.
#[derive(Clone)]
pub struct Edge {
    app: AppState,
    routes: Router,
}

pub(super) fn wrap(routes: Router, app: AppState) -> Edge {
    Edge { app, routes }
}

impl<B> Service<http::Request<B>> for Edge
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let edge = edge(
            self.app.clone(),
            request.map(Body::new),
            self.routes.clone(),
        );
        Box::pin(async move { Ok(edge.await) })
    }
}

/// The request's id: the client's `x-request-id` when it sent a short printable one, else
/// the next of a process-wide counter.
fn request_id(request: &Request) -> HeaderValue {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    match request.headers().get(&X_REQUEST_ID) {
        Some(id) if id.len() <= 128 && id.to_str().is_ok() => id.clone(),
        _ => HeaderValue::from(NEXT.fetch_add(1, Ordering::Relaxed)),
    }
}

async fn edge(app: AppState, mut request: Request, routes: Router) -> Response {
    let started = Instant::now();
    let id_header = request_id(&request);
    let id = id_header.to_str().unwrap_or_default().to_owned();
    let method = request.method().clone();
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let tenant = match select_tenant(&app, &mut request) {
        Ok(tenant) => tenant,
        Err(error) => {
            let mut response = REQUEST_ID.scope(id, async { error.into_response() }).await;
            let answer = Answer::new(&id_header, &method, "unmatched", "none", started);
            answer.log(response.status().as_u16());
            response
                .headers_mut()
                .insert(X_REQUEST_ID.clone(), id_header);
            return response;
        }
    };
    let mut response = if method == Method::OPTIONS {
        let response = preflight();
        let answer = Answer::new(&id_header, &method, "preflight", &tenant.id, started);
        answer.log(response.status().as_u16());
        response
    } else {
        let path = request.uri().path();
        // Two spans, so that trace context costs nothing unless traces are exported.
        let span = if telemetry::exporting() {
            let span = tracing::info_span!(
                "request",
                request_id = %id,
                method = %method,
                path = %path,
                tenant = %tenant.id,
                otel.kind = "server",
            );
            telemetry::join_callers_trace(&span, request.headers());
            span
        } else {
            tracing::info_span!(
                "request",
                request_id = %id,
                method = %method,
                path = %path,
                tenant = %tenant.id,
            )
        };
        request.extensions_mut().insert(tenant.clone());
        let run = async {
            let Ok(response) = routes.oneshot(request).await;
            (response, ROUTE.with(Cell::get))
        };
        let run = tracing::Instrument::instrument(REQUEST_ID.scope(id, run), span.clone());
        let (mut response, route) = ROUTE.scope(Cell::new("unmatched"), run).await;
        let status = response.status().as_u16();
        Answer::new(&id_header, &method, route, &tenant.id, started).log(status);
        if telemetry::exporting() {
            telemetry::note_answer(&span, route, &tenant.id, status);
            telemetry::send_trace_context(&span, response.headers_mut());
        }
        response
    };
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        allow_origin(&tenant, origin.as_deref(), &mut response);
    }
    response
        .headers_mut()
        .insert(X_REQUEST_ID.clone(), id_header);
    response
}

tokio::task_local! {
    /// The route template the router matched for the request being handled, as
    /// `observe` notes it: the access log's `route`.
    static ROUTE: Cell<&'static str>;
}

/// Notes the route template the router matched, for the request's access log line. Outside
/// the edge (the admin listener) there is no line, and nothing to note.
pub(super) fn note_route(route: &'static str) {
    let _ = ROUTE.try_with(|slot| slot.set(route));
}

/// A request's access log line: who asked what, and how long the answer took.
struct Answer<'a> {
    request_id: &'a str,
    method: &'a str,
    route: &'static str,
    tenant: &'a str,
    started: Instant,
}

impl<'a> Answer<'a> {
    fn new(
        id: &'a HeaderValue,
        method: &'a Method,
        route: &'static str,
        tenant: &'a str,
        started: Instant,
    ) -> Self {
        Self {
            request_id: id.to_str().unwrap_or_default(),
            method: method.as_str(),
            route,
            tenant,
            started,
        }
    }

    /// One `info` line (target `avatar::access`, so `RUST_LOG=info,avatar::access=off`
    /// silences it) with the route template, never the path or its query, which may hold a
    /// token.
    fn log(&self, status: u16) {
        tracing::info!(
            target: "avatar::access",
            request_id = %self.request_id,
            method = %self.method,
            route = %self.route,
            tenant = %self.tenant,
            status,
            // Whole microseconds, so that the number prints short.
            duration_ms = self.started.elapsed().as_micros() as f64 / 1000.0,
            "answered"
        );
    }
}

/// The request's tenant; strips a `/t/{tenant}` prefix from the URI.
fn select_tenant(app: &AppState, request: &mut Request) -> Result<Arc<Tenant>, ApiError> {
    let tenants = app.tenants.current();
    if let Some((id, rest)) = tenant_prefix(request.uri().path()) {
        let tenant = tenants.get(id).cloned().ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown-tenant",
                format!("no tenant {id:?} on this server"),
            )
        })?;
        let prefix = super::ui::TenantPrefix(format!("/t/{id}"));
        let mut path_and_query = format!("/{rest}");
        if let Some(query) = request.uri().query() {
            path_and_query.push('?');
            path_and_query.push_str(query);
        }
        let mut parts = request.uri().clone().into_parts();
        parts.path_and_query = path_and_query.parse().ok();
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
        request.extensions_mut().insert(prefix);
        return Ok(tenant);
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().host());
    Ok(tenants.for_host(host).clone())
}

/// A path under a tenant's prefix, `/t/{tenant}/{rest}`, as the tenant's id and the rest
/// (without its leading `/`); `None` for any other path.
fn tenant_prefix(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/t/")?;
    Some(rest.split_once('/').unwrap_or((rest, "")))
}

/// CORS headers for a read from `origin`, by the tenant's allowed origins.
fn allow_origin(tenant: &Tenant, origin: Option<&str>, response: &mut Response) {
    let Some(value) = tenant.cors.allow(origin) else {
        return;
    };
    let headers = response.headers_mut();
    if value != "*" {
        // One `Vary` line: the answer may already vary on `Accept`.
        let vary = match headers.get(header::VARY).and_then(|v| v.to_str().ok()) {
            Some(existing) => HeaderValue::from_str(&format!("{existing}, origin")).ok(),
            None => Some(HeaderValue::from_static("origin")),
        };
        if let Some(vary) = vary {
            headers.insert(header::VARY, vary);
        }
    }
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("etag, last-modified, content-length, x-request-id"),
    );
}

fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS"),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "if-none-match, if-modified-since",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "86400"),
        ],
    )
        .into_response()
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::tenant_prefix;

    proptest! {
        /// Any path: under `/t/` it is a tenant id without a `/` and a rest that rebuild it;
        /// anything else has no tenant prefix.
        #[test]
        fn a_tenant_prefix_splits_the_path_exactly(path in "(/t/)?\\PC{0,40}") {
            match tenant_prefix(&path) {
                Some((id, rest)) => {
                    prop_assert!(!id.contains('/'));
                    let rebuilt = if rest.is_empty() && !path[3..].contains('/') {
                        format!("/t/{id}")
                    } else {
                        format!("/t/{id}/{rest}")
                    };
                    prop_assert_eq!(rebuilt, path);
                }
                None => prop_assert!(!path.starts_with("/t/")),
            }
        }
    }
}
