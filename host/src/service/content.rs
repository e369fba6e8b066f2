//! The bytes of an answer: in memory (cached, or a default), or streamed from the blob store
//! as they arrive; a streamed object small enough for the image cache is kept there once its
//! last byte went out.

use bytes::{Bytes, BytesMut};
use futures_util::stream::{BoxStream, StreamExt};

use super::{Service, ServiceError};
use crate::storage::{BlobReader, StorageError};

/// The bytes of an image to answer with: in memory (cached, or a default), or streaming from
/// the blob store as they arrive.
pub enum Content {
    Whole(Bytes),
    Streaming {
        len: u64,
        body: BoxStream<'static, Result<Bytes, StorageError>>,
    },
}

impl Content {
    pub fn len(&self) -> u64 {
        match self {
            Self::Whole(bytes) => bytes.len() as u64,
            Self::Streaming { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads it all (for callers that need the bytes, such as tests).
    pub async fn collect(self) -> Result<Bytes, StorageError> {
        match self {
            Self::Whole(bytes) => Ok(bytes),
            Self::Streaming { len, mut body } => {
                let mut buf = BytesMut::with_capacity(usize::try_from(len).unwrap_or(0));
                while let Some(chunk) = body.next().await {
                    buf.extend_from_slice(&chunk?);
                }
                Ok(buf.freeze())
            }
        }
    }
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Whole(b) => f.debug_tuple("Whole").field(&b.len()).finish(),
            Self::Streaming { len, .. } => f.debug_struct("Streaming").field("len", len).finish(),
        }
    }
}

impl Service {
    /// The object stored under `key`: from the image cache, or streamed from the store (and
    /// kept in the cache once fully read, when small enough).
    pub(super) async fn open_object(&self, key: &str) -> Result<Option<Content>, ServiceError> {
        if let Some(bytes) = self.cache.image(key) {
            return Ok(Some(Content::Whole(bytes)));
        }
        let Some(BlobReader { len, body }) = self.store.open(key).await? else {
            return Ok(None);
        };
        if !self.cache.admits_image(len) {
            return Ok(Some(Content::Streaming { len, body }));
        }
        // Pass every chunk on as it comes, keeping a copy; the whole object goes into the cache
        // as soon as its last byte has arrived (the HTTP layer stops polling once it has sent
        // `len` bytes, so the end of the stream may never be seen).
        let keep = (
            BytesMut::with_capacity(usize::try_from(len).unwrap_or(0)),
            self.cache.clone(),
            key.to_owned(),
        );
        let body =
            futures_util::stream::unfold(Some((body, Some(keep))), move |state| async move {
                let (mut body, mut keep) = state?;
                match body.next().await {
                    Some(Ok(chunk)) => {
                        if let Some((copy, _, _)) = &mut keep {
                            copy.extend_from_slice(&chunk);
                            if copy.len() as u64 >= len {
                                let (copy, cache, key) = keep.take().expect("kept");
                                if copy.len() as u64 == len {
                                    cache.put_image(&key, copy.freeze());
                                }
                            }
                        }
                        Some((Ok(chunk), Some((body, keep))))
                    }
                    Some(Err(e)) => Some((Err(e), None)),
                    None => None,
                }
            });
        Ok(Some(Content::Streaming {
            len,
            body: body.boxed(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use std::sync::Arc;

    use super::*;
    use crate::cache::Cache;
    use crate::catalog::SqliteCatalog;
    use crate::service::{Links, Service};
    use crate::storage::{BlobStore, FsStore, ObjectMeta};

    /// The filesystem store, counting how often an object is opened.
    struct Counting {
        inner: FsStore,
        opens: AtomicUsize,
    }

    #[async_trait]
    impl BlobStore for Counting {
        async fn put(&self, key: &str, bytes: Bytes, ct: &str) -> Result<(), StorageError> {
            self.inner.put(key, bytes, ct).await
        }
        async fn get(&self, key: &str) -> Result<Option<Bytes>, StorageError> {
            self.inner.get(key).await
        }
        async fn open(&self, key: &str) -> Result<Option<BlobReader>, StorageError> {
            self.opens.fetch_add(1, Ordering::Relaxed);
            self.inner.open(key).await
        }
        async fn delete(&self, key: &str) -> Result<(), StorageError> {
            self.inner.delete(key).await
        }
        async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
            self.inner.list(prefix).await
        }
        async fn health(&self) -> Result<(), StorageError> {
            self.inner.health().await
        }
        fn kind(&self) -> &'static str {
            "counting"
        }
    }

    /// Reads `len` bytes of a streamed answer and then stops, as the HTTP layer does once it
    /// has sent `Content-Length` bytes: the end of the stream is never polled.
    async fn read_like_http(content: Content) -> Vec<u8> {
        match content {
            Content::Whole(bytes) => bytes.to_vec(),
            Content::Streaming { len, mut body } => {
                let mut out = Vec::new();
                while (out.len() as u64) < len {
                    out.extend_from_slice(&body.next().await.expect("more bytes").unwrap());
                }
                out
            }
        }
    }

    #[tokio::test]
    async fn a_streamed_object_is_cached_once_its_last_byte_went_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Counting {
            inner: FsStore::open(dir.path().join("images")).unwrap(),
            opens: AtomicUsize::new(0),
        });
        let catalog = Arc::new(SqliteCatalog::open(dir.path().join("avatar.db")).unwrap());
        let links = Links {
            delivery: crate::config::Delivery::Proxy,
            public_base: "http://test".into(),
        };
        let service = Service::new(catalog, store.clone(), Cache::new(100, 1 << 20), links);
        let bytes = Bytes::from(vec![7u8; 5000]);
        store
            .put("t/ab/cd/x/v/128.png", bytes.clone(), "image/png")
            .await
            .unwrap();

        let first = service
            .open_object("t/ab/cd/x/v/128.png")
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(first, Content::Streaming { len: 5000, .. }));
        assert_eq!(read_like_http(first).await, bytes.to_vec());
        let second = service
            .open_object("t/ab/cd/x/v/128.png")
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(second, Content::Whole(_)), "served from the cache");
        assert_eq!(read_like_http(second).await, bytes.to_vec());
        assert_eq!(store.opens.load(Ordering::Relaxed), 1);
        assert!(
            service
                .open_object("t/ab/cd/x/v/none.png")
                .await
                .unwrap()
                .is_none()
        );
    }
}
