//! Conditional requests and image answers, in one place for every route that serves images:
//! what the client holds (`If-None-Match`, `If-Modified-Since`), and the `200` with the
//! bytes and validators, the `304` without them, or the redirect.

use std::fmt::Write;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::error::ApiError;
use crate::avatar::{Etags, Held, Validators};
use crate::service::{Answer, Content, Reply};

/// What the client holds, from its conditional headers.
pub fn held(headers: &HeaderMap) -> Held {
    let etags = headers
        .get(header::IF_NONE_MATCH)
        .map(|value| match value.to_str() {
            Ok(v) if v.trim() == "*" => Etags::Any,
            Ok(v) => Etags::List(
                v.split(',')
                    .map(str::trim)
                    .map(|tag| tag.strip_prefix("W/").unwrap_or(tag))
                    .filter_map(|tag| tag.strip_prefix('"')?.strip_suffix('"'))
                    .map(str::to_owned)
                    .collect(),
            ),
            // Not text: matches nothing.
            Err(_) => Etags::List(Vec::new()),
        });
    let modified_since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    Held {
        etags,
        modified_since,
    }
}

/// The response to `reply`: an image served with `cache_control`, a `304`, a redirect to a
/// variant that is not cached (a replacement points it elsewhere and removes its old target),
/// or a redirect to a default elsewhere, cached like an image. A negotiated answer varies on
/// `Accept`.
pub fn respond(reply: Reply, cache_control: &HeaderValue) -> Response {
    let mut response = answer(reply.answer, cache_control);
    if reply.negotiated {
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("accept"));
    }
    response
}

/// Room for every header an image response gets here and on its way out (`edge`'s CORS and
/// request id), so the map is allocated once rather than grown while they are added.
const IMAGE_HEADERS: usize = 12;

fn answer(answer: Answer, cache_control: &HeaderValue) -> Response {
    let (validators, format, content) = match answer {
        Answer::Redirect { location } => {
            return redirect(location, HeaderValue::from_static("no-cache"));
        }
        Answer::Elsewhere { location } => return redirect(location, cache_control.clone()),
        Answer::Image {
            validators,
            format,
            content,
        } => (validators, format, content),
    };
    let mut headers = HeaderMap::with_capacity(IMAGE_HEADERS);
    let status = match content {
        None => StatusCode::NOT_MODIFIED,
        Some(content) => {
            let media_type = format.media_type().unwrap_or("application/octet-stream");
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(content.len()));
            validated(&mut headers, &validators, cache_control);
            let body = match content {
                Content::Whole(bytes) => Body::from(bytes),
                Content::Streaming { body, .. } => Body::from_stream(body),
            };
            let mut response = Response::new(body);
            *response.headers_mut() = headers;
            return response;
        }
    };
    validated(&mut headers, &validators, cache_control);
    (status, headers).into_response()
}

/// A `302` to `location`. A location that is no header value (a bug in whatever built it)
/// is a `500`.
fn redirect(location: String, cache_control: HeaderValue) -> Response {
    let Ok(location) = HeaderValue::try_from(location) else {
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the redirect's location is not a valid header value",
        )
        .into_response();
    };
    let mut headers = HeaderMap::with_capacity(IMAGE_HEADERS);
    headers.insert(header::LOCATION, location);
    headers.insert(header::CACHE_CONTROL, cache_control);
    (StatusCode::FOUND, headers).into_response()
}

/// The validators and caching headers of an image answer (`200` or `304`), each value
/// written once into a buffer of its size.
fn validated(headers: &mut HeaderMap, validators: &Validators, cache_control: &HeaderValue) {
    let etag = ["\"", validators.etag.as_str(), "\""].concat();
    if let Ok(etag) = HeaderValue::from_maybe_shared(Bytes::from(etag)) {
        headers.insert(header::ETAG, etag);
    }
    // An HTTP date is always 29 bytes: `Sun, 06 Nov 1994 08:49:37 GMT`.
    let mut modified = String::with_capacity(29);
    let _ = write!(
        modified,
        "{}",
        httpdate::HttpDate::from(validators.modified)
    );
    if let Ok(modified) = HeaderValue::try_from(modified) {
        headers.insert(header::LAST_MODIFIED, modified);
    }
    headers.insert(header::CACHE_CONTROL, cache_control.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), HeaderValue::from_str(v).unwrap()))
            .collect()
    }

    #[test]
    fn if_none_match_lists_are_read_weakly() {
        let h = held(&headers(&[(
            header::IF_NONE_MATCH,
            r#""a", W/"b" , c, "d""#,
        )]));
        assert_eq!(
            h.etags,
            Some(Etags::List(vec!["a".into(), "b".into(), "d".into()]))
        );
        assert_eq!(
            held(&headers(&[(header::IF_NONE_MATCH, " * ")])).etags,
            Some(Etags::Any)
        );
        let dated = held(&headers(&[(
            header::IF_MODIFIED_SINCE,
            "Sat, 28 Nov 2026 17:45:01 GMT",
        )]));
        assert!(dated.etags.is_none() && dated.modified_since.is_some());
        assert_eq!(held(&HeaderMap::new()), Held::nothing());
    }
}

#[cfg(test)]
mod properties {
    use axum::http::{HeaderMap, HeaderValue, header};
    use proptest::prelude::*;

    use super::held;
    use crate::avatar::Etags;

    proptest! {
        /// Any bytes in the conditional headers are read without failing; each tag kept was
        /// quoted in the header.
        #[test]
        fn any_conditional_headers_are_read(
            etags in proptest::collection::vec(any::<u8>(), 0..120),
            since in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_bytes(&etags) {
                headers.insert(header::IF_NONE_MATCH, value);
            }
            if let Ok(value) = HeaderValue::from_bytes(&since) {
                headers.insert(header::IF_MODIFIED_SINCE, value);
            }
            let held = held(&headers);
            if let Some(Etags::List(tags)) = held.etags {
                let text = String::from_utf8_lossy(&etags);
                for tag in tags {
                    let quoted = format!("\"{tag}\"");
                    prop_assert!(text.contains(&quoted));
                }
            }
        }
    }
}
