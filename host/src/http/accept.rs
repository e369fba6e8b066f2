//! Which of the formats the service can negotiate a client's `Accept` header lists: AVIF and
//! WebP, named explicitly with a quality above zero (a bare `image/*` does not count: browsers
//! send it for formats they cannot show).

use axum::http::{HeaderMap, header};

use crate::service::FormatWish;

/// What the request's `Accept` allows beyond the stored format.
pub fn preferred(headers: &HeaderMap) -> FormatWish {
    let (mut avif, mut webp) = (false, false);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            avif |= media.eq_ignore_ascii_case("image/avif");
            webp |= media.eq_ignore_ascii_case("image/webp");
        }
    }
    FormatWish::Prefer { avif, webp }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn wish(accept: &[&str]) -> FormatWish {
        let mut headers = HeaderMap::new();
        for a in accept {
            headers.append(header::ACCEPT, HeaderValue::from_str(a).unwrap());
        }
        preferred(&headers)
    }

    #[test]
    fn explicit_formats_with_a_positive_quality_count() {
        let cases: &[(&[&str], bool, bool)] = &[
            (&[], false, false),
            (&["*/*"], false, false),
            (&["image/*,*/*;q=0.8"], false, false),
            (
                &["image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"],
                true,
                true,
            ),
            (&["image/webp,*/*"], false, true),
            (&["IMAGE/AVIF"], true, false),
            (&["image/avif;q=0, image/webp;q=0.5"], false, true),
            (&["image/avif", "image/webp"], true, true),
            (&["image/avifx, text/image/webp"], false, false),
        ];
        for (accept, avif, webp) in cases {
            assert_eq!(
                wish(accept),
                FormatWish::Prefer {
                    avif: *avif,
                    webp: *webp
                },
                "{accept:?}"
            );
        }
    }
}

#[cfg(test)]
mod properties {
    use axum::http::{HeaderMap, HeaderValue, header};
    use proptest::prelude::*;

    use super::preferred;
    use crate::service::FormatWish;

    proptest! {
        /// Any `Accept` is read; AVIF is offered only when the header names it.
        #[test]
        fn any_accept_is_read(accept in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_bytes(&accept) {
                headers.insert(header::ACCEPT, value);
            }
            let FormatWish::Prefer { avif, webp } = preferred(&headers) else {
                return Err(TestCaseError::fail("not a preference"));
            };
            let text = String::from_utf8_lossy(&accept).to_ascii_lowercase();
            prop_assert!(!avif || text.contains("image/avif"));
            prop_assert!(!webp || text.contains("image/webp"));
        }
    }
}
