//! `GET /` (what this API offers), `/healthz` (the process is up), `/readyz` (the catalog
//! and the store answer) and `/_status` (the tenants' plugins, the reloads, how full the
//! caches are).

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use crate::tenant::Tenant;

/// The routes about the service itself.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/_status", get(status))
}

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
            {"method": "GET", "path": "/_status", "does": "the plugins each tenant runs and the last reload"},
            {"method": "*", "path": "/t/{tenant}/...", "does": "every route above, for that tenant"},
        ],
    }))
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(app): State<AppState>) -> Response {
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

/// The tenants' plugins (names and SHA-256s, never settings), their limits, and the reloads.
async fn status(State(app): State<AppState>) -> Json<Value> {
    let status = app.tenants.status();
    let tenants = app.tenants.current();
    let last = status.last.map(|a| {
        let mut v = json!({
            "at": httpdate::fmt_http_date(a.at),
            "trigger": a.trigger,
            "ok": a.outcome.is_ok(),
        });
        match a.outcome {
            Ok(took) => v["took_ms"] = json!(took.as_secs_f64() * 1000.0),
            Err(error) => v["error"] = json!(error),
        }
        if !a.restart_needed.is_empty() {
            v["restart_needed_for"] = json!(a.restart_needed);
        }
        v
    });
    let cache = app.service.cache_usage();
    Json(json!({
        "cache": {
            "records": cache.records,
            "max_records": cache.max_records,
            "images": cache.images,
            "image_bytes": cache.image_bytes,
            "max_image_bytes": cache.max_image_bytes,
        },
        "generation": status.generation,
        "loaded_at": httpdate::fmt_http_date(status.loaded_at),
        "last_reload": last,
        "watched": status.watched,
        "tenants": tenants.iter().map(|t| json!({
            "id": t.id,
            "default": Arc::ptr_eq(t, tenants.default_tenant()),
            "hosts": t.hosts,
            "max_concurrent_jobs": t.jobs.max(),
            "limits": limits_json(&t.pipeline.transform.limits),
            "plugins": t.plugins().into_iter().map(|(role, name, digest)| json!({
                "role": role, "plugin": name, "sha256": digest,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    }))
}

/// A plugin call's limits as `/_status` reports them (`avatar plugin check` prints the same).
fn limits_json(limits: &crate::plugin::CallLimits) -> Value {
    json!({
        "deadline_ms": limits.deadline.as_millis() as u64,
        "memory_mib": limits.memory_bytes >> 20,
        "output_mib": limits.max_output_bytes >> 20,
    })
}
