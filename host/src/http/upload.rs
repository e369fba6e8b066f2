//! The upload extractor: `POST` or `PUT /{hash}` with its image read within the tenant's
//! upload limit (refused with `413` while reading) and the body deadline (`408`), what the
//! upload says of the avatar, and the credential the tenant's auth plugin accepted. What will
//! be refused anyway (a rate limit reached, a tenant suspended or saturated) is refused
//! before the body is read or the auth plugin runs.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::Deserialize;

use super::AppState;
use super::client::client_address;
use super::error::ApiError;
use super::extract::{OneHash, presented_token};
use crate::avatar::{AvatarHash, Rating};
use crate::plugin::{Crop, Grant};
use crate::service::{MAX_NAME_BYTES, UploadAbout};

/// Longest text form field (`token`, `rating`, `name`, `crop`) accepted.
const MAX_FORM_FIELD_BYTES: usize = 16 << 10;

/// Room a multipart form gets besides its image, for boundaries and small fields.
const FORM_SLACK_BYTES: u64 = 64 << 10;

/// `POST` or `PUT /{hash}` with its image (a multipart field `avatar`, or an `image/*` body),
/// read within the tenant's upload limit, what it says of the avatar (`rating`, `name`,
/// `crop`, as form fields or query parameters), and a credential the tenant's auth plugin accepted. A
/// credential in the header or the query is checked before a byte of the body is read; one in
/// the form's `token` field once the form is read.
pub struct AuthorizedUpload {
    pub target: OneHash,
    pub image: Bytes,
    pub about: UploadAbout,
}

impl FromRequest<AppState> for AuthorizedUpload {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let target = OneHash::from_request_parts(&mut parts, state).await?;
        let client = client_address(&parts, &state.trusted_proxies);
        state.service.admit_upload(&target.tenant, client)?;
        let method = parts.method.as_str().to_owned();
        let query = UploadQuery::of(&parts)?;
        let early = presented_token(&parts)?;
        let mut grant = None;
        if let Some(token) = &early {
            grant = Some(authorize(state, &target, &method, token).await?);
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
        if !multipart && !content_type.starts_with("image/") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send multipart/form-data with an `avatar` field, or the image with an image/* content type",
            ));
        }
        let request = Request::from_parts(parts, body);
        let reading = async {
            if multipart {
                read_form(request, state, limit).await
            } else {
                Ok(Form {
                    avatar: Some(read_body(request.into_body(), limit).await?),
                    ..Form::default()
                })
            }
        };
        let deadline = state.body_read_timeout;
        let form = tokio::time::timeout(deadline, reading)
            .await
            .map_err(|_| ApiError::body_timeout(deadline))??;
        let grant = match grant {
            Some(grant) => grant,
            None => {
                let token = form.text("token").unwrap_or_default();
                authorize(state, &target, &method, &token).await?
            }
        };
        let about = about(
            &target.hash,
            form.text("rating").or(query.rating),
            form.text("name").or(query.name),
            form.text("crop").or(query.crop),
            &grant.aliases,
        )?;
        let image = form.avatar.filter(|i| !i.is_empty()).ok_or_else(|| {
            ApiError::bad_request("missing-image", "the request carries no image")
        })?;
        Ok(Self {
            target,
            image,
            about,
        })
    }
}

async fn authorize(
    state: &AppState,
    target: &OneHash,
    method: &str,
    token: &str,
) -> Result<Grant, ApiError> {
    Ok(state
        .service
        .authorize(&target.tenant, method, &target.hash, token)
        .await?)
}

/// The `rating`, `name` and `crop` query parameters of an upload.
struct UploadQuery {
    rating: Option<String>,
    name: Option<String>,
    crop: Option<String>,
}

impl UploadQuery {
    fn of(parts: &Parts) -> Result<Self, ApiError> {
        #[derive(Deserialize)]
        struct Raw {
            rating: Option<String>,
            name: Option<String>,
            crop: Option<String>,
        }
        let Query(raw) = Query::<Raw>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::bad_request("bad-request", e.body_text()))?;
        Ok(Self {
            rating: raw.rating,
            name: raw.name,
            crop: raw.crop,
        })
    }
}

/// What the upload says of its avatar, checked: a known rating, a name not too long, a crop
/// that is a rectangle, and aliases from the auth plugin that are hashes, the path's among
/// them.
fn about(
    hash: &AvatarHash,
    rating: Option<String>,
    name: Option<String>,
    crop: Option<String>,
    aliases: &[String],
) -> Result<UploadAbout, ApiError> {
    let rating = match rating.as_deref().map(str::trim) {
        None | Some("") => Rating::default(),
        Some(r) => Rating::parse(r)
            .ok_or_else(|| ApiError::bad_request("invalid-rating", "a rating is g, pg, r or x"))?,
    };
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.len() > MAX_NAME_BYTES) {
        return Err(ApiError::bad_request(
            "invalid-name",
            format!("a name is at most {MAX_NAME_BYTES} bytes"),
        ));
    }
    let crop = match crop.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(parse_crop(text).ok_or_else(|| {
            ApiError::bad_request(
                "invalid-crop",
                "a crop is `x,y,width,height` in whole source pixels, width and height at least 1",
            )
        })?),
    };
    let mut linked = Vec::with_capacity(aliases.len());
    for alias in aliases {
        let parsed = AvatarHash::parse(alias).map_err(|_| {
            ApiError::plugin_contract(format!(
                "the auth plugin named {alias:?} as an alias, which is no hash"
            ))
        })?;
        linked.push(parsed);
    }
    if !linked.is_empty() && !linked.contains(hash) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong-hash",
            "the credential vouches for an email address this hash is not one of",
        ));
    }
    linked.sort();
    linked.dedup();
    Ok(UploadAbout {
        rating,
        name,
        linked,
        crop,
    })
}

/// `x,y,width,height`: four whole numbers, the last two at least 1. Whether the rectangle
/// fits the image is the transform plugin's to say (it knows the oriented dimensions).
fn parse_crop(text: &str) -> Option<Crop> {
    let mut numbers = text.split(',').map(|n| n.trim().parse::<u32>().ok());
    let (x, y, width, height) = (
        numbers.next()??,
        numbers.next()??,
        numbers.next()??,
        numbers.next()??,
    );
    if numbers.next().is_some() || width == 0 || height == 0 {
        return None;
    }
    Some(Crop {
        x,
        y,
        width,
        height,
    })
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

#[derive(Default)]
struct Form {
    avatar: Option<Bytes>,
    /// Small text fields: `token`, `rating`, `name`, `crop`.
    fields: HashMap<&'static str, String>,
}

impl Form {
    fn text(&self, name: &str) -> Option<String> {
        self.fields.get(name).cloned()
    }
}

/// Reads a multipart form: the `avatar` file and the small text fields, skipping any other,
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
    let mut form = Form::default();
    let mut total: u64 = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = match field.name() {
            Some("avatar") => Some("avatar"),
            Some("token") => Some("token"),
            Some("rating") => Some("rating"),
            Some("name") => Some("name"),
            Some("crop") => Some("crop"),
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
                Some(_) => buf.len() < MAX_FORM_FIELD_BYTES,
                None => false,
            };
            if keep {
                buf.extend_from_slice(&chunk);
            }
        }
        match name {
            // The first `avatar` counts; a later text field replaces an earlier one.
            Some("avatar") if form.avatar.is_some() => {}
            Some("avatar") => form.avatar = Some(buf.freeze()),
            Some(name) => {
                let text = String::from_utf8_lossy(&buf).trim().to_owned();
                form.fields.insert(name, text);
            }
            None => {}
        }
    }
    Ok(form)
}
