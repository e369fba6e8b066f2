//! The catalog in PostgreSQL, through a pool of `tokio-postgres` connections that reconnects
//! by itself when the server comes back. Writes are serialised per hash with
//! transaction-scoped advisory locks (`locks.rs`); migrations with a session-scoped one, so
//! two hosts can migrate at once. Rows are read and written in `records.rs`; other hosts
//! hear of every write through `changes.rs`.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::NoTls;

use super::migrate::{AppliedMigration, MIGRATIONS, Migration, pending, plan};
use super::{AvatarRecord, Catalog, CatalogError, ChangeSink, merge};

mod changes;
mod locks;
mod records;
#[cfg(test)]
mod tests;

/// Key of the advisory lock held while migrating ("avatar" in ASCII).
const MIGRATION_LOCK: i64 = 0x6176_6174_6172;

/// How long any step (connecting, waiting for a pooled connection) may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Catalog`] in PostgreSQL.
#[derive(Clone)]
pub struct PgCatalog {
    pool: Pool,
    /// For the change listener's own connection.
    url: String,
}

impl PgCatalog {
    /// A pool of at most `pool_size` connections to `url`. Connects lazily: a server that is
    /// down now makes calls fail with `Unavailable` until it is back.
    pub fn connect(url: &str, pool_size: usize) -> Result<Self, CatalogError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| CatalogError::Backend {
                message: "invalid PostgreSQL URL".into(),
                source: Some(Box::new(e)),
            })?;
        config.connect_timeout(TIMEOUT);
        config.application_name("avatar");
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Verified,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .timeouts(Timeouts {
                wait: Some(TIMEOUT),
                create: Some(TIMEOUT),
                recycle: Some(TIMEOUT),
            })
            .build()
            .map_err(|e| CatalogError::Backend {
                message: "cannot build the connection pool".into(),
                source: Some(Box::new(e)),
            })?;
        Ok(Self {
            pool,
            url: url.to_owned(),
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, CatalogError> {
        self.pool
            .get()
            .await
            .map_err(|e| CatalogError::Unavailable {
                message: "no connection to PostgreSQL".into(),
                source: Some(Box::new(e)),
            })
    }
}

/// Maps a query error: a closed or broken connection is `Unavailable`, the rest `Backend`.
fn fail(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> CatalogError {
    move |e| {
        let message = format!("cannot {what}");
        if e.is_closed() || e.as_db_error().is_none() {
            CatalogError::Unavailable {
                message,
                source: Some(Box::new(e)),
            }
        } else {
            CatalogError::Backend {
                message,
                source: Some(Box::new(e)),
            }
        }
    }
}

#[async_trait]
impl Catalog for PgCatalog {
    async fn migrate(&self) -> Result<Vec<String>, CatalogError> {
        let mut client = self.client().await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(fail("take the migration lock"))?;
        let result = migrate_locked(&mut client, MIGRATIONS).await;
        // The lock is the session's: release it even when migrating failed.
        let unlocked = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        let applied = result?;
        unlocked.map_err(fail("release the migration lock"))?;
        Ok(applied)
    }

    async fn find(&self, tenant: &str, hash: &str) -> Result<Option<AvatarRecord>, CatalogError> {
        let client = self.client().await?;
        let found = records::found_by(&client, tenant, &[hash]).await?;
        Ok(records::the_one(found, hash))
    }

    async fn upsert(&self, record: &AvatarRecord) -> Result<Vec<AvatarRecord>, CatalogError> {
        let record = merge::normalized(record);
        let tenant = record.tenant.as_str();
        let hashes: Vec<&str> = record.hashes().collect();
        let mut held: BTreeSet<String> = hashes.iter().map(|h| (*h).to_owned()).collect();
        let mut client = self.client().await?;
        for _ in 0..locks::ATTEMPTS {
            let tx = client
                .transaction()
                .await
                .map_err(fail("begin a transaction"))?;
            let Some(replaced) = locks::lock_and_find(&tx, tenant, &hashes, &mut held).await?
            else {
                tx.rollback().await.map_err(fail("roll back"))?;
                continue;
            };
            let stored = merge::replacing(&record, &replaced);
            records::remove(&tx, tenant, &merge::canonical(&replaced)).await?;
            records::insert(&tx, &stored).await?;
            changes::notify(&tx, tenant, &merge::affected(Some(&stored), &replaced)).await?;
            tx.commit().await.map_err(fail("commit"))?;
            return Ok(replaced);
        }
        Err(locks::kept_changing(tenant, &record.hash))
    }

    async fn delete(&self, tenant: &str, hash: &str) -> Result<Option<AvatarRecord>, CatalogError> {
        let mut held = BTreeSet::from([hash.to_owned()]);
        let mut client = self.client().await?;
        for _ in 0..locks::ATTEMPTS {
            let tx = client
                .transaction()
                .await
                .map_err(fail("begin a transaction"))?;
            let Some(found) = locks::lock_and_find(&tx, tenant, &[hash], &mut held).await? else {
                tx.rollback().await.map_err(fail("roll back"))?;
                continue;
            };
            let removed = records::the_one(found, hash);
            if let Some(record) = &removed {
                records::remove(&tx, tenant, &[record.hash.as_str()]).await?;
                let affected = merge::affected(None, std::slice::from_ref(record));
                changes::notify(&tx, tenant, &affected).await?;
            }
            tx.commit().await.map_err(fail("commit"))?;
            return Ok(removed);
        }
        Err(locks::kept_changing(tenant, hash))
    }

    async fn health(&self) -> Result<(), CatalogError> {
        let client = self.client().await?;
        let todo = pending(&applied(&client).await?)?;
        if !todo.is_empty() {
            return Err(CatalogError::Migration(format!(
                "{} migration(s) pending; run `avatar migrate`",
                todo.len()
            )));
        }
        Ok(())
    }

    async fn referenced_keys(&self) -> Result<std::collections::HashSet<String>, CatalogError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT storage_key FROM avatar_variants", &[])
            .await
            .map_err(fail("list stored keys"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn watch_changes(&self, sink: ChangeSink) {
        tokio::spawn(changes::listen(self.url.clone(), sink));
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }
}

/// The rows of `schema_migrations`.
async fn applied(
    client: &deadpool_postgres::Object,
) -> Result<Vec<AppliedMigration>, CatalogError> {
    let rows = client
        .query("SELECT version, checksum FROM schema_migrations", &[])
        .await
        .map_err(fail("read the migrations"))?;
    Ok(rows
        .iter()
        .map(|r| AppliedMigration {
            version: r.get(0),
            checksum: r.get(1),
        })
        .collect())
}

/// Creates `schema_migrations` and applies what of `known` is pending, under the migration
/// lock the caller holds; returns the versions applied.
async fn migrate_locked(
    client: &mut deadpool_postgres::Object,
    known: &[Migration],
) -> Result<Vec<String>, CatalogError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, \
             checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await
        .map_err(fail("create schema_migrations"))?;
    let applied = applied(client).await?;
    let mut done = Vec::new();
    for migration in plan(known, &applied)? {
        let tx = client
            .transaction()
            .await
            .map_err(fail("begin a transaction"))?;
        tx.batch_execute(migration.sql)
            .await
            .map_err(fail("apply a migration"))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        tx.execute(
            "INSERT INTO schema_migrations (version, checksum, applied_at) VALUES ($1, $2, $3)",
            &[&migration.version, &migration.checksum(), &now],
        )
        .await
        .map_err(fail("record a migration"))?;
        tx.commit().await.map_err(fail("commit a migration"))?;
        tracing::info!(version = migration.version, "applied catalog migration");
        done.push(migration.version.to_owned());
    }
    Ok(done)
}
