//! The catalog in a SQLite file: one writer connection and one reader connection in WAL mode
//! (so reads never wait behind a write transaction), every call on a blocking thread.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, TransactionBehavior, params};
use tracing::Span;

use super::migrate::{AppliedMigration, MIGRATIONS, Migration, pending, plan};
use super::{AvatarRecord, Catalog, CatalogError, merge};

mod records;

/// How long a connection waits for another's lock before reporting the database busy.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// A [`Catalog`] in a SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteCatalog {
    /// Every write (and `migrate`) goes through this connection, one at a time.
    writer: Arc<Mutex<Connection>>,
    /// Read-only queries; in WAL mode they see the last commit while a write is in progress.
    reader: Arc<Mutex<Connection>>,
}

impl SqliteCatalog {
    /// Opens (creating if needed) the database at `path` and its parent directories. Does not
    /// migrate: call [`Catalog::migrate`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CatalogError> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| CatalogError::Unavailable {
                message: format!("cannot create directory {}", parent.display()),
                source: Some(Box::new(e)),
            })?;
        }
        let writer = connect(path)?;
        let journal: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(fail("set the journal mode"))?;
        if !journal.eq_ignore_ascii_case("wal") {
            tracing::warn!(
                path = %path.display(),
                journal,
                "sqlite refused WAL mode; reads will wait behind writes"
            );
        }
        let reader = connect(path)?;
        reader
            .pragma_update(None, "query_only", "ON")
            .map_err(fail("make the reader read-only"))?;
        Ok(Self {
            writer: Arc::new(Mutex::new(writer)),
            reader: Arc::new(Mutex::new(reader)),
        })
    }
}

/// Opens one connection with the pragmas every connection needs.
fn connect(path: &Path) -> Result<Connection, CatalogError> {
    let conn = Connection::open(path).map_err(fail("open the database"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(fail("set the busy timeout"))?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(fail("set synchronous"))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(fail("enable foreign keys"))?;
    Ok(conn)
}

/// Maps a SQLite error to the catalog's: a busy, locked or unopenable database is unavailable
/// (retrying later may work), anything else a backend failure.
fn fail(what: &'static str) -> impl FnOnce(rusqlite::Error) -> CatalogError {
    move |e| {
        let message = format!("cannot {what}");
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen) => {
                CatalogError::Unavailable {
                    message,
                    source: Some(Box::new(e)),
                }
            }
            _ => CatalogError::Backend {
                message,
                source: Some(Box::new(e)),
            },
        }
    }
}

/// Runs `f` with the connection on a blocking thread, inside the caller's span (the one
/// `catalog::traced` opened for the operation).
async fn with_conn<T, F>(conn: &Arc<Mutex<Connection>>, f: F) -> Result<T, CatalogError>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T, CatalogError> + Send + 'static,
{
    let span = Span::current();
    let conn = Arc::clone(conn);
    let task = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        // A panic mid-transaction rolled it back while unwinding: the connection is usable.
        let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut conn)
    });
    match task.await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(CatalogError::Backend {
            message: "catalog task was cancelled".to_owned(),
            source: Some(Box::new(e)),
        }),
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The rows of `schema_migrations`.
fn applied(conn: &Connection) -> Result<Vec<AppliedMigration>, CatalogError> {
    conn.prepare_cached("SELECT version, checksum FROM schema_migrations")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| {
                Ok(AppliedMigration {
                    version: r.get(0)?,
                    checksum: r.get(1)?,
                })
            })?
            .collect()
        })
        .map_err(fail("read the applied migrations"))
}

/// Creates `schema_migrations` and applies what of `known` is pending, each migration in a
/// transaction of its own; returns the versions applied.
fn migrate(conn: &mut Connection, known: &[Migration]) -> Result<Vec<String>, CatalogError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version TEXT PRIMARY KEY, \
             checksum TEXT NOT NULL, \
             applied_at BIGINT NOT NULL)",
    )
    .map_err(fail("create schema_migrations"))?;
    let planned = plan(known, &applied(conn)?)?;

    let mut done = Vec::with_capacity(planned.len());
    for migration in planned {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail("begin a migration"))?;
        // Another process may have applied it since we looked.
        let present = tx
            .prepare_cached("SELECT 1 FROM schema_migrations WHERE version = ?1")
            .and_then(|mut stmt| stmt.exists(params![migration.version]))
            .map_err(fail("read the applied migrations"))?;
        if present {
            continue;
        }
        tx.execute_batch(migration.sql).map_err(|e| {
            CatalogError::Migration(format!("migration {} failed: {e}", migration.version))
        })?;
        tx.prepare_cached(
            "INSERT INTO schema_migrations (version, checksum, applied_at) VALUES (?1, ?2, ?3)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![migration.version, migration.checksum(), now_ms()])
        })
        .map_err(fail("record a migration"))?;
        tx.commit().map_err(fail("commit a migration"))?;
        tracing::info!(version = migration.version, "applied catalog migration");
        done.push(migration.version.to_owned());
    }
    Ok(done)
}

#[async_trait]
impl Catalog for SqliteCatalog {
    async fn migrate(&self) -> Result<Vec<String>, CatalogError> {
        with_conn(&self.writer, |conn| migrate(conn, MIGRATIONS)).await
    }

    async fn find(&self, tenant: &str, hash: &str) -> Result<Option<AvatarRecord>, CatalogError> {
        let (tenant, hash) = (tenant.to_owned(), hash.to_owned());
        with_conn(&self.reader, move |conn| {
            let tx = conn.transaction().map_err(fail("begin a read"))?;
            let record = records::load(&tx, &tenant, &hash)?;
            tx.commit().map_err(fail("end a read"))?;
            Ok(record)
        })
        .await
    }

    async fn upsert(&self, record: &AvatarRecord) -> Result<Vec<AvatarRecord>, CatalogError> {
        let record = merge::normalized(record);
        with_conn(&self.writer, move |conn| {
            // The one writer connection serialises writes: nothing else can link these
            // hashes between the look-up and the commit.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(fail("begin a write"))?;
            let replaced = records::found_by(&tx, &record.tenant, record.hashes())?;
            for hash in merge::canonical(&replaced) {
                records::remove(&tx, &record.tenant, hash)?;
            }
            records::store(&tx, &merge::replacing(&record, &replaced))?;
            tx.commit().map_err(fail("commit a write"))?;
            Ok(replaced)
        })
        .await
    }

    async fn delete(&self, tenant: &str, hash: &str) -> Result<Option<AvatarRecord>, CatalogError> {
        let (tenant, hash) = (tenant.to_owned(), hash.to_owned());
        with_conn(&self.writer, move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(fail("begin a delete"))?;
            let removed = records::load(&tx, &tenant, &hash)?;
            if let Some(record) = &removed {
                records::remove(&tx, &tenant, &record.hash)?;
            }
            tx.commit().map_err(fail("commit a delete"))?;
            Ok(removed)
        })
        .await
    }

    async fn health(&self) -> Result<(), CatalogError> {
        with_conn(&self.reader, |conn| {
            conn.prepare_cached("SELECT 1")
                .and_then(|mut stmt| stmt.query_row([], |r| r.get::<_, i64>(0)))
                .map_err(fail("query the database"))?;
            let migrated = conn
                .prepare_cached(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
                )
                .and_then(|mut stmt| stmt.exists([]))
                .map_err(fail("read the schema"))?;
            if !migrated {
                return Err(CatalogError::Migration("the database is not migrated".to_owned()));
            }
            let waiting = pending(&applied(conn)?)?;
            if let Some(first) = waiting.first() {
                return Err(CatalogError::Migration(format!(
                    "{} migration(s) pending, from {}",
                    waiting.len(),
                    first.version
                )));
            }
            Ok(())
        })
        .await
    }

    async fn referenced_keys(&self) -> Result<std::collections::HashSet<String>, CatalogError> {
        with_conn(&self.reader, |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT storage_key FROM avatar_variants")
                .map_err(fail("list stored keys"))?;
            let keys = stmt
                .query_map([], |row| row.get::<_, String>(0))
                .and_then(|rows| rows.collect::<Result<_, _>>())
                .map_err(fail("list stored keys"))?;
            Ok(keys)
        })
        .await
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avatar::{ImageFormat, Rating};
    use crate::catalog::{Variant, suite};

    fn open(dir: &tempfile::TempDir) -> SqliteCatalog {
        SqliteCatalog::open(dir.path().join("nested/dir/catalog.sqlite3")).unwrap()
    }

    fn record(hash: &str) -> AvatarRecord {
        AvatarRecord {
            tenant: "default".to_owned(),
            hash: hash.to_owned(),
            aliases: vec![],
            rating: Rating::Pg,
            name: Some("Ada".to_owned()),
            version: "v1".to_owned(),
            format: ImageFormat::Png,
            content_hash: "c".repeat(64),
            created_at: 1,
            updated_at: 2,
            variants: vec![Variant {
                side: 64,
                width: 64,
                height: 64,
                bytes: 100,
                etag: "e".repeat(32),
                key: format!("default/{hash}/v1/64.png"),
            }],
        }
    }

    /// Runs `sql` on the writer connection, as a tamperer with file access would.
    fn tamper(catalog: &SqliteCatalog, sql: &str) {
        catalog.writer.lock().unwrap().execute_batch(sql).unwrap();
    }

    #[tokio::test]
    async fn conforms() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = open(&dir);
        assert!(
            matches!(catalog.health().await, Err(CatalogError::Migration(_))),
            "unmigrated is unhealthy"
        );
        assert_eq!(catalog.migrate().await.unwrap(), suite::all_versions());
        assert_eq!(catalog.kind(), "sqlite");
        suite::run(&catalog).await;
    }

    #[tokio::test]
    async fn rows_of_the_first_schema_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = open(&dir);
        let first = with_conn(&catalog.writer, |conn| migrate(conn, &MIGRATIONS[..1]))
            .await
            .unwrap();
        assert_eq!(first, ["0001_init"]);
        tamper(&catalog, suite::FIRST_SCHEMA_ROWS);
        suite::first_schema_rows_upgrade(&catalog).await;
    }

    #[tokio::test]
    async fn unknown_rating_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = open(&dir);
        catalog.migrate().await.unwrap();
        let hash = "d".repeat(40);
        catalog.upsert(&record(&hash)).await.unwrap();
        tamper(&catalog, "UPDATE avatars SET rating = 'nc-17'");
        let err = catalog.find("default", &hash).await.unwrap_err();
        assert!(
            matches!(&err, CatalogError::Corrupt(m) if m.contains("nc-17")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn changed_applied_migration_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = open(&dir);
        catalog.migrate().await.unwrap();
        tamper(
            &catalog,
            "UPDATE schema_migrations SET checksum = 'ffff' WHERE version = '0001_init'",
        );
        let err = catalog.migrate().await.unwrap_err();
        assert!(
            matches!(&err, CatalogError::Migration(m) if m.contains("0001_init has changed")),
            "{err}"
        );
        assert!(matches!(
            catalog.health().await,
            Err(CatalogError::Migration(_))
        ));
    }

    #[tokio::test]
    async fn unknown_applied_migration_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = open(&dir);
        catalog.migrate().await.unwrap();
        tamper(
            &catalog,
            "INSERT INTO schema_migrations VALUES ('9999_future', 'ffff', 0)",
        );
        let err = catalog.migrate().await.unwrap_err();
        assert!(
            matches!(&err, CatalogError::Migration(m) if m.contains("9999_future")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let hash = "a".repeat(40);
        {
            let catalog = open(&dir);
            catalog.migrate().await.unwrap();
            catalog.upsert(&record(&hash)).await.unwrap();
        }
        let catalog = open(&dir);
        assert!(catalog.migrate().await.unwrap().is_empty());
        catalog.health().await.unwrap();
        assert_eq!(
            catalog.find("default", &hash).await.unwrap(),
            Some(record(&hash))
        );
    }

    #[tokio::test]
    async fn unknown_format_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = open(&dir);
        catalog.migrate().await.unwrap();
        let hash = "b".repeat(40);
        catalog.upsert(&record(&hash)).await.unwrap();
        tamper(&catalog, "UPDATE avatars SET format = 'bmp'");
        let err = catalog.find("default", &hash).await.unwrap_err();
        assert!(
            matches!(&err, CatalogError::Corrupt(m) if m.contains("bmp")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn reads_do_not_wait_behind_a_write_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = open(&dir);
        catalog.migrate().await.unwrap();
        let hash = "c".repeat(40);
        catalog.upsert(&record(&hash)).await.unwrap();

        // Hold a write transaction open on a third connection to the same file.
        let mut other = connect(&dir.path().join("nested/dir/catalog.sqlite3")).unwrap();
        let tx = other
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        tx.execute("DELETE FROM avatar_variants", []).unwrap();
        let found = tokio::time::timeout(Duration::from_secs(2), catalog.find("default", &hash))
            .await
            .expect("a read waited behind a write")
            .unwrap();
        assert_eq!(found, Some(record(&hash)), "the read sees the last commit");
        drop(tx);
    }
}
