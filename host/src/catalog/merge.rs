//! The backend-neutral rules of a write to linked hashes: which aliases a record keeps, which
//! `created_at` it is stored with, and which hashes a write must announce.

use super::AvatarRecord;

/// `record` with its aliases as stored: sorted, without duplicates, without its own hash
/// (which would make it found twice by one hash).
pub(super) fn normalized(record: &AvatarRecord) -> AvatarRecord {
    let mut record = record.clone();
    record.aliases.sort_unstable();
    record.aliases.dedup();
    record.aliases.retain(|alias| *alias != record.hash);
    record
}

/// `record` as an upsert stores it over `replaced`: it keeps the `created_at` of the record
/// that was stored under the same hash (a replaced upload), not of one merged in from an
/// alias.
pub(super) fn replacing(record: &AvatarRecord, replaced: &[AvatarRecord]) -> AvatarRecord {
    let mut stored = normalized(record);
    if let Some(same) = replaced.iter().find(|r| r.hash == stored.hash) {
        stored.created_at = same.created_at;
    }
    stored
}

/// Every hash whose look-up a write changes: each hash the records it removed were found by,
/// and each hash the record it stored is found by; sorted, once each.
pub(super) fn affected<'r>(
    stored: Option<&'r AvatarRecord>,
    removed: &'r [AvatarRecord],
) -> Vec<&'r str> {
    let mut hashes: Vec<&str> = stored
        .into_iter()
        .chain(removed)
        .flat_map(AvatarRecord::hashes)
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

/// The canonical hashes of `records`, sorted, once each (what an upsert or delete removes).
pub(super) fn canonical(records: &[AvatarRecord]) -> Vec<&str> {
    let mut hashes: Vec<&str> = records.iter().map(|r| r.hash.as_str()).collect();
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avatar::{ImageFormat, Rating};

    fn record(hash: &str, aliases: &[&str], created_at: i64) -> AvatarRecord {
        AvatarRecord {
            tenant: "t".into(),
            hash: hash.into(),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            rating: Rating::G,
            name: None,
            version: "v".into(),
            format: ImageFormat::Png,
            content_hash: "c".into(),
            created_at,
            updated_at: created_at,
            variants: vec![],
        }
    }

    #[test]
    fn aliases_are_sorted_once_each_and_never_the_hash() {
        let cases: &[(&[&str], &[&str])] = &[
            (&[], &[]),
            (&["c", "b"], &["b", "c"]),
            (&["b", "c", "b"], &["b", "c"]),
            (&["a", "c", "a"], &["c"]),
            (&["a"], &[]),
        ];
        for (given, expected) in cases {
            let got = normalized(&record("a", given, 1)).aliases;
            assert_eq!(got, *expected, "{given:?}");
        }
    }

    #[test]
    fn created_at_comes_from_the_record_under_the_same_hash() {
        let new = record("a", &["b", "c"], 50);
        let cases: Vec<(Vec<AvatarRecord>, i64)> = vec![
            (vec![], 50),
            (vec![record("b", &[], 10)], 50),
            (vec![record("b", &[], 10), record("a", &["c"], 20)], 20),
        ];
        for (replaced, expected) in &cases {
            assert_eq!(
                replacing(&new, replaced).created_at,
                *expected,
                "{replaced:?}"
            );
        }
    }

    #[test]
    fn a_write_announces_every_hash_before_and_after() {
        let stored = record("a", &["b"], 1);
        let removed = [record("a", &["c"], 1), record("d", &["b", "e"], 1)];
        assert_eq!(affected(Some(&stored), &removed), ["a", "b", "c", "d", "e"]);
        assert_eq!(affected(None, &removed[..1]), ["a", "c"]);
        assert!(affected(None, &[]).is_empty());
        assert_eq!(canonical(&removed), ["a", "d"]);
    }
}
