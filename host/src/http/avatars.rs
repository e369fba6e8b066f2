//! `/{hash}` and friends: read, check, upload, replace and delete avatars.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::AppState;
use super::conditional::respond;
use super::error::ApiError;
use super::extract::{AuthorizedDelete, AvatarRead, OneHash};
use super::time;
use super::upload::AuthorizedUpload;
use crate::service::Uploaded;
use crate::tenant::Tenant;

/// The avatar routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{hash}",
            get(get_avatar)
                .head(head_avatar)
                .post(put_avatar)
                .put(put_avatar)
                .delete(delete_avatar),
        )
        .route("/{hash}/{second}", get(get_avatar))
        .route("/{hash}/{backup}/{size}", get(get_avatar))
}

/// `GET`: the avatar (or the backup's, or the default) at the size asked.
async fn get_avatar(
    State(app): State<AppState>,
    AvatarRead { tenant, request }: AvatarRead,
) -> Result<Response, ApiError> {
    let reply = app.service.read(&tenant, &request).await?;
    let cache_control = format!("public, max-age={}", tenant.cache_max_age);
    Ok(respond(reply, &cache_control))
}

/// `HEAD /{hash}`: `204` when the avatar exists, `404` when not. No backup, no default.
async fn head_avatar(
    State(app): State<AppState>,
    OneHash { tenant, hash }: OneHash,
) -> Result<Response, ApiError> {
    Ok(if app.service.exists(&tenant, &hash).await? {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    })
}

/// `POST` or `PUT /{hash}`: upload or replace.
async fn put_avatar(
    State(app): State<AppState>,
    AuthorizedUpload {
        target,
        image,
        about,
    }: AuthorizedUpload,
) -> Result<Response, ApiError> {
    let OneHash { tenant, hash } = target;
    let uploaded = app.service.upload(&tenant, &hash, image, about).await?;
    tracing::info!(tenant = %tenant.id, hash = %hash, version = %uploaded.record.version, "avatar stored");
    let body = upload_json(&app, &tenant, &uploaded);
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// `DELETE /{hash}`.
async fn delete_avatar(
    State(app): State<AppState>,
    AuthorizedDelete(OneHash { tenant, hash }): AuthorizedDelete,
) -> Result<Response, ApiError> {
    app.service.delete(&tenant, &hash).await?;
    tracing::info!(tenant = %tenant.id, hash = %hash, "avatar deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The `201` body of an upload: the record and, per named size, where to fetch it.
fn upload_json(app: &AppState, tenant: &Tenant, uploaded: &Uploaded) -> Value {
    let record = &uploaded.record;
    let mut sizes = Map::new();
    for (name, side) in &tenant.sizes.presets {
        let Some(index) = record.variants.iter().position(|v| v.side == *side) else {
            continue;
        };
        let variant = &record.variants[index];
        let href = format!("/{}/{name}", record.hash);
        let url = match &uploaded.direct_urls {
            Some(urls) => urls[index].clone(),
            None => format!("{}{href}", app.service.links().public_base),
        };
        sizes.insert(
            name.clone(),
            json!({
                "width": variant.width,
                "height": variant.height,
                "bytes": variant.bytes,
                "href": href,
                "url": url,
            }),
        );
    }
    json!({
        "hash": record.hash,
        "tenant": record.tenant,
        "version": record.version,
        "format": record.format.to_string(),
        "rating": record.rating.name(),
        "name": record.name,
        "aliases": record.aliases,
        "created_at": time::rfc3339(record.created_at),
        "updated_at": time::rfc3339(record.updated_at),
        "sizes": sizes,
    })
}
