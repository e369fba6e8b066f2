//! Every blob store operation in a tracing span of its own (`storage.<operation>`, with the
//! backend, the key and, when it fails, the error), whichever backend runs it.

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
        async { noted(self.inner.put(key, bytes, content_type).await) }
            .instrument(span)
            .await
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StorageError> {
        let span = span!(self, "storage.get", key = key);
        async { noted(self.inner.get(key).await) }
            .instrument(span)
            .await
    }

    async fn open(&self, key: &str) -> Result<Option<BlobReader>, StorageError> {
        let span = span!(self, "storage.open", key = key);
        async { noted(self.inner.open(key).await) }
            .instrument(span)
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let span = span!(self, "storage.delete", key = key);
        async { noted(self.inner.delete(key).await) }
            .instrument(span)
            .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
        let span = span!(self, "storage.list", prefix = prefix);
        async { noted(self.inner.list(prefix).await) }
            .instrument(span)
            .await
    }

    async fn health(&self) -> Result<(), StorageError> {
        let span = span!(self, "storage.health");
        async { noted(self.inner.health().await) }
            .instrument(span)
            .await
    }

    async fn url_for(&self, key: &str) -> Result<Option<String>, StorageError> {
        // Called for every redirect: no span, the presigned URL cache answers in memory.
        self.inner.url_for(key).await
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}
