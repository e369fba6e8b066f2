//! Extractors: what a request asks for, parsed and checked before its handler runs, so each
//! handler makes exactly one service call. A read's target and conditional headers
//! ([`AvatarRead`]); a write the tenant's auth plugin allowed ([`AuthorizedDelete`],
//! [`AuthorizedUpload`], the latter with its image read within the tenant's upload limit).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::Deserialize;

use super::AppState;
use super::accept::preferred;
use super::conditional::held;
use super::error::ApiError;
use crate::avatar::{AvatarHash, InvalidSize, parse_side};
use crate::service::ReadRequest;
use crate::tenant::Tenant;

/// Longest `token` form field accepted.
const MAX_FORM_TOKEN_BYTES: usize = 16 << 10;

/// Room a multipart form gets besides its image, for boundaries and small fields.
const FORM_SLACK_BYTES: u64 = 64 << 10;

/// The tenant `edge` chose for this request.
pub(super) fn tenant_of(parts: &Parts) -> Arc<Tenant> {
    parts
        .extensions
        .get::<Arc<Tenant>>()
        .cloned()
        .expect("the edge middleware chooses a tenant before routing")
}

fn parse_hash(segment: &str) -> Result<AvatarHash, ApiError> {
    AvatarHash::parse(segment).map_err(|e| ApiError::bad_request("invalid-hash", e.to_string()))
}

/// The side a size segment asks for, and whether it was in pixels (so exactly that side)
/// rather than a preset's name.
fn parse_size(tenant: &Tenant, segment: &str) -> Result<(u32, bool), ApiError> {
    let exact = !tenant.sizes.presets.contains_key(segment);
    parse_side(segment, &tenant.sizes.presets)
        .map(|side| (side, exact))
        .map_err(|e| {
            let message = match e {
                InvalidSize::UnknownName(_) => {
                    let names: Vec<&str> =
                        tenant.sizes.presets.keys().map(String::as_str).collect();
                    format!("{e}; use one of {} or 1 to 4096 pixels", names.join(", "))
                }
                InvalidSize::OutOfRange => e.to_string(),
            };
            ApiError::bad_request("invalid-size", message)
        })
}

/// The path's segments, in order.
async fn segments(parts: &mut Parts, state: &AppState) -> Result<Vec<String>, ApiError> {
    let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::bad_request("bad-request", e.body_text()))?;
    Ok(params.into_iter().map(|(_, value)| value).collect())
}

/// `GET /{hash}`, `/{hash}/{size}`, `/{hash}/{backup}`, `/{hash}/{backup}/{size}`: a second
/// segment that looks like a hash is a backup hash, anything else a size.
pub struct AvatarRead {
    pub tenant: Arc<Tenant>,
    pub request: ReadRequest,
}

impl FromRequestParts<AppState> for AvatarRead {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let tenant = tenant_of(parts);
        let segments = segments(parts, state).await?;
        let default = (tenant.sizes.default_side, false);
        let (hash, backup, (side, exact)) = match segments.as_slice() {
            [hash] => (parse_hash(hash)?, None, default),
            [hash, second] if AvatarHash::looks_like(second) => {
                (parse_hash(hash)?, Some(parse_hash(second)?), default)
            }
            [hash, size] => (parse_hash(hash)?, None, parse_size(&tenant, size)?),
            [hash, backup, size] => (
                parse_hash(hash)?,
                Some(parse_hash(backup)?),
                parse_size(&tenant, size)?,
            ),
            _ => return Err(super::not_found().await),
        };
        let request = ReadRequest {
            exact,
            format: preferred(&parts.headers),
            held: held(&parts.headers),
            ..ReadRequest::native(hash, backup, side)
        };
        Ok(Self { tenant, request })
    }
}

/// `/{hash}` alone, as `HEAD` and writes name it.
pub struct OneHash {
    pub tenant: Arc<Tenant>,
    pub hash: AvatarHash,
}

impl FromRequestParts<AppState> for OneHash {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let tenant = tenant_of(parts);
        match segments(parts, state).await?.as_slice() {
            [hash] => Ok(Self {
                tenant,
                hash: parse_hash(hash)?,
            }),
            _ => Err(super::not_found().await),
        }
    }
}

/// The token in `Authorization: Bearer`, else in `?token=`.
fn presented_token(parts: &Parts) -> Result<Option<String>, ApiError> {
    if let Some(token) = bearer(&parts.headers) {
        return Ok(Some(token));
    }
    #[derive(Deserialize)]
    struct TokenQuery {
        token: Option<String>,
    }
    let Query(query) = Query::<TokenQuery>::try_from_uri(&parts.uri)
        .map_err(|e| ApiError::bad_request("bad-request", e.body_text()))?;
    Ok(query.token)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// `DELETE /{hash}` with a credential the tenant's auth plugin accepted for that hash.
pub struct AuthorizedDelete(pub OneHash);

impl FromRequestParts<AppState> for AuthorizedDelete {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let target = OneHash::from_request_parts(parts, state).await?;
        let token = presented_token(parts)?.unwrap_or_default();
        state
            .service
            .authorize(&target.tenant, "DELETE", &target.hash, &token)
            .await?;
        Ok(Self(target))
    }
}

/// `POST` or `PUT /{hash}` with its image (a multipart field `avatar`, or an `image/*` body),
/// read within the tenant's upload limit, and a credential the tenant's auth plugin accepted.
/// A credential in the header or the query is checked before a byte of the body is read; one
/// in the form's `token` field once the form is read.
pub struct AuthorizedUpload {
    pub target: OneHash,
    pub image: Bytes,
}

impl FromRequest<AppState> for AuthorizedUpload {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let target = OneHash::from_request_parts(&mut parts, state).await?;
        let method = parts.method.as_str().to_owned();
        let authorize = |token: String| {
            let target = &target;
            let method = &method;
            async move {
                state
                    .service
                    .authorize(&target.tenant, method, &target.hash, &token)
                    .await
            }
        };
        let early = presented_token(&parts)?;
        if let Some(token) = early.clone() {
            authorize(token).await?;
        }
        let limit = target.tenant.limits.max_upload_bytes;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let multipart = content_type.starts_with("multipart/form-data");
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let slack = if multipart { FORM_SLACK_BYTES } else { 0 };
        if declared.is_some_and(|n| n > limit.saturating_add(slack)) {
            return Err(ApiError::payload_too_large(limit));
        }
        let request = Request::from_parts(parts, body);
        let (image, form_token) = if multipart {
            let form = read_form(request, state, limit).await?;
            (form.avatar, form.token)
        } else if content_type.starts_with("image/") {
            (Some(read_body(request.into_body(), limit).await?), None)
        } else {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send multipart/form-data with an `avatar` field, or the image with an image/* content type",
            ));
        };
        if early.is_none() {
            authorize(form_token.unwrap_or_default()).await?;
        }
        let image = image.filter(|i| !i.is_empty()).ok_or_else(|| {
            ApiError::bad_request("missing-image", "the request carries no image")
        })?;
        Ok(Self { target, image })
    }
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
async fn read_form(request: Request, state: &AppState, limit: u64) -> Result<Form, ApiError> {
    let malformed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large(limit)
        } else {
            ApiError::bad_request("bad-request", format!("malformed multipart body: {e}"))
        }
    };
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::bad_request("bad-request", e.body_text()))?;
    let mut fields: HashMap<&'static str, Bytes> = HashMap::new();
    let mut total: u64 = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = match field.name() {
            Some("avatar") => Some("avatar"),
            Some("token") => Some("token"),
            _ => None,
        };
        let mut buf = BytesMut::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            total += chunk.len() as u64;
            if total > limit {
                return Err(ApiError::payload_too_large(limit));
            }
            let keep = match name {
                Some("avatar") => true,
                Some("token") => buf.len() < MAX_FORM_TOKEN_BYTES,
                _ => false,
            };
            if keep {
                buf.extend_from_slice(&chunk);
            }
        }
        match name {
            // The first `avatar` counts; a later `token` replaces an earlier one.
            Some("avatar") if fields.contains_key("avatar") => {}
            Some(name) => {
                fields.insert(name, buf.freeze());
            }
            None => {}
        }
    }
    Ok(Form {
        token: fields
            .remove("token")
            .map(|t| String::from_utf8_lossy(&t).trim().to_owned()),
        avatar: fields.remove("avatar"),
    })
}
