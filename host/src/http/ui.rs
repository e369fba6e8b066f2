//! The self-service page where people set their own avatar from a link the app hands them
//! (`GET /_ui/edit`), and the files it and the `<avatar-picker>` element load
//! (`GET /_ui/{asset}`). All of them are `assets/ui/`, built into the binary; the page is a
//! template filled per request with the tenant's facts. Its headers keep it strict: scripts
//! and styles only from these files, framing only by the tenant's origins, no referrer.

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::conditional::held;
use super::error::{ApiError, ErrorBody};
use crate::avatar::etag_of;
use crate::config::{Delivery, origin_of};
use crate::tenant::{Cors, Tenant};

/// The page, with `{{name}}` placeholders (see [`fill`]).
const PAGE: &str = include_str!("../../../assets/ui/edit.html");

/// A file the page or the picker loads.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "edit.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../../assets/ui/edit.js"),
    },
    Asset {
        name: "edit.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../../assets/ui/edit.css"),
    },
    Asset {
        name: "avatar-picker.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../../assets/ui/avatar-picker.js"),
    },
];

/// Strong `ETag`s of [`ASSETS`], unquoted, in the same order.
static ETAGS: LazyLock<Vec<String>> =
    LazyLock::new(|| ASSETS.iter().map(|a| etag_of(a.body.as_bytes())).collect());

/// How long browsers keep an asset before asking again (with its `ETag`): short, so that an
/// upgraded binary's page never runs with old scripts for long.
const ASSET_CACHE: &str = "public, max-age=300";

/// The path prefix (`/t/{tenant}`) a request came in under, as the edge removed it.
#[derive(Debug, Clone)]
pub struct TenantPrefix(pub String);

/// The page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_ui/edit", get(edit_page))
        .route("/_ui/{asset}", get(asset))
}

/// The page where a person sets their own avatar
///
/// Opened from a link the app makes with a short-lived token for the person's hash. The page
/// moves the token out of the address bar at once and sends it only as a bearer header.
#[utoipa::path(
    get,
    path = "/_ui/edit",
    tag = "page",
    params(
        ("token" = Option<String>, Query, description = "The upload token for the person's hash (read by the page, never by the server)"),
        ("hash" = Option<String>, Query, description = "The hash, when the token does not name one"),
        ("return" = Option<String>, Query, description = "Where the page's back link goes; honoured on the tenant's allowed origins only"),
        ("origin" = Option<String>, Query, description = "The origin of the page embedding this one (the picker element); honoured on the tenant's allowed origins only"),
    ),
    responses(
        (status = 200, description = "The page", content_type = "text/html",
            headers(("Content-Security-Policy" = String))),
    )
)]
async fn edit_page(
    State(app): State<AppState>,
    Extension(tenant): Extension<Arc<Tenant>>,
    prefix: Option<Extension<TenantPrefix>>,
    uri: Uri,
) -> Response {
    let mut asked_return = None;
    let mut asked_origin = None;
    for (key, value) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match &*key {
            "return" => asked_return = Some(value.into_owned()),
            "origin" => asked_origin = Some(value.into_owned()),
            _ => {}
        }
    }
    let back = asked_return.filter(|url| origin_of(url).is_some_and(|o| tenant.cors.admits(o)));
    let embedder = asked_origin
        .filter(|o| origin_of(o) == Some(o.as_str()) && tenant.cors.admits(o) && o != "*");
    let base = prefix.map(|Extension(p)| p.0).unwrap_or_default();
    let sizes: Vec<String> = {
        let mut sides: Vec<u32> = tenant.sizes.presets.values().copied().collect();
        sides.sort_unstable();
        sides.dedup();
        sides.iter().map(u32::to_string).collect()
    };
    let page = fill(&[
        ("base", &base),
        ("tenant", &tenant.id),
        ("sizes", &sizes.join(",")),
        ("size", &tenant.sizes.default_side.to_string()),
        ("max_bytes", &tenant.limits.max_upload_bytes.to_string()),
        ("max_pixels", &tenant.limits.decodable_pixels().to_string()),
        ("return", back.as_deref().unwrap_or("")),
        ("origin", embedder.as_deref().unwrap_or("")),
    ]);
    let mut response = (StatusCode::OK, page).into_response();
    let headers = response.headers_mut();
    let policy = policy(&tenant.cors, app.service.links().delivery);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if matches!(tenant.cors, Cors::Origins(_)) {
        // For browsers without CSP's `frame-ancestors`, which every current one obeys
        // instead of this header when both are present.
        headers.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
    }
    response
}

/// The page's Content-Security-Policy: its own scripts, styles and API only; images also as
/// the `blob:` and `data:` URLs the previews are, and (in `redirect` delivery, whose
/// answers point at the store or a CDN) from anywhere; framed by the tenant's origins only.
fn policy(cors: &Cors, delivery: Delivery) -> String {
    let images = match delivery {
        Delivery::Proxy => "'self' blob: data:",
        Delivery::Redirect => "'self' blob: data: https: http:",
    };
    let ancestors = match cors {
        Cors::Any => "*".to_owned(),
        Cors::Origins(list) => {
            let mut sources = vec!["'self'"];
            sources.extend(
                list.iter()
                    .map(String::as_str)
                    .filter(|o| origin_of(o) == Some(*o)),
            );
            sources.join(" ")
        }
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src {images}; \
         connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors {ancestors}"
    )
}

/// [`PAGE`] with each `{{name}}` replaced by its value, escaped for HTML text and attributes.
fn fill(values: &[(&str, &str)]) -> String {
    let mut page = PAGE.to_owned();
    for (name, value) in values {
        page = page.replace(&format!("{{{{{name}}}}}"), &escape(value));
    }
    page
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A script or style sheet of the page or the picker element
///
/// `edit.js` and `edit.css` (the page's), `avatar-picker.js` (the `<avatar-picker>` element
/// apps load as a module script; readable from any origin).
#[utoipa::path(
    get,
    path = "/_ui/{asset}",
    tag = "page",
    params(
        ("asset" = String, Path, description = "`edit.js`, `edit.css` or `avatar-picker.js`"),
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` seen before"),
    ),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/javascript"), (String = "text/css")),
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "The client's copy is current"),
        (status = 404, description = "No such file", body = ErrorBody),
    )
)]
async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (index, asset) = ASSETS
        .iter()
        .enumerate()
        .find(|(_, a)| a.name == name)
        .ok_or_else(ApiError::not_found)?;
    let etag = &ETAGS[index];
    let mut response = if held(&headers).names(etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, asset.body).into_response()
    };
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(ASSET_CACHE));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        out.insert(header::ETAG, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_for_attributes() {
        assert_eq!(
            escape(r#"https://a.test/?x="><script>&'"#),
            "https://a.test/?x=&quot;&gt;&lt;script&gt;&amp;&#39;"
        );
    }

    #[test]
    fn framing_follows_the_tenants_origins() {
        let listed = Cors::Origins(vec![
            "https://app.test".into(),
            "http://localhost:3000".into(),
        ]);
        let p = policy(&listed, Delivery::Proxy);
        assert!(
            p.ends_with("frame-ancestors 'self' https://app.test http://localhost:3000"),
            "{p}"
        );
        assert!(p.contains("script-src 'self';"), "{p}");
        assert!(policy(&Cors::Any, Delivery::Proxy).ends_with("frame-ancestors *"));
        assert!(
            policy(&Cors::Any, Delivery::Redirect)
                .contains("img-src 'self' blob: data: https: http:;")
        );
    }

    #[test]
    fn every_placeholder_of_the_page_is_filled() {
        let names = [
            "base",
            "tenant",
            "sizes",
            "size",
            "max_bytes",
            "max_pixels",
            "return",
            "origin",
        ];
        let values: Vec<(&str, &str)> = names.iter().map(|n| (*n, "v")).collect();
        let page = fill(&values);
        assert!(!page.contains("{{"), "a placeholder is left in the page");
    }
}
