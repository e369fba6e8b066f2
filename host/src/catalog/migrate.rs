//! The catalog's schema history: the numbered SQL files under `migrations/`, embedded in the
//! binary, and the backend-neutral decision of which of them a database still needs.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::CatalogError;

/// One schema change. Once applied somewhere it is never edited: its checksum is recorded
/// and compared on every start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The file's stem, e.g. `0001_init`; migrations apply in this order.
    pub version: &'static str,
    /// The statements, valid on every backend (SQLite and PostgreSQL).
    pub sql: &'static str,
}

impl Migration {
    /// Hex SHA-256 of [`Migration::sql`], as recorded in `schema_migrations`.
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

/// Every migration this binary knows, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: "0001_init",
        sql: include_str!("../../../migrations/0001_init.sql"),
    },
    Migration {
        version: "0002_ratings_names_aliases",
        sql: include_str!("../../../migrations/0002_ratings_names_aliases.sql"),
    },
];

/// A row of `schema_migrations`: a migration that some binary applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppliedMigration {
    pub(crate) version: String,
    pub(crate) checksum: String,
}

/// The migrations of this binary that a database with `applied` rows still needs, oldest
/// first. Refuses when an applied migration changed since, is unknown to this binary (a newer
/// binary applied it), or was applied after one that is still pending.
pub(crate) fn pending(
    applied: &[AppliedMigration],
) -> Result<Vec<&'static Migration>, CatalogError> {
    plan(MIGRATIONS, applied)
}

/// [`pending`] against any list of known migrations (so the rules can be tested, and a test
/// can build a database as an older binary left it).
pub(crate) fn plan<'m>(
    known: &'m [Migration],
    applied: &[AppliedMigration],
) -> Result<Vec<&'m Migration>, CatalogError> {
    let recorded: HashMap<&str, &str> = applied
        .iter()
        .map(|a| (a.version.as_str(), a.checksum.as_str()))
        .collect();
    let mut unknown: Vec<&str> = recorded
        .keys()
        .copied()
        .filter(|v| !known.iter().any(|m| m.version == *v))
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(CatalogError::Migration(format!(
            "the database has migrations this binary does not know (applied by a newer \
             version?): {}",
            unknown.join(", ")
        )));
    }

    let mut pending = Vec::new();
    for migration in known {
        let Some(&checksum) = recorded.get(migration.version) else {
            pending.push(migration);
            continue;
        };
        let expected = migration.checksum();
        if checksum != expected {
            return Err(CatalogError::Migration(format!(
                "applied migration {} has changed since: recorded checksum {checksum}, this \
                 binary has {expected}; add a new migration instead of editing an applied one",
                migration.version
            )));
        }
        if let Some(first) = pending.first() {
            return Err(CatalogError::Migration(format!(
                "migration {} is applied but the earlier {} is not",
                migration.version, first.version
            )));
        }
    }
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[Migration] = &[
        Migration {
            version: "0001_a",
            sql: "CREATE TABLE a (x TEXT);",
        },
        Migration {
            version: "0002_b",
            sql: "CREATE TABLE b (x TEXT);",
        },
        Migration {
            version: "0003_c",
            sql: "CREATE TABLE c (x TEXT);",
        },
    ];

    fn applied(version: &str) -> AppliedMigration {
        let checksum = KNOWN
            .iter()
            .find(|m| m.version == version)
            .map_or_else(|| "0".repeat(64), Migration::checksum);
        AppliedMigration {
            version: version.to_owned(),
            checksum,
        }
    }

    fn tampered(version: &str) -> AppliedMigration {
        AppliedMigration {
            checksum: "f".repeat(64),
            ..applied(version)
        }
    }

    /// A case: its name, the applied rows, and the pending versions or part of the error.
    type Case = (
        &'static str,
        Vec<AppliedMigration>,
        Result<Vec<&'static str>, &'static str>,
    );

    #[test]
    fn plans() {
        let cases: Vec<Case> = vec![
            ("fresh", vec![], Ok(vec!["0001_a", "0002_b", "0003_c"])),
            (
                "partly",
                vec![applied("0001_a")],
                Ok(vec!["0002_b", "0003_c"]),
            ),
            (
                "rows in any order",
                vec![applied("0002_b"), applied("0001_a")],
                Ok(vec!["0003_c"]),
            ),
            (
                "up to date",
                vec![applied("0001_a"), applied("0002_b"), applied("0003_c")],
                Ok(vec![]),
            ),
            (
                "changed",
                vec![applied("0001_a"), tampered("0002_b")],
                Err("applied migration 0002_b has changed"),
            ),
            (
                "unknown",
                vec![applied("0001_a"), applied("0009_future")],
                Err("does not know (applied by a newer version?): 0009_future"),
            ),
            (
                "gap",
                vec![applied("0001_a"), applied("0003_c")],
                Err("0003_c is applied but the earlier 0002_b is not"),
            ),
        ];
        for (case, rows, expected) in cases {
            let got = plan(KNOWN, &rows).map(|p| p.iter().map(|m| m.version).collect::<Vec<_>>());
            match (got, expected) {
                (Ok(got), Ok(expected)) => assert_eq!(got, expected, "{case}"),
                (Err(CatalogError::Migration(message)), Err(part)) => {
                    assert!(message.contains(part), "{case}: {message}");
                }
                (got, expected) => panic!("{case}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn embedded_migrations_are_ordered_and_named() {
        assert!(!MIGRATIONS.is_empty());
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version, "{pair:?}");
        }
        for m in MIGRATIONS {
            let (number, name) = m.version.split_once('_').expect("NNNN_name");
            assert!(
                number.len() == 4 && number.bytes().all(|b| b.is_ascii_digit()),
                "{m:?}"
            );
            assert!(!name.is_empty() && !m.sql.trim().is_empty(), "{m:?}");
        }
        assert_eq!(pending(&[]).unwrap().len(), MIGRATIONS.len());
    }

    #[test]
    fn checksum_is_hex_sha256_of_the_sql() {
        let m = Migration {
            version: "0001_x",
            sql: "abc",
        };
        assert_eq!(
            m.checksum(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
