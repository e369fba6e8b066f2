//! `GET /openapi.json`: the API's OpenAPI 3.1 document, generated (`utoipa`) from the
//! handlers' `#[utoipa::path]` descriptions and the types of the bodies they send, so it
//! cannot drift from what they do. The route templates it lists are the router's; a test
//! checks that each route is in it. Sizes are the tenant's: the document a tenant serves
//! lists its preset names beside the pixel sizes. The path parameters' patterns are set here,
//! once, for every operation that has them.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::Extension;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::AppState;
use super::{admin, avatars, gravatar, health, media, ui};
use crate::tenant::Tenant;

/// An avatar hash: 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex characters, any case.
const HASH_PATTERN: &str = "^([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$";
/// A Gravatar file: a hash and perhaps an extension the service knows.
const GRAVATAR_FILE_PATTERN: &str = "^([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})(\\.(jpg|jpeg|png|gif|webp|avif|JPG|JPEG|PNG|GIF|WEBP|AVIF))?$";
/// A size in pixels: 1 to 4096 (`avatar::MAX_REQUESTED_SIDE`), no leading zeros.
const PIXELS_PATTERN: &str = "^([1-9][0-9]{0,2}|[1-3][0-9]{3}|40[0-8][0-9]|409[0-6])$";

/// Image bytes, in the format the `Content-Type` names.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct ImageBytes(Vec<u8>);

/// An upload as `multipart/form-data`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The image: JPEG, PNG, GIF or WebP.
    #[schema(value_type = String, format = Binary)]
    avatar: Vec<u8>,
    /// The token, when not in `Authorization` or the query.
    token: Option<String>,
    /// `g` (the default), `pg`, `r` or `x`.
    rating: Option<String>,
    /// A name to draw initials from, at most 256 bytes.
    name: Option<String>,
    /// The part of the picture to keep: `x,y,width,height` in source pixels after EXIF
    /// orientation.
    #[schema(pattern = "^[0-9]{1,9},[0-9]{1,9},[0-9]{1,9},[0-9]{1,9}$")]
    crop: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "avatar",
        description = "A self-hosted avatar service. Every path also works under `/t/{tenant}/`, \
            for that tenant; root paths go to the tenant whose host names match `Host`, else \
            to the default tenant. Errors are `{\"error\": {\"code\", \"message\"}}`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        health::index,
        health::healthz,
        health::readyz,
        openapi_json,
        avatars::get_avatar,
        avatars::head_avatar,
        avatars::put_avatar,
        avatars::delete_avatar,
        avatars::get_avatar_second,
        avatars::get_avatar_backup_size,
        gravatar::get_gravatar,
        media::get_media,
        ui::edit_page,
        ui::asset,
        admin::status,
        admin::metrics,
    ),
    components(schemas(
        super::error::ErrorBody,
        super::error::ErrorDetail,
        avatars::UploadedBody,
        avatars::StoredSize,
        health::Health,
        ImageBytes,
        UploadForm,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "avatars", description = "Read, upload, replace and delete avatars"),
        (name = "gravatar", description = "Gravatar- and Libravatar-compatible URLs"),
        (name = "service", description = "The service itself"),
        (name = "page", description = "The page where people set their own avatar, and the picker element"),
        (name = "admin", description = "The admin surface: the admin listener, or the admin token"),
    ),
)]
struct ApiDoc;

/// The two bearer tokens: an upload token (a JWT the tenant's auth plugin checks), and the
/// admin token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A token for this hash and tenant (`avatar token`)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`admin.token`"))
                    .build(),
            ),
        );
    }
}

/// The document for a tenant with these size presets, as JSON.
pub fn document(presets: &BTreeMap<String, u32>) -> String {
    static BASE: OnceLock<Value> = OnceLock::new();
    let mut doc = BASE
        .get_or_init(|| serde_json::to_value(ApiDoc::openapi()).expect("the document serialises"))
        .clone();
    let names: Vec<&String> = presets.keys().collect();
    let size = json!({"oneOf": [
        {"type": "string", "pattern": PIXELS_PATTERN},
        {"type": "string", "enum": names},
    ]});
    let second = json!({"oneOf": [
        {"type": "string", "pattern": PIXELS_PATTERN},
        {"type": "string", "enum": names},
        {"type": "string", "pattern": HASH_PATTERN},
    ]});
    let operations = doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for operation in operations {
        let Some(parameters) = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for parameter in parameters.iter_mut().filter(|p| p["in"] == "path") {
            match parameter["name"].as_str() {
                Some("hash" | "backup") => parameter["schema"]["pattern"] = json!(HASH_PATTERN),
                Some("file") => parameter["schema"]["pattern"] = json!(GRAVATAR_FILE_PATTERN),
                Some("size") => parameter["schema"] = size.clone(),
                Some("second") => parameter["schema"] = second.clone(),
                _ => {}
            }
        }
    }
    serde_json::to_string_pretty(&doc).expect("the document serialises")
}

/// The route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi_json))
}

/// This document
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
)]
async fn openapi_json(Extension(tenant): Extension<Arc<Tenant>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document(&tenant.sizes.presets),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::document;

    #[test]
    fn every_route_is_described() {
        let presets = BTreeMap::from([("small".to_owned(), 128)]);
        let doc: Value = serde_json::from_str(&document(&presets)).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        for route in crate::http::observe::ROUTES {
            // The router's catch-all `{*key}` is OpenAPI's `{key}`.
            let path = route.replace("{*", "{");
            assert!(paths.contains_key(&path), "{route} is not in the document");
        }
        assert_eq!(paths.len(), crate::http::observe::ROUTES.len());
        let item = &paths["/{hash}"];
        for method in ["get", "head", "put", "post", "delete"] {
            assert!(item.get(method).is_some(), "/{{hash}} {method}");
        }
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
        let size = &paths["/{hash}/{backup}/{size}"]["get"]["parameters"][2];
        assert_eq!(size["name"], "size");
        assert_eq!(size["schema"]["oneOf"][1]["enum"][0], "small");
        let hash = &paths["/{hash}"]["delete"]["parameters"][0];
        assert_eq!(hash["name"], "hash");
        assert_eq!(hash["schema"]["pattern"], super::HASH_PATTERN);
    }
}
