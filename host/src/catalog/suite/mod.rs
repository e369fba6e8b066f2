//! The conformance suite every [`Catalog`] backend passes (garage's `test_suite(db)`
//! pattern). Each check uses hashes of its own, unique to the run, so the suite can share a
//! database with other runs. The checks of linked hashes, ratings, names and upgrades are in
//! `suite/linked.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;

use super::{AvatarRecord, Catalog, MIGRATIONS, Variant};
use crate::avatar::{ImageFormat, Rating};

mod linked;

pub(crate) use linked::{FIRST_SCHEMA_ROWS, first_schema_rows_upgrade};

/// Runs every check against `catalog`, which must already be migrated.
pub(crate) async fn run(catalog: &dyn Catalog) {
    let run = run_id();
    let hash = |check: u32| format!("{check:08x}{run:032x}");
    let email = |check: u32| linked::Email::new(run, check);
    find_missing(catalog, &hash(1)).await;
    round_trip(catalog, &hash(2)).await;
    replace(catalog, &hash(3)).await;
    tenants_are_isolated(catalog, &hash(4)).await;
    delete_returns_the_record_once(catalog, &hash(5)).await;
    migrate_again_is_a_no_op(catalog).await;
    concurrent_upserts_leave_one_consistent_record(catalog, &hash(6)).await;
    linked::ratings_and_names_round_trip(catalog, &hash(7)).await;
    linked::found_by_each_hash(catalog, &email(8)).await;
    linked::aliases_are_stored_normalised(catalog, &email(9)).await;
    linked::an_upsert_merges_the_records_its_aliases_find(catalog, &email(10)).await;
    linked::fewer_aliases_drop_the_old_ones(catalog, &email(11)).await;
    linked::an_upload_under_an_alias_replaces_the_linked_record(catalog, &email(12)).await;
    linked::delete_through_an_alias_removes_everything(catalog, &email(13)).await;
    linked::aliases_are_per_tenant(catalog, &email(14)).await;
    linked::concurrent_linked_upserts_leave_one_consistent_record(catalog, &email(15)).await;
    healthy(catalog).await;
}

/// The version of every migration this binary has, in order: what migrating a fresh
/// database applies.
pub(crate) fn all_versions() -> Vec<&'static str> {
    MIGRATIONS.iter().map(|m| m.version).collect()
}

/// Distinguishes this run's rows from those of other runs on a shared database.
fn run_id() -> u128 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    nanos ^ (u128::from(std::process::id()) << 96)
}

pub(super) const TENANT: &str = "suite";

/// What an upsert that replaced nothing returns.
pub(super) const NOTHING: Vec<AvatarRecord> = Vec::new();

/// A record whose every variant key names its version, with variants in no particular order.
pub(super) fn record(
    tenant: &str,
    hash: &str,
    version: &str,
    sizes: &[u32],
    at: i64,
) -> AvatarRecord {
    AvatarRecord {
        tenant: tenant.to_owned(),
        hash: hash.to_owned(),
        aliases: Vec::new(),
        rating: Rating::G,
        name: None,
        version: version.to_owned(),
        format: ImageFormat::Webp,
        content_hash: format!("{version:0>64}"),
        created_at: at,
        updated_at: at,
        variants: sizes
            .iter()
            .map(|&size| Variant {
                side: size,
                width: size,
                height: size - 1,
                bytes: u64::from(size) * 37,
                etag: format!("{version}-{size}"),
                key: format!("{tenant}/{hash}/{version}/{size}.webp"),
            })
            .collect(),
    }
}

/// `record` as the catalog returns it: variants largest first.
pub(super) fn sorted(mut record: AvatarRecord) -> AvatarRecord {
    record.variants.sort_by_key(|v| std::cmp::Reverse(v.side));
    record
}

/// Whether every variant of `record` belongs to its version.
pub(super) fn consistent(record: &AvatarRecord) -> bool {
    let marker = format!("/{}/", record.version);
    let tag = format!("{}-", record.version);
    !record.variants.is_empty()
        && record
            .variants
            .iter()
            .all(|v| v.key.contains(&marker) && v.etag.starts_with(&tag))
}

async fn find_missing(catalog: &dyn Catalog, hash: &str) {
    assert_eq!(catalog.find(TENANT, hash).await.unwrap(), None);
}

async fn round_trip(catalog: &dyn Catalog, hash: &str) {
    let rec = record(
        TENANT,
        hash,
        "v1",
        &[128, 1024, 256, 512],
        1_700_000_000_000,
    );
    assert_eq!(
        catalog.upsert(&rec).await.unwrap(),
        NOTHING,
        "nothing to replace"
    );
    let found = catalog.find(TENANT, hash).await.unwrap();
    assert_eq!(found, Some(sorted(rec)), "variants come back largest first");
}

async fn replace(catalog: &dyn Catalog, hash: &str) {
    let first = record(TENANT, hash, "v1", &[64, 128, 256], 1_000);
    catalog.upsert(&first).await.unwrap();

    let mut second = record(TENANT, hash, "v2", &[200], 5_000);
    second.format = ImageFormat::Png;
    let previous = catalog.upsert(&second).await.unwrap();
    assert_eq!(previous, [sorted(first)], "returns what it replaced");

    let found = catalog.find(TENANT, hash).await.unwrap().unwrap();
    let expected = AvatarRecord {
        created_at: 1_000,
        ..second
    };
    assert_eq!(found, expected, "keeps created_at; old variants are gone");
}

async fn tenants_are_isolated(catalog: &dyn Catalog, hash: &str) {
    let a = record("suite-a", hash, "va", &[64], 10);
    let b = record("suite-b", hash, "vb", &[32, 16], 20);
    assert_eq!(catalog.upsert(&a).await.unwrap(), NOTHING);
    assert_eq!(
        catalog.upsert(&b).await.unwrap(),
        NOTHING,
        "another tenant's record"
    );
    assert_eq!(
        catalog.find("suite-a", hash).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        catalog.find("suite-b", hash).await.unwrap(),
        Some(sorted(b.clone()))
    );

    assert_eq!(catalog.delete("suite-a", hash).await.unwrap(), Some(a));
    assert_eq!(catalog.find("suite-a", hash).await.unwrap(), None);
    assert_eq!(
        catalog.find("suite-b", hash).await.unwrap(),
        Some(sorted(b.clone()))
    );
    assert_eq!(
        catalog.delete("suite-b", hash).await.unwrap(),
        Some(sorted(b))
    );
}

async fn delete_returns_the_record_once(catalog: &dyn Catalog, hash: &str) {
    let rec = record(TENANT, hash, "v1", &[48, 96], 7);
    catalog.upsert(&rec).await.unwrap();
    assert_eq!(
        catalog.delete(TENANT, hash).await.unwrap(),
        Some(sorted(rec))
    );
    assert_eq!(catalog.find(TENANT, hash).await.unwrap(), None);
    assert_eq!(
        catalog.delete(TENANT, hash).await.unwrap(),
        None,
        "second delete"
    );
}

async fn migrate_again_is_a_no_op(catalog: &dyn Catalog) {
    assert_eq!(catalog.migrate().await.unwrap(), Vec::<String>::new());
    assert_eq!(catalog.migrate().await.unwrap(), Vec::<String>::new());
}

async fn concurrent_upserts_leave_one_consistent_record(catalog: &dyn Catalog, hash: &str) {
    const WRITERS: u32 = 8;
    let candidates: Vec<AvatarRecord> = (0..WRITERS)
        .map(|i| {
            // Different numbers of variants, so a mix of two uploads cannot look whole.
            let sizes: Vec<u32> = (0..=i % 4).map(|k| 32 << k).collect();
            record(TENANT, hash, &format!("v{i}"), &sizes, 100 + i64::from(i))
        })
        .collect();
    let done = AtomicBool::new(false);

    let writers = async {
        let results = join_all(candidates.iter().map(|rec| catalog.upsert(rec))).await;
        done.store(true, Ordering::SeqCst);
        for result in results {
            let previous = result.unwrap();
            assert!(previous.len() <= 1, "{previous:?}");
            assert!(previous.iter().all(consistent), "{previous:?}");
        }
    };
    let reader = async {
        let mut reads = 0;
        while !done.load(Ordering::SeqCst) {
            if let Some(seen) = catalog.find(TENANT, hash).await.unwrap() {
                assert!(consistent(&seen), "a read saw a mixed record: {seen:?}");
            }
            reads += 1;
        }
        reads
    };
    let ((), reads) = tokio::join!(writers, reader);
    assert!(reads > 0);

    let last = catalog.find(TENANT, hash).await.unwrap().unwrap();
    assert!(consistent(&last), "{last:?}");
    let winner = candidates
        .iter()
        .find(|c| c.version == last.version)
        .expect("one of the uploads");
    assert!((100..100 + i64::from(WRITERS)).contains(&last.created_at));
    let expected = AvatarRecord {
        created_at: last.created_at,
        ..sorted(winner.clone())
    };
    assert_eq!(last, expected);
    catalog.delete(TENANT, hash).await.unwrap();
}

async fn healthy(catalog: &dyn Catalog) {
    catalog.health().await.unwrap();
    assert!(!catalog.kind().is_empty());
}
