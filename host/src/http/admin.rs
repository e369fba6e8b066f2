//! The admin surface: `GET /_status` (the tenants, their plugins and host names, the reloads,
//! the caches) and `GET /metrics` (Prometheus text). Both tell strangers more than they
//! should know, so they answer on the admin listener (`admin.listen`), and on the public one
//! only to a request bearing the admin token; without it they are `404`, like any unknown
//! path.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::bearer;

/// The admin routes, open: for the admin listener.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_status", get(status))
        .route("/metrics", get(metrics))
}

/// The admin routes on the public listener: only with the admin token.
pub fn guarded(state: AppState) -> Router<AppState> {
    routes().route_layer(middleware::from_fn_with_state(state, require_token))
}

/// `404` unless the request bears the admin token (`Authorization: Bearer`).
async fn require_token(State(app): State<AppState>, request: Request, next: Next) -> Response {
    match (&app.admin_token, bearer(request.headers())) {
        (Some(expected), Some(token)) if same_secret(expected, &token) => next.run(request).await,
        _ => ApiError::not_found().into_response(),
    }
}

/// Compares digests, so the time taken says nothing about how much of the token matched.
fn same_secret(expected: &str, presented: &str) -> bool {
    Sha256::digest(expected.as_bytes()) == Sha256::digest(presented.as_bytes())
}

/// Prometheus metrics
///
/// On the admin listener; on this one only with the admin token, else `404`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "admin",
    params(("Authorization" = Option<String>, Header, description = "`Bearer <admin.token>`, on the public listener")),
    responses(
        (status = 200, description = "The Prometheus text format", body = String, content_type = "text/plain"),
        (status = 404, description = "No admin token, or metrics are off (`metrics-off`)", body = ErrorBody),
    ),
)]
async fn metrics() -> Response {
    match crate::metrics::render() {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            text,
        )
            .into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "metrics-off",
            "metrics are turned off (admin.metrics)",
        )
        .into_response(),
    }
}

/// The tenants' plugins (names and SHA-256s, never settings), their limits, and the reloads.
/// The tenants, their plugins, the reloads and the caches
///
/// On the admin listener; on this one only with the admin token, else `404`.
#[utoipa::path(
    get,
    path = "/_status",
    tag = "admin",
    params(("Authorization" = Option<String>, Header, description = "`Bearer <admin.token>`, on the public listener")),
    responses(
        (status = 200, description = "The status", body = Object),
        (status = 404, description = "No admin token", body = ErrorBody),
    ),
)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_opens() {
        assert!(same_secret("s3cret-token", "s3cret-token"));
        assert!(!same_secret("s3cret-token", "s3cret-toke"));
        assert!(!same_secret("s3cret-token", ""));
    }
}
