//! Whole records in SQLite: reading one by any of its hashes, writing and removing one with
//! its variants and aliases, always inside the caller's transaction (one snapshot, one
//! commit).

use rusqlite::{Connection, OptionalExtension, params};

use super::fail;
use crate::avatar::{ImageFormat, Rating};
use crate::catalog::{AvatarRecord, CatalogError, Variant};

/// Converts a stored integer column back, refusing values that no record could have had.
fn column<T: TryFrom<i64>>(
    value: i64,
    name: &str,
    tenant: &str,
    hash: &str,
) -> Result<T, CatalogError> {
    T::try_from(value).map_err(|_| {
        CatalogError::Corrupt(format!(
            "avatar {tenant}/{hash}: {name} {value} is out of range"
        ))
    })
}

/// The avatar row of a record, as stored.
struct AvatarRow {
    hash: String,
    version: String,
    format: String,
    content_hash: String,
    created_at: i64,
    updated_at: i64,
    rating: String,
    name: Option<String>,
}

/// The record `hash` finds in `tenant` (stored under it, or having it as an alias).
pub(super) fn load(
    conn: &Connection,
    tenant: &str,
    hash: &str,
) -> Result<Option<AvatarRecord>, CatalogError> {
    // One statement resolves the alias and reads the row; a hash that is both (which writes
    // never leave) would prefer the record stored under it.
    let row = conn
        .prepare_cached(
            "SELECT hash, version, format, content_hash, created_at, updated_at, rating, name \
             FROM avatars WHERE tenant = ?1 AND hash IN (?2, \
                 (SELECT l.hash FROM avatar_aliases l WHERE l.tenant = ?1 AND l.alias = ?2)) \
             ORDER BY hash = ?2 DESC LIMIT 1",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![tenant, hash], |r| {
                Ok(AvatarRow {
                    hash: r.get(0)?,
                    version: r.get(1)?,
                    format: r.get(2)?,
                    content_hash: r.get(3)?,
                    created_at: r.get(4)?,
                    updated_at: r.get(5)?,
                    rating: r.get(6)?,
                    name: r.get(7)?,
                })
            })
            .optional()
        })
        .map_err(fail("read an avatar"))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let hash = row.hash.as_str();
    let format = ImageFormat::from_name(&row.format).ok_or_else(|| {
        CatalogError::Corrupt(format!(
            "avatar {tenant}/{hash}: unknown format {:?}",
            row.format
        ))
    })?;
    let rating = Rating::parse(&row.rating).ok_or_else(|| {
        CatalogError::Corrupt(format!(
            "avatar {tenant}/{hash}: unknown rating {:?}",
            row.rating
        ))
    })?;
    let variants = variants(conn, tenant, hash)?;
    let aliases = aliases(conn, tenant, hash)?;
    Ok(Some(AvatarRecord {
        tenant: tenant.to_owned(),
        hash: row.hash,
        aliases,
        rating,
        name: row.name,
        version: row.version,
        format,
        content_hash: row.content_hash,
        created_at: row.created_at,
        updated_at: row.updated_at,
        variants,
    }))
}

/// The variants of the record stored under `hash`, largest first.
fn variants(conn: &Connection, tenant: &str, hash: &str) -> Result<Vec<Variant>, CatalogError> {
    let rows = conn
        .prepare_cached(
            "SELECT size, width, height, bytes, etag, storage_key \
             FROM avatar_variants WHERE tenant = ?1 AND hash = ?2 ORDER BY size DESC",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![tenant, hash], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(fail("read an avatar's variants"))?;
    rows.into_iter()
        .map(|(size, width, height, bytes, etag, key)| {
            Ok(Variant {
                side: column(size, "size", tenant, hash)?,
                width: column(width, "width", tenant, hash)?,
                height: column(height, "height", tenant, hash)?,
                bytes: column(bytes, "bytes", tenant, hash)?,
                etag,
                key,
            })
        })
        .collect()
}

/// The aliases of the record stored under `hash`, sorted.
fn aliases(conn: &Connection, tenant: &str, hash: &str) -> Result<Vec<String>, CatalogError> {
    conn.prepare_cached(
        "SELECT alias FROM avatar_aliases WHERE tenant = ?1 AND hash = ?2 ORDER BY alias",
    )
    .and_then(|mut stmt| {
        stmt.query_map(params![tenant, hash], |r| r.get::<_, String>(0))?
            .collect()
    })
    .map_err(fail("read an avatar's aliases"))
}

/// Every record one of `hashes` finds in `tenant`, once each, ordered by hash.
pub(super) fn found_by<'h>(
    conn: &Connection,
    tenant: &str,
    hashes: impl IntoIterator<Item = &'h str>,
) -> Result<Vec<AvatarRecord>, CatalogError> {
    let mut found: Vec<AvatarRecord> = Vec::new();
    for hash in hashes {
        if let Some(record) = load(conn, tenant, hash)?
            && !found.iter().any(|r| r.hash == record.hash)
        {
            found.push(record);
        }
    }
    found.sort_by(|a, b| a.hash.cmp(&b.hash));
    Ok(found)
}

/// Removes the record stored under `hash`: its aliases, its variants, its row. Explicitly,
/// so nothing depends on the connection enforcing foreign keys.
pub(super) fn remove(conn: &Connection, tenant: &str, hash: &str) -> Result<(), CatalogError> {
    for (sql, what) in [
        (
            "DELETE FROM avatar_aliases WHERE tenant = ?1 AND hash = ?2",
            "delete an avatar's aliases",
        ),
        (
            "DELETE FROM avatar_variants WHERE tenant = ?1 AND hash = ?2",
            "delete an avatar's variants",
        ),
        (
            "DELETE FROM avatars WHERE tenant = ?1 AND hash = ?2",
            "delete an avatar",
        ),
    ] {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute(params![tenant, hash]))
            .map_err(fail(what))?;
    }
    Ok(())
}

/// Writes `record` (avatar row, variant rows, alias rows) as given; the caller has removed
/// every record its hashes found.
pub(super) fn store(conn: &Connection, record: &AvatarRecord) -> Result<(), CatalogError> {
    let AvatarRecord { tenant, hash, .. } = record;
    conn.prepare_cached(
        "INSERT INTO avatars \
         (tenant, hash, version, format, content_hash, created_at, updated_at, rating, name) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            tenant,
            hash,
            record.version,
            record.format.name(),
            record.content_hash,
            record.created_at,
            record.updated_at,
            record.rating.name(),
            record.name,
        ])
    })
    .map_err(fail("write an avatar"))?;

    let mut insert = conn
        .prepare_cached(
            "INSERT INTO avatar_variants \
             (tenant, hash, size, width, height, bytes, etag, storage_key) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(fail("write an avatar's variants"))?;
    for v in &record.variants {
        let bytes = i64::try_from(v.bytes).map_err(|e| CatalogError::Backend {
            message: format!(
                "variant {} of {tenant}/{hash} is too large to record",
                v.side
            ),
            source: Some(Box::new(e)),
        })?;
        insert
            .execute(params![
                tenant, hash, v.side, v.width, v.height, bytes, v.etag, v.key
            ])
            .map_err(fail("write an avatar's variants"))?;
    }

    let mut insert = conn
        .prepare_cached("INSERT INTO avatar_aliases (tenant, alias, hash) VALUES (?1, ?2, ?3)")
        .map_err(fail("write an avatar's aliases"))?;
    for alias in &record.aliases {
        insert
            .execute(params![tenant, alias, hash])
            .map_err(fail("write an avatar's aliases"))?;
    }
    Ok(())
}
