//! `avatar gc`: finds stored files that no committed record points to (left by a crash
//! between storing an upload's files and committing its record, or by a failed delete) and
//! removes them. Files younger than `min_age` are never touched, so an upload in flight,
//! whose record is not committed yet, keeps its files.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::catalog::{CatalogError, SharedCatalog};
use crate::storage::{ObjectMeta, SharedStore, StorageError};

/// What a collection found, and did.
#[derive(Debug, Default)]
pub struct GcReport {
    /// Files no record points to, old enough to remove.
    pub orphans: Vec<ObjectMeta>,
    /// Files no record points to, but too young to judge (an upload may be in flight).
    pub young: usize,
    /// Files whose key is not one this service makes; never touched.
    pub foreign: usize,
    /// Files a record points to.
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

/// Lists orphans and, unless `dry_run`, deletes them.
pub async fn collect(
    catalog: &SharedCatalog,
    store: &SharedStore,
    min_age: Duration,
    dry_run: bool,
) -> Result<GcReport, GcError> {
    // The referenced set is read first: a record committed after this read belongs to an
    // upload whose files are younger than `min_age`, so they are spared below.
    let referenced = catalog.referenced_keys().await?;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut report = GcReport::default();
    for object in store.list("").await? {
        if referenced.contains(&object.key) {
            report.referenced += 1;
            continue;
        }
        match made_at_ms(&object.key) {
            None => report.foreign += 1,
            Some(ms) if now_ms.saturating_sub(u128::from(ms)) < min_age.as_millis() => {
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

/// When the file under `key` was made, from its version segment
/// (`<tenant>/<ab>/<cd>/<hash>/<version>/<side>.<ext>`, version = 12 hex digits of
/// milliseconds then 8 random ones); `None` for keys of another shape.
fn made_at_ms(key: &str) -> Option<u64> {
    let parts: Vec<&str> = key.split('/').collect();
    let [_, _, _, hash, version, _] = parts.as_slice() else {
        return None;
    };
    if !crate::avatar::AvatarHash::looks_like(hash)
        || version.len() != 20
        || !version.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    u64::from_str_radix(&version[..12], 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avatar::{AvatarHash, new_version, variant_key};

    #[test]
    fn ages_come_from_versions() {
        let hash = AvatarHash::parse(&"ab".repeat(20)).unwrap();
        let key = variant_key("t", &hash, &new_version(1_700_000_000_123, 7), 128, "png");
        assert_eq!(made_at_ms(&key), Some(1_700_000_000_123));
        for foreign in ["notes.txt", "t/ab/ab/x/y/128.png", "t/ab/ab/abab/zz/1.png"] {
            assert_eq!(made_at_ms(foreign), None, "{foreign}");
        }
    }
}
