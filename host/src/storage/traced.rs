//! Every blob store operation in a tracing span of its own (`storage.<operation>`, with the
//! backend, the key and, when it fails, the error), counted and timed in the metrics,
//! whichever backend runs it.

use async_trait::async_trait;
use bytes::Bytes;
use tracing::Instrument;

use super::{BlobReader, BlobStore, ObjectMeta, SharedStore, StorageError};

/// A store whose operations are traced.
pub(super) struct Traced {
    inner: SharedStore,
}

impl Traced {
    pub(super) fn new(inner: SharedStore) -> Self {
        Self { inner }
    }
}

/// Runs `work` in `span`, noting a failure on the span, and counts and times it in the
/// metrics.
async fn observed<T>(
    operation: &'static str,
    kind: &'static str,
    span: tracing::Span,
    work: impl std::future::Future<Output = Result<T, StorageError>>,
) -> Result<T, StorageError> {
    let started = std::time::Instant::now();
    let result = async { noted(work.await) }.instrument(span).await;
    crate::metrics::storage_op(operation, kind, result.is_ok(), started.elapsed());
    result
}

/// Records a failure on the current span before passing the result on.
fn noted<T>(result: Result<T, StorageError>) -> Result<T, StorageError> {
    if let Err(error) = &result {
        tracing::Span::current().record("error", tracing::field::display(error));
    }
    result
}

macro_rules! span {
    ($self:ident, $name:literal $(, $field:ident = $value:expr)*) => {
        tracing::debug_span!(
            $name,
            kind = $self.inner.kind()
            $(, $field = $value)*,
            error = tracing::field::Empty
        )
    };
}

#[async_trait]
impl BlobStore for Traced {
    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<(), StorageError> {
        let span = span!(self, "storage.put", key = key, bytes = bytes.len());
        observed(
            "put",
            self.inner.kind(),
            span,
            self.inner.put(key, bytes, content_type),
        )
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StorageError> {
        let span = span!(self, "storage.get", key = key);
        observed("get", self.inner.kind(), span, self.inner.get(key)).await
    }

    async fn open(&self, key: &str) -> Result<Option<BlobReader>, StorageError> {
        let span = span!(self, "storage.open", key = key);
        observed("open", self.inner.kind(), span, self.inner.open(key)).await
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let span = span!(self, "storage.delete", key = key);
        observed("delete", self.inner.kind(), span, self.inner.delete(key)).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
        let span = span!(self, "storage.list", prefix = prefix);
        observed("list", self.inner.kind(), span, self.inner.list(prefix)).await
    }

    async fn health(&self) -> Result<(), StorageError> {
        let span = span!(self, "storage.health");
        observed("health", self.inner.kind(), span, self.inner.health()).await
    }

    async fn url_for(&self, key: &str) -> Result<Option<String>, StorageError> {
        // Called for every redirect: no span, the presigned URL cache answers in memory.
        self.inner.url_for(key).await
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}
