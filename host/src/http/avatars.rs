//! `/{hash}` and friends: read, check, upload, replace and delete avatars.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Extension, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::{AppState, time};
use crate::avatar::{AvatarHash, InvalidSize, parse_size};
use crate::catalog::AvatarRecord;
use crate::config::Delivery;
use crate::service::{Content, Resolved};
use crate::tenant::Tenant;

/// Longest `token` form field accepted.
const MAX_FORM_TOKEN_BYTES: usize = 16 << 10;

fn parse_hash(segment: &str) -> Result<AvatarHash, ApiError> {
    AvatarHash::parse(segment).map_err(|e| ApiError::bad_request("invalid-hash", e.to_string()))
}

fn parse_side(tenant: &Tenant, segment: &str) -> Result<u32, ApiError> {
    parse_size(segment, &tenant.sizes).map_err(|e| {
        let names: Vec<&str> = tenant.sizes.keys().map(String::as_str).collect();
        let message = match e {
            InvalidSize::UnknownName(_) => {
                format!("{e}; use one of {} or 1 to 4096 pixels", names.join(", "))
            }
            InvalidSize::OutOfRange => e.to_string(),
        };
        ApiError::bad_request("invalid-size", message)
    })
}

/// What a `GET` asks for.
struct Target {
    hash: AvatarHash,
    backup: Option<AvatarHash>,
    side: u32,
}

pub async fn get_one(
    State(app): State<AppState>,
    Extension(tenant): Extension<Arc<Tenant>>,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let target = Target {
        hash: parse_hash(&hash)?,
        backup: None,
        side: tenant.default_side,
    };
    serve(&app, &tenant, target, &headers).await
}

pub async fn get_two(
    State(app): State<AppState>,
    Extension(tenant): Extension<Arc<Tenant>>,
    Path((first, second)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let hash = parse_hash(&first)?;
    let target = if AvatarHash::looks_like(&second) {
        Target {
            hash,
            backup: Some(parse_hash(&second)?),
            side: tenant.default_side,
        }
    } else {
        Target {
            hash,
            backup: None,
            side: parse_side(&tenant, &second)?,
        }
    };
    serve(&app, &tenant, target, &headers).await
}

pub async fn get_three(
    State(app): State<AppState>,
    Extension(tenant): Extension<Arc<Tenant>>,
    Path((hash, backup, size)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let target = Target {
        hash: parse_hash(&hash)?,
        backup: Some(parse_hash(&backup)?),
        side: parse_side(&tenant, &size)?,
    };
    serve(&app, &tenant, target, &headers).await
}

/// `HEAD /{hash}`: `204` when the avatar exists, `404` when not. No backup, no default.
pub async fn head_avatar(
    State(app): State<AppState>,
    Extension(tenant): Extension<Arc<Tenant>>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash)?;
    if app.service.exists(&tenant, &hash).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Ok(StatusCode::NOT_FOUND.into_response())
    }
}

async fn serve(
    app: &AppState,
    tenant: &Arc<Tenant>,
    target: Target,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let cache_control = format!("public, max-age={}", tenant.cache_max_age);
    if app.delivery == Delivery::Redirect {
        let resolved = app
            .service
            .resolve(tenant, &target.hash, target.backup.as_ref(), target.side)
            .await?;
        if let Resolved::Stored { variant, .. } = &resolved {
            let location = media_url(app, &variant.key).await?;
            // The target is immutable and cached for a year; the redirect itself must not be
            // cached, since a replacement points it elsewhere and removes the old target.
            return Ok((
                StatusCode::FOUND,
                [
                    (header::LOCATION, location),
                    (header::CACHE_CONTROL, "no-cache".to_owned()),
                ],
            )
                .into_response());
        }
    }
    let (resolved, content) = app
        .service
        .fetch(
            tenant,
            &target.hash,
            target.backup.as_ref(),
            target.side,
            |resolved| {
                let (etag, modified, _) = validators(resolved);
                !is_fresh(headers, &etag, modified)
            },
        )
        .await?;
    let (etag, modified, content_type) = validators(&resolved);
    Ok(image_response(
        content,
        &etag,
        modified,
        content_type.unwrap_or("application/octet-stream"),
        &cache_control,
    ))
}

/// The ETag (unquoted), Last-Modified and media type of what `resolved` serves.
fn validators(resolved: &Resolved) -> (String, SystemTime, Option<&'static str>) {
    match resolved {
        Resolved::Stored { record, variant } => (
            variant.etag.clone(),
            time::from_millis(record.updated_at),
            record.format.media_type(),
        ),
        Resolved::Default(d) => (d.image.etag.clone(), d.made_at, d.image.format.media_type()),
        Resolved::Generated(g) => (g.etag.clone(), g.made_at, g.format.media_type()),
    }
}

/// Whether the client's copy, as its conditional headers describe it, is current: then the
/// answer is `304` and the image is not even read.
pub(super) fn is_fresh(request: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    let quoted = format!("\"{etag}\"");
    match request.get(header::IF_NONE_MATCH) {
        Some(value) => value.to_str().is_ok_and(|v| {
            v.split(',').map(str::trim).any(|tag| {
                tag == "*" || tag == quoted || tag.strip_prefix("W/") == Some(quoted.as_str())
            })
        }),
        None => request
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| httpdate::HttpDate::from(modified) <= since.into()),
    }
}

/// A `200` streaming `content`, or a `304` when there is none to send (the client's copy is
/// current).
pub(super) fn image_response(
    content: Option<Content>,
    etag: &str,
    modified: SystemTime,
    content_type: &str,
    cache_control: &str,
) -> Response {
    let mut response = match content {
        None => StatusCode::NOT_MODIFIED.into_response(),
        Some(content) => {
            let len = content.len();
            let body = match content {
                Content::Whole(bytes) => Body::from(bytes),
                Content::Streaming { body, .. } => Body::from_stream(body),
            };
            let mut r = Response::new(body);
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type).expect("a media type is a valid header"),
            );
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            r
        }
    };
    let h = response.headers_mut();
    for (name, value) in [
        (header::ETAG, format!("\"{etag}\"")),
        (header::LAST_MODIFIED, httpdate::fmt_http_date(modified)),
        (header::CACHE_CONTROL, cache_control.to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            h.insert(name, value);
        }
    }
    response
}

/// The `token` query parameter.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// `POST` or `PUT /{hash}`: upload or replace.
pub async fn put_avatar(
    State(app): State<AppState>,
    Extension(tenant): Extension<Arc<Tenant>>,
    Path(hash): Path<String>,
    Query(query): Query<TokenQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash)?;
    let method = request.method().as_str().to_owned();
    let mut token = bearer(request.headers()).or(query.token);
    // Refuse before reading a byte of the body when the token is already known.
    let mut authorized = false;
    if let Some(token) = &token {
        app.service
            .authorize(&tenant, &method, &hash, token)
            .await?;
        authorized = true;
    }
    let limit = tenant.max_upload_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    // A form carries boundaries and small fields besides the image: allow them some room.
    let slack = if content_type.starts_with("multipart/form-data") {
        64 << 10
    } else {
        0
    };
    if declared.is_some_and(|n| n > limit.saturating_add(slack)) {
        return Err(ApiError::payload_too_large(limit));
    }
    let upload = if content_type.starts_with("multipart/form-data") {
        let form = read_form(&app, request, limit).await?;
        if token.is_none() {
            token = form.token;
        }
        form.avatar
    } else if content_type.starts_with("image/") {
        Some(read_body(request.into_body(), limit).await?)
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send multipart/form-data with an `avatar` field, or the image with an image/* content type",
        ));
    };
    if !authorized {
        let token = token.unwrap_or_default();
        app.service
            .authorize(&tenant, &method, &hash, &token)
            .await?;
    }
    let upload = upload
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::bad_request("missing-image", "the request carries no image"))?;
    let record = app.service.upload(&tenant, &hash, upload).await?;
    tracing::info!(tenant = %tenant.id, hash = %hash, version = %record.version, "avatar stored");
    let body = upload_json(&app, &tenant, &record).await?;
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// `DELETE /{hash}`.
pub async fn delete_avatar(
    State(app): State<AppState>,
    Extension(tenant): Extension<Arc<Tenant>>,
    Path(hash): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash)?;
    let token = bearer(&headers).or(query.token).unwrap_or_default();
    app.service
        .authorize(&tenant, "DELETE", &hash, &token)
        .await?;
    app.service.delete(&tenant, &hash).await?;
    tracing::info!(tenant = %tenant.id, hash = %hash, "avatar deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Reads a body, refusing it with `413` as soon as it passes `limit` bytes.
async fn read_body(body: Body, limit: u64) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("bad-request", e.to_string()))?;
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

struct Form {
    avatar: Option<Bytes>,
    token: Option<String>,
}

/// Reads a multipart form: the `avatar` file and the optional `token`, skipping other fields,
/// all within `limit` bytes.
async fn read_form(app: &AppState, request: Request, limit: u64) -> Result<Form, ApiError> {
    let malformed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large(limit)
        } else {
            ApiError::bad_request("bad-request", format!("malformed multipart body: {e}"))
        }
    };
    let mut multipart = Multipart::from_request(request, app)
        .await
        .map_err(|e| ApiError::bad_request("bad-request", e.body_text()))?;
    let mut form = Form {
        avatar: None,
        token: None,
    };
    let mut total: u64 = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or("").to_owned();
        let mut buf = BytesMut::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            total += chunk.len() as u64;
            if total > limit {
                return Err(ApiError::payload_too_large(limit));
            }
            if name == "avatar" || (name == "token" && buf.len() < MAX_FORM_TOKEN_BYTES) {
                buf.extend_from_slice(&chunk);
            }
        }
        match name.as_str() {
            "avatar" if form.avatar.is_none() => form.avatar = Some(buf.freeze()),
            "token" => form.token = Some(String::from_utf8_lossy(&buf).trim().to_owned()),
            _ => {}
        }
    }
    Ok(form)
}

/// Where a client fetches a stored variant directly: the store's own URL (public or
/// presigned), or this host's `/_media/` path.
async fn media_url(app: &AppState, key: &str) -> Result<String, ApiError> {
    let direct = app
        .service
        .store()
        .url_for(key)
        .await
        .map_err(crate::service::ServiceError::from)?;
    Ok(direct.unwrap_or_else(|| format!("{}/_media/{key}", app.public_base)))
}

async fn upload_json(
    app: &AppState,
    tenant: &Arc<Tenant>,
    record: &AvatarRecord,
) -> Result<Value, ApiError> {
    let mut sizes = Map::new();
    for (name, px) in &tenant.sizes {
        let Some(variant) = record.variants.iter().find(|v| v.size == *px) else {
            continue;
        };
        let href = format!("/{}/{name}", record.hash);
        let url = match app.delivery {
            Delivery::Redirect => media_url(app, &variant.key).await?,
            Delivery::Proxy => format!("{}{href}", app.public_base),
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
    Ok(json!({
        "hash": record.hash,
        "tenant": record.tenant,
        "version": record.version,
        "format": record.format.to_string(),
        "created_at": time::rfc3339(record.created_at),
        "updated_at": time::rfc3339(record.updated_at),
        "sizes": sizes,
    }))
}
