//! Whole records in PostgreSQL: reading every record a set of hashes finds in one statement
//! (one snapshot, one round trip), writing one with its variants and aliases, removing some.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use super::fail;
use crate::avatar::{ImageFormat, Rating};
use crate::catalog::{AvatarRecord, CatalogError, Variant};

/// Every record stored under one of `$2` or having one of them as an alias, one row per
/// variant (or one row with NULL variant columns for a record without variants), grouped by
/// record. The aliases ride along as an array so the statement needs no second join. (A
/// UNION, not an OR of the two conditions: with the OR, PostgreSQL scans the tenant's rows.)
const FOUND_BY: &str = "SELECT a.hash, a.version, a.format, a.content_hash, a.created_at, \
     a.updated_at, a.rating, a.name, \
     ARRAY(SELECT l.alias FROM avatar_aliases l WHERE l.tenant = a.tenant AND l.hash = a.hash), \
     v.size, v.width, v.height, v.bytes, v.etag, v.storage_key \
     FROM avatars a LEFT JOIN avatar_variants v ON v.tenant = a.tenant AND v.hash = a.hash \
     WHERE a.tenant = $1 AND a.hash IN (SELECT unnest($2::text[]) UNION \
         SELECT l.hash FROM avatar_aliases l WHERE l.tenant = $1 AND l.alias = ANY($2::text[])) \
     ORDER BY a.hash, v.size DESC";

/// Every record one of `hashes` finds in `tenant`, once each, ordered by hash.
pub(super) async fn found_by(
    client: &impl GenericClient,
    tenant: &str,
    hashes: &[&str],
) -> Result<Vec<AvatarRecord>, CatalogError> {
    let statement = client
        .prepare_cached(FOUND_BY)
        .await
        .map_err(fail("prepare a query"))?;
    let rows = client
        .query(&statement, &[&tenant, &hashes])
        .await
        .map_err(fail("read an avatar"))?;
    let mut found: Vec<AvatarRecord> = Vec::new();
    for row in &rows {
        let hash: &str = row.get(0);
        if found.last().is_none_or(|r| r.hash != hash) {
            found.push(record_of(tenant, row)?);
        }
        if let (Some(variant), Some(record)) = (variant_of(row)?, found.last_mut()) {
            record.variants.push(variant);
        }
    }
    // The database's collation need not be byte order.
    found.sort_by(|a, b| a.hash.cmp(&b.hash));
    Ok(found)
}

/// The record a single `hash` found, out of [`found_by`]'s answer: the one stored under it
/// if a hash were ever both (which writes never leave), else the one having it as an alias.
pub(super) fn the_one(found: Vec<AvatarRecord>, hash: &str) -> Option<AvatarRecord> {
    let at = found.iter().position(|r| r.hash == hash).unwrap_or(0);
    found.into_iter().nth(at)
}

/// The record a row describes, without its variants.
fn record_of(tenant: &str, row: &Row) -> Result<AvatarRecord, CatalogError> {
    let hash: String = row.get(0);
    let format: String = row.get(2);
    let format = ImageFormat::from_name(&format).ok_or_else(|| {
        CatalogError::Corrupt(format!("avatar {tenant}/{hash}: unknown format {format:?}"))
    })?;
    let rating: String = row.get(6);
    let rating = Rating::parse(&rating).ok_or_else(|| {
        CatalogError::Corrupt(format!("avatar {tenant}/{hash}: unknown rating {rating:?}"))
    })?;
    let mut aliases: Vec<String> = row.get(8);
    aliases.sort_unstable();
    Ok(AvatarRecord {
        tenant: tenant.to_owned(),
        hash,
        aliases,
        rating,
        name: row.get(7),
        version: row.get(1),
        format,
        content_hash: row.get(3),
        created_at: row.get(4),
        updated_at: row.get(5),
        variants: Vec::new(),
    })
}

fn variant_of(row: &Row) -> Result<Option<Variant>, CatalogError> {
    let Some(size) = row.get::<_, Option<i32>>(9) else {
        return Ok(None);
    };
    let number = |v: i32, what: &str| {
        u32::try_from(v).map_err(|_| CatalogError::Corrupt(format!("negative {what}")))
    };
    let bytes: i64 = row.get(12);
    Ok(Some(Variant {
        side: number(size, "size")?,
        width: number(row.get(10), "width")?,
        height: number(row.get(11), "height")?,
        bytes: u64::try_from(bytes)
            .map_err(|_| CatalogError::Corrupt("negative byte count".into()))?,
        etag: row.get(13),
        key: row.get(14),
    }))
}

fn to_i32(v: u32, what: &str) -> Result<i32, CatalogError> {
    i32::try_from(v).map_err(|_| CatalogError::Backend {
        message: format!("{what} {v} does not fit the catalog"),
        source: None,
    })
}

/// Removes the records stored under `hashes`; their variants and aliases go with them (the
/// foreign keys cascade, and PostgreSQL always enforces them).
pub(super) async fn remove(
    tx: &Transaction<'_>,
    tenant: &str,
    hashes: &[&str],
) -> Result<(), CatalogError> {
    if hashes.is_empty() {
        return Ok(());
    }
    let statement = tx
        .prepare_cached("DELETE FROM avatars WHERE tenant = $1 AND hash = ANY($2::text[])")
        .await
        .map_err(fail("prepare a query"))?;
    tx.execute(&statement, &[&tenant, &hashes])
        .await
        .map_err(fail("delete an avatar"))?;
    Ok(())
}

/// Writes `record` (avatar row, variant rows, alias rows) as given, one statement each; the
/// caller has removed every record its hashes found.
pub(super) async fn insert(
    tx: &Transaction<'_>,
    record: &AvatarRecord,
) -> Result<(), CatalogError> {
    let avatar = tx
        .prepare_cached(
            "INSERT INTO avatars (tenant, hash, version, format, content_hash, created_at, \
             updated_at, rating, name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await
        .map_err(fail("prepare a query"))?;
    tx.execute(
        &avatar,
        &[
            &record.tenant,
            &record.hash,
            &record.version,
            &record.format.name(),
            &record.content_hash,
            &record.created_at,
            &record.updated_at,
            &record.rating.name(),
            &record.name,
        ],
    )
    .await
    .map_err(fail("write an avatar"))?;

    if !record.variants.is_empty() {
        let mut columns = VariantColumns::default();
        for v in &record.variants {
            columns.push(v)?;
        }
        let variants = tx
            .prepare_cached(
                "INSERT INTO avatar_variants (tenant, hash, size, width, height, bytes, etag, \
                 storage_key) SELECT $1::text, $2::text, v.* FROM unnest($3::int4[], \
                 $4::int4[], $5::int4[], $6::int8[], $7::text[], $8::text[]) AS v",
            )
            .await
            .map_err(fail("prepare a query"))?;
        let VariantColumns {
            sides,
            widths,
            heights,
            bytes,
            etags,
            keys,
        } = &columns;
        tx.execute(
            &variants,
            &[
                &record.tenant,
                &record.hash,
                sides,
                widths,
                heights,
                bytes,
                etags,
                keys,
            ],
        )
        .await
        .map_err(fail("write an avatar's variants"))?;
    }

    if !record.aliases.is_empty() {
        let aliases = tx
            .prepare_cached(
                "INSERT INTO avatar_aliases (tenant, alias, hash) \
                 SELECT $1::text, a, $2::text FROM unnest($3::text[]) AS a",
            )
            .await
            .map_err(fail("prepare a query"))?;
        tx.execute(&aliases, &[&record.tenant, &record.hash, &record.aliases])
            .await
            .map_err(fail("write an avatar's aliases"))?;
    }
    Ok(())
}

/// A record's variants column by column, as `unnest` takes them.
#[derive(Default)]
struct VariantColumns<'v> {
    sides: Vec<i32>,
    widths: Vec<i32>,
    heights: Vec<i32>,
    bytes: Vec<i64>,
    etags: Vec<&'v str>,
    keys: Vec<&'v str>,
}

impl<'v> VariantColumns<'v> {
    fn push(&mut self, v: &'v Variant) -> Result<(), CatalogError> {
        self.sides.push(to_i32(v.side, "size")?);
        self.widths.push(to_i32(v.width, "width")?);
        self.heights.push(to_i32(v.height, "height")?);
        self.bytes
            .push(i64::try_from(v.bytes).map_err(|_| CatalogError::Backend {
                message: format!("byte count {} does not fit the catalog", v.bytes),
                source: None,
            })?);
        self.etags.push(&v.etag);
        self.keys.push(&v.key);
        Ok(())
    }
}
