//! The HTTP API: the router, shared state, and the middleware every response passes through
//! (request ids, CORS). Handlers parse and answer; each calls one `Service` operation.

mod avatars;
mod error;
mod health;
mod media;
mod time;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use error::ApiError;

use crate::config::Delivery;
use crate::service::Service;
use crate::tenant::Tenants;

/// What every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub tenants: Arc<Tenants>,
    pub delivery: Delivery,
    /// Base URL for absolute links, without a trailing slash.
    pub public_base: Arc<str>,
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(health::index))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
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
        .layer(middleware::from_fn(cors_and_request_id))
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

/// Answers CORS preflights, lets any origin `GET` and `HEAD`, and tags every response with
/// a request id that also appears in the logs.
async fn cors_and_request_id(request: Request, next: Next) -> Response {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let id = format!("{:x}", NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let method = request.method().clone();
    let span =
        tracing::info_span!("request", id = %id, method = %method, path = %request.uri().path());
    let mut response = if method == Method::OPTIONS {
        preflight()
    } else {
        let run = tracing::Instrument::instrument(next.run(request), span);
        error::REQUEST_ID.scope(id.clone(), run).await
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert("x-request-id", value);
    }
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("etag, last-modified, content-length, x-request-id"),
        );
    }
    response
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
