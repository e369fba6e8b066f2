//! The one mapping from failures to HTTP: `{"error": {"code", "message"}}` with a stable
//! kebab-case code. Server-side failures are logged with the request id and answered
//! without internals.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::plugin::{AuthRejection, ImageRejection, PluginError};
use crate::rate::{Action, Bucket};
use crate::service::ServiceError;
use crate::tenant::PipelineError;

/// Every error's body, as sent (and as the OpenAPI document describes it).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable kebab-case code, such as `invalid-hash` or `rate-limited`.
    #[schema(example = "invalid-hash")]
    pub code: String,
    /// What went wrong, in words for people.
    pub message: String,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Adds `Retry-After: seconds` (at least one).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "no avatar for this hash",
        )
    }

    pub fn payload_too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            format!("the upload is larger than {limit} bytes"),
        )
    }

    /// The upload's body did not arrive within `deadline`.
    pub fn body_timeout(deadline: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "body-timeout",
            format!(
                "the upload's body did not arrive within {} s",
                deadline.as_secs_f64()
            ),
        )
    }

    /// A plugin answered something the contract rules out: logged, and a `500`.
    pub fn plugin_contract(message: String) -> Self {
        Self::internal("plugin-failed", StatusCode::INTERNAL_SERVER_ERROR, &message)
    }

    fn internal(code: &'static str, status: StatusCode, error: &dyn std::fmt::Display) -> Self {
        let id = current_request_id();
        tracing::error!(request_id = %id, %error, "request failed");
        Self::new(
            status,
            code,
            format!("the service failed to handle this request (request id {id})"),
        )
    }
}

tokio::task_local! {
    /// The id of the request being handled, also sent as `x-request-id`.
    pub(super) static REQUEST_ID: String;
}

/// The id of the request being handled, to quote in an error's message and log line.
fn current_request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "unknown".to_owned())
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let value = format!(
                r#"Bearer error="invalid_token", error_description="{}""#,
                self.code
            );
            if let Ok(value) = HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound => Self::not_found(),
            ServiceError::Auth(e) => Self::auth(e),
            ServiceError::Pipeline(e) => Self::from(e),
            ServiceError::Storage(e) if e.is_unavailable() => {
                Self::internal("storage-unavailable", StatusCode::SERVICE_UNAVAILABLE, &e)
            }
            ServiceError::Catalog(e) if e.is_unavailable() => {
                Self::internal("catalog-unavailable", StatusCode::SERVICE_UNAVAILABLE, &e)
            }
            // Logged once, when the breaker opens; not for every refused request.
            ServiceError::Suspended { retry_after, .. } => {
                let seconds = retry_after.as_secs_f64().ceil() as u64;
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "tenant-suspended",
                    format!(
                        "this tenant's plugins failed repeatedly; uploads resume in {} s at most",
                        seconds.max(1)
                    ),
                )
                .retry_after(seconds)
            }
            ServiceError::Busy { .. } => {
                Self::internal("tenant-busy", StatusCode::SERVICE_UNAVAILABLE, &error)
                    .retry_after(1)
            }
            ServiceError::RateLimited(limited) => {
                let seconds = limited.retry_after.as_secs_f64().ceil() as u64;
                let what = match limited.action {
                    Action::Write => "uploads and deletes",
                    Action::Render => "pictures made on request",
                };
                let whose = match limited.bucket {
                    Bucket::Client => "from this address",
                    Bucket::Tenant => "for this site",
                };
                Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    format!("too many {what} {whose}; retry in {} s", seconds.max(1)),
                )
                .retry_after(seconds)
            }
            ServiceError::ShuttingDown => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting-down",
                "this host is shutting down; try another",
            )
            .retry_after(1),
            other => Self::internal("internal", StatusCode::INTERNAL_SERVER_ERROR, &other),
        }
    }
}

impl ApiError {
    /// The answer to an auth plugin's verdict.
    fn auth(error: PluginError) -> Self {
        match error.as_auth_rejection().map(auth_error) {
            Some(Some(answer)) => answer,
            Some(None) => Self::internal(
                "plugin-misconfigured",
                StatusCode::INTERNAL_SERVER_ERROR,
                &error,
            ),
            None => Self::plugin_failure(&error, &error),
        }
    }

    /// The answer to a plugin that failed on the server's side; `shown` is what is logged.
    fn plugin_failure(error: &PluginError, shown: &dyn std::fmt::Display) -> Self {
        let code = match error {
            PluginError::Timeout(_) => "plugin-timeout",
            PluginError::ResourceLimit(_) => "plugin-resource-limit",
            _ => "plugin-failed",
        };
        Self::internal(code, StatusCode::INTERNAL_SERVER_ERROR, shown)
    }
}

impl From<PipelineError> for ApiError {
    /// A rejection of the client's image is a 4xx; anything else is logged with the stage and
    /// the plugin that failed, and answered without naming them.
    fn from(error: PipelineError) -> Self {
        let Some(plugin_error) = error.plugin_error() else {
            return Self::internal("plugin-failed", StatusCode::INTERNAL_SERVER_ERROR, &error);
        };
        match plugin_error.as_image_rejection().map(image_error) {
            Some(Some(answer)) => answer,
            Some(None) => Self::internal(
                "plugin-misconfigured",
                StatusCode::INTERNAL_SERVER_ERROR,
                &error,
            ),
            None => Self::plugin_failure(plugin_error, &error),
        }
    }
}

/// The client-facing answer to an auth rejection; `None` for the operator's faults.
fn auth_error(r: &AuthRejection) -> Option<ApiError> {
    use AuthRejection as R;
    let unauthorized =
        |code, message: String| ApiError::new(StatusCode::UNAUTHORIZED, code, message);
    let forbidden = |code, message: String| ApiError::new(StatusCode::FORBIDDEN, code, message);
    Some(match r {
        R::Missing => unauthorized("missing-token", "a bearer token is required".into()),
        R::Expired => unauthorized("token-expired", r.to_string()),
        R::NotYetValid => unauthorized("token-not-yet-valid", r.to_string()),
        R::BadSignature => unauthorized("bad-signature", r.to_string()),
        R::Malformed(_) | R::TooLarge | R::DisallowedAlgorithm(_) | R::MissingClaim(_) => {
            unauthorized("invalid-token", r.to_string())
        }
        R::WrongHash => forbidden("wrong-hash", r.to_string()),
        R::WrongTenant => forbidden("wrong-tenant", r.to_string()),
        R::Forbidden(_) => forbidden("forbidden", r.to_string()),
        R::Misconfigured(_) => return None,
    })
}

/// The client-facing answer to an image rejection; `None` for the operator's faults.
fn image_error(r: &ImageRejection) -> Option<ApiError> {
    use ImageRejection as R;
    Some(match r {
        R::UnsupportedFormat(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-image",
            format!("{r}; send JPEG, PNG, GIF or WebP"),
        ),
        R::Undecodable(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "undecodable-image",
            r.to_string(),
        ),
        R::TooManyPixels { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too-many-pixels",
            r.to_string(),
        ),
        R::InvalidCrop(_) => ApiError::bad_request("invalid-crop", r.to_string()),
        R::InvalidInput(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-image",
            r.to_string(),
        ),
        R::Misconfigured(_) => return None,
    })
}
