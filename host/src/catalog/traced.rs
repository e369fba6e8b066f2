//! Every catalog operation in a tracing span of its own (`catalog.<operation>`, with the
//! backend, the tenant and hash, and, when it fails, the error), counted and timed in the
//! metrics, whichever backend runs it.

use std::collections::HashSet;

use async_trait::async_trait;
use tracing::Instrument;

use super::{AvatarRecord, Catalog, CatalogError, ChangeSink, SharedCatalog};

/// A catalog whose operations are traced.
pub(super) struct Traced {
    inner: SharedCatalog,
}

impl Traced {
    pub(super) fn new(inner: SharedCatalog) -> Self {
        Self { inner }
    }
}

/// Runs `work` in `span`, noting a failure on the span, and counts and times it in the
/// metrics.
async fn observed<T>(
    operation: &'static str,
    kind: &'static str,
    span: tracing::Span,
    work: impl std::future::Future<Output = Result<T, CatalogError>>,
) -> Result<T, CatalogError> {
    let started = std::time::Instant::now();
    let result = async { noted(work.await) }.instrument(span).await;
    crate::metrics::catalog_op(operation, kind, result.is_ok(), started.elapsed());
    result
}

/// Records a failure on the current span before passing the result on.
fn noted<T>(result: Result<T, CatalogError>) -> Result<T, CatalogError> {
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
impl Catalog for Traced {
    async fn migrate(&self) -> Result<Vec<String>, CatalogError> {
        let span = tracing::info_span!(
            "catalog.migrate",
            kind = self.inner.kind(),
            error = tracing::field::Empty
        );
        observed("migrate", self.inner.kind(), span, self.inner.migrate()).await
    }

    async fn find(&self, tenant: &str, hash: &str) -> Result<Option<AvatarRecord>, CatalogError> {
        let span = span!(self, "catalog.find", tenant = tenant, hash = hash);
        observed(
            "find",
            self.inner.kind(),
            span,
            self.inner.find(tenant, hash),
        )
        .await
    }

    async fn upsert(&self, record: &AvatarRecord) -> Result<Vec<AvatarRecord>, CatalogError> {
        let span = span!(
            self,
            "catalog.upsert",
            tenant = record.tenant.as_str(),
            hash = record.hash.as_str(),
            aliases = record.aliases.len(),
            version = record.version.as_str()
        );
        observed("upsert", self.inner.kind(), span, self.inner.upsert(record)).await
    }

    async fn delete(&self, tenant: &str, hash: &str) -> Result<Option<AvatarRecord>, CatalogError> {
        let span = span!(self, "catalog.delete", tenant = tenant, hash = hash);
        observed(
            "delete",
            self.inner.kind(),
            span,
            self.inner.delete(tenant, hash),
        )
        .await
    }

    async fn health(&self) -> Result<(), CatalogError> {
        let span = span!(self, "catalog.health");
        observed("health", self.inner.kind(), span, self.inner.health()).await
    }

    async fn referenced_keys(&self) -> Result<HashSet<String>, CatalogError> {
        let span = span!(self, "catalog.referenced_keys");
        observed(
            "referenced_keys",
            self.inner.kind(),
            span,
            self.inner.referenced_keys(),
        )
        .await
    }

    fn watch_changes(&self, sink: ChangeSink) {
        self.inner.watch_changes(sink);
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}
