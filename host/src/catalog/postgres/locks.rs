//! Serialising writers in PostgreSQL: a transaction-scoped advisory lock for every hash a
//! write involves, always taken in the order of the lock keys, so that two writes sharing
//! hashes wait for each other and never deadlock.
//!
//! Every row a write inserts is keyed by one of its own hashes, and every record it removes
//! is guarded by the lock of that record's canonical hash. The latter is known only after
//! reading; a lock taken then could be out of order, so the write starts over with it added.

use std::collections::BTreeSet;

use deadpool_postgres::Transaction;

use super::{fail, records};
use crate::catalog::{AvatarRecord, CatalogError};

/// How many times a write starts over because the records its hashes find turned out to be
/// guarded by locks it did not hold. Each attempt holds more; the second nearly always
/// succeeds.
pub(super) const ATTEMPTS: usize = 4;

/// Takes the lock of every hash in `held`, then reads the records `hashes` find. Returns
/// them when the lock of each one's canonical hash is among `held`: then no other writer can
/// change them before this transaction ends. Otherwise adds those hashes to `held` and
/// returns `None`: the caller rolls back and starts over.
pub(super) async fn lock_and_find(
    tx: &Transaction<'_>,
    tenant: &str,
    hashes: &[&str],
    held: &mut BTreeSet<String>,
) -> Result<Option<Vec<AvatarRecord>>, CatalogError> {
    lock(tx, tenant, held).await?;
    let found = records::found_by(tx, tenant, hashes).await?;
    let unguarded: Vec<String> = found
        .iter()
        .filter(|r| !held.contains(&r.hash))
        .map(|r| r.hash.clone())
        .collect();
    if unguarded.is_empty() {
        return Ok(Some(found));
    }
    held.extend(unguarded);
    Ok(None)
}

/// Takes the locks of `hashes` in ascending key order, one statement each (PostgreSQL does
/// not promise the order in which one statement would call the locking function). The key
/// of a hash is the one every version of this service has used for it.
async fn lock(
    tx: &Transaction<'_>,
    tenant: &str,
    hashes: &BTreeSet<String>,
) -> Result<(), CatalogError> {
    let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
    let keys = tx
        .prepare_cached(
            "SELECT DISTINCT hashtextextended($1 || '/' || h, 0) AS k \
             FROM unnest($2::text[]) AS h ORDER BY k",
        )
        .await
        .map_err(fail("prepare a query"))?;
    let keys = tx
        .query(&keys, &[&tenant, &hashes])
        .await
        .map_err(fail("compute lock keys"))?;
    let lock = tx
        .prepare_cached("SELECT pg_advisory_xact_lock($1)")
        .await
        .map_err(fail("prepare a query"))?;
    for key in &keys {
        let key: i64 = key.get(0);
        tx.execute(&lock, &[&key])
            .await
            .map_err(fail("lock an avatar"))?;
    }
    Ok(())
}

/// The error of a write that ran out of attempts.
pub(super) fn kept_changing(tenant: &str, hash: &str) -> CatalogError {
    CatalogError::Backend {
        message: format!(
            "the avatars linked to {tenant}/{hash} kept changing; gave up after {ATTEMPTS} \
             attempts"
        ),
        source: None,
    }
}
