//! Extractors: what a request asks for, parsed and checked before its handler runs, so each
//! handler makes exactly one service call. A read's target and conditional headers
//! ([`AvatarRead`]); a hash alone ([`OneHash`]); a delete the tenant's auth plugin allowed
//! ([`AuthorizedDelete`]). Uploads have theirs in `upload.rs`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Query, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::Deserialize;

use super::AppState;
use super::accept::preferred;
use super::client::client_address;
use super::conditional::held;
use super::error::ApiError;
use crate::avatar::{AvatarHash, InvalidSize, parse_side};
use crate::rate::Action;
use crate::service::ReadRequest;
use crate::tenant::Tenant;

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

/// The path's parameters, decoded; their values are the path's segments, in order. Raw
/// parameters, because this runs for every read and they are not copied into new strings.
async fn segments(parts: &mut Parts, state: &AppState) -> Result<RawPathParams, ApiError> {
    RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::bad_request("bad-request", e.body_text()))
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
        let params = segments(parts, state).await?;
        let segments: Vec<&str> = params.iter().map(|(_, value)| value).collect();
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
            client: client_address(parts, &state.trusted_proxies),
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
        let params = segments(parts, state).await?;
        let mut values = params.iter().map(|(_, value)| value);
        match (values.next(), values.next()) {
            (Some(hash), None) => Ok(Self {
                tenant,
                hash: parse_hash(hash)?,
            }),
            _ => Err(super::not_found().await),
        }
    }
}

/// The token in `Authorization: Bearer`, else in `?token=`.
pub(super) fn presented_token(parts: &Parts) -> Result<Option<String>, ApiError> {
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

/// The token of `Authorization: Bearer`, if the request has one.
pub(super) fn bearer(headers: &HeaderMap) -> Option<String> {
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
        let client = client_address(parts, &state.trusted_proxies);
        state.service.admit(Action::Write, &target.tenant, client)?;
        let token = presented_token(parts)?.unwrap_or_default();
        state
            .service
            .authorize(&target.tenant, "DELETE", &target.hash, &token)
            .await?;
        Ok(Self(target))
    }
}

#[cfg(test)]
mod properties {
    use axum::http::{HeaderMap, HeaderValue, header};
    use proptest::prelude::*;

    use super::bearer;

    proptest! {
        /// Any `Authorization` is read; a bearer token is what follows the scheme, trimmed.
        #[test]
        fn any_authorization_is_read(value in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut headers = HeaderMap::new();
            let Ok(header_value) = HeaderValue::from_bytes(&value) else { return Ok(()) };
            headers.insert(header::AUTHORIZATION, header_value);
            if let Some(token) = bearer(&headers) {
                let text = std::str::from_utf8(&value).unwrap();
                prop_assert!(text[..7].eq_ignore_ascii_case("bearer "));
                prop_assert_eq!(token.as_str(), text[7..].trim());
            }
        }

        #[test]
        fn a_bearer_token_is_found(token in "[A-Za-z0-9._~+/=-]{1,300}") {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
            prop_assert_eq!(bearer(&headers), Some(token));
        }
    }
}
