//! Request metrics, recorded around every routed request: by route template (as the router
//! matched it, never the raw path), method, status class and tenant.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::tenant::Tenant;

pub(super) async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route: &'static str = match request.extensions().get::<MatchedPath>() {
        Some(path) => route_name(path.as_str()),
        None => "unmatched",
    };
    super::edge::note_route(route);
    let method = method_name(request.method());
    let tenant = request.extensions().get::<Arc<Tenant>>().cloned();
    let response = next.run(request).await;
    let tenant = tenant.as_deref().map_or("none", |t| t.id.as_str());
    crate::metrics::request(
        route,
        method,
        response.status().as_u16(),
        tenant,
        started.elapsed(),
    );
    response
}

/// The route templates, as `'static` labels. One the router matched but this list lacks is
/// `other`, so a new route shows up in the metrics test rather than as unbounded labels.
fn route_name(template: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|r| **r == template)
        .copied()
        .unwrap_or("other")
}

/// Every route template of the public listener (the OpenAPI document lists the same).
pub(super) const ROUTES: &[&str] = &[
    "/",
    "/healthz",
    "/readyz",
    "/openapi.json",
    "/_status",
    "/metrics",
    "/_media/{*key}",
    "/avatar/{file}",
    "/_ui/edit",
    "/_ui/{asset}",
    "/{hash}",
    "/{hash}/{second}",
    "/{hash}/{backup}/{size}",
];

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
