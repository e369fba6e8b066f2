//! `GET /_media/{key}`: the immutable, versioned URLs that `redirect` delivery points at,
//! served from the blob store. A key never changes content, so clients may cache it forever.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use axum::routing::get;

use super::AppState;
use super::conditional::{held, respond};
use super::error::{ApiError, ErrorBody};
use super::openapi::ImageBytes;
use crate::service::Reply;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The media route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/_media/{*key}", get(get_media))
}

/// A stored image by its immutable key
///
/// Where `redirect` delivery points. A key never changes content.
#[utoipa::path(
    get,
    path = "/_media/{key}",
    tag = "avatars",
    params(
        ("key" = String, Path, description = "The stored variant's key, as a `302` gave it"),
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` seen before"),
    ),
    responses(
        (status = 200, description = "The image", content(
            (ImageBytes = "image/png"), (ImageBytes = "image/jpeg"), (ImageBytes = "image/gif"),
            (ImageBytes = "image/webp"), (ImageBytes = "image/avif"))),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "`bad-request`", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
        (status = 503, description = "The store is unavailable", body = ErrorBody),
    )
)]
async fn get_media(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let answer = app.service.media(&key, &held(&headers)).await?;
    let reply = Reply {
        answer,
        negotiated: false,
    };
    Ok(respond(reply, &HeaderValue::from_static(IMMUTABLE)))
}
