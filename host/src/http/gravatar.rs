//! `GET` and `HEAD /avatar/{hash}[.{ext}]`: the Gravatar and Libravatar URL, answered as they
//! define it, so their clients work unchanged but for the base URL. Parameters are read
//! leniently, as those services do: an out-of-range size is clamped, an unknown default or
//! rating is the default, unknown parameters are ignored.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;

use super::AppState;
use super::accept::preferred;
use super::client::client_address;
use super::conditional::{held, respond};
use super::error::{ApiError, ErrorBody};
use super::extract::tenant_of;
use super::openapi::ImageBytes;
use crate::avatar::{AvatarHash, ImageFormat, Rating, Style};
use crate::service::{Fallback, FormatWish, ReadRequest};
use crate::tenant::Tenant;

/// The side when a request names none, or one that is not a number of pixels.
pub const DEFAULT_SIDE: u32 = 80;
/// The largest side: larger requests get this.
pub const MAX_SIDE: u32 = 2048;
/// Longest `initials=` kept, in bytes.
const MAX_INITIALS_BYTES: usize = 64;
/// Longest `name=` kept, in bytes.
const MAX_NAME_BYTES: usize = 256;

/// The Gravatar route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/avatar/{file}", get(get_gravatar))
}

/// A Gravatar or Libravatar URL
///
/// Answered as those services define it, so their clients work unchanged but for the base
/// URL. Parameters are read leniently, as they do: an out-of-range size is clamped, an
/// unknown default or rating is the default, unknown parameters are ignored.
#[utoipa::path(
    get,
    path = "/avatar/{file}",
    tag = "gravatar",
    params(
        ("file" = String, Path, description = "The hash, optionally with an extension: jpg, jpeg, png, gif, webp or avif (any case)", example = "b48def645758b95537d4424c84d1a9ff.png"),
        GravatarParams,
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` seen before"),
        ("Accept" = Option<String>, Header, description = "Without an extension: `image/avif` or `image/webp` may be answered"),
    ),
    responses(
        (status = 200, description = "The image, exactly the size asked", content(
            (ImageBytes = "image/png"), (ImageBytes = "image/jpeg"), (ImageBytes = "image/gif"),
            (ImageBytes = "image/webp"), (ImageBytes = "image/avif"))),
        (status = 302, description = "`redirect` delivery, or `d=<URL>` on an allowed host", headers(("Location" = String))),
        (status = 304, description = "The client's copy is current"),
        (status = 400, description = "`invalid-hash` (also an unknown extension)", body = ErrorBody),
        (status = 404, description = "No avatar and `d=404`", body = ErrorBody),
        (status = 429, description = "`rate-limited` (a render)", body = ErrorBody),
        (status = 500, description = "A plugin or the service failed", body = ErrorBody),
        (status = 503, description = "A backend is unavailable or the tenant is suspended", body = ErrorBody),
    )
)]
async fn get_gravatar(
    State(app): State<AppState>,
    GravatarRead { tenant, request }: GravatarRead,
) -> Result<Response, ApiError> {
    let reply = app.service.read(&tenant, &request).await?;
    Ok(respond(reply, &tenant.cache_control))
}

/// Gravatar's query parameters, for the OpenAPI document (`Query` below reads them).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct GravatarParams {
    /// The side in pixels, 1 to 2048 (clamped; default 80). `size` is the same.
    s: Option<String>,
    /// What answers without an avatar: `404`, `mp`, `identicon`, `monsterid`, `wavatar`,
    /// `retro`, `robohash`, `blank`, `initials`, `color`, or a URL. `default` is the same.
    d: Option<String>,
    /// `y` answers the default even when an avatar exists. `forcedefault` is the same.
    f: Option<String>,
    /// The highest rating shown: `g`, `pg`, `r`, `x`. `rating` is the same.
    r: Option<String>,
    /// Letters for `d=initials`.
    initials: Option<String>,
    /// A name to take initials from.
    name: Option<String>,
}

/// A Gravatar request, parsed.
pub struct GravatarRead {
    pub tenant: Arc<Tenant>,
    pub request: ReadRequest,
}

impl FromRequestParts<AppState> for GravatarRead {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let tenant = tenant_of(parts);
        let Path(file) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request("bad-request", e.body_text()))?;
        let (hash, extension) = match file.rsplit_once('.') {
            Some((hash, extension)) => (hash, Some(extension)),
            None => (file.as_str(), None),
        };
        let hash = AvatarHash::parse(hash)
            .map_err(|e| ApiError::bad_request("invalid-hash", e.to_string()))?;
        let format = match extension {
            None => preferred(&parts.headers),
            Some(extension) => FormatWish::Exact(format_of(extension).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid-hash",
                    format!(
                        "unknown extension {extension:?}; use jpg, jpeg, png, gif, webp or avif"
                    ),
                )
            })?),
        };
        let query = Query::parse(parts.uri.query().unwrap_or(""));
        let request = ReadRequest {
            side: query.side(),
            fallback: query.fallback(),
            force_default: query.force_default(),
            max_rating: query.rating(),
            initials: query.text(&["initials"], MAX_INITIALS_BYTES),
            name: query.text(&["name"], MAX_NAME_BYTES),
            held: held(&parts.headers),
            client: client_address(parts, &state.trusted_proxies),
            format,
            ..ReadRequest::native(hash, None, DEFAULT_SIDE)
        };
        Ok(Self { tenant, request })
    }
}

fn format_of(extension: &str) -> Option<ImageFormat> {
    match extension.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" => Some(ImageFormat::Jpeg),
        "png" => Some(ImageFormat::Png),
        "gif" => Some(ImageFormat::Gif),
        "webp" => Some(ImageFormat::Webp),
        // Not one of Gravatar's, but the format this service can also write.
        "avif" => Some(ImageFormat::Avif),
        _ => None,
    }
}

/// The query's parameters, decoded, in order.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: &str) -> Self {
        Self(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of the first of `names` present (Gravatar's short and long names).
    fn get(&self, names: &[&str]) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.as_str())
    }

    /// `s` / `size`: 1 to 2048; larger is 2048; absent, 0, negative or not a number is 80.
    fn side(&self) -> u32 {
        let Some(value) = self.get(&["s", "size"]).map(str::trim) else {
            return DEFAULT_SIDE;
        };
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return DEFAULT_SIDE;
        }
        let digits = value.trim_start_matches('0');
        match digits.len() {
            0 => DEFAULT_SIDE,
            1..=4 => digits
                .parse::<u32>()
                .map_or(DEFAULT_SIDE, |n| n.min(MAX_SIDE)),
            _ => MAX_SIDE,
        }
    }

    /// `d` / `default`.
    fn fallback(&self) -> Fallback {
        let Some(value) = self.get(&["d", "default"]).map(str::trim) else {
            return Fallback::Tenant;
        };
        if value == "404" {
            Fallback::NotFound
        } else if value.eq_ignore_ascii_case("blank") {
            Fallback::Blank
        } else if let Some(style) = Style::parse(value) {
            Fallback::Style(style)
        } else if value.starts_with("http://") || value.starts_with("https://") {
            Fallback::Url(value.to_owned())
        } else {
            Fallback::Tenant
        }
    }

    /// `f` / `forcedefault`: `y` (or `yes`, `true`, `1`).
    fn force_default(&self) -> bool {
        self.get(&["f", "forcedefault"]).is_some_and(|v| {
            ["y", "yes", "true", "1"]
                .iter()
                .any(|y| v.trim().eq_ignore_ascii_case(y))
        })
    }

    /// `r` / `rating`: `g` when absent or unknown.
    fn rating(&self) -> Rating {
        self.get(&["r", "rating"])
            .and_then(|v| Rating::parse(v.trim()))
            .unwrap_or_default()
    }

    /// A text parameter, trimmed and cut to `max` bytes at a character boundary; `None` when
    /// absent or blank.
    fn text(&self, names: &[&str], max: usize) -> Option<String> {
        let value = self.get(names)?.trim();
        let mut end = value.len().min(max);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        let value = value[..end].trim();
        (!value.is_empty()).then(|| value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_clamped_never_refused() {
        let cases = [
            ("", 80),
            ("s=1", 1),
            ("s=80", 80),
            ("size=200", 200),
            ("s=2048", 2048),
            ("s=2049", 2048),
            ("s=999999999999999999999", 2048),
            ("s=0080", 80),
            ("s=000", 80),
            ("s=99999999999", 2048),
            ("s=0", 80),
            ("s=-5", 80),
            ("s=abc", 80),
            ("s=12.5", 80),
            ("s=%2032", 32),
            ("s=40&size=90", 40),
            ("size=90&s=40", 90),
        ];
        for (query, side) in cases {
            assert_eq!(Query::parse(query).side(), side, "{query}");
        }
    }

    #[test]
    fn defaults_forcing_and_ratings() {
        let fallback = |q: &str| Query::parse(q).fallback();
        assert_eq!(fallback(""), Fallback::Tenant);
        assert_eq!(fallback("d=404"), Fallback::NotFound);
        assert_eq!(fallback("d=mm"), Fallback::Style(Style::Mp));
        assert_eq!(
            fallback("default=identicon"),
            Fallback::Style(Style::Identicon)
        );
        assert_eq!(fallback("d=BLANK"), Fallback::Blank);
        assert_eq!(fallback("d=nonsense"), Fallback::Tenant);
        assert_eq!(
            fallback("d=https%3A%2F%2Fcdn.example.com%2Fa.png"),
            Fallback::Url("https://cdn.example.com/a.png".into())
        );
        assert_eq!(fallback("d=ftp%3A%2F%2Fx"), Fallback::Tenant);
        for (q, forced) in [
            ("f=y", true),
            ("forcedefault=Y", true),
            ("f=n", false),
            ("", false),
        ] {
            assert_eq!(Query::parse(q).force_default(), forced, "{q}");
        }
        for (q, rating) in [
            ("", Rating::G),
            ("r=pg", Rating::Pg),
            ("rating=X", Rating::X),
            ("r=nc17", Rating::G),
        ] {
            assert_eq!(Query::parse(q).rating(), rating, "{q}");
        }
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        let q = Query::parse("initials=%20JD%20&name=");
        assert_eq!(q.text(&["initials"], 64), Some("JD".into()));
        assert_eq!(q.text(&["name"], 256), None);
        let long = Query::parse(&format!("name={}", "é".repeat(200)));
        let cut = long.text(&["name"], 256).unwrap();
        assert_eq!(cut.len(), 256, "cut at a character boundary");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the query (any bytes, percent-encoded or not), it is read without a
        /// refusal: the side is always one Gravatar allows, texts stay within their bounds.
        #[test]
        fn any_query_is_read_leniently(query in "\\PC{0,200}", raw in proptest::collection::vec(any::<u8>(), 0..64)) {
            let encoded: String = form_urlencoded::byte_serialize(&raw).collect();
            for query in [query, format!("s={encoded}&d={encoded}&r={encoded}&name={encoded}")] {
                let query = Query::parse(&query);
                prop_assert!((1..=MAX_SIDE).contains(&query.side()));
                let _ = (query.fallback(), query.force_default(), query.rating());
                if let Some(text) = query.text(&["name"], MAX_NAME_BYTES) {
                    prop_assert!(!text.is_empty() && text.len() <= MAX_NAME_BYTES);
                }
            }
        }

        /// A size in digits is that size, clamped to the largest.
        #[test]
        fn digits_are_clamped(n in 1u64..10_000_000) {
            let side = Query::parse(&format!("s={n}")).side();
            prop_assert_eq!(u64::from(side), n.min(u64::from(MAX_SIDE)));
        }
    }
}
