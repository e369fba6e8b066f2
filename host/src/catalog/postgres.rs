//! The catalog in PostgreSQL, through a pool of `tokio-postgres` connections that reconnects
//! by itself when the server comes back. Writes to one avatar are serialised with a
//! transaction-scoped advisory lock; migrations with a session-scoped one, so two hosts can
//! migrate at once.

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::{NoTls, Row};

use super::migrate::{AppliedMigration, pending};
use super::{AvatarRecord, Catalog, CatalogError, Variant};
use crate::avatar::ImageFormat;

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

const SELECT_RECORD: &str = "SELECT a.version, a.format, a.content_hash, a.created_at, \
     a.updated_at, v.size, v.width, v.height, v.bytes, v.etag, v.storage_key \
     FROM avatars a LEFT JOIN avatar_variants v ON v.tenant = a.tenant AND v.hash = a.hash \
     WHERE a.tenant = $1 AND a.hash = $2 ORDER BY v.size DESC";

/// Reads one record in one statement (one snapshot).
async fn select_record(
    client: &impl GenericClient,
    tenant: &str,
    hash: &str,
) -> Result<Option<AvatarRecord>, CatalogError> {
    let statement = client
        .prepare_cached(SELECT_RECORD)
        .await
        .map_err(fail("prepare a query"))?;
    let rows = client
        .query(&statement, &[&tenant, &hash])
        .await
        .map_err(fail("read an avatar"))?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let format: String = first.get(1);
    let mut record = AvatarRecord {
        tenant: tenant.to_owned(),
        hash: hash.to_owned(),
        version: first.get(0),
        format: ImageFormat::from_name(&format)
            .ok_or_else(|| CatalogError::Corrupt(format!("unknown format {format:?}")))?,
        content_hash: first.get(2),
        created_at: first.get(3),
        updated_at: first.get(4),
        variants: Vec::with_capacity(rows.len()),
    };
    for row in &rows {
        if let Some(variant) = variant_of(row)? {
            record.variants.push(variant);
        }
    }
    Ok(Some(record))
}

fn variant_of(row: &Row) -> Result<Option<Variant>, CatalogError> {
    let Some(size) = row.get::<_, Option<i32>>(5) else {
        return Ok(None);
    };
    let number = |v: i64, what: &str| {
        u64::try_from(v).map_err(|_| CatalogError::Corrupt(format!("negative {what}")))
    };
    Ok(Some(Variant {
        side: number(i64::from(size), "size")? as u32,
        width: number(i64::from(row.get::<_, i32>(6)), "width")? as u32,
        height: number(i64::from(row.get::<_, i32>(7)), "height")? as u32,
        bytes: number(row.get(8), "byte count")?,
        etag: row.get(9),
        key: row.get(10),
    }))
}

fn to_i32(v: u32, what: &str) -> Result<i32, CatalogError> {
    i32::try_from(v).map_err(|_| CatalogError::Backend {
        message: format!("{what} {v} does not fit the catalog"),
        source: None,
    })
}

#[async_trait]
impl Catalog for PgCatalog {
    async fn migrate(&self) -> Result<Vec<String>, CatalogError> {
        let mut client = self.client().await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(fail("take the migration lock"))?;
        let result = migrate_locked(&mut client).await;
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
        select_record(&client, tenant, hash).await
    }

    async fn upsert(&self, record: &AvatarRecord) -> Result<Option<AvatarRecord>, CatalogError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(fail("begin a transaction"))?;
        lock_avatar(&tx, &record.tenant, &record.hash).await?;
        let previous = select_record(&tx, &record.tenant, &record.hash).await?;
        let upsert = tx
            .prepare_cached(
                "INSERT INTO avatars (tenant, hash, version, format, content_hash, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (tenant, hash) DO UPDATE SET version = EXCLUDED.version, \
                 format = EXCLUDED.format, content_hash = EXCLUDED.content_hash, \
                 updated_at = EXCLUDED.updated_at",
            )
            .await
            .map_err(fail("prepare a query"))?;
        tx.execute(
            &upsert,
            &[
                &record.tenant,
                &record.hash,
                &record.version,
                &record.format.name(),
                &record.content_hash,
                &record.created_at,
                &record.updated_at,
            ],
        )
        .await
        .map_err(fail("write an avatar"))?;
        let clear = tx
            .prepare_cached("DELETE FROM avatar_variants WHERE tenant = $1 AND hash = $2")
            .await
            .map_err(fail("prepare a query"))?;
        tx.execute(&clear, &[&record.tenant, &record.hash])
            .await
            .map_err(fail("replace variants"))?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO avatar_variants (tenant, hash, size, width, height, bytes, etag, \
                 storage_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .await
            .map_err(fail("prepare a query"))?;
        for v in &record.variants {
            let bytes = i64::try_from(v.bytes).map_err(|_| CatalogError::Backend {
                message: format!("byte count {} does not fit the catalog", v.bytes),
                source: None,
            })?;
            tx.execute(
                &insert,
                &[
                    &record.tenant,
                    &record.hash,
                    &to_i32(v.side, "size")?,
                    &to_i32(v.width, "width")?,
                    &to_i32(v.height, "height")?,
                    &bytes,
                    &v.etag,
                    &v.key,
                ],
            )
            .await
            .map_err(fail("write a variant"))?;
        }
        notify(&tx, &record.tenant, &record.hash).await?;
        tx.commit().await.map_err(fail("commit"))?;
        Ok(previous)
    }

    async fn delete(&self, tenant: &str, hash: &str) -> Result<Option<AvatarRecord>, CatalogError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(fail("begin a transaction"))?;
        lock_avatar(&tx, tenant, hash).await?;
        let previous = select_record(&tx, tenant, hash).await?;
        if previous.is_some() {
            let delete = tx
                .prepare_cached("DELETE FROM avatars WHERE tenant = $1 AND hash = $2")
                .await
                .map_err(fail("prepare a query"))?;
            tx.execute(&delete, &[&tenant, &hash])
                .await
                .map_err(fail("delete an avatar"))?;
            notify(&tx, tenant, hash).await?;
        }
        tx.commit().await.map_err(fail("commit"))?;
        Ok(previous)
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

    fn watch_changes(&self, sink: super::ChangeSink) {
        tokio::spawn(listen(self.url.clone(), sink));
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }
}

/// The channel on which hosts announce changed avatars; the payload is `tenant/hash`.
const CHANNEL: &str = "avatar_changed";

/// Announces a change to every host listening, when (and only if) the transaction commits.
async fn notify(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &str,
    hash: &str,
) -> Result<(), CatalogError> {
    let statement = tx
        .prepare_cached("SELECT pg_notify($1, $2)")
        .await
        .map_err(fail("prepare a query"))?;
    tx.execute(&statement, &[&CHANNEL, &format!("{tenant}/{hash}")])
        .await
        .map_err(fail("announce a change"))?;
    Ok(())
}

/// Listens for changes on a dedicated connection, for ever, reconnecting with a short
/// backoff. After any interruption it reports `Change::Unknown`, since notifications sent
/// meanwhile are lost.
async fn listen(url: String, sink: super::ChangeSink) {
    use futures_util::StreamExt;
    use tokio_postgres::AsyncMessage;
    let mut backoff = Duration::from_millis(100);
    loop {
        match tokio_postgres::connect(&url, NoTls).await {
            Ok((client, mut connection)) => {
                let mut messages =
                    futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                let statement = format!("LISTEN {CHANNEL}");
                // The connection must be polled for the LISTEN to complete.
                let mut listen = std::pin::pin!(client.batch_execute(&statement));
                let ok = loop {
                    tokio::select! {
                        result = &mut listen => break result.is_ok(),
                        message = messages.next() => if message.is_none() { break false; },
                    }
                };
                if ok {
                    backoff = Duration::from_millis(100);
                    sink(super::Change::Unknown);
                    tracing::debug!("listening for catalog changes");
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(n)) => {
                                if let Some((tenant, hash)) = n.payload().split_once('/') {
                                    sink(super::Change::Avatar {
                                        tenant: tenant.to_owned(),
                                        hash: hash.to_owned(),
                                    });
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "lost the catalog change listener");
                                break;
                            }
                        }
                    }
                }
                sink(super::Change::Unknown);
            }
            Err(e) => tracing::debug!(error = %e, "cannot connect the change listener yet"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// Serialises writers of one avatar until the transaction ends.
async fn lock_avatar(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &str,
    hash: &str,
) -> Result<(), CatalogError> {
    let lock = tx
        .prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))")
        .await
        .map_err(fail("prepare a query"))?;
    tx.execute(&lock, &[&tenant, &hash])
        .await
        .map_err(fail("lock an avatar"))?;
    Ok(())
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

async fn migrate_locked(
    client: &mut deadpool_postgres::Object,
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
    for migration in pending(&applied)? {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh database on the test server named by `AVATAR_TEST_POSTGRES_URL`, or `None`
    /// (outside CI only) when there is none.
    async fn fresh_database() -> Option<String> {
        let url = crate::test_services::postgres_url()?;
        let (client, connection) = tokio_postgres::connect(&url, NoTls)
            .await
            .expect("connecting to the test PostgreSQL");
        tokio::spawn(connection);
        let name = format!(
            "avatar_test_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("creating a test database");
        let mut config: tokio_postgres::Config = url.parse().expect("test URL");
        config.dbname(&name);
        Some(pg_url(&config, &name))
    }

    /// Rebuilds a URL for `config` pointing at database `name`.
    fn pg_url(config: &tokio_postgres::Config, name: &str) -> String {
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres");
        let password = config
            .get_password()
            .map(|p| format!(":{}", String::from_utf8_lossy(p)))
            .unwrap_or_default();
        format!("postgres://{user}{password}@{host}:{port}/{name}")
    }

    #[tokio::test]
    async fn conforms() {
        let Some(url) = fresh_database().await else {
            return;
        };
        let catalog = PgCatalog::connect(&url, 8).unwrap();
        assert!(catalog.health().await.is_err(), "unmigrated is unhealthy");
        assert_eq!(catalog.migrate().await.unwrap(), ["0001_init"]);
        super::super::suite::run(&catalog).await;
    }

    #[tokio::test]
    async fn concurrent_migrations_apply_once() {
        let Some(url) = fresh_database().await else {
            return;
        };
        let a = PgCatalog::connect(&url, 2).unwrap();
        let b = PgCatalog::connect(&url, 2).unwrap();
        let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
        let mut applied = ra.unwrap();
        applied.extend(rb.unwrap());
        assert_eq!(applied, ["0001_init"], "exactly one host applies it");
        a.health().await.unwrap();
    }

    #[tokio::test]
    async fn a_changed_applied_migration_is_refused() {
        let Some(url) = fresh_database().await else {
            return;
        };
        let catalog = PgCatalog::connect(&url, 2).unwrap();
        catalog.migrate().await.unwrap();
        let client = catalog.client().await.unwrap();
        client
            .execute("UPDATE schema_migrations SET checksum = 'tampered'", &[])
            .await
            .unwrap();
        assert!(matches!(
            catalog.migrate().await,
            Err(CatalogError::Migration(_))
        ));
        assert!(matches!(
            catalog.health().await,
            Err(CatalogError::Migration(_))
        ));
    }

    #[tokio::test]
    async fn an_unreachable_server_is_unavailable() {
        // Nothing listens on port 1 of loopback.
        let catalog = PgCatalog::connect("postgres://avatar@127.0.0.1:1/avatar", 1).unwrap();
        let error = catalog.find("t", "h").await.unwrap_err();
        assert!(error.is_unavailable(), "{error:?}");
    }
}
