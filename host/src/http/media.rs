//! `GET /_media/{key}`: the immutable, versioned URLs that `redirect` delivery points at,
//! served from the blob store. A key never changes content, so clients may cache it forever.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::AppState;
use super::avatars::{image_response, is_fresh};
use super::error::ApiError;
use crate::storage::validate_key;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub async fn get_media(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    validate_key(&key).map_err(|_| ApiError::not_found())?;
    let content_type = match key.rsplit_once('.').map(|(_, ext)| ext) {
        Some("jpg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    };
    // A key's bytes never change, so the key itself is a strong validator, and its version
    // segment (hex milliseconds first) says when it was made.
    let mut segments = key.rsplit('/');
    let file = segments.next().unwrap_or_default();
    let version = segments.next().unwrap_or_default();
    let etag = format!("{version}-{}", file.replace('.', "-"));
    let modified = version
        .get(..12)
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .map_or(std::time::UNIX_EPOCH, super::time::from_millis);
    let content = if is_fresh(&headers, &etag, modified) {
        None
    } else {
        Some(
            app.service
                .read(&key)
                .await?
                .ok_or_else(ApiError::not_found)?,
        )
    };
    Ok(image_response(
        content,
        &etag,
        modified,
        content_type,
        IMMUTABLE,
    ))
}
