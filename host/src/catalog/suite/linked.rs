//! The suite's checks of what a Gravatar drop-in stores: ratings and names, hashes linked by
//! an email address (found by each, merged, replaced, deleted together, under concurrency),
//! and rows written before any of it existed.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::future::join_all;
use sha2::{Digest, Sha256};

use super::{NOTHING, TENANT, all_versions, consistent, record, sorted};
use crate::avatar::Rating;
use crate::catalog::{AvatarRecord, Catalog};

/// The three hashes of one email address (MD5, SHA-1 and SHA-256 in length; made from
/// SHA-256, which is all a catalog can tell apart).
pub(super) struct Email {
    md5: String,
    sha1: String,
    sha256: String,
}

impl Email {
    pub(super) fn new(run: u128, check: u32) -> Self {
        let digest = |what: &str| hex::encode(Sha256::digest(format!("{what}:{check}:{run:x}")));
        Self {
            md5: digest("md5")[..32].to_owned(),
            sha1: digest("sha1")[..40].to_owned(),
            sha256: digest("sha256"),
        }
    }

    fn all(&self) -> [&str; 3] {
        [&self.md5, &self.sha1, &self.sha256]
    }

    /// The hashes other than `hash`, sorted: the aliases of a record stored under `hash`.
    fn others(&self, hash: &str) -> Vec<String> {
        let mut others: Vec<String> = self
            .all()
            .into_iter()
            .filter(|h| *h != hash)
            .map(str::to_owned)
            .collect();
        others.sort();
        others
    }
}

/// A record stored under `hash` and found by `aliases` too.
fn linked(hash: &str, aliases: Vec<String>, version: &str, at: i64) -> AvatarRecord {
    AvatarRecord {
        aliases,
        ..record(TENANT, hash, version, &[256, 64], at)
    }
}

/// `records` as an upsert returns them: ordered by hash, variants largest first.
fn as_replaced(mut records: Vec<AvatarRecord>) -> Vec<AvatarRecord> {
    records.sort_by(|a, b| a.hash.cmp(&b.hash));
    records.into_iter().map(sorted).collect()
}

/// Asserts that each of `hashes` finds `expected` (or nothing).
async fn finds(catalog: &dyn Catalog, hashes: &[impl AsRef<str>], expected: Option<&AvatarRecord>) {
    for hash in hashes {
        let hash = hash.as_ref();
        let found = catalog.find(TENANT, hash).await.unwrap();
        assert_eq!(found.as_ref(), expected, "found by {hash}");
    }
}

/// Asserts that the stored keys include every key of `present` and none of `absent`.
async fn keys(catalog: &dyn Catalog, present: &[&AvatarRecord], absent: &[&AvatarRecord]) {
    let referenced = catalog.referenced_keys().await.unwrap();
    for v in present.iter().flat_map(|r| &r.variants) {
        assert!(referenced.contains(&v.key), "{} is referenced", v.key);
    }
    for v in absent.iter().flat_map(|r| &r.variants) {
        assert!(!referenced.contains(&v.key), "{} is not referenced", v.key);
    }
}

pub(super) async fn ratings_and_names_round_trip(catalog: &dyn Catalog, hash: &str) {
    let names = [
        Some("Ada Lovelace".to_owned()),
        None,
        Some("Zoë Ñandú 李小龍 🦀".to_owned()),
        Some("n".repeat(256)),
    ];
    let mut previous: Option<AvatarRecord> = None;
    for (i, (rating, name)) in Rating::ALL.into_iter().zip(names).enumerate() {
        let rec = AvatarRecord {
            rating,
            name,
            ..record(TENANT, hash, &format!("v{i}"), &[80], 10 + i as i64)
        };
        let got = catalog.upsert(&rec).await.unwrap();
        assert_eq!(got, previous.take().into_iter().collect::<Vec<_>>());
        let expected = AvatarRecord {
            created_at: 10,
            ..rec
        };
        let found = catalog.find(TENANT, hash).await.unwrap();
        assert_eq!(
            found.as_ref(),
            Some(&expected),
            "{rating} and a name replace"
        );
        previous = found;
    }
    catalog.delete(TENANT, hash).await.unwrap();
}

pub(super) async fn found_by_each_hash(catalog: &dyn Catalog, email: &Email) {
    let rec = linked(&email.sha256, email.others(&email.sha256), "v1", 5);
    assert_eq!(catalog.upsert(&rec).await.unwrap(), NOTHING);
    finds(catalog, &email.all(), Some(&sorted(rec.clone()))).await;
    let found = catalog.find(TENANT, &email.md5).await.unwrap().unwrap();
    assert_eq!(found.hash, email.sha256, "the canonical hash");
    // Stored sorted, and the address (so its hashes) is new every run.
    let mut others = vec![email.md5.clone(), email.sha1.clone()];
    others.sort();
    assert_eq!(found.aliases, others);
    keys(catalog, &[&rec], &[]).await;
    catalog.delete(TENANT, &email.sha256).await.unwrap();
}

pub(super) async fn aliases_are_stored_normalised(catalog: &dyn Catalog, email: &Email) {
    let given = vec![
        email.sha1.clone(),
        email.sha256.clone(),
        email.md5.clone(),
        email.sha1.clone(),
    ];
    let rec = linked(&email.sha256, given, "v1", 5);
    catalog.upsert(&rec).await.unwrap();
    let found = catalog.find(TENANT, &email.sha1).await.unwrap().unwrap();
    assert_eq!(
        found.aliases,
        email.others(&email.sha256),
        "sorted, once each, without the hash"
    );
    catalog.delete(TENANT, &email.sha256).await.unwrap();
}

pub(super) async fn an_upsert_merges_the_records_its_aliases_find(
    catalog: &dyn Catalog,
    email: &Email,
) {
    let md5 = record(TENANT, &email.md5, "v1", &[64, 32], 10);
    let sha1 = record(TENANT, &email.sha1, "v2", &[48], 20);
    catalog.upsert(&md5).await.unwrap();
    catalog.upsert(&sha1).await.unwrap();

    let merged = linked(&email.sha256, email.others(&email.sha256), "v3", 30);
    let got = catalog.upsert(&merged).await.unwrap();
    assert_eq!(
        got,
        as_replaced(vec![md5.clone(), sha1.clone()]),
        "both merged"
    );
    finds(catalog, &email.all(), Some(&sorted(merged.clone()))).await;
    keys(catalog, &[&merged], &[&md5, &sha1]).await;

    let again = linked(&email.sha256, email.others(&email.sha256), "v4", 40);
    let got = catalog.upsert(&again).await.unwrap();
    assert_eq!(got, as_replaced(vec![merged]), "one record left to replace");
    let kept = AvatarRecord {
        created_at: 30,
        ..sorted(again.clone())
    };
    finds(catalog, &email.all(), Some(&kept)).await;

    // Stored under another of the hashes now: the record under the same hash is gone, so
    // `created_at` starts again.
    let moved = linked(&email.md5, email.others(&email.md5), "v5", 50);
    let got = catalog.upsert(&moved).await.unwrap();
    assert_eq!(got, [kept]);
    finds(catalog, &email.all(), Some(&sorted(moved))).await;
    catalog.delete(TENANT, &email.sha1).await.unwrap();
}

pub(super) async fn fewer_aliases_drop_the_old_ones(catalog: &dyn Catalog, email: &Email) {
    let all = linked(&email.sha256, email.others(&email.sha256), "v1", 1);
    catalog.upsert(&all).await.unwrap();
    let fewer = linked(&email.sha256, vec![email.md5.clone()], "v2", 2);
    assert_eq!(
        catalog.upsert(&fewer).await.unwrap(),
        as_replaced(vec![all])
    );
    let stored = AvatarRecord {
        created_at: 1,
        ..sorted(fewer)
    };
    finds(catalog, &[&email.md5, &email.sha256], Some(&stored)).await;
    finds(catalog, &[&email.sha1], None).await;

    // Nothing of the old alias is left to merge or collide with.
    let alone = record(TENANT, &email.sha1, "v3", &[32], 3);
    assert_eq!(catalog.upsert(&alone).await.unwrap(), NOTHING);
    finds(catalog, &[&email.sha1], Some(&alone)).await;
    finds(catalog, &[&email.md5, &email.sha256], Some(&stored)).await;
    catalog.delete(TENANT, &email.sha1).await.unwrap();
    catalog.delete(TENANT, &email.sha256).await.unwrap();
}

pub(super) async fn an_upload_under_an_alias_replaces_the_linked_record(
    catalog: &dyn Catalog,
    email: &Email,
) {
    let linked = linked(&email.sha256, email.others(&email.sha256), "v1", 1);
    catalog.upsert(&linked).await.unwrap();
    // An upload under one hash makes it find the new avatar; the avatar it found is replaced
    // whole, so no hash of the address shows the old picture any more.
    let plain = record(TENANT, &email.md5, "v2", &[32], 2);
    assert_eq!(
        catalog.upsert(&plain).await.unwrap(),
        as_replaced(vec![linked.clone()])
    );
    finds(catalog, &[&email.md5], Some(&plain)).await;
    finds(catalog, &[&email.sha1, &email.sha256], None).await;
    keys(catalog, &[&plain], &[&linked]).await;
    catalog.delete(TENANT, &email.md5).await.unwrap();
}

pub(super) async fn delete_through_an_alias_removes_everything(
    catalog: &dyn Catalog,
    email: &Email,
) {
    let rec = linked(&email.sha256, email.others(&email.sha256), "v1", 1);
    catalog.upsert(&rec).await.unwrap();
    assert_eq!(
        catalog.delete(TENANT, &email.md5).await.unwrap(),
        Some(sorted(rec.clone()))
    );
    finds(catalog, &email.all(), None).await;
    for hash in email.all() {
        assert_eq!(catalog.delete(TENANT, hash).await.unwrap(), None, "{hash}");
    }
    keys(catalog, &[], &[&rec]).await;
    // No alias row is left behind to find or merge anything.
    for (i, hash) in email.all().into_iter().enumerate() {
        let alone = record(TENANT, hash, &format!("w{i}"), &[32], 2);
        assert_eq!(catalog.upsert(&alone).await.unwrap(), NOTHING, "{hash}");
    }
    for hash in email.all() {
        let found = catalog.delete(TENANT, hash).await.unwrap().unwrap();
        assert_eq!(found.hash, hash);
    }
}

pub(super) async fn aliases_are_per_tenant(catalog: &dyn Catalog, email: &Email) {
    let a = AvatarRecord {
        tenant: "suite-a".into(),
        ..linked(&email.sha256, email.others(&email.sha256), "va", 1)
    };
    let b = record("suite-b", &email.md5, "vb", &[32], 2);
    catalog.upsert(&a).await.unwrap();
    assert_eq!(catalog.upsert(&b).await.unwrap(), NOTHING, "not merged");
    let a = sorted(a);
    assert_eq!(
        catalog.find("suite-a", &email.md5).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        catalog.find("suite-b", &email.md5).await.unwrap(),
        Some(b.clone())
    );
    assert_eq!(catalog.find("suite-b", &email.sha1).await.unwrap(), None);
    assert_eq!(
        catalog.delete("suite-b", &email.md5).await.unwrap(),
        Some(b)
    );
    assert_eq!(
        catalog.find("suite-a", &email.sha1).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        catalog.delete("suite-a", &email.sha1).await.unwrap(),
        Some(a)
    );
}

pub(super) async fn concurrent_linked_upserts_leave_one_consistent_record(
    catalog: &dyn Catalog,
    email: &Email,
) {
    const WRITERS: usize = 9;
    let hashes = email.all();
    let candidates: Vec<AvatarRecord> = (0..WRITERS)
        .map(|i| {
            // Each stored under another of the three hashes, with its own number of variants.
            let hash = hashes[i % 3];
            let sizes: Vec<u32> = (0..=i % 4).map(|k| 32 << k).collect();
            AvatarRecord {
                aliases: email.others(hash),
                ..record(TENANT, hash, &format!("v{i}"), &sizes, 100 + i as i64)
            }
        })
        .collect();
    let whole = |r: &AvatarRecord| {
        let found_by: BTreeSet<&str> = r.hashes().collect();
        consistent(r) && found_by == BTreeSet::from(hashes)
    };
    let done = AtomicBool::new(false);

    let writers = async {
        let results = join_all(candidates.iter().map(|rec| catalog.upsert(rec))).await;
        done.store(true, Ordering::SeqCst);
        let mut replaced = Vec::new();
        for result in results {
            let previous = result.unwrap();
            assert!(previous.len() <= 1, "one record at a time: {previous:?}");
            assert!(previous.iter().all(&whole), "{previous:?}");
            replaced.extend(previous);
        }
        replaced
    };
    let reader = async {
        let mut reads = 0;
        while !done.load(Ordering::SeqCst) {
            let hash = hashes[reads % 3];
            if let Some(seen) = catalog.find(TENANT, hash).await.unwrap() {
                assert!(
                    whole(&seen),
                    "a read by {hash} saw a mixed record: {seen:?}"
                );
            }
            reads += 1;
        }
        reads
    };
    let (replaced, reads) = tokio::join!(writers, reader);
    assert!(reads > 0);

    let last = catalog.find(TENANT, &email.md5).await.unwrap().unwrap();
    assert!(whole(&last), "{last:?}");
    finds(catalog, &hashes, Some(&last)).await;
    // Every upload was replaced exactly once, except the one left.
    let mut versions: Vec<&str> = replaced.iter().map(|r| r.version.as_str()).collect();
    versions.push(&last.version);
    versions.sort_unstable();
    let mut expected: Vec<&str> = candidates.iter().map(|c| c.version.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(versions, expected);
    let winner = candidates
        .iter()
        .find(|c| c.version == last.version)
        .expect("one of the uploads");
    assert_eq!(
        last,
        AvatarRecord {
            created_at: last.created_at,
            ..sorted(winner.clone())
        }
    );
    let replaced: Vec<&AvatarRecord> = replaced.iter().collect();
    keys(catalog, &[&last], &replaced).await;
    catalog.delete(TENANT, &email.sha1).await.unwrap();
}

/// Rows as a binary of the first schema (`0001_init`) wrote them: portable SQL, run by a
/// backend's test on a database migrated that far.
pub(crate) const FIRST_SCHEMA_ROWS: &str = "\
    INSERT INTO avatars (tenant, hash, version, format, content_hash, created_at, updated_at) \
    VALUES ('suite-upgrade', '0123456789abcdef0123456789abcdef', 'v0', 'png', 'c0', 1000, 2000); \
    INSERT INTO avatar_variants (tenant, hash, size, width, height, bytes, etag, storage_key) \
    VALUES ('suite-upgrade', '0123456789abcdef0123456789abcdef', 80, 80, 79, 1234, 'e0', \
            'suite-upgrade/0123456789abcdef0123456789abcdef/v0/80.png');";

/// After [`FIRST_SCHEMA_ROWS`], migrates `catalog` to the latest schema and checks that the
/// old row reads as rated `g`, without a name or aliases, and takes part in linking.
pub(crate) async fn first_schema_rows_upgrade(catalog: &dyn Catalog) {
    let tenant = "suite-upgrade";
    let hash = "0123456789abcdef0123456789abcdef";
    assert_eq!(catalog.migrate().await.unwrap(), all_versions()[1..]);
    catalog.health().await.unwrap();
    let old = AvatarRecord {
        tenant: tenant.into(),
        hash: hash.into(),
        aliases: vec![],
        rating: Rating::G,
        name: None,
        version: "v0".into(),
        format: crate::avatar::ImageFormat::Png,
        content_hash: "c0".into(),
        created_at: 1000,
        updated_at: 2000,
        variants: vec![crate::catalog::Variant {
            side: 80,
            width: 80,
            height: 79,
            bytes: 1234,
            etag: "e0".into(),
            key: format!("{tenant}/{hash}/v0/80.png"),
        }],
    };
    assert_eq!(catalog.find(tenant, hash).await.unwrap(), Some(old.clone()));

    let sha256 = "f".repeat(64);
    let linked = AvatarRecord {
        aliases: vec![hash.into()],
        ..record(tenant, &sha256, "v1", &[64], 3000)
    };
    assert_eq!(catalog.upsert(&linked).await.unwrap(), [old], "merged");
    assert_eq!(
        catalog.find(tenant, hash).await.unwrap(),
        Some(sorted(linked))
    );
}
