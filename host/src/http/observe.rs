//! Request metrics, recorded around every routed request: by route template (as the router
//! matched it, never the raw path), method, status class and tenant.
//!
//! A tower layer rather than `axum::middleware::from_fn`: that clones and boxes the inner
//! service and boxes its own future for every request; this adds a few fields to the route's
//! future instead.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;
use tower::{Layer, Service};

use crate::tenant::Tenant;

/// Wraps every route in [`Observe`].
#[derive(Clone, Copy)]
pub(super) struct ObserveLayer;

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe { inner }
    }
}

/// A route that records its requests' metrics.
#[derive(Clone)]
pub(super) struct Observe<S> {
    inner: S,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Observed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let route: &'static str = match request.extensions().get::<MatchedPath>() {
            Some(path) => route_name(path.as_str()),
            None => "unmatched",
        };
        super::edge::note_route(route);
        let method = method_name(request.method());
        let tenant = request.extensions().get::<Arc<Tenant>>().cloned();
        Observed {
            inner: self.inner.call(request),
            started,
            route,
            method,
            tenant,
        }
    }
}

pin_project_lite::pin_project! {
    /// A route's answer, recorded when it is ready.
    pub(super) struct Observed<F> {
        #[pin]
        inner: F,
        started: Instant,
        route: &'static str,
        method: &'static str,
        tenant: Option<Arc<Tenant>>,
    }
}

impl<F, E> Future for Observed<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = ready!(this.inner.poll(cx));
        if let Ok(response) = &answer {
            let tenant = this.tenant.as_deref().map_or("none", |t| t.id.as_str());
            crate::metrics::request(
                this.route,
                this.method,
                response.status().as_u16(),
                tenant,
                this.started.elapsed(),
            );
        }
        Poll::Ready(answer)
    }
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
