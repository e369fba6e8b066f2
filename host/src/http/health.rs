//! `GET /` (what this API offers), `/healthz` (the process is up) and `/readyz` (the
//! catalog and the store answer). `/_status` is on the admin surface (`admin.rs`).

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::error::ErrorBody;

/// The body of `/healthz` and `/readyz` when they pass.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Health {
    /// `ok` or `ready`.
    status: String,
}
use crate::tenant::Tenant;

/// The routes about the service itself.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// What this API offers
///
/// The tenant, its sizes and delivery, and the endpoints, for people reading it.
#[utoipa::path(
    get,
    path = "/",
    tag = "service",
    responses((status = 200, description = "The index", body = Object)),
)]
async fn index(
    State(app): State<AppState>,
    Extension(tenant): Extension<Arc<Tenant>>,
) -> Json<Value> {
    Json(json!({
        "service": "avatar",
        "tenant": tenant.id,
        "version": env!("CARGO_PKG_VERSION"),
        "hashes": "32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex characters, case-insensitive",
        "sizes": tenant.sizes.presets,
        "default_size": tenant.sizes.name_of(tenant.sizes.default_side),
        "pixel_sizes": "1 to 4096",
        "delivery": app.service.links().delivery.name(),
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
            {"method": "*", "path": "/t/{tenant}/...", "does": "every route above, for that tenant"},
        ],
    }))
}

/// The process is up
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses((status = 200, description = "Up", body = Health, example = json!({"status": "ok"}))),
)]
async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The catalog and the store answer
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "service",
    responses(
        (status = 200, description = "Ready", body = Health, example = json!({"status": "ready"})),
        (status = 503, description = "`not-ready`, or `shutting-down` once a shutdown began", body = ErrorBody),
    ),
)]
async fn readyz(State(app): State<AppState>) -> Response {
    match app.service.ready().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(crate::service::ServiceError::ShuttingDown) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": {"code": "shutting-down", "message": "this host is shutting down"}})),
        )
            .into_response(),
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
