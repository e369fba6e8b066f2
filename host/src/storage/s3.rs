//! Objects in an S3-compatible bucket (AWS S3, Garage, MinIO, R2) through `aws-sdk-s3`, with
//! bounded retries (the SDK's standard mode backs off on throttling and 5xx) and timeouts on
//! every call. Credentials come from the configuration, or from the SDK's default chain
//! (environment, profile); they are never logged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use super::config::S3Config;
use super::presigned::PresignedUrls;
use super::{BlobReader, BlobStore, ObjectMeta, StorageError, validate_key};

/// `Cache-Control` stored with every object: keys are versioned, so their bytes never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Presigned URLs kept for reuse (a few hundred bytes each).
const PRESIGNED_URLS_KEPT: usize = 50_000;

/// A [`BlobStore`] in an S3 bucket.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    public_url: Option<String>,
    presign_ttl: Duration,
    presigned: Arc<PresignedUrls>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// Connects to the bucket `settings` name (credentials from the settings or their files,
    /// else the SDK's default chain).
    pub async fn connect(settings: &S3Config) -> Result<Self, StorageError> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()));
        if settings.has_half_credentials() {
            return Err(StorageError::Config(
                "set both access_key_id and secret_access_key (or their files), or neither".into(),
            ));
        }
        let credentials = settings
            .credentials()
            .map_err(|e| StorageError::Config(e.to_string()))?;
        if let Some((id, secret)) = credentials {
            loader = loader.credentials_provider(Credentials::new(
                id,
                secret,
                None,
                None,
                "avatar-config",
            ));
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.path_style)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(settings.max_attempts.max(1))
                    .with_initial_backoff(Duration::from_millis(100)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(settings.attempt_timeout())
                    .operation_timeout(settings.operation_timeout())
                    .build(),
            );
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Ok(Self {
            client: Client::from_conf(config.build()),
            bucket: settings.bucket.clone(),
            prefix: settings.prefix.clone(),
            public_url: settings
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_owned()),
            presign_ttl: settings.presign_ttl(),
            presigned: Arc::new(PresignedUrls::new(
                settings.presign_ttl(),
                PRESIGNED_URLS_KEPT,
            )),
        })
    }

    fn object_key(&self, key: &str) -> Result<String, StorageError> {
        validate_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    /// The object under `key` with its body not yet read, or `None` when there is none.
    async fn get_object(&self, key: &str) -> Result<Option<GetObjectOutput>, StorageError> {
        let key = self.object_key(key)?;
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(output) => Ok(Some(output)),
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => Ok(None),
            Err(e) => Err(fail("get an object")(e)),
        }
    }
}

fn body_failed(e: impl std::error::Error + Send + Sync + 'static) -> StorageError {
    StorageError::Unavailable {
        message: "reading an object's body failed".into(),
        source: Some(Box::new(e)),
    }
}

/// Maps an SDK error: no answer, a timeout, throttling or a 5xx means the store is
/// unavailable (retry later); anything else is a backend failure.
fn fail<E, R>(what: &'static str) -> impl FnOnce(SdkError<E, R>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |e| {
        let unavailable = match &e {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => true,
            SdkError::ResponseError(_) => true,
            SdkError::ServiceError(service) => {
                let code = service.err().code().unwrap_or_default();
                matches!(
                    code,
                    "SlowDown" | "ServiceUnavailable" | "InternalError" | "RequestTimeout"
                )
            }
            _ => false,
        };
        let message = format!(
            "cannot {what}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&e)
        );
        if unavailable {
            StorageError::Unavailable {
                message,
                source: Some(Box::new(e)),
            }
        } else {
            StorageError::Backend {
                message,
                source: Some(Box::new(e)),
            }
        }
    }
}

#[async_trait]
impl BlobStore for S3Store {
    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<(), StorageError> {
        let key = self.object_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(content_type)
            .cache_control(IMMUTABLE)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(fail("put an object"))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StorageError> {
        let Some(output) = self.get_object(key).await? else {
            return Ok(None);
        };
        let body = output.body.collect().await.map_err(body_failed)?;
        Ok(Some(body.into_bytes()))
    }

    async fn open(&self, key: &str) -> Result<Option<BlobReader>, StorageError> {
        let Some(output) = self.get_object(key).await? else {
            return Ok(None);
        };
        let len = output
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| StorageError::Backend {
                message: format!("object {key} came without a length"),
                source: None,
            })?;
        let body = futures_util::stream::unfold(output.body, |mut body| async move {
            let chunk = body.next().await?;
            Some((chunk.map_err(body_failed), body))
        });
        Ok(Some(BlobReader {
            len,
            body: Box::pin(body),
        }))
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let key = self.object_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(fail("delete an object"))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
        let full = format!("{}{prefix}", self.prefix);
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&full)
            .into_paginator()
            .send();
        let mut objects = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(fail("list objects"))?;
            for object in page.contents() {
                let Some(key) = object.key().and_then(|k| k.strip_prefix(&self.prefix)) else {
                    continue;
                };
                objects.push(ObjectMeta {
                    key: key.to_owned(),
                    bytes: object
                        .size()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0),
                });
            }
        }
        Ok(objects)
    }

    async fn health(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(fail("reach the bucket"))?;
        Ok(())
    }

    async fn url_for(&self, key: &str) -> Result<Option<String>, StorageError> {
        let object_key = self.object_key(key)?;
        if let Some(base) = &self.public_url {
            return Ok(Some(format!("{base}/{object_key}")));
        }
        let now = Instant::now();
        if let Some(url) = self.presigned.get(&object_key, now) {
            return Ok(Some(url));
        }
        let config =
            PresigningConfig::expires_in(self.presign_ttl).map_err(|e| StorageError::Backend {
                message: "invalid presign lifetime".into(),
                source: Some(Box::new(e)),
            })?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&object_key)
            .presigned(config)
            .await
            .map_err(fail("presign a URL"))?;
        let url = request.uri().to_owned();
        self.presigned.put(&object_key, url.clone(), now);
        Ok(Some(url))
    }

    fn kind(&self) -> &'static str {
        "s3"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conforms() {
        let Some(settings) = crate::test_services::s3_config() else {
            return;
        };
        let store = S3Store::connect(&settings).await.unwrap();
        store.health().await.unwrap();
        super::super::suite::run(&store).await;
    }

    #[tokio::test]
    async fn redirect_urls_are_presigned_or_public() {
        let Some(mut settings) = crate::test_services::s3_config() else {
            return;
        };
        let store = S3Store::connect(&settings).await.unwrap();
        let url = store.url_for("t/ab/cd/x.png").await.unwrap().unwrap();
        assert!(url.contains("X-Amz-Signature="), "{url}");
        assert!(
            url.contains(&format!("{}t/ab/cd/x.png", settings.prefix)),
            "{url}"
        );
        assert_eq!(
            store.url_for("t/ab/cd/x.png").await.unwrap().unwrap(),
            url,
            "signed once, reused while it has at least half its lifetime left"
        );
        let other = store.url_for("t/ab/cd/y.png").await.unwrap().unwrap();
        assert!(other.contains("t/ab/cd/y.png") && other.contains("X-Amz-Signature="));
        settings.public_url = Some("https://cdn.example/".into());
        let store = S3Store::connect(&settings).await.unwrap();
        assert_eq!(
            store.url_for("t/ab/cd/x.png").await.unwrap().unwrap(),
            format!("https://cdn.example/{}t/ab/cd/x.png", settings.prefix)
        );
    }

    #[tokio::test]
    async fn an_unreachable_store_is_unavailable_quickly() {
        let settings: S3Config = serde_json::from_value(serde_json::json!({
            "bucket": "b", "region": "garage", "endpoint": "http://127.0.0.1:1",
            "path_style": true, "access_key_id": "GK0", "secret_access_key": "s",
            "presign_seconds": 60, "timeout_ms": 500, "max_attempts": 2,
        }))
        .unwrap();
        let store = S3Store::connect(&settings).await.unwrap();
        let started = std::time::Instant::now();
        let error = store.get("t/a.png").await.unwrap_err();
        assert!(error.is_unavailable(), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
