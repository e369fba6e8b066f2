//! `/{hash}` and friends: read, check, upload, replace and delete avatars; each handler
//! carries its OpenAPI description (`openapi.rs` collects them).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::conditional::respond;
use super::error::{ApiError, ErrorBody};
use super::extract::{AuthorizedDelete, AvatarRead, OneHash};
use super::openapi::{ImageBytes, UploadForm};
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
                // Upload size is enforced while reading (see `upload::AuthorizedUpload`), so
                // axum's default limit is off for uploads, and only there: as a router-wide
                // layer it would also cost every read a service clone and an extension.
                .post(put_avatar.layer(DefaultBodyLimit::disable()))
                .put(put_avatar.layer(DefaultBodyLimit::disable()))
                .delete(delete_avatar),
        )
        .route("/{hash}/{second}", get(get_avatar_second))
        .route("/{hash}/{backup}/{size}", get(get_avatar_backup_size))
}

/// The avatar at the tenant's default size
///
/// The avatar of `hash`, else the tenant's `default_avatar`. `proxy` delivery answers the
/// image; `redirect` delivery a `302` to its immutable URL.
#[utoipa::path(
    get,
    path = "/{hash}",
    tag = "avatars",
    params(HashParam, ReadHeaders),
    responses(
        (status = 200, description = "The image", content(
            (ImageBytes = "image/png"), (ImageBytes = "image/jpeg"), (ImageBytes = "image/gif"),
            (ImageBytes = "image/webp"), (ImageBytes = "image/avif")),
            headers(("ETag" = String), ("Last-Modified" = String), ("Cache-Control" = String))),
        (status = 302, description = "`redirect` delivery: the image's immutable URL", headers(("Location" = String))),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "`invalid-hash`", body = ErrorBody),
        (status = 404, description = "No avatar, and the tenant's default is `404`", body = ErrorBody),
        (status = 429, description = "`rate-limited` (a render)", body = ErrorBody),
        (status = 500, description = "A plugin or the service failed", body = ErrorBody),
        (status = 503, description = "A backend is unavailable or the tenant is suspended", body = ErrorBody),
    )
)]
async fn get_avatar(app: State<AppState>, read: AvatarRead) -> Result<Response, ApiError> {
    read_avatar(app, read).await
}

/// The avatar at a size, or with a backup hash
///
/// A second segment of 32, 40 or 64 hex characters is a backup hash, used when the first has
/// no avatar; anything else is a size: a preset's name, or pixels from 1 to 4096 (exactly
/// that size, rendered when nobody stored it).
#[utoipa::path(
    get,
    path = "/{hash}/{second}",
    tag = "avatars",
    params(HashParam, ("second" = String, Path, description = "A backup hash, or a size (a preset's name or 1 to 4096 pixels)", min_length = 1, example = "small"), ReadHeaders),
    responses(
        (status = 200, description = "The image", content(
            (ImageBytes = "image/png"), (ImageBytes = "image/jpeg"), (ImageBytes = "image/gif"),
            (ImageBytes = "image/webp"), (ImageBytes = "image/avif"))),
        (status = 302, description = "`redirect` delivery: the image's immutable URL", headers(("Location" = String))),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "`invalid-hash`, `invalid-size`", body = ErrorBody),
        (status = 404, description = "No avatar, and the tenant's default is `404`", body = ErrorBody),
        (status = 429, description = "`rate-limited` (a render)", body = ErrorBody),
        (status = 500, description = "A plugin or the service failed", body = ErrorBody),
        (status = 503, description = "A backend is unavailable or the tenant is suspended", body = ErrorBody),
    )
)]
async fn get_avatar_second(app: State<AppState>, read: AvatarRead) -> Result<Response, ApiError> {
    read_avatar(app, read).await
}

/// The avatar at a size, with a backup hash
#[utoipa::path(
    get,
    path = "/{hash}/{backup}/{size}",
    tag = "avatars",
    params(
        HashParam,
        ("backup" = String, Path, description = "Used when `hash` has no avatar"),
        ("size" = String, Path, description = "A preset's name, or 1 to 4096 pixels", min_length = 1, example = "128"),
        ReadHeaders,
    ),
    responses(
        (status = 200, description = "The image", content(
            (ImageBytes = "image/png"), (ImageBytes = "image/jpeg"), (ImageBytes = "image/gif"),
            (ImageBytes = "image/webp"), (ImageBytes = "image/avif"))),
        (status = 302, description = "`redirect` delivery: the image's immutable URL", headers(("Location" = String))),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "`invalid-hash`, `invalid-size`", body = ErrorBody),
        (status = 404, description = "No avatar, and the tenant's default is `404`", body = ErrorBody),
        (status = 429, description = "`rate-limited` (a render)", body = ErrorBody),
        (status = 500, description = "A plugin or the service failed", body = ErrorBody),
        (status = 503, description = "A backend is unavailable or the tenant is suspended", body = ErrorBody),
    )
)]
async fn get_avatar_backup_size(
    app: State<AppState>,
    read: AvatarRead,
) -> Result<Response, ApiError> {
    read_avatar(app, read).await
}

/// `GET`: the avatar (or the backup's, or the default) at the size asked.
async fn read_avatar(
    State(app): State<AppState>,
    AvatarRead { tenant, request }: AvatarRead,
) -> Result<Response, ApiError> {
    let reply = app.service.read(&tenant, &request).await?;
    Ok(respond(reply, &tenant.cache_control))
}

/// Whether an avatar exists
///
/// `204` when `hash` has an avatar, `404` when not: no backup, no default.
#[utoipa::path(
    head,
    path = "/{hash}",
    tag = "avatars",
    params(HashParam),
    responses(
        (status = 204, description = "It exists"),
        (status = 404, description = "It does not"),
        (status = 400, description = "`invalid-hash`", body = ErrorBody),
        (status = 503, description = "A backend is unavailable", body = ErrorBody),
    )
)]
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

/// Upload or replace an avatar
///
/// The image as a multipart field `avatar`, or as the body with an `image/*` content type.
/// The token goes in `Authorization: Bearer`, `?token=`, or the form field `token`. The
/// tenant's pipeline makes the stored sizes from `crop` (or the whole picture); the previous
/// version, if any, is replaced whole.
#[utoipa::path(
    method(put, post),
    path = "/{hash}",
    tag = "avatars",
    params(HashParam, UploadQuery),
    request_body(content(
        (UploadForm = "multipart/form-data"),
        (ImageBytes = "image/png"), (ImageBytes = "image/jpeg"),
        (ImageBytes = "image/gif"), (ImageBytes = "image/webp"))),
    security((), ("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = UploadedBody),
        (status = 400, description = "`invalid-hash`, `invalid-rating`, `invalid-name`, `invalid-crop`, `missing-image`, `bad-request`", body = ErrorBody),
        (status = 401, description = "`missing-token`, `invalid-token`, `token-expired`, `token-not-yet-valid`, `bad-signature`", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "`wrong-hash`, `wrong-tenant`, `forbidden`", body = ErrorBody),
        (status = 408, description = "`body-timeout`", body = ErrorBody),
        (status = 413, description = "`payload-too-large`", body = ErrorBody),
        (status = 415, description = "`unsupported-media-type`, `unsupported-image`", body = ErrorBody),
        (status = 422, description = "`undecodable-image`, `too-many-pixels`, `invalid-image`", body = ErrorBody),
        (status = 429, description = "`rate-limited`", body = ErrorBody, headers(("Retry-After" = u64))),
        (status = 500, description = "A plugin or the service failed", body = ErrorBody),
        (status = 503, description = "`tenant-suspended`, `tenant-busy`, `storage-unavailable`, `catalog-unavailable`, `shutting-down`", body = ErrorBody, headers(("Retry-After" = u64))),
    )
)]
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

/// Delete an avatar
///
/// Removes the record and every stored file; the token as for uploads (header or query).
#[utoipa::path(
    delete,
    path = "/{hash}",
    tag = "avatars",
    params(HashParam, ("token" = Option<String>, Query, description = "The token, when not in `Authorization`")),
    security((), ("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`invalid-hash`, `bad-request`", body = ErrorBody),
        (status = 401, description = "The token is missing or invalid", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "`wrong-hash`, `wrong-tenant`, `forbidden`", body = ErrorBody),
        (status = 404, description = "There was nothing to delete", body = ErrorBody),
        (status = 429, description = "`rate-limited`", body = ErrorBody, headers(("Retry-After" = u64))),
        (status = 500, description = "A plugin or the service failed", body = ErrorBody),
        (status = 503, description = "A backend is unavailable", body = ErrorBody),
    )
)]
async fn delete_avatar(
    State(app): State<AppState>,
    AuthorizedDelete(OneHash { tenant, hash }): AuthorizedDelete,
) -> Result<Response, ApiError> {
    app.service.delete(&tenant, &hash).await?;
    tracing::info!(tenant = %tenant.id, hash = %hash, "avatar deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The `201` body of an upload: the record and, per named size, where to fetch it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadedBody {
    /// The hash as stored: lower case.
    pub hash: String,
    pub tenant: String,
    /// Changes with every upload; part of the stored files' keys.
    pub version: String,
    /// The stored format: `png`, `jpeg`, `gif`, `webp` or `avif`.
    pub format: String,
    /// `g`, `pg`, `r` or `x`.
    pub rating: String,
    pub name: Option<String>,
    /// The other hashes of the same email address, when the token vouched for one.
    pub aliases: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// Per preset name, the stored variant that answers it.
    pub sizes: BTreeMap<String, StoredSize>,
}

/// One stored size of an upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredSize {
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// Its path on this service, relative to the base URL.
    pub href: String,
    /// Its absolute URL (in `redirect` delivery, the store's own).
    pub url: String,
}

fn upload_json(app: &AppState, tenant: &Tenant, uploaded: &Uploaded) -> UploadedBody {
    let record = &uploaded.record;
    let mut sizes = BTreeMap::new();
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
            StoredSize {
                width: variant.width,
                height: variant.height,
                bytes: variant.bytes,
                href,
                url,
            },
        );
    }
    UploadedBody {
        hash: record.hash.clone(),
        tenant: record.tenant.clone(),
        version: record.version.clone(),
        format: record.format.to_string(),
        rating: record.rating.name().to_owned(),
        name: record.name.clone(),
        aliases: record.aliases.clone(),
        created_at: time::rfc3339(record.created_at),
        updated_at: time::rfc3339(record.updated_at),
        sizes,
    }
}

/// The `hash` path parameter.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
struct HashParam {
    /// The MD5, SHA-1 or SHA-256 hex of an email address or user id, any case.
    #[param(example = "b48def645758b95537d4424c84d1a9ff")]
    hash: String,
}

/// What a read may say of the copy it holds and the formats it takes.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct ReadHeaders {
    /// An `ETag` seen before: `304` when it is still current.
    #[param(rename = "If-None-Match")]
    if_none_match: Option<String>,
    /// A `Last-Modified` seen before.
    #[param(rename = "If-Modified-Since")]
    if_modified_since: Option<String>,
    /// Listing `image/avif` or `image/webp` gets the smallest of those and the stored format.
    #[param(rename = "Accept")]
    accept: Option<String>,
}

/// What an upload may say of the avatar in its query (or in form fields of the same names).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct UploadQuery {
    /// The token, when not in `Authorization` or the form.
    token: Option<String>,
    /// `g` (the default), `pg`, `r` or `x`.
    #[param(pattern = "^(g|pg|r|x)$")]
    rating: Option<String>,
    /// A name to draw initials from, at most 256 bytes.
    #[param(max_length = 64)]
    name: Option<String>,
    /// The part of the picture to keep, `x,y,width,height` in source pixels after EXIF
    /// orientation; the avatar is the centred square of it. Outside the picture:
    /// `400 invalid-crop`. Without it, the centred square of the whole picture.
    #[param(
        pattern = "^[0-9]{1,9},[0-9]{1,9},[0-9]{1,9},[0-9]{1,9}$",
        example = "0,0,256,256"
    )]
    crop: Option<String>,
}
