//! `GET /` (what this API offers), `/healthz` (the process is up) and `/readyz` (the
//! catalog and the store answer).

use axum::Json;
use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use crate::tenant::Tenant;

pub async fn index(
    State(app): State<AppState>,
    Extension(tenant): Extension<Arc<Tenant>>,
) -> Json<Value> {
    Json(json!({
        "service": "avatar",
        "tenant": tenant.id,
        "version": env!("CARGO_PKG_VERSION"),
        "hashes": "32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex characters, case-insensitive",
        "sizes": tenant.sizes,
        "default_size": tenant.size_name(tenant.default_side),
        "pixel_sizes": "1 to 4096",
        "delivery": match app.delivery {
            crate::config::Delivery::Proxy => "proxy",
            crate::config::Delivery::Redirect => "redirect",
        },
        "endpoints": [
            {"method": "GET", "path": "/{hash}", "does": "the avatar at the default size"},
            {"method": "GET", "path": "/{hash}/{size}", "does": "the avatar at a named size or in pixels"},
            {"method": "GET", "path": "/{hash}/{backup}", "does": "the avatar, else the backup hash's avatar"},
            {"method": "GET", "path": "/{hash}/{backup}/{size}", "does": "both of the above"},
            {"method": "HEAD", "path": "/{hash}", "does": "204 if the avatar exists, 404 if not"},
            {"method": "POST", "path": "/{hash}", "does": "upload (multipart field `avatar`, or an image/* body); token in `Authorization: Bearer`, `?token=` or the `token` field"},
            {"method": "PUT", "path": "/{hash}", "does": "same as POST"},
            {"method": "DELETE", "path": "/{hash}", "does": "delete the avatar and every stored file"},
            {"method": "GET", "path": "/healthz", "does": "200 when the process is up"},
            {"method": "GET", "path": "/readyz", "does": "200 when the catalog and the store answer"},
            {"method": "GET", "path": "/_status", "does": "the plugins each tenant runs and the last reload"},
            {"method": "*", "path": "/t/{tenant}/...", "does": "every route above, for that tenant"},
        ],
    }))
}

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(app): State<AppState>) -> Response {
    match app.service.ready().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": {"code": "not-ready", "message": "the catalog or the store does not answer"}})),
            )
                .into_response()
        }
    }
}

/// The tenants' plugins (names and SHA-256s, never settings) and the last reload.
pub async fn status(State(app): State<AppState>) -> Json<Value> {
    Json(app.tenants.status())
}
