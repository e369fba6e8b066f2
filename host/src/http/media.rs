//! `GET /_media/{key}`: the immutable, versioned URLs that `redirect` delivery points at,
//! served from the blob store. A key never changes content, so clients may cache it forever.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;

use super::AppState;
use super::conditional::{held, respond};
use super::error::ApiError;
use crate::service::Reply;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The media route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/_media/{*key}", get(get_media))
}

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
    Ok(respond(reply, IMMUTABLE))
}
