//! The HTTP API: the router, shared state, and the middleware every request passes through
//! before routing (request ids, tenant selection, CORS). Handlers parse and answer; each calls
//! one `Service` operation.
//!
//! A request names its tenant with the path prefix `/t/{tenant}/`, which is removed before
//! routing, so every route works under it; root paths go to the tenant whose host names match
//! the `Host` header, else to the default tenant. The chosen tenant reaches handlers as an
//! `Extension<Arc<Tenant>>`: a snapshot that stays the same for the whole request, even when a
//! reload swaps the tenants meanwhile.

mod avatars;
mod error;
mod health;
mod media;
mod time;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use error::ApiError;

use crate::config::Delivery;
use crate::reload::LiveTenants;
use crate::service::Service;
use crate::tenant::Tenant;

/// What every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub tenants: Arc<LiveTenants>,
    pub delivery: Delivery,
    /// Base URL for absolute links, without a trailing slash.
    pub public_base: Arc<str>,
}

/// The whole API. Tenant selection and CORS run before routing (they rewrite the path the
/// routes match), so they wrap an outer router whose only service is the inner one.
pub fn app(state: AppState) -> Router {
    Router::new()
        .fallback_service(router(state.clone()))
        .layer(middleware::from_fn_with_state(state, edge))
}

/// The routes, for a request whose tenant is already chosen.
fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(health::index))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/_status", get(health::status))
        .route("/_media/{*key}", get(media::get_media))
        .route(
            "/{hash}",
            get(avatars::get_one)
                .head(avatars::head_avatar)
                .post(avatars::put_avatar)
                .put(avatars::put_avatar)
                .delete(avatars::delete_avatar),
        )
        .route("/{first}/{second}", get(avatars::get_two))
        .route("/{hash}/{backup}/{size}", get(avatars::get_three))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Upload size is enforced while reading (see `avatars::read_upload`).
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "no such endpoint; see GET /",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this method is not allowed here; see GET /",
    )
}

/// Every request, before routing: a request id (in the response and the logs), the tenant
/// (from `/t/{tenant}/`, else the host name, else the default; `404 unknown-tenant` when the
/// prefix names none), CORS preflights and headers by the tenant's allowed origins.
async fn edge(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let id = format!("{:x}", NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let method = request.method().clone();
    let span =
        tracing::info_span!("request", id = %id, method = %method, path = %request.uri().path());
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let tenant = match select_tenant(&app, &mut request) {
        Ok(tenant) => tenant,
        Err(error) => {
            let run = async move { error.into_response() };
            let mut response = error::REQUEST_ID.scope(id.clone(), run).await;
            tag(&mut response, &id);
            return response;
        }
    };
    let mut response = if method == Method::OPTIONS {
        preflight()
    } else {
        request.extensions_mut().insert(tenant.clone());
        let run = tracing::Instrument::instrument(next.run(request), span);
        error::REQUEST_ID.scope(id.clone(), run).await
    };
    tag(&mut response, &id);
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        let headers = response.headers_mut();
        if let Some(allowed) = tenant.cors.allow(origin.as_deref())
            && let Ok(value) = HeaderValue::from_str(&allowed)
        {
            if allowed != "*" {
                headers.append(header::VARY, HeaderValue::from_static("origin"));
            }
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("etag, last-modified, content-length, x-request-id"),
            );
        }
    }
    response
}

fn tag(response: &mut Response, id: &str) {
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert("x-request-id", value);
    }
}

/// The request's tenant; strips a `/t/{tenant}` prefix from the URI.
fn select_tenant(app: &AppState, request: &mut Request) -> Result<Arc<Tenant>, ApiError> {
    let tenants = app.tenants.current();
    let path = request.uri().path();
    if let Some(rest) = path.strip_prefix("/t/") {
        let (id, rest) = rest.split_once('/').map_or((rest, ""), |(id, r)| (id, r));
        let tenant = tenants.get(id).cloned().ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown-tenant",
                format!("no tenant {id:?} on this server"),
            )
        })?;
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
        return Ok(tenant);
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().host());
    Ok(tenants.for_host(host).clone())
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
