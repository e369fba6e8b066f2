//! `avatar gc`: finds stored files that no committed record points to (left by a crash
//! between storing an upload's files and committing its record, or by a failed delete) and
//! removes them. Only keys of the service's own layout (`avatar::VariantKey`) under a
//! configured tenant's prefix are judged; files younger than `min_age` are never touched, so
//! an upload in flight, whose record is not committed yet, keeps its files. A rendition (a
//! size or format rendered on demand, `r<side>.<ext>`) lives as long as the version it was
//! rendered from.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use crate::avatar::{VariantKey, clock};
use crate::catalog::{CatalogError, SharedCatalog};
use crate::storage::{ObjectMeta, SharedStore, StorageError};

/// What a collection found, and did.
#[derive(Debug, Default)]
pub struct GcReport {
    /// Files no record points to, old enough to remove.
    pub orphans: Vec<ObjectMeta>,
    /// Files no record points to, but too young to judge (an upload may be in flight).
    pub young: usize,
    /// Files whose key is not one this service makes for a configured tenant; never touched.
    pub foreign: usize,
    /// Files a record points to, and renditions of them.
    pub referenced: usize,
    /// Orphans actually removed (0 in a dry run).
    pub deleted: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Lists orphans under the storage prefixes of `tenants` and, unless `dry_run`, deletes them.
pub async fn collect(
    catalog: &SharedCatalog,
    store: &SharedStore,
    tenants: &[String],
    min_age: Duration,
    dry_run: bool,
) -> Result<GcReport, GcError> {
    // The referenced set is read first: a record committed after this read belongs to an
    // upload whose files are younger than `min_age`, so they are spared below.
    let referenced = catalog.referenced_keys().await?;
    let live_versions: HashSet<String> = referenced
        .iter()
        .filter_map(|key| VariantKey::parse(key))
        .map(|key| key.version_prefix())
        .collect();
    let now_ms = u64::try_from(clock::unix_millis(SystemTime::now())).unwrap_or(0);
    let min_age_ms = u64::try_from(min_age.as_millis()).unwrap_or(u64::MAX);
    let mut report = GcReport::default();
    for object in store.list("").await? {
        if referenced.contains(&object.key) {
            report.referenced += 1;
            continue;
        }
        let ours = VariantKey::parse(&object.key).filter(|k| tenants.contains(&k.prefix));
        if ours
            .as_ref()
            .is_some_and(|k| k.rendered && live_versions.contains(&k.version_prefix()))
        {
            report.referenced += 1;
            continue;
        }
        match ours {
            None => report.foreign += 1,
            Some(key) if now_ms.saturating_sub(key.version.made_at_ms()) < min_age_ms => {
                report.young += 1;
            }
            Some(_) => report.orphans.push(object),
        }
    }
    if !dry_run {
        for orphan in &report.orphans {
            store.delete(&orphan.key).await?;
            report.deleted += 1;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::avatar::{AvatarHash, ImageFormat, Rating, Version};
    use crate::catalog::{AvatarRecord, SqliteCatalog, Variant};
    use crate::storage::{FsStore, S3Store};

    fn key(prefix: &str, hash: &AvatarHash, made_at_ms: u64, side: u32) -> String {
        variant(prefix, hash, made_at_ms, side).to_string()
    }

    fn variant(prefix: &str, hash: &AvatarHash, made_at_ms: u64, side: u32) -> VariantKey {
        VariantKey {
            prefix: prefix.to_owned(),
            hash: hash.clone(),
            version: Version::new(made_at_ms, 7),
            side,
            format: ImageFormat::Png,
            rendered: false,
        }
    }

    /// With a nested storage prefix, an old orphan is deleted; a referenced file, a young
    /// orphan, and files outside the service's layout or the tenant's prefix stay.
    async fn nested_prefixes_are_collected(store: SharedStore) {
        let dir = tempfile::tempdir().unwrap();
        let catalog: SharedCatalog = Arc::new(SqliteCatalog::open(dir.path().join("db")).unwrap());
        catalog.migrate().await.unwrap();
        let hash = AvatarHash::parse(&"ab".repeat(20)).unwrap();
        let long_ago = 1_700_000_000_000;
        let now = u64::try_from(clock::unix_millis(SystemTime::now())).unwrap();
        let kept = key("a/b", &hash, long_ago, 128);
        let orphan = key("a/b", &hash, long_ago + 1, 128);
        let young = key("a/b", &hash, now, 128);
        let other_tenant = key("c", &hash, long_ago, 128);
        let foreign = "a/b/notes.txt".to_owned();
        let kept_rendition = variant("a/b", &hash, long_ago, 128)
            .rendered(80, ImageFormat::Webp)
            .to_string();
        let orphan_rendition = variant("a/b", &hash, long_ago + 1, 128)
            .rendered(80, ImageFormat::Webp)
            .to_string();
        for k in [
            &kept,
            &orphan,
            &young,
            &other_tenant,
            &foreign,
            &kept_rendition,
            &orphan_rendition,
        ] {
            store
                .put(k, Bytes::from_static(b"x"), "image/png")
                .await
                .unwrap();
        }
        let record = AvatarRecord {
            tenant: "t".into(),
            hash: hash.to_string(),
            aliases: vec![],
            rating: Rating::G,
            name: None,
            version: Version::new(long_ago, 7).to_string(),
            format: ImageFormat::Png,
            content_hash: "c".into(),
            created_at: 1,
            updated_at: 1,
            variants: vec![Variant {
                side: 128,
                width: 128,
                height: 128,
                bytes: 1,
                etag: "e".into(),
                key: kept.clone(),
            }],
        };
        catalog.upsert(&record).await.unwrap();

        let tenants = ["a/b".to_owned()];
        let hour = Duration::from_secs(3600);
        let dry = collect(&catalog, &store, &tenants, hour, true)
            .await
            .unwrap();
        let mut orphans: Vec<&String> = dry.orphans.iter().map(|o| &o.key).collect();
        orphans.sort();
        let mut expected = vec![&orphan, &orphan_rendition];
        expected.sort();
        assert_eq!(
            orphans, expected,
            "an orphan, and a rendition of its dead version"
        );
        assert_eq!(
            (dry.referenced, dry.young, dry.foreign, dry.deleted),
            (2, 1, 2, 0),
            "the kept file and its rendition are referenced"
        );
        let done = collect(&catalog, &store, &tenants, hour, false)
            .await
            .unwrap();
        assert_eq!(done.deleted, 2);
        for k in [&orphan, &orphan_rendition] {
            assert!(store.get(k).await.unwrap().is_none(), "{k} is gone");
        }
        for k in [&kept, &young, &other_tenant, &foreign, &kept_rendition] {
            assert!(store.get(k).await.unwrap().is_some(), "{k} stays");
            store.delete(k).await.unwrap();
        }
    }

    #[tokio::test]
    async fn nested_prefixes_on_the_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        nested_prefixes_are_collected(Arc::new(FsStore::open(dir.path()).unwrap())).await;
    }

    #[tokio::test]
    async fn nested_prefixes_on_s3() {
        let Some(config) = crate::test_services::s3_config() else {
            return;
        };
        nested_prefixes_are_collected(Arc::new(S3Store::connect(&config).await.unwrap())).await;
    }
}
